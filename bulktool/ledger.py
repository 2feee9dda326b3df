"""The 管理簿 (media ledger): an append-only, hash-chained, signed log (SPEC §6; docs/ledger.md).

Pure part, in the style of Go's sumdb tlog: `canonical`, `entry_hash`, `sign_entry`,
`verify_chain`, `parse_checkpoint`, `format_checkpoint` work on plain dicts and need only the
entries and the terminal's public key — no clock, no files. Storage (`Ledger`, SQLite) is a
separate, boring layer: appends serialised across processes, UPDATE/DELETE refused by triggers,
exports with Japanese column names.

No personal data is ever written to the ledger; callers pass codes, counts, hashes and file names.
"""
from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import os
import re
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bulktool.messages import BulkError
from bulktool.results import neutralise
from bulktool.sqlitedb import connect_private

GENESIS_PREV = "0" * 64
EVENTS = ("開設", "媒体登録", "受付", "出力", "受渡", "受領確認", "貸与", "返却", "消去", "廃棄", "再発行",
          "拒否", "失敗", "登録変更", "開示", "履歴削除", "点検")
# The events that close a 受付 (SPEC §6: exactly one of them cites it).
CLOSING_EVENTS = ("出力", "拒否", "失敗")
# Every hashed field, in storage order; hash and signature are not hashed, prev_hash is.
HASHED_FIELDS = ("seq", "timestamp", "event", "operator_id", "terminal_id", "media_id", "department",
                 "purpose", "approval_no", "request_no", "ref", "error_code", "files", "counts", "note",
                 "prev_hash")
ENTRY_FIELDS = HASHED_FIELDS + ("hash", "signature")
# What a caller of Ledger.append may give; the ledger fills in the rest.
CALLER_FIELDS = tuple(f for f in HASHED_FIELDS if f not in ("seq", "timestamp", "prev_hash"))
JSON_FIELDS = ("files", "counts")
EXPORT_COLUMNS = ("番号", "日時", "事象", "操作者ID", "端末ID", "媒体ID", "照会元", "事務", "決裁番号", "依頼番号",
                  "参照番号", "エラーコード", "ファイル", "件数", "備考", "前ハッシュ", "ハッシュ", "署名")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SHA256_OR_EMPTY = re.compile(r"(?:[0-9a-f]{64})?")

# Kept for callers of the first version.
FIELDS = HASHED_FIELDS
ALL_FIELDS = ENTRY_FIELDS


# --- pure functions -------------------------------------------------------------------------
def canonical(fields: dict, prev_hash: str) -> bytes:
    """The bytes that are hashed: a JSON object of every field in HASHED_FIELDS (missing ones as
    null), `prev_hash` taken from the argument, keys sorted at every level, no spaces, UTF-8."""
    body = {k: fields.get(k) for k in HASHED_FIELDS}
    body["prev_hash"] = prev_hash
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def entry_hash(fields: dict, prev_hash: str) -> str:
    """SHA-256 (64 lowercase hex digits) of `canonical(fields, prev_hash)`."""
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def sign_entry(hash_hex: str, key: Ed25519PrivateKey) -> str:
    """The terminal's Ed25519 signature over the 32 raw bytes of the entry hash, base64."""
    return base64.b64encode(key.sign(bytes.fromhex(hash_hex))).decode("ascii")


def verify_signature(hash_hex: str, signature: str, public_key: Ed25519PublicKey) -> bool:
    """True when `signature` (base64) is the key's signature over the entry hash."""
    try:
        public_key.verify(base64.b64decode(signature, validate=True), bytes.fromhex(hash_hex))
        return True
    except (InvalidSignature, ValueError, TypeError, binascii.Error):
        return False


def parse_checkpoint(text: str) -> tuple[int, str]:
    """`N:HASH` → (N, HASH); E-LED-002 unless N ≥ 1 and HASH is 64 hex digits."""
    n, sep, h = str(text).strip().partition(":")
    h = h.lower()
    if not sep or not n.isascii() or not n.isdigit() or int(n) < 1 or not _HEX64.fullmatch(h):
        raise BulkError("E-LED-002")
    return int(n), h


def format_checkpoint(n: int, head_hash: str) -> str:
    """(N, HASH) → `N:HASH`, what `ledger checkpoint` prints."""
    return f"{n}:{head_hash}"


@dataclass(frozen=True)
class VerifyReport:
    """What `verify_chain` found. `first_bad` is the position (1-based) of the first bad entry,
    which in an untouched ledger is its entry number; `reason` is Japanese, without personal data."""
    ok: bool
    count: int                      # entries read (reading stops at the first break of the chain)
    head_hash: str                  # own hash of the last entry read (GENESIS_PREV when none)
    first_bad: int | None = None
    reason: str = ""
    code: str | None = None         # E-LED-001 (entry), E-LED-003 (truncated), E-LED-004 (checkpoint)
    params: dict = field(default_factory=dict)
    signatures_checked: int = 0

    def error(self) -> BulkError | None:
        """The BulkError to raise (exit code 3), or None when the ledger verified."""
        return None if self.ok else BulkError(self.code or "E-LED-001", **self.params)


def _validate_entry_shape(e: dict) -> str | None:
    """A reason when an entry read back is malformed in a way hashing would not catch."""
    if e.get("event") not in EVENTS:
        return "事象が定義されたものではありません"
    return None


def verify_chain(entries: Iterable[dict], public_key: Ed25519PublicKey | None,
                 checkpoint: tuple[int, str] | None = None, *, workers: int | None = None) -> VerifyReport:
    """Verify a ledger from entry 1: gapless numbering, each prev_hash, each own hash, every
    signature (when `public_key` is given) and, with `checkpoint` (N, HASH), that at least N entries
    exist and entry N's hash is HASH. Detects changed, removed, inserted and reordered entries,
    forged or changed signatures, and truncation below the checkpoint.

    The report names the first bad entry; signatures are checked in `workers` processes
    (default: every core) while the chain is hashed, with libsodium when PyNaCl is installed."""
    prev = GENESIS_PREV
    count = 0
    failures: list[tuple[int, int, str, str, dict]] = []   # (position, priority, code, reason, params)
    checker = _SignatureChecker(public_key, workers) if public_key is not None else None
    cp_n, cp_hash = checkpoint if checkpoint else (None, None)
    try:
        for e in entries:
            pos = count + 1
            reason = None
            if e.get("seq") != pos:
                reason = f"番号が連続していません（{pos} 番目の記録の番号が {_short(e.get('seq'))} です。記録の削除・挿入・並べ替え）"
            elif e.get("prev_hash") != prev:
                reason = "前ハッシュが直前の記録のハッシュと一致しません（記録の削除・挿入・並べ替え）"
            else:
                try:
                    h = entry_hash(e, prev)
                except (TypeError, ValueError):
                    h = None
                if h is None:
                    reason = "記録の形式が不正です（改ざんまたは破損）"
                elif h != e.get("hash"):
                    reason = "記録の内容がハッシュと一致しません（改ざん）"
                else:
                    reason = _validate_entry_shape(e)
            if reason is not None:
                failures.append((pos, 0, "E-LED-001", reason, {"entry": pos, "reason": reason}))
                break
            count = pos
            if checker is not None:
                checker.add(pos, h, e.get("signature"))
            if pos == cp_n and h != cp_hash:
                r = "ハッシュがチェックポイントと一致しません（チェックポイント以前の記録の書き換え）"
                failures.append((pos, 2, "E-LED-004", r, {"n": pos}))
            prev = h
        if cp_n is not None and count < cp_n:
            r = f"管理簿が切り詰められています（チェックポイント {cp_n} 件に対し {count} 件）"
            failures.append((count + 1, 2, "E-LED-003", r, {"n": cp_n, "count": count}))
        bad_sig = checker.first_bad() if checker is not None else None
    finally:
        if checker is not None:
            checker.close()
    if bad_sig is not None:
        r = "端末の署名を検証できません（改ざん、または端末の鍵以外による署名）"
        failures.append((bad_sig, 1, "E-LED-001", r, {"entry": bad_sig, "reason": r}))
    checked = checker.checked if checker is not None else 0
    if not failures:
        return VerifyReport(True, count, prev, signatures_checked=checked)
    pos, _, code, reason, params = min(failures, key=lambda f: (f[0], f[1]))
    return VerifyReport(False, count, prev, pos, reason, code, params, checked)


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 12 else text[:12] + "…"


# --- signature checking, in worker processes ----------------------------------------------
_CHUNK = 8192          # signatures per task
_MIN_PARALLEL = 4096   # below this many signatures, no processes are started


def _first_bad_signature(public_raw: bytes, start: int, hashes: list[str], sigs: list) -> int | None:
    """The position of the first bad signature in one contiguous run, or None (worker side)."""
    try:
        from nacl.bindings import crypto_sign_open
        from nacl.exceptions import CryptoError

        def ok(h: str, s: object) -> bool:
            try:
                sig = base64.b64decode(s, validate=True)
                if len(sig) != 64:
                    return False
                crypto_sign_open(sig + bytes.fromhex(h), public_raw)
                return True
            except (CryptoError, ValueError, TypeError, binascii.Error):
                return False
    except ImportError:  # PyNaCl absent: OpenSSL through cryptography, about half as fast
        key = Ed25519PublicKey.from_public_bytes(public_raw)

        def ok(h: str, s: object) -> bool:
            return isinstance(s, str) and verify_signature(h, s, key)

    for i, (h, s) in enumerate(zip(hashes, sigs)):
        if not ok(h, s):
            return start + i
    return None


class _SignatureChecker:
    """Collects (position, hash, signature) in order and verifies them in batches, in a process
    pool once there are enough of them, so that the main process keeps hashing meanwhile."""

    def __init__(self, public_key: Ed25519PublicKey, workers: int | None) -> None:
        self.raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
        self.start = 1
        self.hashes: list[str] = []
        self.sigs: list = []
        self.pending: list[tuple[Future, tuple]] = []
        self.results: list[int | None] = []
        self.pool: ProcessPoolExecutor | None = None
        self.checked = 0

    def add(self, pos: int, h: str, sig: object) -> None:
        if not self.hashes:
            self.start = pos
        self.hashes.append(h)
        self.sigs.append(sig)
        if len(self.hashes) >= _CHUNK and self.workers > 1:
            self._flush(parallel=True)

    def _flush(self, parallel: bool) -> None:
        args = (self.raw, self.start, self.hashes, self.sigs)
        self.checked += len(self.hashes)
        self.hashes, self.sigs = [], []
        if parallel and self.pool is None:
            try:
                self.pool = ProcessPoolExecutor(max_workers=self.workers)
            except (OSError, NotImplementedError, ImportError):
                self.workers = 1
        if parallel and self.pool is not None:
            self.pending.append((self.pool.submit(_first_bad_signature, *args), args))
        else:
            self.results.append(_first_bad_signature(*args))

    def first_bad(self) -> int | None:
        if self.hashes:
            # The tail goes to the pool too when one is running; small ledgers stay in-process.
            self._flush(parallel=self.pool is not None and self.checked + len(self.hashes) >= _MIN_PARALLEL)
        for fut, args in self.pending:
            try:
                self.results.append(fut.result())
            except BrokenProcessPool:  # a worker died (e.g. out of memory): check that run here
                self.results.append(_first_bad_signature(*args))
        bad = [r for r in self.results if r is not None]
        return min(bad) if bad else None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


# --- validation of what callers append ------------------------------------------------------
def validate_fields(fields: dict) -> None:
    """ValueError unless `fields` is a well-formed entry body for `Ledger.append` (a programming
    error, not a user's): known keys only, a defined event, files as [{"name", "sha256"}],
    counts as {str: int}, text fields as str, ref as int."""
    unknown = set(fields) - set(CALLER_FIELDS)
    if unknown:
        raise ValueError(f"unknown ledger fields: {sorted(unknown)}")
    if fields.get("event") not in EVENTS:
        raise ValueError("ledger event is not one of EVENTS")
    for k in CALLER_FIELDS:
        v = fields.get(k)
        if v is None or k in ("event", "files", "counts"):
            continue
        if k == "ref":
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError("ledger ref must be an entry number")
        elif not isinstance(v, str):
            raise ValueError(f"ledger field {k} must be str")
    files = fields.get("files")
    if files is not None:
        if not isinstance(files, (list, tuple)) or not all(
                isinstance(f, dict) and set(f) == {"name", "sha256"} and isinstance(f["name"], str)
                and isinstance(f["sha256"], str) and _SHA256_OR_EMPTY.fullmatch(f["sha256"]) for f in files):
            raise ValueError('ledger files must be a list of {"name": str, "sha256": hex}')
    counts = fields.get("counts")
    if counts is not None:
        if not isinstance(counts, dict) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in counts.items()):
            raise ValueError("ledger counts must be {str: int}")


def _check_timestamp(timestamp: str) -> None:
    try:
        if datetime.fromisoformat(timestamp).tzinfo is None:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError("ledger timestamp must be ISO 8601 with a time zone") from None


# --- storage --------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, event TEXT NOT NULL, operator_id TEXT,
  terminal_id TEXT, media_id TEXT, department TEXT, purpose TEXT, approval_no TEXT, request_no TEXT,
  ref INTEGER, error_code TEXT, files TEXT, counts TEXT, note TEXT, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL, signature TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_event ON entries(event);
CREATE INDEX IF NOT EXISTS entries_ref ON entries(ref);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
  BEGIN SELECT RAISE(ABORT, '管理簿は追記のみです（更新はできません）'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
  BEGIN SELECT RAISE(ABORT, '管理簿は追記のみです（削除はできません）'); END;
"""
_SELECT = f"SELECT {','.join(ENTRY_FIELDS)} FROM entries"


def _to_json(value: object) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _from_json(text: object) -> object:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text  # damaged: left as text, so that its hash no longer matches


def _row_to_entry(row: tuple) -> dict:
    e = dict(zip(ENTRY_FIELDS, row))
    e["files"] = _from_json(e["files"])
    e["counts"] = _from_json(e["counts"])
    return e


class Ledger:
    """The 管理簿 in its own SQLite file. Append-only: there is no update or delete API, and
    triggers refuse UPDATE and DELETE (a tamperer can drop them: that is what verify is for)."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.db = connect_private(self.path, timeout=busy_timeout)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, fields: dict, *, key: Ed25519PrivateKey, timestamp: str) -> dict:
        """Append one entry and return it as stored (with seq, prev_hash, hash, signature).

        `fields` holds any of CALLER_FIELDS (event required). Numbering, chaining, hashing and
        signing happen under SQLite's write lock (BEGIN IMMEDIATE), so concurrent processes can
        never fork or gap the chain; a busy ledger is waited for up to `busy_timeout` seconds."""
        validate_fields(fields)
        _check_timestamp(timestamp)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS_PREV)
            entry = {k: fields.get(k) for k in HASHED_FIELDS}
            if entry["files"] is not None:
                entry["files"] = [dict(f) for f in entry["files"]]
            entry.update(seq=seq, timestamp=timestamp, prev_hash=prev)
            entry["hash"] = entry_hash(entry, prev)
            entry["signature"] = sign_entry(entry["hash"], key)
            values = [_to_json(entry[k]) if k in JSON_FIELDS else entry[k] for k in ENTRY_FIELDS]
            self.db.execute(f"INSERT INTO entries VALUES ({','.join('?' * len(ENTRY_FIELDS))})", values)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return entry

    def entries(self, start: int = 1) -> Iterator[dict]:
        """Every entry from number `start`, in order, as dicts of ENTRY_FIELDS."""
        cur = self.db.execute(f"{_SELECT} WHERE seq >= ? ORDER BY seq", (start,))
        cur.arraysize = 4096
        while True:
            rows = cur.fetchmany()
            if not rows:
                return
            for row in rows:
                yield _row_to_entry(row)

    def get(self, seq: int) -> dict | None:
        """Entry number `seq`, or None."""
        row = self.db.execute(f"{_SELECT} WHERE seq = ?", (seq,)).fetchone()
        return _row_to_entry(row) if row else None

    def require(self, seq: int) -> dict:
        """Entry number `seq`; E-LED-005 when there is none."""
        e = self.get(seq)
        if e is None:
            raise BulkError("E-LED-005", entry=seq)
        return e

    def head(self) -> tuple[int, str]:
        """(number of entries, own hash of the last one); (0, GENESIS_PREV) when empty."""
        row = self.db.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_PREV)

    def find(self, *, event: str | None = None, ref: int | None = None,
             file_sha256: str | None = None) -> list[dict]:
        """Entries matching every given criterion, in order: the event, the cited entry number,
        a file among `files` with this SHA-256 (e.g. the 出力 that answered a request container)."""
        where, params = [], []
        if event is not None:
            where.append("event = ?")
            params.append(event)
        if ref is not None:
            where.append("ref = ?")
            params.append(ref)
        if file_sha256 is not None:
            where.append("files IS NOT NULL AND json_valid(files) AND EXISTS (SELECT 1 FROM json_each(files) "
                         "WHERE json_extract(json_each.value, '$.sha256') = ?)")
            params.append(file_sha256)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
        return [_row_to_entry(r) for r in self.db.execute(sql, params).fetchall()]

    def output_for_request(self, request_sha256: str) -> dict | None:
        """The first 出力 whose files include the request container with this SHA-256, or None."""
        found = self.find(event="出力", file_sha256=request_sha256)
        return found[0] if found else None

    def open_receipts(self) -> list[dict]:
        """受付 entries that no 出力, 拒否 or 失敗 cites (a crash left them open)."""
        marks = ",".join("?" * len(CLOSING_EVENTS))
        rows = self.db.execute(
            f"{_SELECT} AS r WHERE r.event = '受付' AND NOT EXISTS (SELECT 1 FROM entries e "
            f"WHERE e.ref = r.seq AND e.event IN ({marks})) ORDER BY r.seq", CLOSING_EVENTS).fetchall()
        return [_row_to_entry(r) for r in rows]

    def verify(self, public_key: Ed25519PublicKey | None, checkpoint: tuple[int, str] | None = None,
               *, workers: int | None = None) -> VerifyReport:
        """`verify_chain` over this ledger's entries."""
        return verify_chain(self.entries(), public_key, checkpoint, workers=workers)

    # --- export ---
    def export_rows(self) -> Iterator[dict]:
        """One dict per entry keyed by EXPORT_COLUMNS (Japanese), values as displayed."""
        for e in self.entries():
            files = e["files"] if isinstance(e["files"], list) else []
            counts = e["counts"] if isinstance(e["counts"], dict) else {}
            values = (e["seq"], e["timestamp"], e["event"], e["operator_id"], e["terminal_id"], e["media_id"],
                      e["department"], e["purpose"], e["approval_no"], e["request_no"], e["ref"],
                      e["error_code"],
                      " ".join(f"{f.get('name')}:{f.get('sha256')}" for f in files if isinstance(f, dict)),
                      " ".join(f"{k}={v}" for k, v in counts.items()),
                      e["note"], e["prev_hash"], e["hash"], e["signature"])
            yield dict(zip(EXPORT_COLUMNS, ("" if v is None else v for v in values)))

    def export_csv(self) -> bytes:
        """The ledger as CSV: UTF-8 with BOM, CRLF, Japanese header (Excel on Windows reads it)."""
        return rows_to_csv(EXPORT_COLUMNS, (list(r.values()) for r in self.export_rows()))

    def export_xlsx(self) -> bytes:
        """The ledger as an .xlsx workbook (one sheet 管理簿), as bytes."""
        return rows_to_xlsx("管理簿", EXPORT_COLUMNS, (list(r.values()) for r in self.export_rows()))


# --- table export, shared with the operation log ---------------------------------------------
def _csv_cell(value: object) -> str:
    """Text for a CSV cell, neutralised as the 照会結果 is (a leading = + - @ tab CR gets a ')."""
    return neutralise("" if value is None else str(value))


def rows_to_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    """UTF-8 with BOM and CRLF line ends, as Excel on Windows reads it; formula-like cells neutralised."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(list(header))
    for r in rows:
        w.writerow([_csv_cell(c) for c in r])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def rows_to_xlsx(title: str, header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    """An .xlsx workbook with one sheet, as bytes. Text is always stored as text (never a formula);
    characters that XML cannot hold are dropped."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(list(header))
    for r in rows:
        cells = []
        for v in r:
            if isinstance(v, str):
                c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", v))
                c.data_type = "s"
                cells.append(c)
            else:
                cells.append(v)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
