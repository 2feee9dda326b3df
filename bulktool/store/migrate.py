"""`store migrate --to URL`: copy a SQLite store into an empty PostgreSQL database (schema), check
it, and only then let the workspace switch (services/store.py writes the config).

    report = migrate(sqlite_store, url, progress=None)  # MigrateReport; E-STO-011 on any difference

The rows are copied as stored (both backends share store/layout.py: the real columns, the address
keys and the packed value), by COPY, into tables created for the purpose, the primary keys and
indexes built after. Then every table is read back on both sides and compared: the number of
rows, and a hash of every row — each row's cells as text in layout order, joined by U+001F, hashed
with BLAKE2b-128, the hashes summed modulo 2^128 (order-free, so each side is read in its own
order). Nothing is switched unless every count and hash agree.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Iterable

from bulktool.messages import BulkError
from bulktool.store.backend import PROVISION_KEYS
from bulktool.store.layout import load_columns
from bulktool.store.postgresql import PostgresStore
from bulktool.store.schema import KINDS
from bulktool.store.sqlite import SqliteStore

BATCH = 50_000
TABLES = (*KINDS, "provisions")


@dataclass
class MigrateReport:
    rows: dict[str, int] = field(default_factory=dict)  # table → rows copied (and found equal)
    digests: dict[str, str] = field(default_factory=dict)  # table → the hash of every row (hex)

    def __str__(self) -> str:
        return "、".join(f"{t} {n:,} 行" for t, n in self.rows.items())


def _columns(table: str) -> tuple[str, ...]:
    return PROVISION_KEYS if table == "provisions" else load_columns(table)


def digest(rows: Iterable[tuple[str]]) -> tuple[int, int]:
    """(count, sum of the rows' BLAKE2b-128 mod 2^128) of rows given as one text each."""
    count = total = 0
    for (text,) in rows:
        count += 1
        total += int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest(), "big")
    return count, total % (1 << 128)


def _sqlite_rows(store: SqliteStore, table: str):
    joined = " || char(31) || ".join(f"ifnull({c}, '')" for c in _columns(table))
    return store.db.execute(f"SELECT {joined} FROM {table}")


def _pg_rows(store: PostgresStore, table: str):
    joined = " || chr(31) || ".join(f"coalesce({c}::text, '')" for c in _columns(table))
    cur = store.db.cursor(name=f"check_{table}")  # server-side: streamed, not fetched whole
    cur.itersize = BATCH
    cur.execute(f"SELECT {joined} FROM {table}")
    return cur


def _copy(source: SqliteStore, target: PostgresStore, table: str, progress: Callable[[str, int], None] | None) -> int:
    cols = ", ".join(_columns(table))
    order = " ORDER BY rowid" if table == "provisions" else ""  # identity order = recording order
    rows = source.db.execute(f"SELECT {cols} FROM {table}{order}")
    copied = 0
    with target.db.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
        while batch := rows.fetchmany(BATCH):
            for r in batch:
                cp.write_row(r)
            copied += len(batch)
            if progress is not None:
                progress(table, copied)
    return copied


def migrate(source: SqliteStore, url: str, progress: Callable[[str, int], None] | None = None) -> MigrateReport:
    """Copy `source` into the empty database at `url`, then compare every table (E-STO-011)."""
    target = PostgresStore.create(url)
    report = MigrateReport()
    try:
        for kind in KINDS:
            target.begin_load(kind)  # empty: indexes dropped, rebuilt at commit
            _copy(source, target, kind, progress)
            target.commit_load()
        _copy(source, target, "provisions", progress)
        target.db.execute("ANALYZE provisions")
        target.db.commit()
        for table in TABLES:
            want = digest(_sqlite_rows(source, table))
            got = digest(_pg_rows(target, table))
            target.db.commit()
            if want != got:
                raise BulkError("E-STO-011", table=table, source=want[0], target=got[0],
                                detail="一致" if want[1] == got[1] else "不一致")
            report.rows[table] = want[0]
            report.digests[table] = f"{want[1]:032x}"
    except BaseException:
        target.db.rollback()
        raise
    finally:
        target.close()
    return report

