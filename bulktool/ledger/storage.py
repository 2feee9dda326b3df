"""The 管理簿 stored in its own SQLite file (contract §6; docs/ledger.md): the boring layer under the
pure chain (chain.py). Appends are serialised across processes, UPDATE and DELETE are refused by
triggers (a tamperer can drop them: that is what verify is for), and the exports carry Japanese
column names.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bulktool.ledger.chain import (CLOSING_EVENTS, ENTRY_FIELDS, GENESIS_PREV, HASHED_FIELDS, JSON_FIELDS,
                                   LATER_FIELDS, VerifyReport, canonical, check_timestamp, entry_hash, sign_entry,
                                   validate_fields)
from bulktool.ledger.signatures import verify_chain
from bulktool.messages import BulkError
from bulktool.sqlitedb import connect_private, each_row, immediate
from bulktool.tables import FORMULA_STARTS, neutralise, rows_to_csv, rows_to_xlsx

EXPORT_COLUMNS = ("番号", "日時", "事象", "操作者ID", "端末ID", "媒体ID", "照会元", "事務", "決裁番号", "依頼番号",
                  "参照番号", "エラーコード", "ファイル", "件数", "備考", "前ハッシュ", "ハッシュ", "署名", "提供内容",
                  "正準形")
# The last column holds the entry's canonical form (chain.canonical: what its hash is taken over),
# so that the CSV export is lossless: `ledger verify --file` rebuilds every entry from it and
# requires every other column to say what it says.
CANONICAL_COLUMN = "正準形"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, event TEXT NOT NULL, operator_id TEXT,
  terminal_id TEXT, media_id TEXT, department TEXT, purpose TEXT, approval_no TEXT, request_no TEXT,
  ref INTEGER, error_code TEXT, files TEXT, counts TEXT, note TEXT, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL, signature TEXT NOT NULL, provided TEXT);
CREATE INDEX IF NOT EXISTS entries_event ON entries(event);
CREATE INDEX IF NOT EXISTS entries_ref ON entries(ref);
CREATE INDEX IF NOT EXISTS entries_media ON entries(media_id);
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
    except (TypeError, ValueError, RecursionError):  # RecursionError: nested past the limit
        return text  # damaged: left as text, so that its hash no longer matches


def _row_to_entry(row: tuple) -> dict:
    e = dict(zip(ENTRY_FIELDS, row))
    e["files"] = _from_json(e["files"])
    e["counts"] = _from_json(e["counts"])
    e["provided"] = _from_json(e["provided"])
    return e


class Ledger:
    """The 管理簿 in its own SQLite file. Append-only: there is no update or delete API, and
    triggers refuse UPDATE and DELETE (a tamperer can drop them: that is what verify is for)."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.db = connect_private(self.path, timeout=busy_timeout)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(entries)")}
        if "provided" not in columns:  # a ledger written before `provided` existed
            self.db.execute("ALTER TABLE entries ADD COLUMN provided TEXT")

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
        check_timestamp(timestamp)
        with immediate(self.db):
            row = self.db.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS_PREV)
            entry = {k: fields.get(k) for k in HASHED_FIELDS}
            if entry["files"] is not None:
                entry["files"] = [dict(f) for f in entry["files"]]
            entry.update(seq=seq, timestamp=timestamp, prev_hash=prev)
            entry["hash"] = entry_hash(entry, prev)
            entry["signature"] = sign_entry(entry["hash"], key)
            values = [_to_json(entry[k]) if k in JSON_FIELDS else entry[k] for k in ENTRY_FIELDS]
            self.db.execute(f"INSERT INTO entries ({','.join(ENTRY_FIELDS)}) VALUES ({','.join('?' * len(ENTRY_FIELDS))})",
                            values)
        return entry

    def entries(self, start: int = 1) -> Iterator[dict]:
        """Every entry from number `start`, in order, as dicts of ENTRY_FIELDS."""
        for row in each_row(self.db.execute(f"{_SELECT} WHERE seq >= ? ORDER BY seq", (start,))):
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
             file_sha256: str | None = None, media_id: str | None = None) -> list[dict]:
        """Entries matching every given criterion, in order: the event, the cited entry number,
        a file among `files` with this SHA-256 (e.g. the 出力 that answered a request container)."""
        where, params = [], []
        if event is not None:
            where.append("event = ?")
            params.append(event)
        if ref is not None:
            where.append("ref = ?")
            params.append(ref)
        if media_id is not None:
            where.append("media_id = ?")
            params.append(media_id)
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

    def open_acceptances(self) -> list[dict]:
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
            yield export_row(e)

    def export_csv(self) -> bytes:
        """The ledger as CSV: UTF-8 with BOM, CRLF, Japanese header (Excel on Windows reads it)."""
        return rows_to_csv(EXPORT_COLUMNS, (list(r.values()) for r in self.export_rows()))

    def export_xlsx(self) -> bytes:
        """The ledger as an .xlsx workbook (one sheet 管理簿), as bytes."""
        return rows_to_xlsx("管理簿", EXPORT_COLUMNS, (list(r.values()) for r in self.export_rows()))


def export_row(e: dict) -> dict:
    """One entry as its export row: EXPORT_COLUMNS (Japanese) to the values as displayed, the
    canonical form last."""
    files = e.get("files") if isinstance(e.get("files"), list) else []
    counts = e.get("counts") if isinstance(e.get("counts"), dict) else {}
    try:
        body = canonical(e, e.get("prev_hash")).decode("utf-8")
    except (TypeError, ValueError, RecursionError):
        body = ""
    values = (e.get("seq"), e.get("timestamp"), e.get("event"), e.get("operator_id"), e.get("terminal_id"),
              e.get("media_id"), e.get("department"), e.get("purpose"), e.get("approval_no"), e.get("request_no"),
              e.get("ref"), e.get("error_code"),
              " ".join(f"{f.get('name')}:{f.get('sha256')}" for f in files if isinstance(f, dict)),
              " ".join(f"{k}={v}" for k, v in counts.items()),
              e.get("note"), e.get("prev_hash"), e.get("hash"), e.get("signature"), _to_json(e.get("provided")), body)
    return dict(zip(EXPORT_COLUMNS, ("" if v is None else v for v in values)))


def _plain(cell: str) -> str:
    """A cell as written before the export neutralised it (tables.neutralise)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS else cell


def read_export_csv(data: bytes, name: str = "書き出し") -> list[tuple[dict, str | None]]:
    """The entries of a `ledger export --format csv`, each rebuilt from its canonical form, with
    the first column (or None) whose cell does not say what the entry says. E-LED-006 when the
    file is not such an export at all."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkError("E-LED-006", file=name, detail="UTF-8 として読めません") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BulkError("E-LED-006", file=name, detail=str(exc)) from None
    if not rows or tuple(rows[0]) != EXPORT_COLUMNS:
        raise BulkError("E-LED-006", file=name, detail="見出しが管理簿の書き出しの列と一致しません")
    required = set(HASHED_FIELDS) - set(LATER_FIELDS)
    out: list[tuple[dict, str | None]] = []
    for row in rows[1:]:
        if not any(row):
            continue
        cells = dict(zip(EXPORT_COLUMNS, row + [""] * (len(EXPORT_COLUMNS) - len(row))))
        try:
            body = json.loads(cells[CANONICAL_COLUMN])
            if not isinstance(body, dict) or not required <= set(body) <= set(HASHED_FIELDS):
                raise ValueError
        except (ValueError, RecursionError):  # RecursionError: JSON nested past the limit
            out.append(({"seq": None}, CANONICAL_COLUMN))
            continue
        entry = {k: body.get(k) for k in HASHED_FIELDS}
        entry["hash"], entry["signature"] = _plain(cells["ハッシュ"]), _plain(cells["署名"])
        if len(row) != len(EXPORT_COLUMNS):
            out.append((entry, "（列の数）"))
            continue
        try:
            expected = export_row(entry)
        except RecursionError:  # a value nested so deep that it cannot be written back
            out.append((entry, CANONICAL_COLUMN))
            continue
        wrong = next((c for c in EXPORT_COLUMNS if neutralise(str(expected[c])) != cells[c]), None)
        out.append((entry, wrong))
    return out


def verify_export(data: bytes, public_key: Ed25519PublicKey, checkpoint: tuple[int, str] | None = None,
                  name: str = "書き出し") -> VerifyReport:
    """`ledger verify --file`: the chain, every signature and the checkpoint over the entries of a
    CSV export, and every cell of each row against its entry; the earliest fault is reported."""
    read = read_export_csv(data, name)
    report = verify_chain((e for e, _ in read), public_key, checkpoint)
    bad_cell = next(((pos, col) for pos, (_, col) in enumerate(read, 1) if col is not None), None)
    if bad_cell is None or (not report.ok and report.first_bad is not None and report.first_bad <= bad_cell[0]):
        return report
    pos, col = bad_cell
    reason = f"列「{col}」の値が記録の正準形と一致しません（書き出しの改ざん）"
    return VerifyReport(False, min(report.count, pos - 1), report.head_hash, pos, reason, "E-LED-001",
                        {"entry": pos, "reason": reason}, report.signatures_checked)
