"""Opening the workspace's own SQLite files: owner-only permissions, WAL, a busy timeout."""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def connect_private(path: Path | str, *, timeout: float = 60.0, wal: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit); a new file is made 0600."""
    path = Path(path)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    return db


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE takes the write lock at once (concurrent processes
    queue for it instead of failing at their first write), COMMIT at the end, ROLLBACK on any
    exception — Ctrl-C included."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def each_row(cur: sqlite3.Cursor, batch: int = 4096) -> Iterator[tuple]:
    """A query's rows in batches of `batch` (never the whole result in memory)."""
    cur.arraysize = batch
    while rows := cur.fetchmany():
        yield from rows
