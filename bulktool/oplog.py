"""The 操作履歴 (operation log, contract §7): every command run — who, where, when, what, outcome,
counts, hashes — including refused and failed ones and failed logins; never personal data.

Kept 7 years by default (cities: 5); older entries are removed only by an explicit `purge`, which
the caller ledgers as 履歴削除 with the count it returns. No clock inside: the caller passes the
timestamp of each record and today's date for a purge.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

from bulktool.messages import BulkError
from bulktool.retention import Retention
from bulktool.sqlitedb import connect_private
from bulktool.tables import rows_to_csv, rows_to_xlsx
from bulktool.untrusted import looks_personal

COLUMNS = ("番号", "日時", "操作者ID", "端末ID", "コマンド", "結果", "コード", "件数", "ハッシュ", "詳細")
DEFAULT_RETENTION_YEARS = Retention().oplog_years

# Defence in depth: text that looks like a 個人番号 or a 住民票コード never enters the log — the
# same rule as for what the ledger takes from a department (bulktool.untrusted.looks_personal).
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = ("id", "timestamp", "operator_id", "terminal_id", "command", "outcome", "code", "counts", "hashes",
           "detail")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oplog (
  id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, operator_id TEXT, terminal_id TEXT NOT NULL,
  command TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT, counts TEXT, hashes TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS oplog_ts ON oplog(timestamp);
CREATE TRIGGER IF NOT EXISTS oplog_no_update BEFORE UPDATE ON oplog
  BEGIN SELECT RAISE(ABORT, '操作履歴は書き換えできません'); END;
"""


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def purge_limit(today: date, retention_years: int = DEFAULT_RETENTION_YEARS) -> date:
    """The latest `before` a purge may be given: entries before it are older than the retention."""
    return years_before(today, retention_years)


def _bound(value: date | datetime | str | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


class OperationLog:
    """The 操作履歴 in its own SQLite file (<workspace>/oplog.sqlite)."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.db = connect_private(self.path, timeout=busy_timeout)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "OperationLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, *, timestamp: str, operator_id: str | None, terminal_id: str, command: str, outcome: str,
               code: str | None = None, counts: dict | None = None, hashes: list | None = None,
               detail: str | None = None) -> int:
        """Record one command run; returns its number.

        ValueError (a programming error) when the timestamp lacks a time zone, counts are not
        {str: int}, hashes are not SHA-256 hex, or the command, outcome, code, a counts key or the
        detail looks like a 個人番号 or 住民票コード (the IDs are not checked here: a failed login
        with whatever was typed must still be recorded)."""
        try:
            if datetime.fromisoformat(timestamp).tzinfo is None:
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError("operation log timestamp must be ISO 8601 with a time zone") from None
        for t in (operator_id, terminal_id):
            if t is not None and not isinstance(t, str):
                raise ValueError("operation log text fields must be str")
        texts = [command, outcome, code, detail]
        if counts is not None:
            if not isinstance(counts, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in counts.items()):
                raise ValueError("operation log counts must be {str: int}")
            texts.extend(counts)
        if hashes is not None and not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes):
            raise ValueError("operation log hashes must be SHA-256 hex digests")
        for t in texts:
            if t is not None and not isinstance(t, str):
                raise ValueError("operation log text fields must be str")
            if t and looks_personal(t):
                raise ValueError("operation log refuses text that looks like a 個人番号 or 住民票コード")
        cur = self.db.execute(
            "INSERT INTO oplog (timestamp, operator_id, terminal_id, command, outcome, code, counts, hashes, detail)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (timestamp, operator_id, terminal_id, command, outcome, code,
             json.dumps(counts, ensure_ascii=False) if counts else None,
             json.dumps(list(hashes)) if hashes else None, detail))
        return cur.lastrowid

    def entries(self, since: date | datetime | str | None = None,
                until: date | datetime | str | None = None) -> Iterator[dict]:
        """Records in order; `since` inclusive, `until` exclusive (a date means from/before that day,
        as the timestamps were written)."""
        cond, params = [], []
        if since is not None:
            cond.append("timestamp >= ?")
            params.append(_bound(since))
        if until is not None:
            cond.append("timestamp < ?")
            params.append(_bound(until))
        sql = f"SELECT {','.join(_FIELDS)} FROM oplog" + (" WHERE " + " AND ".join(cond) if cond else "")
        for row in self.db.execute(sql + " ORDER BY id", params).fetchall():
            e = dict(zip(_FIELDS, row))
            e["counts"] = json.loads(e["counts"]) if e["counts"] else None
            e["hashes"] = json.loads(e["hashes"]) if e["hashes"] else None
            yield e

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM oplog").fetchone()[0]

    def export_rows(self) -> Iterator[dict]:
        """One dict per record keyed by COLUMNS (Japanese)."""
        for e in self.entries():
            values = (e["id"], e["timestamp"], e["operator_id"], e["terminal_id"], e["command"], e["outcome"],
                      e["code"], " ".join(f"{k}={v}" for k, v in (e["counts"] or {}).items()),
                      " ".join(e["hashes"] or []), e["detail"])
            yield dict(zip(COLUMNS, ("" if v is None else v for v in values)))

    def export_csv(self) -> bytes:
        """CSV: UTF-8 with BOM, CRLF, Japanese header."""
        return rows_to_csv(COLUMNS, (list(r.values()) for r in self.export_rows()))

    def export_xlsx(self) -> bytes:
        """An .xlsx workbook (one sheet 操作履歴), as bytes."""
        return rows_to_xlsx("操作履歴", COLUMNS, (list(r.values()) for r in self.export_rows()))

    def purge(self, before: date, *, today: date, retention_years: int = DEFAULT_RETENTION_YEARS) -> int:
        """Remove the records dated before `before`; returns how many. Refuses (E-LOG-001) when
        `before` is later than today − retention_years: nothing within the retention period goes.
        The caller ledgers the purge as 履歴削除 with the returned count."""
        if not isinstance(retention_years, int) or retention_years < 1:
            raise ValueError("retention_years must be a positive number of years")
        limit = purge_limit(today, retention_years)
        if before > limit:
            raise BulkError("E-LOG-001", before=before.isoformat(), limit=limit.isoformat(), years=retention_years)
        cur = self.db.execute("DELETE FROM oplog WHERE timestamp < ?", (before.isoformat(),))
        return cur.rowcount
