"""The 操作履歴 (operation log, contract §7): every command run — who, where, when, what, outcome,
counts, hashes — including refused and failed ones and failed logins; never personal data.

Kept 7 years by default (cities: 5); older entries are removed only by an explicit `purge`, which
the caller ledgers as 履歴削除 with the count it returns. No clock inside: the caller passes the
timestamp of each record and today's date for a purge.

Hash-chained like the 管理簿 (bulktool/ledger/chain.py, whose canonical form it reuses), not
signed: each record carries the previous record's hash and its own, over the canonical JSON of
its stored columns (number included), so a record deleted, changed, inserted or reordered with
sqlite3 breaks the chain (`verify_records`). What the chain alone cannot show — records cut off
at the end, or a tamperer who rehashes everything — is caught against points held elsewhere: a
checkpoint `N:HASH` an auditor wrote down (`oplog verify --checkpoint`), the 管理簿's 点検 entries
(which record the operation log's head) and its 履歴削除 entries (which record the purge's
anchor: the first remaining record's number and previous hash, so that a purge is told from a
deletion).

A log written before the chain existed is chained once, as it stands, by the first write after
the upgrade (`migrate`), which records that it did so (command `oplog chain`, counts chained).
"""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Iterator

from bulktool.ledger.chain import GENESIS_PREV
from bulktool.messages import BulkError
# the chain itself, pure; its names are this module's too (callers import them from here)
from bulktool.oplog_chain import (CHAIN_FIELDS, FIELDS, OplogReport, anchor_note, format_mark,  # noqa: F401
                                  head_note, ledgered_marks, record_hash, verify_records)
from bulktool.retention import Retention, years_before  # noqa: F401  (years_before: callers import it here too)
from bulktool.sqlitedb import connect_private, each_row, immediate
from bulktool.tables import rows_to_csv, rows_to_xlsx
from bulktool.untrusted import looks_personal

COLUMNS = ("番号", "日時", "操作者ID", "端末ID", "コマンド", "結果", "コード", "件数", "ハッシュ", "詳細")
DEFAULT_RETENTION_YEARS = Retention().oplog_years

# Defence in depth: text that looks like a 個人番号 or a 住民票コード never enters the log — the
# same rule as for what the ledger takes from a department (bulktool.untrusted.looks_personal).
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = FIELDS

MIGRATION_COMMAND = "oplog chain"

_NO_UPDATE = """CREATE TRIGGER IF NOT EXISTS oplog_no_update BEFORE UPDATE ON oplog
  BEGIN SELECT RAISE(ABORT, '操作履歴は書き換えできません'); END;"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS oplog (
  id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, operator_id TEXT, terminal_id TEXT NOT NULL,
  command TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT, counts TEXT, hashes TEXT, detail TEXT,
  prev_hash TEXT, hash TEXT);
CREATE INDEX IF NOT EXISTS oplog_ts ON oplog(timestamp);
{_NO_UPDATE}
CREATE TABLE IF NOT EXISTS oplog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# oplog_meta: "chain" — set once the log is chained (at once for a new log; by `migrate` for one
# written before the chain); "anchor" — `N:HASH` of the latest purge: the first record kept (or
# the next to be written) and the hash it follows. Neither is trusted by verification: the
# anchor it starts from is the one the 管理簿's 履歴削除 recorded.


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
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(oplog)")}
        for col in ("prev_hash", "hash"):  # a log written before the chain existed
            if col not in columns:
                try:
                    self.db.execute(f"ALTER TABLE oplog ADD COLUMN {col} TEXT")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise

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
        row = {"timestamp": timestamp, "operator_id": operator_id, "terminal_id": terminal_id, "command": command,
               "outcome": outcome, "code": code,
               "counts": json.dumps(counts, ensure_ascii=False) if counts else None,
               "hashes": json.dumps(list(hashes)) if hashes else None, "detail": detail}
        with immediate(self.db):
            self._migrate_locked(timestamp, terminal_id)
            rid = self._append_locked(row)
        return rid

    # --- the chain ---
    def _append_locked(self, row: dict) -> int:
        """Number, chain and insert one record; the caller holds the write lock (BEGIN IMMEDIATE),
        so concurrent processes can never fork or gap the chain."""
        last = self.db.execute("SELECT id, hash FROM oplog ORDER BY id DESC LIMIT 1").fetchone()
        seq = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'oplog'").fetchone()
        rid = max(last[0] if last else 0, seq[0] if seq else 0) + 1  # numbers are never reused
        if last is not None:
            prev = last[1] or GENESIS_PREV
        else:  # empty: the first record ever, or the first after a purge that removed everything
            anchor = self.anchor()
            prev = anchor[1] if anchor is not None and anchor[0] == rid else GENESIS_PREV
        chained = dict(row, id=rid, prev_hash=prev)
        chained["hash"] = record_hash(chained)
        cols = CHAIN_FIELDS + ("hash",)
        self.db.execute(f"INSERT INTO oplog ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                        [chained[c] for c in cols])
        return rid

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM oplog_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO oplog_meta (key, value) VALUES (?, ?)", (key, value))

    def _migrate_locked(self, timestamp: str, terminal_id: str) -> int:
        """Chain a log written before the chain existed, once: every record as it stands, in
        number order from the genesis, then a record saying so (command `oplog chain`, counts
        {"chained": N}). Returns N (0 when there was nothing to do). Only a log that was never
        chained is migrated: once any record carries a hash, an unchained record is an insertion
        that verification reports, never one to chain."""
        if self._meta("chain") is not None:
            return 0
        chained = self.db.execute("SELECT count(*) FROM oplog WHERE hash IS NOT NULL").fetchone()[0]
        rows = [] if chained else self.db.execute(
            f"SELECT {','.join(_FIELDS)} FROM oplog ORDER BY id").fetchall()
        if rows:
            self.db.execute("DROP TRIGGER IF EXISTS oplog_no_update")
            prev = GENESIS_PREV
            for values in rows:
                r = dict(zip(_FIELDS, values), prev_hash=prev)
                h = record_hash(r)
                self.db.execute("UPDATE oplog SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, r["id"]))
                prev = h
            self.db.execute(_NO_UPDATE)
            self._append_locked({"timestamp": timestamp, "operator_id": None, "terminal_id": terminal_id,
                                 "command": MIGRATION_COMMAND, "outcome": "成功", "code": None,
                                 "counts": json.dumps({"chained": len(rows)}), "hashes": None,
                                 "detail": "連鎖化前の記録を連鎖化しました"})
        self._set_meta("chain", json.dumps({"since": timestamp, "chained": len(rows)}, ensure_ascii=False))
        return len(rows)

    def migrate(self, *, timestamp: str, terminal_id: str) -> int:
        """Chain a log written before the chain existed (see `_migrate_locked`); a no-op once
        chained. `record` does it by itself; `oplog verify` and the audit call it first so that
        what they verify is the chained log."""
        with immediate(self.db):
            n = self._migrate_locked(timestamp, terminal_id)
        return n

    def chain_rows(self) -> Iterator[dict]:
        """Every record as stored, with prev_hash and hash, in number order (for verification)."""
        cols = CHAIN_FIELDS + ("hash",)
        for row in each_row(self.db.execute(f"SELECT {','.join(cols)} FROM oplog ORDER BY id")):
            yield dict(zip(cols, row))

    def head(self) -> tuple[int, str] | None:
        """(number, own hash) of the last record, or None when the log is empty."""
        row = self.db.execute("SELECT id, hash FROM oplog ORDER BY id DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row and row[1] else None

    def anchor(self) -> tuple[int, str] | None:
        """`(N, HASH)` of the latest purge (the record N that now comes first follows HASH), or None."""
        value = self._meta("anchor")
        if not value:
            return None
        n, _, h = value.partition(":")
        return int(n), h

    def verify(self, *, anchor: tuple[int, str] | None = None,
               checkpoints: Iterable[tuple[int, str]] = ()) -> OplogReport:
        """`verify_records` over this log. `anchor`: the 管理簿's latest 履歴削除 anchor (never
        this file's own, which a tamperer could set)."""
        return verify_records(self.chain_rows(), anchor=anchor, checkpoints=checkpoints)

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
        """Remove the records dated before `before` from the start of the log; returns how many.
        Refuses (E-LOG-001) when `before` is later than today − retention_years: nothing within
        the retention period goes. Only a head of the chain is cut: the records up to the first
        one dated on or after `before` (one written later under a clock set back stays). The
        cut is remembered as the anchor (`anchor()`: the first record kept and the hash it
        follows), which the caller ledgers with the 履歴削除 and the returned count."""
        if not isinstance(retention_years, int) or retention_years < 1:
            raise ValueError("retention_years must be a positive number of years")
        limit = purge_limit(today, retention_years)
        if before > limit:
            raise BulkError("E-LOG-001", before=before.isoformat(), limit=limit.isoformat(), years=retention_years)
        with immediate(self.db):
            keep = self.db.execute("SELECT min(id) FROM oplog WHERE timestamp >= ?", (before.isoformat(),)).fetchone()[0]
            if keep is None:
                last = self.db.execute("SELECT id, hash FROM oplog ORDER BY id DESC LIMIT 1").fetchone()
                anchor = (last[0] + 1, last[1]) if last else None
                removed = self.db.execute("DELETE FROM oplog").rowcount
            else:
                first = self.db.execute("SELECT prev_hash FROM oplog WHERE id = ?", (keep,)).fetchone()
                anchor = (keep, first[0])
                removed = self.db.execute("DELETE FROM oplog WHERE id < ?", (keep,)).rowcount
            if removed and anchor is not None and anchor[1]:  # a log not yet chained has no anchor
                self._set_meta("anchor", format_mark(*anchor))
        return removed


def verify_against_ledger(log: OperationLog, ledger_entries: Iterable[dict],
                          checkpoint: tuple[int, str] | None = None, *, timestamp: str,
                          terminal_id: str) -> OplogReport:
    """`oplog verify` and the audit: chain a log written before the chain first (`migrate`),
    then verify it from the anchor of the 管理簿's latest 履歴削除, against every operation-log
    head its 点検 entries recorded and the auditor's `checkpoint`. The 管理簿's own integrity is
    `ledger verify`'s: the entries are taken as they are."""
    log.migrate(timestamp=timestamp, terminal_id=terminal_id)
    anchor, heads = ledgered_marks(ledger_entries)
    return log.verify(anchor=anchor, checkpoints=heads + ([checkpoint] if checkpoint else []))
