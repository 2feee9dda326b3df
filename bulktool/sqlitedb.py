"""Opening the workspace's own SQLite files: owner-only permissions, WAL, a busy timeout."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def connect_private(path: Path | str, *, timeout: float = 60.0, wal: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit); a new file is made 0600."""
    path = Path(path)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    return db
