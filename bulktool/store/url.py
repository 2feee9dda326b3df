"""Which store a workspace uses: the embedded SQLite file (default), or a PostgreSQL database named
by a store URL in the workspace config (`init --store`, `store migrate --to`; docs/postgresql.md).

    open_store(home, url)    # url None → home/store.sqlite
    create_store(home, url)  # a new, empty store (a URL: an empty database or schema)
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bulktool.messages import BulkError
from bulktool.store.backend import StoreBackend
from bulktool.store.sqlite import SqliteStore

SQLITE_FILE = "store.sqlite"
SCHEMES = ("postgresql", "postgres")
# Commands that write the store's tables: they connect with the owner role's URL (`store_load` in
# the config) when one is set; every other command, the exchange included, with `store`.
LOADING_COMMANDS = frozenset({"store load", "store generate"})


def check_url(url: str, option: str = "--store") -> str:
    """A PostgreSQL URL (postgresql://…), else E-USE-001 (the value shown without its password)."""
    if urlsplit(url).scheme not in SCHEMES:
        raise BulkError("E-USE-001", option=option, value=shown_url(url))
    return url


def shown_url(url: str) -> str:
    """The URL as it may be shown or logged: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _postgres():
    # imported here: a workspace on SQLite never loads psycopg (start-up time)
    from bulktool.store import postgresql

    return postgresql.PostgresStore


def open_store(home: Path, url: str | None) -> StoreBackend:
    if url:
        return _postgres().open(check_url(url))
    return SqliteStore.open(Path(home) / SQLITE_FILE)


def create_store(home: Path, url: str | None) -> None:
    if url:
        _postgres().create(check_url(url)).close()
    else:
        SqliteStore.create(Path(home) / SQLITE_FILE).close()
