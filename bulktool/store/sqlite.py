"""The SQLite store backend (embedded default). Temp tables and sorts stay in memory
(`PRAGMA temp_store=MEMORY`), so no plaintext personal data reaches a temp file."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

from bulktool.store.schema import COLUMNS, FUHYO_STATUS_REMOVED, KIND_FUHYO, KIND_JUMIN, REMOVAL_REASONS

KEY_COLUMNS = {KIND_JUMIN: ("k_name", "k_kana", "k_old_name", "k_old_kana", "k_addr"),
               KIND_FUHYO: ("k_name", "k_kana", "k_old_name", "k_old_kana", "k_addr", "k_last_addr")}
INT_COLUMNS = {"name_gaiji_count", "address_gaiji_count", "retention_flag", "gaiji_flag", "deleted_flag",
               "update_seq", "name_gaiji_seq", "address_gaiji_seq", "old_name_gaiji_count", "old_name_gaiji_seq",
               "last_address_gaiji_count"}
PRIMARY = {KIND_JUMIN: ("jumin_code", "update_seq"), KIND_FUHYO: ("jumin_code", "change_date")}
_BATCH = 900  # parameters per IN (...) query


def all_columns(kind: str) -> tuple[str, ...]:
    return tuple(en for _, en in COLUMNS[kind]) + KEY_COLUMNS[kind]


def _ddl(kind: str) -> str:
    cols = ", ".join(f"{c} {'INTEGER' if c in INT_COLUMNS else 'TEXT'}" for c in all_columns(kind))
    return f"CREATE TABLE IF NOT EXISTS {kind} ({cols}, PRIMARY KEY ({', '.join(PRIMARY[kind])})) WITHOUT ROWID"


_INDEXES = (
    "CREATE INDEX IF NOT EXISTS jumin_kojin ON jumin(kojin_bango) WHERE kojin_bango IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS jumin_four ON jumin(birth_date, k_addr)",
    "CREATE INDEX IF NOT EXISTS fuhyo_four ON fuhyo(birth_date, k_addr)",
    "CREATE INDEX IF NOT EXISTS fuhyo_four_last ON fuhyo(birth_date, k_last_addr)",
)
_PROVISIONS = """CREATE TABLE IF NOT EXISTS provisions (
  jumin_code TEXT NOT NULL, provided_on TEXT NOT NULL, entry INTEGER NOT NULL, department TEXT NOT NULL,
  purpose TEXT NOT NULL, fields TEXT NOT NULL, use TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS provisions_code ON provisions(jumin_code);"""


class SqliteStore:
    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db
        db.execute("PRAGMA temp_store=MEMORY")
        db.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache
        db.execute("PRAGMA mmap_size=1073741824")

    @classmethod
    def create(cls, path: Path | str) -> "SqliteStore":
        path = Path(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        store = cls.open(path)
        store.db.execute("PRAGMA journal_mode=WAL")
        for kind in (KIND_JUMIN, KIND_FUHYO):
            store.db.execute(_ddl(kind))
        for sql in _INDEXES:
            store.db.execute(sql)
        store.db.executescript(_PROVISIONS)
        return store

    @classmethod
    def open(cls, path: Path | str) -> "SqliteStore":
        path = Path(path)
        db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        return cls(path, db)

    def close(self) -> None:
        self.db.close()

    # --- loading ---
    def columns(self, kind: str) -> tuple[str, ...]:
        return all_columns(kind)

    def begin_load(self) -> None:
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("BEGIN IMMEDIATE")

    def commit_load(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("ANALYZE")

    def rollback_load(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self.db.execute("PRAGMA synchronous=FULL")

    def insert_rows(self, kind: str, rows: Sequence[tuple]) -> int:
        before = self.db.total_changes
        cols = all_columns(kind)
        self.db.executemany(f"INSERT OR IGNORE INTO {kind} VALUES ({','.join('?' * len(cols))})", rows)
        return self.db.total_changes - before

    # --- lookups (batch; the caller chunks nothing) ---
    def _in_chunks(self, sql: str, values: list) -> list[tuple]:
        out: list[tuple] = []
        for i in range(0, len(values), _BATCH):
            chunk = values[i:i + _BATCH]
            out.extend(self.db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall())
        return out

    def codes_by_kojin_bango(self, numbers: Iterable[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for num, code in self._in_chunks("SELECT kojin_bango, jumin_code FROM jumin WHERE kojin_bango IN ({marks})",
                                         sorted(set(numbers))):
            out.setdefault(num, set()).add(code)
        return out

    def codes_by_four(self, kind: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        keys = sorted(set(keys))
        out: dict[tuple[str, str], set[str]] = {}
        if not keys:
            return out
        db = self.db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS q_four (birth_date TEXT, k_addr TEXT)")
        db.execute("DELETE FROM q_four")
        db.executemany("INSERT INTO q_four VALUES (?, ?)", keys)
        addr_cols = ("k_addr", "k_last_addr") if kind == KIND_FUHYO else ("k_addr",)
        for col in addr_cols:
            sql = (f"SELECT q.birth_date, q.k_addr, t.jumin_code FROM q_four q JOIN {kind} t "
                   f"ON t.birth_date = q.birth_date AND t.{col} = q.k_addr")
            for b, a, code in db.execute(sql):
                out.setdefault((b, a), set()).add(code)
        db.execute("DELETE FROM q_four")
        return out

    def versions(self, kind: str, codes: Iterable[str]) -> dict[str, list[dict]]:
        cols = all_columns(kind)
        out: dict[str, list[dict]] = {}
        for row in self._in_chunks(f"SELECT * FROM {kind} WHERE jumin_code IN ({{marks}})", sorted(set(codes))):
            rec = dict(zip(cols, row))
            out.setdefault(rec["jumin_code"], []).append(rec)
        return out

    # --- provision record (SPEC §6b) ---
    def record_provisions(self, rows: Iterable[dict]) -> int:
        data = [(r["jumin_code"], r["provided_on"], r["entry"], r["department"], r["purpose"], r["fields"], r["use"])
                for r in rows]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO provisions VALUES (?,?,?,?,?,?,?)", data)
        return len(data)

    def provisions_for(self, jumin_code: str) -> list[dict]:
        keys = ("jumin_code", "provided_on", "entry", "department", "purpose", "fields", "use")
        rows = self.db.execute("SELECT * FROM provisions WHERE jumin_code = ? ORDER BY provided_on, entry",
                               (jumin_code,)).fetchall()
        return [dict(zip(keys, r)) for r in rows]

    # --- statistics (no personal data) ---
    def stats(self, today: str) -> dict:
        db = self.db
        removal = ",".join(f"'{r}'" for r in sorted(REMOVAL_REASONS))
        j_rows, j_people, j_deleted = db.execute(
            "SELECT count(*), count(DISTINCT jumin_code), coalesce(sum(deleted_flag), 0) FROM jumin").fetchone()
        cur, removed, gaiji = db.execute(
            f"""SELECT count(*), coalesce(sum(change_reason IN ({removal}) OR change_reason LIKE '%消除'), 0),
                       coalesce(sum(gaiji_flag), 0)
                FROM (SELECT change_reason, gaiji_flag, ROW_NUMBER() OVER (PARTITION BY jumin_code
                      ORDER BY update_seq DESC) AS rn FROM jumin WHERE deleted_flag = 0 AND change_date <= ?)
                WHERE rn = 1""", (today,)).fetchone()
        f_rows, f_people = db.execute("SELECT count(*), count(DISTINCT jumin_code) FROM fuhyo").fetchone()
        f_cur, f_removed, f_abroad = db.execute(
            f"""SELECT count(*), coalesce(sum(fuhyo_status = '{FUHYO_STATUS_REMOVED}'), 0),
                       coalesce(sum(coalesce(address, '') = '' OR address = '国外'), 0)
                FROM (SELECT fuhyo_status, address, ROW_NUMBER() OVER (PARTITION BY jumin_code
                      ORDER BY change_date DESC) AS rn FROM fuhyo WHERE change_date <= ?) WHERE rn = 1""",
            (today,)).fetchone()
        (provisions,) = db.execute("SELECT count(*) FROM provisions").fetchone()
        return {
            "jumin_rows": j_rows, "jumin_people": j_people, "jumin_current": cur - removed,
            "jumin_removed": removed, "jumin_historic": j_rows - cur, "jumin_deleted_rows": j_deleted,
            "jumin_gaiji": gaiji, "fuhyo_rows": f_rows, "fuhyo_people": f_people, "fuhyo_current": f_cur - f_removed,
            "fuhyo_removed": f_removed, "fuhyo_abroad": f_abroad, "provisions": provisions,
        }
