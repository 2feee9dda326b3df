"""The 操作履歴 (operation log, SPEC §7): every command run — who, where, when, what, outcome,
counts, hashes — never personal data. Kept 7 years by default; older entries are removed only
by an explicit purge, which the caller ledgers as 履歴削除."""
from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import date
from pathlib import Path
from typing import Iterator

from bulktool.ledger import rows_to_csv, rows_to_xlsx
from bulktool.messages import BulkError

COLUMNS = ("番号", "日時", "操作者ID", "端末ID", "コマンド", "結果", "コード", "件数", "ハッシュ", "詳細")
# Defence in depth: a run of 11 or 12 digits looks like a 住民票コード or 個人番号.
_LOOKS_PERSONAL = re.compile(r"(?<!\d)\d{11,12}(?!\d)")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oplog (
  id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, operator_id TEXT, terminal_id TEXT NOT NULL,
  command TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT, counts TEXT, hashes TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS oplog_ts ON oplog(timestamp);
"""


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class OperationLog:
    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        new = not path.exists()
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
        if new:
            os.chmod(path, 0o600)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def record(self, *, timestamp: str, operator_id: str | None, terminal_id: str, command: str, outcome: str,
               code: str | None = None, counts: dict | None = None, hashes: list | None = None,
               detail: str | None = None) -> int:
        for text in (detail, operator_id, command):
            if text and _LOOKS_PERSONAL.search(text):
                raise ValueError("operation log refuses text that looks like a personal number")
        cur = self.db.execute(
            "INSERT INTO oplog (timestamp, operator_id, terminal_id, command, outcome, code, counts, hashes, detail)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (timestamp, operator_id, terminal_id, command, outcome, code,
             json.dumps(counts, ensure_ascii=False) if counts else None,
             json.dumps(hashes) if hashes else None, detail))
        return cur.lastrowid

    def entries(self, since: str | None = None, until: str | None = None) -> Iterator[dict]:
        sql, params = "SELECT * FROM oplog", []
        cond = []
        if since:
            cond.append("timestamp >= ?")
            params.append(since)
        if until:
            cond.append("timestamp < ?")
            params.append(until)
        if cond:
            sql += " WHERE " + " AND ".join(cond)
        keys = ("id", "timestamp", "operator_id", "terminal_id", "command", "outcome", "code", "counts", "hashes",
                "detail")
        for row in self.db.execute(sql + " ORDER BY id", params).fetchall():
            e = dict(zip(keys, row))
            e["counts"] = json.loads(e["counts"]) if e["counts"] else None
            e["hashes"] = json.loads(e["hashes"]) if e["hashes"] else None
            yield e

    def _rows(self) -> Iterator[list[str]]:
        for e in self.entries():
            yield [str(e["id"]), e["timestamp"], e["operator_id"] or "", e["terminal_id"], e["command"], e["outcome"],
                   e["code"] or "", " ".join(f"{k}={v}" for k, v in (e["counts"] or {}).items()),
                   " ".join(e["hashes"] or []), e["detail"] or ""]

    def export_csv(self) -> bytes:
        return rows_to_csv(COLUMNS, self._rows())

    def export_xlsx(self) -> bytes:
        return rows_to_xlsx("操作履歴", COLUMNS, self._rows())

    def purge(self, before: date, *, today: date, retention_years: int = 7) -> int:
        """Remove entries dated before `before`; refuses to cut into the retention period."""
        limit = years_before(today, retention_years)
        if before > limit:
            raise BulkError("E-LOG-001", before=before.isoformat(), limit=limit.isoformat(), years=retention_years)
        cur = self.db.execute("DELETE FROM oplog WHERE substr(timestamp, 1, 10) < ?", (before.isoformat(),))
        return cur.rowcount
