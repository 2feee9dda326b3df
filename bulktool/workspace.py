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
from bulktool.keys import decrypt_with_key, derive_key, encrypt_with_key
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
def wrap_kek(kek: bytes, passphrase: bytes, operator_id: str) -> bytes:
    """A key slot: salt(16) || nonce(12) || AES-256-GCM(KEK) under scrypt(passphrase), bound to the operator ID."""
    salt = os.urandom(16)
    return salt + encrypt_with_key(derive_key(passphrase, salt), kek, operator_id.encode())


def unwrap_kek(slot: bytes, passphrase: bytes, operator_id: str) -> bytes | None:
    """The KEK, or None when the passphrase is wrong (or the slot damaged or deleted)."""
    if len(slot) < 16 + 12 + 16:
        return None
    try:
        return decrypt_with_key(derive_key(passphrase, slot[:16]), slot[16:], operator_id.encode())
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
