"""Backups of the workspace (contract §9): `backup create` / `verify` / `restore`.

One file, a sealed envelope (bulktool/containers/envelope.py, docs/envelope.md: X25519 to the
recipient, signed with the sender's Ed25519 key) sealed to an offline recovery key (a key pair
made with `keys generate`) and signed with the terminal's key, holding:

    manifest.json       format, created_at (the injected clock), terminal ID, operator, the
                        ledger's head checkpoint N:HASH, the operation log's head, the recovery
                        and terminal keys' fingerprints, whether the store is in, and for every
                        other file its name, size and SHA-256
    config.json, keys/terminal.key, keys/terminal.pub
    registry.sqlite, ledger.sqlite, oplog.sqlite    copied with SQLite's online backup API into
                        memory (a consistent snapshot of a live database, never a file copy)
    store.sqlite        only with --with-store, and only for the SQLite store (a PostgreSQL
                        store is backed up with PostgreSQL's tools, docs/postgresql.md)

Left out on purpose: reissue/ (the kept result copies: each is erased, with its key, at 受領確認
or at the end of its retention — a backup would keep what the ledger says was erased), tmp/ and
locks/. Nothing is ever written in plaintext outside the restore's target: the snapshots are
made in memory, and a restore writes into a new folder beside the target that is renamed to it.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bulktool import keys
from bulktool import workspace as wsmod
from bulktool.changes import BACKUP_NOTE
from bulktool.clock import Clock
from bulktool.containers import envelope
from bulktool.containers.limits import Limits
from bulktool.ledger import GENESIS_PREV, Ledger, VerifyReport, format_checkpoint, parse_checkpoint, verify_chain
from bulktool.messages import BulkError
from bulktool.oplog import OperationLog, OplogReport, ledgered_marks, verify_records
from bulktool.registry import Registry
from bulktool.session import active_lock
from bulktool.store.url import SQLITE_FILE, create_store
from bulktool.workspace import Workspace
from bulktool.writer import LedgerWriter

FORMAT = "bulktool-backup/1"
MANIFEST = "manifest.json"
DATABASES = ("registry.sqlite", "ledger.sqlite", "oplog.sqlite")
PLAIN_FILES = (wsmod.CONFIG, wsmod.TERMINAL_KEY, wsmod.TERMINAL_PUB)
STORE = SQLITE_FILE
# Every name a backup may hold: a restore writes nothing else (no path from the file is trusted).
NAMES = frozenset(DATABASES + PLAIN_FILES + (STORE,))
REQUIRED = frozenset(DATABASES + PLAIN_FILES)
# A backup opens under its own limits: one file per name, and a store may be large.
LIMITS = Limits(max_entries=len(NAMES) + 1, max_expanded_bytes=1 << 40)
SUBDIRS = ("keys", "reissue", "tmp")
# The 管理簿 event a backup is ledgered as: the contract's event list is fixed (§6), and a backup
# carries the registry (operators, departments) and the terminal's keys off the terminal, which
# is what 登録変更 ("operators, departments, keys") records. The note's first word says which.
EVENT = "登録変更"
NOTE_PREFIX = BACKUP_NOTE


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _raw(key) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


# --- SQLite snapshots, in memory ------------------------------------------------------------------
def snapshot(path: Path) -> bytes:
    """A consistent copy of a live SQLite database, by SQLite's online backup API into memory."""
    src = sqlite3.connect(path, timeout=60.0)
    dst = sqlite3.connect(":memory:")
    try:
        src.backup(dst)
        image = bytearray(dst.serialize())
    finally:
        dst.close()
        src.close()
    return _rollback_journal(image)


def _rollback_journal(image: bytes | bytearray) -> bytes:
    """The image with its header's file format bytes (offsets 18 and 19) set to the rollback
    journal (1): a WAL-mode image cannot be opened in memory. The workspace reopens its files in
    WAL mode as ever (sqlitedb.connect_private)."""
    image = bytearray(image)
    if len(image) >= 100 and image[:16] == b"SQLite format 3\x00" and image[18:20] == b"\x02\x02":
        image[18:20] = b"\x01\x01"
    return bytes(image)


def _memory_db(data: bytes) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(_rollback_journal(data))
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


def _ledger_entries(data: bytes) -> list[dict]:
    """The entries of a ledger database image, read in memory through the Ledger's own queries."""
    db = _memory_db(data)
    view = Ledger.__new__(Ledger)  # the storage class over this connection: no file, no schema change
    view.db, view.path = db, Path(":memory:")
    try:
        return list(view.entries())
    finally:
        db.close()


def _oplog_rows(data: bytes) -> list[dict]:
    db = _memory_db(data)
    view = OperationLog.__new__(OperationLog)
    view.db, view.path = db, Path(":memory:")
    try:
        return list(view.chain_rows())
    finally:
        db.close()


def _head(entries: list[dict]) -> tuple[int, str]:
    return (entries[-1]["seq"], entries[-1]["hash"]) if entries else (0, GENESIS_PREV)


# --- create ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Created:
    path: Path
    sha256: str
    manifest: dict
    entry: dict
    store_note: str


def check_recipient(pub: keys.PublicKeys, terminal: keys.PublicKeys, registry: Registry) -> None:
    """The recovery key must be neither the terminal's own (a backup sealed to it would be opened
    by whoever holds the terminal) nor a department's (E-BAK-001, E-BAK-002)."""
    if _raw(pub.x25519) == _raw(terminal.x25519) or _raw(pub.ed25519) == _raw(terminal.ed25519):
        raise BulkError("E-BAK-001")
    for dep in registry.departments():
        if not dep.public_key:
            continue
        try:
            theirs = keys.read_public(dep.public_key.encode("utf-8"))
        except BulkError:
            continue
        if _raw(theirs.x25519) == _raw(pub.x25519):
            raise BulkError("E-BAK-002", department=dep.code)


def create(ws: Workspace, registry: Registry, terminal: keys.KeyPair, writer: LedgerWriter, out: Path,
           recovery_pub: bytes, *, with_store: bool) -> Created:
    """Seal the workspace to the recovery key into `out` (never overwritten), then ledger it as
    登録変更 (note 「バックアップ作成 …」, the file's name and SHA-256). Taken while no exchange
    runs (the active lock, exclusively: E-BAK-004 otherwise), so that no 受付 is open in it."""
    pub = keys.read_public(recovery_pub)
    check_recipient(pub, terminal.public, registry)
    out = Path(out)
    if out.exists():
        raise BulkError("E-BAK-003", path=str(out))
    if not out.parent.is_dir():
        raise BulkError("E-BAK-010", home=str(out.parent), detail="フォルダがありません")
    with active_lock(ws, exclusive=True, blocking=False) as got:
        if not got:
            raise BulkError("E-BAK-004")
        files: list[tuple[str, bytes]] = [(name, ws.path(name).read_bytes()) for name in PLAIN_FILES]
        files += [(name, snapshot(ws.path(name))) for name in DATABASES]
        if not with_store:
            store_note = "保管庫は含まない"
        elif ws.store_url():
            store_note = "保管庫（PostgreSQL）は含まない"
        else:
            files.append((STORE, snapshot(ws.path(STORE))))
            store_note = "保管庫を含む"
        db = dict(files)
        entries = _ledger_entries(db["ledger.sqlite"])
        rows = _oplog_rows(db["oplog.sqlite"])
        manifest = {
            "format": FORMAT, "created_at": writer.clock.timestamp(), "terminal_id": ws.terminal_id,
            "operator_id": writer.actor.operator_id,
            "ledger_checkpoint": format_checkpoint(*_head(entries)),
            "oplog_head": f"{rows[-1]['id']}:{rows[-1]['hash']}" if rows and rows[-1].get("hash") else None,
            "store": STORE in db, "recovery_key": pub.fingerprint, "terminal_key": terminal.public.fingerprint,
            "files": [{"name": n, "size": len(d), "sha256": _sha256(d)} for n, d in files],
        }
        body = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
        sealed = envelope.seal([(MANIFEST, body)] + files, recipient=pub.x25519, sender=terminal.ed25519)
        digest = _sha256(sealed)
        wsmod.write_private(out, sealed)
        try:
            entry = writer.record(EVENT, files=[{"name": out.name, "sha256": digest}],
                                  note=f"{NOTE_PREFIX}（回復用の鍵 {pub.fingerprint}、管理簿 {manifest['ledger_checkpoint']}"
                                       f"、{store_note}）")
        except BaseException:
            out.unlink(missing_ok=True)  # a backup the ledger does not know of is not left behind
            raise
    return Created(out, digest, manifest, entry, store_note)


# --- verify ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verified:
    manifest: dict
    files: dict[str, bytes]
    ledger: VerifyReport
    oplog: OplogReport
    sha256: str

    @property
    def terminal_id(self) -> str:
        return str(self.manifest.get("terminal_id"))


def _open(data: bytes, name: str, recovery: keys.KeyPair) -> list[tuple[str, bytes]]:
    try:
        return envelope.open_sealed(data, recipient=recovery.x25519, sender=None, limits=LIMITS)
    except BulkError as err:
        if err.code == "E-CON-015":
            raise BulkError("E-BAK-005", fingerprint=recovery.public.fingerprint) from None
        detail = {"E-CON-014": "署名が一致しません", "E-CON-016": "形式の版が不明です"}.get(err.code, "復号できません")
        raise BulkError("E-BAK-006", file=name, detail=detail) from None


def verify(data: bytes, name: str, key_file: bytes, passphrase: bytes) -> Verified:
    """Open a backup with the recovery private key (.key and its passphrase: E-KEY-001/002), and
    check it whole: the envelope (E-BAK-005 another key's, E-BAK-006 damaged or tampered), the
    manifest and every file's size and SHA-256 (E-BAK-007), the terminal key inside being the one
    that signed it, and the ledger inside verifying up to exactly the manifest's checkpoint, its
    operation log's chain from the ledger's anchors (E-BAK-008). Writes nothing."""
    recovery = keys.open_private(key_file, passphrase)
    opened = _open(data, name, recovery)
    names = [n for n, _ in opened]
    if len(set(names)) != len(names) or names[:1] != [MANIFEST] or not set(names[1:]) <= NAMES:
        raise BulkError("E-BAK-007", name="（ファイルの一覧）", detail="想定外のファイル名または重複があります")
    files = dict(opened[1:])
    try:
        manifest = json.loads(opened[0][1].decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError
        listed = {f["name"]: f for f in manifest["files"]}
        cp = parse_checkpoint(manifest["ledger_checkpoint"]) if manifest["ledger_checkpoint"] != f"0:{GENESIS_PREV}" \
            else None
    except (ValueError, KeyError, TypeError, BulkError):
        raise BulkError("E-BAK-007", name=MANIFEST, detail="目録の形式が不正です") from None
    if set(listed) != set(files) or not REQUIRED <= set(files):
        raise BulkError("E-BAK-007", name="（ファイルの一覧）", detail="目録とファイルの組が一致しません")
    for n, content in files.items():
        if listed[n].get("size") != len(content) or listed[n].get("sha256") != _sha256(content):
            raise BulkError("E-BAK-007", name=n, detail="大きさまたは SHA-256 が目録と一致しません")
    terminal = keys.read_public(files[wsmod.TERMINAL_PUB])
    if data[46:78] != _raw(terminal.ed25519):  # the envelope's sender key (docs/envelope.md, offset 46)
        raise BulkError("E-BAK-006", file=name, detail="中の端末の鍵で署名されていません")
    try:
        entries = _ledger_entries(files["ledger.sqlite"])
        rows = _oplog_rows(files["oplog.sqlite"])
    except sqlite3.DatabaseError:
        raise BulkError("E-BAK-008", what="管理簿・操作履歴", reason="データベースとして読めません") from None
    report = verify_chain(entries, terminal.ed25519, cp)
    if report.ok and cp is not None and report.count != cp[0]:
        report = VerifyReport(False, report.count, report.head_hash, cp[0] + 1,
                              f"目録のチェックポイント {cp[0]} 件より多い記録があります", "E-LED-001")
    if not report.ok:
        raise BulkError("E-BAK-008", what="管理簿", reason=report.error().message)
    anchor, heads = ledgered_marks(entries)
    logged = verify_records(rows, anchor=anchor, checkpoints=heads)
    if not logged.ok:
        raise BulkError("E-BAK-008", what="操作履歴", reason=logged.error().message)
    return Verified(manifest, files, report, logged, _sha256(data))


# --- restore -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    home: Path
    verified: Verified
    store_note: str


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def restore(data: bytes, name: str, key_file: bytes, passphrase: bytes, home: Path, clock: Clock) -> Restored:
    """Verify the backup whole (as `verify`), then make the workspace `home`, which must not exist
    or be an empty folder (E-BAK-009): every file is written into a new folder beside it, synced,
    and that folder renamed to `home` — a failure leaves no workspace, never half of one
    (E-BAK-010). The restored operation log records the restore (command `backup restore`, no
    operator: none is logged in); a SQLite store not in the backup is made empty."""
    home = Path(home).expanduser().resolve()
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise BulkError("E-BAK-009", home=str(home))
    v = verify(data, name, key_file, passphrase)
    config = json.loads(v.files[wsmod.CONFIG].decode("utf-8"))
    work = home.parent / f".{home.name}.restore-{secrets.token_hex(4)}"
    try:
        home.parent.mkdir(parents=True, exist_ok=True)
        work.mkdir(mode=0o700)
        for sub in SUBDIRS:
            (work / sub).mkdir(mode=0o700)
        for n, content in v.files.items():
            _write(work / n, content)
        if config.get("store"):
            store_note = "保管庫は PostgreSQL にあり、バックアップには含まれません（作業領域の設定が指すデータベースを使います）"
        elif STORE in v.files:
            store_note = "保管庫を復元しました"
        else:
            create_store(work, None)
            store_note = "保管庫はバックアップに含まれていないため空で作りました（store load で読み込み直してください）"
        with OperationLog(work / "oplog.sqlite") as log:
            log.record(timestamp=clock.timestamp(), operator_id=None, terminal_id=str(config.get("terminal_id")),
                       command="backup restore", outcome="成功", counts={"files": len(v.files)}, hashes=[v.sha256],
                       detail="バックアップから作業領域を復元")
        if home.exists():
            home.rmdir()  # empty, as checked
        os.replace(work, home)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise BulkError("E-BAK-010", home=str(home), detail=type(exc).__name__) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Restored(home, v, store_note)
