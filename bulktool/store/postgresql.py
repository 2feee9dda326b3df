"""The PostgreSQL store backend (a server store); see store/backend.py for the contract and
docs/postgresql.md for deployment, roles and logging.

Same rows as the SQLite backend (store/layout.py: the columns the SQL reads, typed — dates as
`date`, counts as integers — the address keys, and one packed text value), the same record in
force (`DISTINCT ON (jumin_code) … ORDER BY jumin_code, update_seq DESC` / `change_date DESC`,
the one statement of the rule in this file, `_in_force`, reused by stats), the same validation
(store/load.py, before anything reaches a backend) and idempotency (primary keys of contract §2).

Personal data never travels in SQL text or in statement parameters, which a server may log
(`log_statement`, `log_min_duration_statement`, auto_explain): it travels only as COPY data —
the loaded rows, the keys of a batch lookup (COPY into a temporary table joined in ONE statement
per batch), the provision records, even the one 住民票コード of a disclosure. Nothing this module
sends can fail with a key value in an error's DETAIL: duplicate keys are skipped, never violated.

Loading: binary COPY. Into an empty table the rows go straight into the heap (TRUNCATE in the
same transaction: COPY FREEZE), the primary key and indexes built after; duplicate keys of such
a load are found at commit from the keys kept in memory (8 bytes a row) and the later copies
removed. Into a table that holds rows, each batch goes through a temporary table and
`INSERT … ON CONFLICT DO NOTHING`.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import psycopg

from bulktool.messages import BulkError
from bulktool.model import FUHYO_STATUS_REMOVED, REMOVAL_REASONS, REMOVAL_SUFFIX
from bulktool.store.backend import PRIMARY_KEYS, PROVISION_KEYS, InForce, Row, Versions
from bulktool.store.layout import as_table, load_columns, rows_from_text
from bulktool.store.pgcopy import COPY_HEADER, COPY_TRAILER, PG_TYPES, copy_rows, key_numbers
from bulktool.store.schema import KIND_FUHYO, KIND_JUMIN, KINDS

#: The layout of the tables (store_meta 'layout'); another is refused at open (E-STO-006).
LAYOUT = 2

# The key → person indexes carry the 住民票コード (INCLUDE): finding the persons of a batch's keys
# is an index-only scan (COPY FREEZE leaves the pages all-visible), no heap read per key.
INDEXES: dict[str, dict[str, str]] = {
    KIND_JUMIN: {"jumin_kojin": "ON jumin (kojin_bango) INCLUDE (jumin_code) WHERE kojin_bango IS NOT NULL",
                 "jumin_four": "ON jumin (birth_date, k_addr) INCLUDE (jumin_code)"},
    KIND_FUHYO: {"fuhyo_four": "ON fuhyo (birth_date, k_addr) INCLUDE (jumin_code)",
                 "fuhyo_four_last": "ON fuhyo (birth_date, k_last_addr) INCLUDE (jumin_code) "
                                    "WHERE k_last_addr IS NOT NULL"},
}
PROVISION_TYPES = ("text", "date", "int8", "text", "text", "text", "text")
TABLES = ("store_meta", "jumin", "fuhyo", "provisions")


def _table_ddl(kind: str) -> str:
    cols = ", ".join(f"{c} {PG_TYPES[c]}" + (" NOT NULL" if c in PRIMARY_KEYS[kind] or c == "packed" else "")
                     for c in load_columns(kind))
    return f"CREATE TABLE {kind} ({cols})"


_DDL = [
    "CREATE TABLE store_meta (key text PRIMARY KEY, value text NOT NULL)",
    *(_table_ddl(k) for k in KINDS),
    *(f"ALTER TABLE {k} ADD CONSTRAINT {k}_pkey PRIMARY KEY ({', '.join(PRIMARY_KEYS[k])})" for k in KINDS),
    *(f"CREATE INDEX {name} {ddl}" for k in KINDS for name, ddl in INDEXES[k].items()),
    """CREATE TABLE provisions (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, jumin_code text NOT NULL,
       provided_on date NOT NULL, entry bigint NOT NULL, department text NOT NULL, purpose text NOT NULL,
       fields text NOT NULL, use text NOT NULL)""",
    "CREATE INDEX provisions_code ON provisions (jumin_code, provided_on)",
    "CREATE INDEX provisions_date ON provisions (provided_on)",
    f"INSERT INTO store_meta VALUES ('layout', '{LAYOUT}')",
]


def reader_grants(role: str, database: str, schema: str) -> list[str]:
    """What the exchange's role needs, and nothing more (docs/postgresql.md): read the store, add
    provision records (never change or delete one), temporary tables for the batch lookups. Run by
    the owner."""
    return [f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"GRANT SELECT ON store_meta, jumin, fuhyo TO {role}",
            f"GRANT SELECT, INSERT ON provisions TO {role}",
            f"GRANT TEMPORARY ON DATABASE {database} TO {role}"]


def _cells(kind: str, alias: str = "t") -> str:
    """Every cell of a row as text in load_columns order, joined by U+001F (layout.rows_from_text)."""
    def text(c: str) -> str:
        return f"{alias}.{c}" if PG_TYPES[c] == "text" and c in PRIMARY_KEYS[kind] + ("packed",) else \
            f"coalesce({alias}.{c}::text, '')"
    return " || chr(31) || ".join(map(text, load_columns(kind)))


# The record in force on %(day)s (backend.in_force, contract §2) of each person: THE statement of the
# rule in this backend, used by the lookups and by stats.
_IN_FORCE = {KIND_JUMIN: ("t.update_seq DESC", "t.deleted_flag = 0 AND t.change_date <= %(day)s"),
             KIND_FUHYO: ("t.change_date DESC", "t.change_date <= %(day)s")}


def _in_force(kind: str, select: str, persons: str | None = None) -> str:
    """SELECT `select` (over alias t) from each person's record in force on %(day)s: of the
    persons whose 住民票コード the SQL `persons` yields, or of everyone (None)."""
    order, rule = _IN_FORCE[kind]
    among = f"t.jumin_code IN ({persons}) AND " if persons else ""
    return (f"SELECT DISTINCT ON (t.jumin_code) {select} FROM {kind} t WHERE {among}{rule} "
            f"ORDER BY t.jumin_code, {order}")


def removal_sql(reason: str) -> str:
    """model.is_removal as SQL over the column `reason` (parameters %(reasons)s, %(suffix)s)."""
    return f"({reason} = ANY(%(reasons)s) OR right({reason}, char_length(%(suffix)s)) = %(suffix)s)"


REMOVAL_PARAMS = {"reasons": sorted(REMOVAL_REASONS), "suffix": REMOVAL_SUFFIX}


def _iso(day: date | str) -> date:
    return day if isinstance(day, date) else date.fromisoformat(str(day))


def connect(url: str, **kwargs) -> psycopg.Connection:
    """A connection over a unix socket or TLS, never plain TCP (E-STO-009); E-STO-008 when the
    server cannot be reached."""
    try:
        conn = psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        raise BulkError("E-STO-008", detail=type(exc).__name__) from None
    if not (conn.info.host or "").startswith("/") and not conn.pgconn.ssl_in_use:
        conn.close()
        raise BulkError("E-STO-009")
    conn.execute("SET DateStyle = ISO")
    conn.execute("SET client_min_messages = warning")
    conn.commit()
    return conn


class PostgresStore:
    """The prefectural store in a PostgreSQL database (the schema of the URL's search_path)."""

    def __init__(self, url: str, conn: psycopg.Connection) -> None:
        self.url = url
        self.db = conn
        self._load_kind: str | None = None
        self._fresh = False
        self._keys: list[np.ndarray] = []
        self._temp = False

    @classmethod
    def create(cls, url: str) -> "PostgresStore":
        """Create the tables in an empty database (schema); E-STO-010 when it holds any of them."""
        conn = connect(url)
        found = [t for t in TABLES if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0]]
        if found:
            conn.close()
            raise BulkError("E-STO-010", tables=",".join(found))
        with conn.transaction():
            for ddl in _DDL:
                conn.execute(ddl)
        conn.commit()
        return cls(url, conn)

    @classmethod
    def open(cls, url: str) -> "PostgresStore":
        conn = connect(url)
        try:
            row = conn.execute("SELECT value FROM store_meta WHERE key = 'layout'").fetchone()
        except psycopg.Error:
            row = None
        conn.rollback()
        if row is None or row[0] != str(LAYOUT):
            conn.close()
            raise BulkError("E-STO-006", found=row[0] if row else "なし", expected=LAYOUT)
        return cls(url, conn)

    def close(self) -> None:
        self.db.close()

    # --- loading ----------------------------------------------------------------------
    def begin_load(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(kind)
        db = self.db
        db.rollback()
        db.execute("SET LOCAL maintenance_work_mem = '1GB'")
        db.execute(f"LOCK TABLE {kind} IN EXCLUSIVE MODE")  # one load at a time; lookups go on
        self._load_kind, self._keys = kind, []
        self._fresh = not db.execute(f"SELECT EXISTS (SELECT 1 FROM {kind})").fetchone()[0]
        if self._fresh:  # no index to maintain row by row; COPY FREEZE into the truncated heap
            for name in INDEXES[kind]:
                db.execute(f"DROP INDEX {name}")
            db.execute(f"ALTER TABLE {kind} DROP CONSTRAINT {kind}_pkey")
            db.execute(f"TRUNCATE {kind}")
        else:
            db.execute(f"CREATE TEMP TABLE load_stage (LIKE {kind}) ON COMMIT DROP")

    def load_batch(self, kind: str, batch) -> int:
        if kind != self._load_kind:
            raise RuntimeError("load_batch outside begin_load for this kind")
        table = as_table(kind, batch)
        if not table.num_rows:
            return 0
        data = copy_rows(kind, table)
        cols = ", ".join(load_columns(kind))
        cur = self.db.cursor()
        if self._fresh:
            self._keys.append(key_numbers(kind, table))
            with cur.copy(f"COPY {kind} ({cols}) FROM STDIN (FORMAT BINARY, FREEZE)") as cp:
                cp.write(COPY_HEADER + data + COPY_TRAILER)
            return table.num_rows
        with cur.copy(f"COPY load_stage ({cols}) FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(COPY_HEADER + data + COPY_TRAILER)
        # in COPY order (a temporary table is read in order): the first of equal keys wins
        cur.execute(f"INSERT INTO {kind} SELECT * FROM load_stage ON CONFLICT DO NOTHING")
        inserted = cur.rowcount
        cur.execute("TRUNCATE load_stage")
        return inserted

    def _drop_duplicates(self, kind: str) -> int:
        """Rows of an empty-table load whose key came earlier in it: removed (the first stays)."""
        keys = np.concatenate(self._keys) if self._keys else np.empty(0, np.int64)
        self._keys = []
        if keys.size and keys.min() < 0:  # a key beyond key_numbers' range: let the database look
            dup = 1
        else:
            keys.sort()
            dup = int(np.count_nonzero(keys[1:] == keys[:-1]))
        if not dup:
            return 0
        pk = ", ".join(PRIMARY_KEYS[kind])
        cur = self.db.execute(f"""DELETE FROM {kind} d USING (
            SELECT ctid, row_number() OVER (PARTITION BY {pk} ORDER BY ctid) AS n FROM {kind}
            WHERE ({pk}) IN (SELECT {pk} FROM {kind} GROUP BY {pk} HAVING count(*) > 1)) x
            WHERE d.ctid = x.ctid AND x.n > 1""")
        return cur.rowcount

    def commit_load(self) -> int:
        """Commit; returns how many rows that load_batch counted were dropped as duplicates."""
        kind, dropped = self._load_kind, 0
        try:
            if self._fresh:
                dropped = self._drop_duplicates(kind)
                self.db.execute(f"ALTER TABLE {kind} ADD CONSTRAINT {kind}_pkey PRIMARY KEY "
                                f"({', '.join(PRIMARY_KEYS[kind])})")
                for name, ddl in INDEXES[kind].items():
                    self.db.execute(f"CREATE INDEX {name} {ddl}")
            self.db.execute(f"ANALYZE {kind}")
            self.db.commit()
        finally:
            self._load_kind, self._fresh, self._keys = None, False, []
        return dropped

    def rollback_load(self) -> None:
        self.db.rollback()  # also restores the indexes dropped in begin_load
        self._load_kind, self._fresh, self._keys = None, False, []

    # --- batch lookups: keys COPY'd into a temporary table, one statement per batch -----------
    def _ensure_temp(self) -> None:
        if not self._temp:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS q_key (k text) ON COMMIT DELETE ROWS")
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS q_four (b date, a text) ON COMMIT DELETE ROWS")
            self.db.commit()
            self._temp = True

    def _query(self, table: str, keys: list, sql: str, params: dict | None = None) -> tuple:
        """COPY `keys` into the temporary table, run `sql`, commit (which empties the table)."""
        self._ensure_temp()
        cur = self.db.cursor()
        try:
            with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(["text"] if table == "q_key" else ["date", "text"])
                for k in keys:
                    cp.write_row((k,) if table == "q_key" else (date.fromisoformat(k[0]), k[1]))
            cur.execute(sql, params or {})
            rows = cur.fetchall()
        finally:
            self.db.commit()
        return rows

    def _rows(self, kind: str, table: str, keys: list, persons: str, as_of: str | None) -> list[Row]:
        if not keys:
            return []
        if as_of is None:
            sql = (f"SELECT count(*), string_agg({_cells(kind)}, chr(31)) FROM {kind} t "
                   f"WHERE t.jumin_code IN ({persons})")
        else:
            sql = f"SELECT count(*), string_agg(x, chr(31)) FROM ({_in_force(kind, _cells(kind) + ' AS x', persons)}) s"
        ((count, text),) = self._query(table, keys, sql, {"day": _iso(as_of)} if as_of else None)
        return rows_from_text(kind, count, text)

    def _in_force(self, kind: str, table: str, keys: Iterable, persons: str, as_of: str) -> InForce:
        return {row["jumin_code"]: row for row in self._rows(kind, table, sorted(set(keys)), persons, as_of)}

    def versions(self, kind: str, codes: Iterable[str]) -> Versions:
        if kind not in KINDS:
            raise ValueError(kind)
        out: Versions = {}
        for row in self._rows(kind, "q_key", sorted(set(codes)), "SELECT k FROM q_key", None):
            out.setdefault(row["jumin_code"], []).append(row)
        return out

    def lookup_jumin_by_codes(self, codes: Iterable[str], as_of: str) -> InForce:
        return self._in_force(KIND_JUMIN, "q_key", codes, "SELECT k FROM q_key", as_of)

    def lookup_jumin_by_kojin_bango(self, numbers: Iterable[str], as_of: str) -> InForce:
        return self._in_force(KIND_JUMIN, "q_key", numbers,
                              "SELECT j.jumin_code FROM q_key q JOIN jumin j ON j.kojin_bango = q.k", as_of)

    def _four(self, kind: str, keys: Iterable[tuple[str, str]], as_of: str) -> InForce:
        sub = f"SELECT f.jumin_code FROM q_four q JOIN {kind} f ON f.birth_date = q.b AND f.k_addr = q.a"
        if kind == KIND_FUHYO:
            sub += " UNION SELECT f.jumin_code FROM q_four q JOIN fuhyo f ON f.birth_date = q.b AND f.k_last_addr = q.a"
        return self._in_force(kind, "q_four", keys, sub, as_of)

    def lookup_jumin_by_four(self, keys: Iterable[tuple[str, str]], as_of: str) -> InForce:
        return self._four(KIND_JUMIN, keys, as_of)

    def lookup_fuhyo_by_codes(self, codes: Iterable[str], as_of: str) -> InForce:
        return self._in_force(KIND_FUHYO, "q_key", codes, "SELECT k FROM q_key", as_of)

    def lookup_fuhyo_by_four(self, keys: Iterable[tuple[str, str]], as_of: str) -> InForce:
        return self._four(KIND_FUHYO, keys, as_of)

    # --- provision record (contract §6b) ----------------------------------------------------
    def record_provisions(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """COPY the rows in one transaction, streaming."""
        count = 0
        self.db.rollback()
        try:
            with self.db.cursor().copy(f"COPY provisions ({', '.join(PROVISION_KEYS)}) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(list(PROVISION_TYPES))
                for r in rows:
                    count += 1
                    cp.write_row(tuple(_iso(r[k]) if k == "provided_on" else r[k] for k in PROVISION_KEYS))
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()
        return count

    def provisions_for(self, jumin_code: str, since: date | str | None = None) -> list[dict]:
        cols = ", ".join(f"{k}::text" if k == "provided_on" else k for k in PROVISION_KEYS)
        rows = self._query("q_key", [jumin_code],
                           f"SELECT {cols} FROM provisions WHERE jumin_code IN (SELECT k FROM q_key) "
                           "AND provided_on >= coalesce(%(since)s, '-infinity'::date) ORDER BY provided_on, entry, id",
                           {"since": None if since is None else _iso(since)})
        return [dict(zip(PROVISION_KEYS, r)) for r in rows]

    def purge_provisions(self, before: date, confirm: Callable[[int], None]) -> int:
        self.db.rollback()
        (due,) = self.db.execute("SELECT EXISTS (SELECT 1 FROM provisions WHERE provided_on < %s)",
                                 (_iso(before),)).fetchone()
        self.db.rollback()
        if not due:  # the usual case: nothing to delete, and no privilege needed to find that out
            return 0
        try:
            self.db.execute("CREATE INDEX IF NOT EXISTS provisions_date ON provisions (provided_on)")  # older stores
            count = self.db.execute("DELETE FROM provisions WHERE provided_on < %s", (_iso(before),)).rowcount
            if count:
                confirm(count)
        except psycopg.errors.InsufficientPrivilege:
            self.db.rollback()
            raise BulkError("E-STO-013") from None
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()
        return count

    # --- statistics (counts only) ---------------------------------------------------------
    def stats(self, today: date | str) -> dict[str, int]:
        day = {"day": _iso(today), **REMOVAL_PARAMS, "removed": FUHYO_STATUS_REMOVED}
        q = self.db.execute
        try:
            in_force, removed, gaiji = q(
                f"SELECT count(*), count(*) FILTER (WHERE {removal_sql('change_reason')}), "
                f"count(*) FILTER (WHERE gaiji_flag = 1) "
                f"FROM ({_in_force(KIND_JUMIN, 't.change_reason, t.gaiji_flag')}) s", day).fetchone()
            j_rows, j_people, j_deleted = q("SELECT count(*), count(DISTINCT jumin_code), "
                                            "count(*) FILTER (WHERE deleted_flag = 1) FROM jumin").fetchone()
            f_in_force, f_removed, f_abroad, f_gaiji = q(
                f"""SELECT count(*), count(*) FILTER (WHERE fuhyo_status = %(removed)s),
                      count(*) FILTER (WHERE fuhyo_status <> %(removed)s AND k_addr IS NULL),
                      count(*) FILTER (WHERE gaiji_flag = 1)
                    FROM ({_in_force(KIND_FUHYO, 't.fuhyo_status, t.k_addr, t.gaiji_flag')}) s""", day).fetchone()
            f_rows, f_people = q("SELECT count(*), count(DISTINCT jumin_code) FROM fuhyo").fetchone()
            (provisions,) = q("SELECT count(*) FROM provisions").fetchone()
        finally:
            self.db.rollback()
        return {
            "jumin_rows": j_rows, "jumin_people": j_people,
            "jumin_current": in_force - removed, "jumin_removed": removed,
            "jumin_historic": j_rows - in_force, "jumin_deleted_rows": j_deleted, "jumin_gaiji": gaiji,
            "fuhyo_rows": f_rows, "fuhyo_people": f_people,
            "fuhyo_current": f_in_force - f_removed, "fuhyo_removed": f_removed,
            "fuhyo_historic": f_rows - f_in_force, "fuhyo_abroad": f_abroad, "fuhyo_gaiji": f_gaiji,
            "provisions": provisions,
        }
