"""The 管理簿 (media ledger): an append-only, hash-chained, signed log (SPEC §6; docs/ledger.md).

Pure part (like Go's sumdb tlog): `entry_hash`, `sign_entry`, `verify_chain` work on plain dicts
and need only the entries and the terminal's public key. Storage (`Ledger`, SQLite) is a
separate, boring layer whose appends are serialised across processes.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bulktool.messages import BulkError

GENESIS_PREV = "0" * 64
EVENTS = ("開設", "媒体登録", "受付", "出力", "受渡", "受領確認", "貸与", "返却", "消去", "廃棄", "再発行",
          "拒否", "失敗", "登録変更", "開示", "履歴削除", "点検")
# Every field of an entry, in storage order. hash and signature are not hashed.
FIELDS = ("seq", "timestamp", "event", "operator_id", "terminal_id", "media_id", "department", "purpose",
          "approval_no", "request_no", "ref", "error_code", "files", "counts", "note", "prev_hash")
ALL_FIELDS = FIELDS + ("hash", "signature")
JSON_FIELDS = ("files", "counts")
EXPORT_COLUMNS = ("番号", "日時", "事象", "操作者ID", "端末ID", "媒体ID", "照会元", "事務", "決裁番号", "依頼番号",
                  "参照番号", "エラーコード", "ファイル", "件数", "備考", "前ハッシュ", "ハッシュ", "署名")


# --- pure functions ---------------------------------------------------------------------
def canonical(entry: dict) -> bytes:
    body = {k: entry.get(k) for k in FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    """SHA-256 (hex) of the canonical serialisation of every field but hash and signature."""
    return hashlib.sha256(canonical(entry)).hexdigest()


def sign_entry(hash_hex: str, key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(bytes.fromhex(hash_hex))).decode("ascii")


def _verify_sig(public_raw: bytes, items: list[tuple[int, str, str]]) -> int | None:
    """The first seq whose signature fails, or None. Runs in worker processes."""
    key = Ed25519PublicKey.from_public_bytes(public_raw)
    for seq, h, sig in items:
        try:
            key.verify(base64.b64decode(sig), bytes.fromhex(h))
        except (InvalidSignature, ValueError):
            return seq
    return None


@dataclass
class VerifyReport:
    ok: bool
    count: int
    head_hash: str
    first_bad: int | None = None
    reason: str = ""


def parse_checkpoint(text: str) -> tuple[int, str]:
    n, sep, h = text.strip().partition(":")
    if not sep or not n.isdigit() or int(n) < 1 or len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
        raise BulkError("E-LED-002")
    return int(n), h


def format_checkpoint(n: int, head: str) -> str:
    return f"{n}:{head}"


def verify_chain(entries: Iterable[dict], public_key: Ed25519PublicKey | None,
                 checkpoint: tuple[int, str] | None = None, *, workers: int | None = None) -> VerifyReport:
    """Check numbering, the hash chain, every signature and a checkpoint. The report names the
    first bad entry (by position: entry k is the k-th from the start)."""
    prev = GENESIS_PREV
    count = 0
    sigs: list[tuple[int, str, str]] = []
    cp_hash = None
    for e in entries:
        count += 1
        if e.get("seq") != count:
            return VerifyReport(False, count - 1, prev, count, f"番号が連続していません（{e.get('seq')} 番が {count} 番目にあります）")
        if e.get("prev_hash") != prev:
            return VerifyReport(False, count - 1, prev, count, "前の記録のハッシュと一致しません（削除・挿入・並べ替え）")
        h = entry_hash(e)
        if h != e.get("hash"):
            return VerifyReport(False, count - 1, prev, count, "記録の内容がハッシュと一致しません（改ざん）")
        if e.get("event") not in EVENTS:
            return VerifyReport(False, count - 1, prev, count, "事象が不正です")
        sigs.append((count, h, e.get("signature") or ""))
        if checkpoint and count == checkpoint[0]:
            cp_hash = h
        prev = h
    if checkpoint:
        if count < checkpoint[0]:
            return VerifyReport(False, count, prev, count + 1,
                                f"切り詰められています（チェックポイント {checkpoint[0]} 件に対し {count} 件）")
        if cp_hash != checkpoint[1]:
            return VerifyReport(False, count, prev, checkpoint[0], "チェックポイントのハッシュと一致しません")
    if public_key is not None and sigs:
        bad = _verify_signatures(public_key, sigs, workers)
        if bad is not None:
            return VerifyReport(False, count, prev, bad, "端末の署名を検証できません")
    return VerifyReport(True, count, prev)


def _verify_signatures(public_key: Ed25519PublicKey, sigs: list[tuple[int, str, str]], workers: int | None) -> int | None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers <= 1 or len(sigs) < 20_000:
        return _verify_sig(raw, sigs)
    size = (len(sigs) + workers - 1) // workers
    chunks = [sigs[i:i + size] for i in range(0, len(sigs), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        bad = [b for b in pool.map(_verify_sig, [raw] * len(chunks), chunks) if b is not None]
    return min(bad) if bad else None


# --- storage ----------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, event TEXT NOT NULL, operator_id TEXT,
  terminal_id TEXT, media_id TEXT, department TEXT, purpose TEXT, approval_no TEXT, request_no TEXT,
  ref INTEGER, error_code TEXT, files TEXT, counts TEXT, note TEXT, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL, signature TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_event ON entries(event);
CREATE INDEX IF NOT EXISTS entries_ref ON entries(ref);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
  BEGIN SELECT RAISE(ABORT, '管理簿は追記のみです'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
  BEGIN SELECT RAISE(ABORT, '管理簿は追記のみです'); END;
"""


def _row_to_entry(row: tuple) -> dict:
    e = dict(zip(ALL_FIELDS, row))
    for k in JSON_FIELDS:
        e[k] = json.loads(e[k]) if e[k] else None
    return e


class Ledger:
    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        new = not path.exists()
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
        if new:
            os.chmod(path, 0o600)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def append(self, fields: dict, *, key: Ed25519PrivateKey, timestamp: str) -> dict:
        """Append one entry: number, chain, hash and signature computed under an exclusive
        write lock, so concurrent commands can never fork or gap the chain."""
        unknown = set(fields) - set(FIELDS)
        if unknown or fields.get("event") not in EVENTS:
            raise ValueError(f"bad ledger fields {sorted(unknown)} / event")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS_PREV)
            entry = {k: fields.get(k) for k in FIELDS}
            entry.update(seq=seq, timestamp=timestamp, prev_hash=prev)
            entry["hash"] = entry_hash(entry)
            entry["signature"] = sign_entry(entry["hash"], key)
            values = [json.dumps(entry[k], ensure_ascii=False, sort_keys=True) if k in JSON_FIELDS and entry[k] is not None
                      else entry[k] for k in ALL_FIELDS]
            self.db.execute(f"INSERT INTO entries VALUES ({','.join('?' * len(ALL_FIELDS))})", values)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return entry

    def entries(self, start: int = 1) -> Iterator[dict]:
        cur = self.db.execute(f"SELECT {','.join(ALL_FIELDS)} FROM entries WHERE seq >= ? ORDER BY seq", (start,))
        for row in cur:
            yield _row_to_entry(row)

    def get(self, seq: int) -> dict | None:
        row = self.db.execute(f"SELECT {','.join(ALL_FIELDS)} FROM entries WHERE seq = ?", (seq,)).fetchone()
        return _row_to_entry(row) if row else None

    def head(self) -> tuple[int, str]:
        row = self.db.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_PREV)

    def find(self, *, event: str | None = None, ref: int | None = None) -> Iterator[dict]:
        where, params = [], []
        if event is not None:
            where.append("event = ?")
            params.append(event)
        if ref is not None:
            where.append("ref = ?")
            params.append(ref)
        sql = f"SELECT {','.join(ALL_FIELDS)} FROM entries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        for row in self.db.execute(sql + " ORDER BY seq", params).fetchall():
            yield _row_to_entry(row)

    def open_receipts(self) -> list[dict]:
        """受付 entries that no 出力, 拒否 or 失敗 cites."""
        rows = self.db.execute(
            f"SELECT {','.join(ALL_FIELDS)} FROM entries r WHERE r.event = '受付' AND NOT EXISTS ("
            "SELECT 1 FROM entries e WHERE e.ref = r.seq AND e.event IN ('出力', '拒否', '失敗')) ORDER BY seq"
        ).fetchall()
        return [_row_to_entry(r) for r in rows]

    # --- export ---
    def export_rows(self) -> Iterator[list[str]]:
        for e in self.entries():
            files = " ".join(f"{f.get('name')}:{f.get('sha256')}" for f in (e["files"] or []))
            counts = " ".join(f"{k}={v}" for k, v in (e["counts"] or {}).items())
            yield [str(e["seq"]), e["timestamp"], e["event"], e["operator_id"] or "", e["terminal_id"] or "",
                   e["media_id"] or "", e["department"] or "", e["purpose"] or "", e["approval_no"] or "",
                   e["request_no"] or "", str(e["ref"] or ""), e["error_code"] or "", files, counts,
                   e["note"] or "", e["prev_hash"], e["hash"], e["signature"]]

    def export_csv(self) -> bytes:
        return rows_to_csv(EXPORT_COLUMNS, self.export_rows())

    def export_xlsx(self) -> bytes:
        return rows_to_xlsx("管理簿", EXPORT_COLUMNS, self.export_rows())


def _safe_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def rows_to_csv(header: Iterable[str], rows: Iterable[list[str]]) -> bytes:
    """UTF-8 with BOM and CRLF, as Excel on Windows reads it; formula-like cells neutralised."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_safe_cell(c) for c in r])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def rows_to_xlsx(title: str, header: Iterable[str], rows: Iterable[list[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(list(header))
    for r in rows:
        ws.append([_safe_cell(c) for c in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
