"""Open a request container by its kind: `.zip` (AES ZIP) or `.bte` (sealed envelope).

Both kinds yield the same RequestFiles under the same rules: exactly one .csv/.xlsx table,
optionally 依頼票.json, nothing else, no nested archives, no unsafe names, within the limits.
"""
from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bulktool.containers import aeszip, envelope
from bulktool.containers.aeszip import RequestFiles
from bulktool.containers.limits import DEFAULT_LIMITS, Limits
from bulktool.messages import BulkError


def open_request(path_name: str, data: bytes, *, password: bytes | None, terminal_x25519: X25519PrivateKey | None,
                 department_ed25519: Ed25519PublicKey | None, limits: Limits = DEFAULT_LIMITS) -> RequestFiles:
    """Decrypt a request in memory. `.zip` needs `password`; `.bte` needs the terminal's X25519
    private key and the department's registered Ed25519 key (a sealed request is always checked
    against its sender here: there is no unsigned path). Other extensions: E-CON-001. More than
    limits.max_request_bytes: E-CON-021 (the exchange checks the file's size before reading it)."""
    low = path_name.lower()
    if len(data) > limits.max_request_bytes:
        raise BulkError("E-CON-021", name=path_name, limit=limits.max_request_bytes)
    if low.endswith(".zip"):
        if password is None:
            raise BulkError("E-CON-004")
        return aeszip.read_request(data, password, limits)
    if low.endswith(".bte"):
        if terminal_x25519 is None or department_ed25519 is None:
            raise BulkError("E-CON-014")
        files = envelope.open_sealed(data, recipient=terminal_x25519, sender=department_ed25519, limits=limits)
        entries = [(aeszip._check_name(name), content) for name, content in files]
        return aeszip.classify(entries)
    raise BulkError("E-CON-001")
