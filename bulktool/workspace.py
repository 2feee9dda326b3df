"""The workspace on the 代表端末: config, registry, store, ledger, operation log, keys.

Layout (every directory 0700, every file 0600):
    config.json        terminal ID, retention settings, limits
    registry.sqlite    operators (with their key slots), departments, media
    store.sqlite       the prefectural store and the provision record (personal data), unless the
                       config names a PostgreSQL store ("store": URL)
    ledger.sqlite      the 管理簿
    oplog.sqlite       the 操作履歴
    keys/terminal.key  the terminal's private keys, encrypted under a random key-encryption key
    keys/terminal.pub  the terminal's public keys (shareable)
    reissue/           result containers kept for re-issue, encrypted to the terminal's own key
    tmp/               scratch space; plaintext personal data is never written here

The key-encryption key (KEK) is never stored in clear: each operator has a slot holding the
KEK wrapped under a key derived from the operator's passphrase (scrypt), as LUKS does.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bulktool.containers.limits import Limits
from bulktool.keys import current_kdf, decrypt_with_key, derive_key, encrypt_with_key
from bulktool.messages import BulkError
from bulktool.retention import Retention

CONFIG = "config.json"
FORMAT = "bulktool-workspace/1"
TERMINAL_KEY = "keys/terminal.key"
TERMINAL_PUB = "keys/terminal.pub"

DEFAULT_CONFIG = {
    "format": FORMAT,
    **Retention().config(),
    "limits": {"max_entries": 16, "max_expanded_bytes": 2 * 1024**3, "max_rows": 1_048_576},
}


def resolve_home(home: str | os.PathLike | None) -> Path:
    value = home or os.environ.get("BULKTOOL_HOME")
    if not value:
        raise BulkError("E-WS-003")
    return Path(value).expanduser().resolve()


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by the owner only, atomically (temp name, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- key slots (LUKS-like), over the recipes of bulktool.keys --------------------------------
# Version 2: SLOT_MAGIC ‖ log2(n), r, p (one byte each) ‖ salt(16) ‖ nonce(12) ‖ AES-256-GCM(KEK),
# the AAD binding the operator ID and the header. Version 1 (earlier versions, no header): salt(16) ‖
# nonce(12) ‖ AES-256-GCM(KEK) under scrypt n=2**15 with the operator ID as AAD; it still opens, and
# a login that opens one rewrites it as version 2 (session.authenticate).
SLOT_MAGIC = b"bulktool-slot/2\n"
V1_KDF = (2**15, 8, 1)


def _slot_header(n: int, r: int, p: int) -> bytes:
    return SLOT_MAGIC + bytes((n.bit_length() - 1, r, p))


def wrap_kek(kek: bytes, passphrase: bytes, operator_id: str) -> bytes:
    """A key slot (version 2, keys.current_kdf()): the KEK under scrypt(passphrase), bound to the operator ID."""
    header, salt = _slot_header(*current_kdf()), os.urandom(16)
    key = derive_key(passphrase, salt, *current_kdf())
    return header + salt + encrypt_with_key(key, kek, operator_id.encode() + b"\0" + header)


def slot_kdf(slot: bytes) -> tuple[int, int, int] | None:
    """The scrypt parameters a slot was made with (version 1: 2**15), None when it has none valid."""
    if not slot.startswith(SLOT_MAGIC):
        return V1_KDF
    raw = slot[len(SLOT_MAGIC):len(SLOT_MAGIC) + 3]
    if len(raw) != 3 or raw[0] > 30:
        return None
    return 1 << raw[0], raw[1], raw[2]


def slot_is_current(slot: bytes) -> bool:
    """Whether the slot is version 2 with today's parameters (else a login rewrites it)."""
    return slot.startswith(SLOT_MAGIC) and slot_kdf(slot) == current_kdf()


def dummy_slot() -> bytes:
    """A slot that no passphrase opens, with today's parameters: an unknown operator ID costs the
    same KDF as a wrong passphrase."""
    return _slot_header(*current_kdf()) + os.urandom(16 + 12 + 32 + 16)


def unwrap_kek(slot: bytes, passphrase: bytes, operator_id: str) -> bytes | None:
    """The KEK, or None when the passphrase is wrong (or the slot damaged or deleted)."""
    kdf = slot_kdf(slot)
    if slot.startswith(SLOT_MAGIC):
        header_len = len(SLOT_MAGIC) + 3
        body, aad_extra = slot[header_len:], b"\0" + slot[:header_len]
    else:
        body, aad_extra = slot, b""
    if kdf is None or len(body) < 16 + 12 + 16:
        return None
    try:
        key = derive_key(passphrase, body[:16], *kdf)
    except ValueError:  # parameters outside the accepted set: a damaged or hostile slot
        return None
    try:
        return decrypt_with_key(key, body[16:], operator_id.encode() + aad_extra)
    except BulkError:
        return None


def seal_with_kek(kek: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return encrypt_with_key(kek, plaintext, aad)


def open_with_kek(kek: bytes, blob: bytes, aad: bytes) -> bytes:
    """The terminal's own key material; a failure here is an integrity failure (exit 3)."""
    try:
        return decrypt_with_key(kek, blob, aad)
    except BulkError:
        raise BulkError("E-KEY-003", detail="鍵ファイルの復号に失敗しました") from None


@dataclass
class Workspace:
    home: Path
    config: dict

    @property
    def terminal_id(self) -> str:
        return self.config["terminal_id"]

    def path(self, name: str) -> Path:
        return self.home / name

    @classmethod
    def open(cls, home: str | os.PathLike | None) -> "Workspace":
        root = resolve_home(home)
        cfg = root / CONFIG
        if not cfg.is_file():
            raise BulkError("E-WS-002", home=str(root))
        try:
            config = json.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BulkError("E-WS-004", detail=type(exc).__name__) from None
        if config.get("format") != FORMAT:
            raise BulkError("E-WS-004", detail="format")
        return cls(root, config)

    @classmethod
    def create(cls, home: str | os.PathLike | None, terminal_id: str, created_at: str) -> "Workspace":
        """Make the directories and config; refuses (changing nothing) if one exists."""
        root = resolve_home(home)
        if (root / CONFIG).exists() or (root / "registry.sqlite").exists():
            raise BulkError("E-WS-001", home=str(root))
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        for sub in ("keys", "reissue", "tmp"):
            (root / sub).mkdir(mode=0o700, exist_ok=True)
        config = dict(DEFAULT_CONFIG, terminal_id=terminal_id, created_at=created_at)
        return cls(root, config)

    def limits(self) -> Limits:
        """The request limits in force (config "limits", defaults for what it does not set)."""
        return Limits(**{k: v for k, v in self.config.get("limits", {}).items() if k in Limits.__dataclass_fields__})

    def retention(self) -> Retention:
        """The retention periods in force for this workspace."""
        return Retention.from_config(self.config)

    def store_url(self, *, load: bool = False) -> str | None:
        """The PostgreSQL URL of the store (config "store"; with load=True the owner role's
        "store_load" when set), or None: the SQLite file store.sqlite (docs/postgresql.md)."""
        return (load and self.config.get("store_load")) or self.config.get("store") or None

    def save_config(self) -> None:
        data = json.dumps(self.config, ensure_ascii=False, indent=2).encode("utf-8")
        write_private(self.home / CONFIG, data)
