"""The sealed envelope (.bte), version 1 — byte layout in docs/envelope.md.

A recipe layer (like Fernet): callers never choose a nonce, a KDF or an algorithm.

    header (82 bytes)  magic "BTE\\0" | version 0x01 | flags 0x00 | recipient key id (8)
                       | ephemeral X25519 public key (32) | sender Ed25519 public key (32)
                       | chunk size (4, big endian)
    chunks             AES-256-GCM of ≤ chunk size bytes each, +16-byte tag; nonce = 11-byte big-endian
                       counter ‖ final flag (1 on the last chunk); AAD = the header
    signature (64)     Ed25519 by the sender over "bulktool-envelope/1" ‖ SHA-256(header ‖ chunks)

The AEAD key is HKDF-SHA256(X25519(ephemeral, recipient), salt = ephemeral ‖ recipient public
keys, info = "bulktool-envelope/1"). Truncation, reordering, appended bytes and changed headers
all fail; the STREAM final flag is what makes a cut at a chunk boundary fail.
The plaintext is a list of named files: count (2) then, per file, name length (2), UTF-8 name,
data length (8), data.
"""
from __future__ import annotations

import hashlib
import struct

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bulktool.containers.limits import DEFAULT_LIMITS, Limits
from bulktool.messages import BulkError

MAGIC = b"BTE\x00"
VERSION = 1
CHUNK = 64 * 1024
TAG = 16
HEADER_LEN = 4 + 1 + 1 + 8 + 32 + 32 + 4
SIG_LEN = 64
INFO = b"bulktool-envelope/1"


def _raw(key) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(recipient: X25519PublicKey) -> bytes:
    return hashlib.sha256(_raw(recipient)).digest()[:8]


def _aead_key(shared: bytes, eph: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph + recipient, info=INFO).derive(shared)


def _nonce(counter: int, final: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def pack_files(files: list[tuple[str, bytes]]) -> bytes:
    parts = [struct.pack(">H", len(files))]
    for name, data in files:
        n = name.encode("utf-8")
        parts += [struct.pack(">H", len(n)), n, struct.pack(">Q", len(data)), data]
    return b"".join(parts)


def unpack_files(plain: bytes | bytearray, limits: Limits) -> list[tuple[str, bytes]]:
    plain = memoryview(plain)
    try:
        (count,) = struct.unpack_from(">H", plain, 0)
        if count > limits.max_entries:
            raise BulkError("E-CON-008", limit=limits.max_entries)
        pos, files = 2, []
        for _ in range(count):
            (nlen,) = struct.unpack_from(">H", plain, pos)
            name = bytes(plain[pos + 2:pos + 2 + nlen]).decode("utf-8")
            pos += 2 + nlen
            (dlen,) = struct.unpack_from(">Q", plain, pos)
            pos += 8
            if pos + dlen > len(plain):
                raise ValueError
            files.append((name, bytes(plain[pos:pos + dlen])))
            pos += dlen
        if pos != len(plain):
            raise ValueError
        return files
    except (struct.error, ValueError, UnicodeDecodeError):
        raise BulkError("E-CON-013") from None


def seal(files: list[tuple[str, bytes]], *, recipient: X25519PublicKey, sender: Ed25519PrivateKey) -> bytes:
    """Seal named files to `recipient` (X25519), signed by `sender` (Ed25519). A fresh ephemeral
    key per envelope, so a fresh AEAD key: nonces can never repeat."""
    eph = X25519PrivateKey.generate()
    eph_raw, rcpt_raw = _raw(eph.public_key()), _raw(recipient)
    header = (MAGIC + bytes([VERSION, 0]) + key_id(recipient) + eph_raw + _raw(sender.public_key())
              + struct.pack(">I", CHUNK))
    aead = AESGCM(_aead_key(eph.exchange(recipient), eph_raw, rcpt_raw))
    plain = memoryview(pack_files(files))
    digest = hashlib.sha256(header)
    out = [header]
    n_chunks = max(1, -(-len(plain) // CHUNK))
    for i in range(n_chunks):
        sealed = aead.encrypt(_nonce(i, i == n_chunks - 1), plain[i * CHUNK:(i + 1) * CHUNK], header)
        digest.update(sealed)
        out.append(sealed)
    out.append(sender.sign(INFO + digest.digest()))
    return b"".join(out)


def open_sealed(data: bytes, *, recipient: X25519PrivateKey, sender: Ed25519PublicKey | None,
                limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, bytes]]:
    """The named files sealed in `data`, in their order.

    `sender` is the Ed25519 key the envelope must be signed with. None skips the sender check
    (the signature is still verified against the key in the header, which proves integrity but
    not who sealed it): only for a caller that says so explicitly, e.g. `bulktool decrypt`
    without `--terminal-key`. The signature is checked before anything is decrypted.
    Errors: E-CON-013 corrupt/truncated/tampered, E-CON-014 bad signature or other sender,
    E-CON-015 not for this recipient, E-CON-016 unknown version, E-CON-008/009 limits."""
    if len(data) < 5 or data[:4] != MAGIC:
        raise BulkError("E-CON-013")
    if data[4] != VERSION:
        raise BulkError("E-CON-016", version=data[4])
    if len(data) < HEADER_LEN + TAG + SIG_LEN:
        raise BulkError("E-CON-013")
    if len(data) - HEADER_LEN - SIG_LEN > limits.max_expanded_bytes + (limits.max_expanded_bytes // CHUNK + 1) * TAG:
        raise BulkError("E-CON-009", limit=limits.max_expanded_bytes)
    view = memoryview(data)
    header, signature = bytes(view[:HEADER_LEN]), bytes(view[-SIG_LEN:])
    rid, eph_raw, sender_raw = header[6:14], header[14:46], header[46:78]
    (chunk,) = struct.unpack(">I", header[78:82])
    if header[5] != 0 or chunk != CHUNK:
        raise BulkError("E-CON-013")
    if rid != key_id(recipient.public_key()):
        raise BulkError("E-CON-015")
    if sender is not None and _raw(sender) != sender_raw:
        raise BulkError("E-CON-014")
    try:
        Ed25519PublicKey.from_public_bytes(sender_raw).verify(
            signature, INFO + hashlib.sha256(view[:-SIG_LEN]).digest())
    except (InvalidSignature, ValueError):
        raise BulkError("E-CON-014") from None
    try:
        aead = AESGCM(_aead_key(recipient.exchange(X25519PublicKey.from_public_bytes(eph_raw)), eph_raw,
                                _raw(recipient.public_key())))
    except ValueError:  # a low-order ephemeral key
        raise BulkError("E-CON-013") from None
    cipher = view[HEADER_LEN:-SIG_LEN]
    size = CHUNK + TAG
    n_chunks = max(1, -(-len(cipher) // size))
    plain = bytearray()
    try:
        for i in range(n_chunks):
            plain += aead.decrypt(_nonce(i, i == n_chunks - 1), cipher[i * size:(i + 1) * size], header)
    except InvalidTag:
        raise BulkError("E-CON-013") from None
    return unpack_files(plain, limits)
