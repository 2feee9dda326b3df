"""The SQLite store backend (embedded default); see store/backend.py for the contract.

Plaintext stays in the store file (mode 0600) and in memory: `PRAGMA temp_store=MEMORY` is set on
every connection, so SQLite's temp tables, sorts and index builds never spill to a temp file,
and batch lookups pass their keys as one JSON parameter (json_each), not through a temp table.

Tables: `jumin` and `fuhyo` (rowid tables whose PRIMARY KEY is the idempotency key of contract §2;
the columns the SQL reads, the address keys, and one `packed` value holding everything else,
store/layout.py; lookups return every column as a StoredRow),
`provisions` (contract §6b). Secondary indexes serve the batch lookups; when a load starts on an
empty table they are dropped and rebuilt after the load (one sort instead of 10M random inserts).
"""
from __future__ import annotations

import json
import os
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from bulktool.messages import BulkError
from bulktool.model import FUHYO_STATUS_REMOVED, REMOVAL_REASONS, REMOVAL_SUFFIX
from bulktool.sqlitedb import immediate
from bulktool.store.backend import PRIMARY_KEYS, PROVISION_KEYS, InForce, Row, Versions
from bulktool.store.layout import PACKED, load_columns, rows_from_text
from bulktool.store.layout import stored_columns, tuples as _layout, unpack  # noqa: F401  (tests and benchmarks)
from bulktool.store.schema import INT_COLUMNS, KIND_FUHYO, KIND_JUMIN, KINDS

# name → DDL of the secondary indexes per table
INDEXES: dict[str, dict[str, str]] = {
    KIND_JUMIN: {
        "jumin_kojin": "ON jumin(kojin_bango) WHERE kojin_bango IS NOT NULL",
        "jumin_four": "ON jumin(birth_date, k_addr)",
    },
    KIND_FUHYO: {
        "fuhyo_four": "ON fuhyo(birth_date, k_addr)",
        "fuhyo_four_last": "ON fuhyo(birth_date, k_last_addr) WHERE k_last_addr IS NOT NULL",
    },
}

_PROVISIONS_DDL = """
CREATE TABLE IF NOT EXISTS provisions (
  jumin_code TEXT NOT NULL, provided_on TEXT NOT NULL, entry INTEGER NOT NULL, department TEXT NOT NULL,
  purpose TEXT NOT NULL, fields TEXT NOT NULL, use TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS provisions_code ON provisions(jumin_code, provided_on);
CREATE INDEX IF NOT EXISTS provisions_date ON provisions(provided_on);
"""


def _table_ddl(kind: str) -> str:
    cols = ", ".join(f"{c} {'INTEGER' if c in INT_COLUMNS else 'TEXT'}" for c in load_columns(kind))
    return f"CREATE TABLE IF NOT EXISTS {kind} ({cols}, PRIMARY KEY ({', '.join(PRIMARY_KEYS[kind])}))"


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


# The record in force on the day ?2 (backend.in_force, contract §2) of each person, the one SQL
# statement of the rule, used by the lookups and by stats: SQLite documents that with exactly one
# max() aggregate the bare columns come from the row holding the maximum.
_IN_FORCE = {KIND_JUMIN: ("max(update_seq)", "ifnull(deleted_flag, 0) = 0 AND change_date <= ?2"),
             KIND_FUHYO: ("max(change_date)", "change_date <= ?2")}


def _in_force(kind: str, select: str, persons: str | None = None) -> str:
    """SELECT `select` from each person's record in force on ?2: of the persons whose
    住民票コード the SQL `persons` yields, or of everyone (None)."""
    pick, rule = _IN_FORCE[kind]
    among = f"jumin_code IN ({persons}) AND " if persons else ""
    return f"SELECT {pick}, {select} FROM {kind} WHERE {among}{rule} GROUP BY jumin_code"


def removal_sql(reason: str) -> tuple[str, tuple[str, str]]:
    """model.is_removal as an SQL expression over the column `reason`, with its parameters
    (?3: the REMOVAL_REASONS as JSON, ?4: the REMOVAL_SUFFIX)."""
    return (f"({reason} IN (SELECT value FROM json_each(?3)) OR substr({reason}, -length(?4)) = ?4)",
            (json.dumps(sorted(REMOVAL_REASONS), ensure_ascii=False), REMOVAL_SUFFIX))


#: SQLite page size of a new store file (bytes). See docs/store.md「Measured」 for the trade-off.
PAGE_SIZE = 4096

#: The file layout (PRAGMA user_version). 2: the packed row layout of docs/store.md. A store
#: written with another layout is refused at open (E-STO-006), never misread.
LAYOUT = 2


class SqliteStore:
    """The prefectural store in one SQLite file. Use `create` once, then `open`."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db
        self._load_kind: str | None = None
        self._rebuild: list[str] = []
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA temp_store=MEMORY")  # no plaintext temp files, ever
        db.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache
        db.execute("PRAGMA foreign_keys=OFF")

    @classmethod
    def create(cls, path: Path | str, *, page_size: int | None = None) -> "SqliteStore":
        """Create the store file (mode 0600) with its tables and indexes (page_size: PAGE_SIZE)."""
        path = Path(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        store = cls.open(path, check=False)
        store.db.execute(f"PRAGMA page_size={int(page_size or PAGE_SIZE)}")  # before the first table
        with store.db:
            for kind in KINDS:
                store.db.execute(_table_ddl(kind))
                for name, ddl in INDEXES[kind].items():
                    store.db.execute(f"CREATE INDEX IF NOT EXISTS {name} {ddl}")
            store.db.executescript(_PROVISIONS_DDL)
        store.db.execute(f"PRAGMA user_version={LAYOUT}")
        return store

    @classmethod
    def open(cls, path: Path | str, *, check: bool = True) -> "SqliteStore":
        """Open a store made by `create`; E-STO-006 when its layout is not this version's."""
        path = Path(path)
        # check_same_thread=False: matching.match runs the lookups on its worker thread, one at a
        # time (backend.py); SQLite releases the GIL for each step, so they overlap with Python.
        db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        if check:
            found = db.execute("PRAGMA user_version").fetchone()[0]
            if found != LAYOUT:
                db.close()
                raise BulkError("E-STO-006", found=found, expected=LAYOUT)
        return cls(path, db)

    def close(self) -> None:
        self.db.close()

    # --- loading ----------------------------------------------------------------------
    def begin_load(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(kind)
        self.db.execute("PRAGMA synchronous=OFF")  # the file is fsync'ed once after the commit
        self.db.execute("BEGIN IMMEDIATE")
        self._load_kind = kind
        self._rebuild = []
        if self.db.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {kind})").fetchone()[0]:
            for name in INDEXES[kind]:
                self.db.execute(f"DROP INDEX IF EXISTS {name}")
                self._rebuild.append(name)

    def load_batch(self, kind: str, batch) -> int:
        return self.insert_rows(kind, _layout(kind, batch))

    def insert_rows(self, kind: str, rows: Iterable[tuple]) -> int:
        """load_batch's last step: rows already in this file's layout (load_columns order)."""
        if kind != self._load_kind:
            raise RuntimeError("load_batch outside begin_load for this kind")
        before = self.db.total_changes
        marks = ",".join("?" * len(load_columns(kind)))
        self.db.executemany(f"INSERT OR IGNORE INTO {kind} VALUES ({marks})", rows)
        return self.db.total_changes - before

    def commit_load(self) -> None:
        kind = self._load_kind
        try:
            for name in self._rebuild:
                self.db.execute(f"CREATE INDEX IF NOT EXISTS {name} {INDEXES[kind][name]}")
            self.db.execute("COMMIT")
        finally:
            self._load_kind = None
            self._rebuild = []
            self.db.execute("PRAGMA synchronous=FULL")
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.db.execute("PRAGMA optimize")

    def rollback_load(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")  # also restores any index dropped in begin_load
        self._load_kind = None
        self._rebuild = []
        self.db.execute("PRAGMA synchronous=FULL")

    # --- batch lookups ------------------------------------------------------------------
    def _rows(self, kind: str, where: str, param: list, as_of: str | None) -> list[Row]:
        """The rows of the persons `where` selects: every version (as_of None), or each
        person's record in force on as_of.

        The answer comes back as ONE row — all cells of all rows joined by U+001F, which no
        stored cell holds (store load refuses it; the packed value has exactly
        len(PACKED_COLUMNS) cells) — so the whole query is a single sqlite3_step. Python's
        sqlite3 module releases the GIL for each step: one step lets a lookup on matching's
        worker thread run its SQL beside the Python of the main thread, where a step per row
        would hand the GIL back and forth a hundred thousand times (docs/store.md)."""
        if not param:
            return []
        cols = load_columns(kind)
        assert cols[-1] == PACKED  # real columns, address keys, then the packed value
        joined = " || char(31) || ".join(f"ifnull({c}, '')" for c in cols)
        args: tuple = (json.dumps(param, ensure_ascii=False),)
        if as_of is None:
            sql = f"SELECT count(*), group_concat({joined}, char(31)) FROM {kind} WHERE jumin_code IN ({where})"
        else:
            sql = f"SELECT count(*), group_concat(x, char(31)) FROM ({_in_force(kind, f'{joined} AS x', where)})"
            args += (as_of,)
        rows, text = self.db.execute(sql, args).fetchone()
        return rows_from_text(kind, rows, text)

    def _in_force(self, kind: str, where: str, param: list, as_of: str) -> InForce:
        return {row["jumin_code"]: row for row in self._rows(kind, where, param, as_of)}

    def versions(self, kind: str, codes: Iterable[str]) -> Versions:
        if kind not in KINDS:
            raise ValueError(kind)
        out: Versions = {}
        for row in self._rows(kind, "SELECT value FROM json_each(?1)", sorted(set(codes)), None):
            out.setdefault(row["jumin_code"], []).append(row)
        return out

    def lookup_jumin_by_codes(self, codes: Iterable[str], as_of: str) -> InForce:
        return self._in_force(KIND_JUMIN, "SELECT value FROM json_each(?1)", sorted(set(codes)), as_of)

    def lookup_jumin_by_kojin_bango(self, numbers: Iterable[str], as_of: str) -> InForce:
        return self._in_force(KIND_JUMIN, "SELECT j.jumin_code FROM json_each(?1) q JOIN jumin j "
                                          "ON j.kojin_bango = q.value", sorted(set(numbers)), as_of)

    def _four(self, kind: str, keys: Iterable[tuple[str, str]], as_of: str) -> InForce:
        sub = (f"SELECT t.jumin_code FROM json_each(?1) q JOIN {kind} t "
               f"ON t.birth_date = q.value->>0 AND t.k_addr = q.value->>1")
        if kind == KIND_FUHYO:
            sub += (" UNION SELECT t.jumin_code FROM json_each(?1) q JOIN fuhyo t "
                    "ON t.birth_date = q.value->>0 AND t.k_last_addr = q.value->>1")
        return self._in_force(kind, sub, sorted(set(keys)), as_of)

    def lookup_jumin_by_four(self, keys: Iterable[tuple[str, str]], as_of: str) -> InForce:
        return self._four(KIND_JUMIN, keys, as_of)

    def lookup_fuhyo_by_codes(self, codes: Iterable[str], as_of: str) -> InForce:
        return self._in_force(KIND_FUHYO, "SELECT value FROM json_each(?1)", sorted(set(codes)), as_of)

    def lookup_fuhyo_by_four(self, keys: Iterable[tuple[str, str]], as_of: str) -> InForce:
        return self._four(KIND_FUHYO, keys, as_of)

    # --- provision record (contract §6b) ----------------------------------------------------
    def record_provisions(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert the rows in one transaction, streaming (a 1M-row exchange builds no list)."""
        count = 0

        def tuples():
            nonlocal count
            for r in rows:
                count += 1
                yield tuple(r[k] for k in PROVISION_KEYS)

        with immediate(self.db):
            self.db.executemany(f"INSERT INTO provisions VALUES ({','.join('?' * len(PROVISION_KEYS))})", tuples())
        return count

    def provisions_for(self, jumin_code: str, since: date | str | None = None) -> list[dict]:
        sql = f"SELECT {', '.join(PROVISION_KEYS)} FROM provisions WHERE jumin_code = ?"
        params: list = [jumin_code]
        if since is not None:
            sql += " AND provided_on >= ?"
            params.append(_iso(since))
        rows = self.db.execute(sql + " ORDER BY provided_on, entry, rowid", params).fetchall()
        return [dict(r) for r in rows]

    def purge_provisions(self, before: date, confirm: Callable[[int], None]) -> int:
        self.db.execute("CREATE INDEX IF NOT EXISTS provisions_date ON provisions(provided_on)")  # older stores
        with immediate(self.db):
            count = self.db.execute("DELETE FROM provisions WHERE provided_on < ?", (_iso(before),)).rowcount
            if count:
                confirm(count)
        return count

    # --- statistics (counts only) ---------------------------------------------------------
    def stats(self, today: date | str) -> dict[str, int]:
        day = _iso(today)
        db = self.db
        removal, params = removal_sql("change_reason")
        j = db.execute(f"SELECT count(*), coalesce(sum({removal}), 0), coalesce(sum(gaiji_flag = 1), 0) "
                       f"FROM ({_in_force(KIND_JUMIN, 'change_reason, gaiji_flag')})", (None, day, *params)).fetchone()
        j_rows, j_people, j_deleted = db.execute(
            "SELECT count(*), count(DISTINCT jumin_code), coalesce(sum(deleted_flag = 1), 0) FROM jumin").fetchone()
        f = db.execute(f"""SELECT count(*), coalesce(sum(fuhyo_status = ?1), 0),
                             coalesce(sum(fuhyo_status <> ?1 AND k_addr IS NULL), 0), coalesce(sum(gaiji_flag = 1), 0)
                           FROM ({_in_force(KIND_FUHYO, 'fuhyo_status, k_addr, gaiji_flag')})""",
                       (FUHYO_STATUS_REMOVED, day)).fetchone()
        f_rows, f_people = db.execute("SELECT count(*), count(DISTINCT jumin_code) FROM fuhyo").fetchone()
        (provisions,) = db.execute("SELECT count(*) FROM provisions").fetchone()
        in_force, removed, gaiji = j
        f_in_force, f_removed, f_abroad, f_gaiji = f
        return {
            "jumin_rows": j_rows, "jumin_people": j_people,
            "jumin_current": in_force - removed, "jumin_removed": removed,
            "jumin_historic": j_rows - in_force, "jumin_deleted_rows": j_deleted, "jumin_gaiji": gaiji,
            "fuhyo_rows": f_rows, "fuhyo_people": f_people,
            "fuhyo_current": f_in_force - f_removed, "fuhyo_removed": f_removed,
            "fuhyo_historic": f_rows - f_in_force, "fuhyo_abroad": f_abroad, "fuhyo_gaiji": f_gaiji,
            "provisions": provisions,
        }


