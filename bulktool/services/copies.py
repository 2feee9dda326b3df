"""Result copies kept for re-issue (contract §6): each result container, as written, kept on the
terminal until 受領確認 or the retention period ends — each under a key of its own, so that
erasing a copy destroys its key and an erased copy cannot be decrypted from a copy of the disk
taken later.

Layout of the workspace's reissue/ folder, copies kept under the 受付 number N of their exchange:
    N.bin          nonce ‖ AES-256-GCM(container) under the copy's own random key
    copies.sqlite  one row per copy: file name, when it was kept, and its key sealed to the
                   terminal's own X25519 key (so a login is still needed to open it).
                   `PRAGMA secure_delete` overwrites a deleted row with zeros, and the rollback
                   journal (not WAL) leaves no older copy of the page in a file.
Copies from before per-copy keys (N.bte sealed to the terminal, with N.json) still open and expire.
"""
from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from bulktool import workspace as wsmod
from bulktool.clock import Clock
from bulktool.containers import envelope
from bulktool.keys import KeyPair, decrypt_with_key, encrypt_with_key
from bulktool.messages import BulkError
from bulktool.sqlitedb import connect_private
from bulktool.writer import LedgerWriter

_SCHEMA = """CREATE TABLE IF NOT EXISTS copies (
  acceptance INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, sealed_key BLOB NOT NULL)"""


class CopyStore:
    def __init__(self, directory: Path, keys: KeyPair, clock: Clock) -> None:
        self.dir, self.keys, self.clock = directory, keys, clock
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = connect_private(self.dir / "copies.sqlite", wal=False)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _blob(self, n: int) -> Path:
        return self.dir / f"{n}.bin"

    def _aad(self, n: int) -> bytes:
        return f"bulktool-copy/1:{n}".encode()

    def keep(self, acceptance_no: int, name: str, container: bytes) -> None:
        key = os.urandom(32)
        wsmod.write_private(self._blob(acceptance_no), encrypt_with_key(key, container, self._aad(acceptance_no)))
        sealed = envelope.seal([("key", key)], recipient=self.keys.public.x25519, sender=self.keys.ed25519)
        self.db.execute("INSERT OR REPLACE INTO copies VALUES (?,?,?,?)",
                        (acceptance_no, name, self.clock.timestamp(), sealed))

    def load(self, acceptance_no: int) -> tuple[str, bytes]:
        row = self.db.execute("SELECT name, sealed_key FROM copies WHERE acceptance = ?", (acceptance_no,)).fetchone()
        if row is None:
            return self._load_legacy(acceptance_no)
        name, sealed = row
        try:
            key = envelope.open_sealed(sealed, recipient=self.keys.x25519, sender=self.keys.public.ed25519)[0][1]
            return name, decrypt_with_key(key, self._blob(acceptance_no).read_bytes(), self._aad(acceptance_no))
        except (OSError, BulkError):
            raise BulkError("E-MED-016", entry=acceptance_no) from None

    def _load_legacy(self, n: int) -> tuple[str, bytes]:
        blob = self.dir / f"{n}.bte"
        if not blob.exists():
            raise BulkError("E-MED-016", entry=n)
        return envelope.open_sealed(blob.read_bytes(), recipient=self.keys.x25519, sender=self.keys.public.ed25519)[0]

    def drop(self, acceptance_no: int) -> bool:
        """Erase the copy: its key first (the row overwritten by secure_delete), then its file."""
        existed = self.db.execute("DELETE FROM copies WHERE acceptance = ?", (acceptance_no,)).rowcount > 0
        for p in (self._blob(acceptance_no), self.dir / f"{acceptance_no}.bte", self.dir / f"{acceptance_no}.json"):
            if p.exists():
                existed = True
                p.unlink()
        return existed

    def kept_before(self, cutoff: datetime) -> list[tuple[int, str]]:
        """(受付 number, file name) of the copies kept at or before `cutoff`."""
        old = [(n, name) for n, name, at in self.db.execute("SELECT acceptance, name, created_at FROM copies")
               if datetime.fromisoformat(at) <= cutoff]
        for meta_path in sorted(self.dir.glob("*.json")):  # copies from before per-copy keys
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if datetime.fromisoformat(meta["created_at"]) <= cutoff:
                old.append((int(meta["receipt"]), meta["name"]))
        return sorted(old)

    def orphans(self) -> list[Path]:
        """Files no copy accounts for: a blob whose key was never committed (a crash between the
        two), temp files of an interrupted write."""
        kept = {n for (n,) in self.db.execute("SELECT acceptance FROM copies")}
        legacy = {p.stem for p in self.dir.glob("*.json")}
        return sorted(p for p in self.dir.iterdir()
                      if (p.suffix == ".bin" and p.stem.isdigit() and int(p.stem) not in kept)
                      or (p.suffix == ".bte" and p.stem not in legacy) or p.name.endswith(".tmp"))


def erase_expired(copies: CopyStore, writer: LedgerWriter, *, retention_days: int) -> int:
    """Erase the copies older than the retention period (Retention.reissue_days), each ledgered as
    消去; remove the files no copy accounts for."""
    expired = copies.kept_before(copies.clock.now() - timedelta(days=retention_days))
    for acceptance_no, name in expired:
        copies.drop(acceptance_no)
        writer.record("消去", ref=acceptance_no, files=[{"name": name, "sha256": ""}],
                      note="再発行用保管コピーの保管期間満了による消去（鍵を破棄）")
    for p in copies.orphans():
        p.unlink(missing_ok=True)
    return len(expired)
