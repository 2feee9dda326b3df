"""The prefectural store's use cases: load dumps, generate a synthetic store and load it through
the same validation (a test and training store), and move the store from SQLite to PostgreSQL."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from bulktool import drive
from bulktool.messages import BulkError
from bulktool.model import KINDS
from bulktool.store.backend import StoreBackend
from bulktool.store.generate import generate
from bulktool.store.sqlite import SqliteStore
from bulktool.store.url import check_url
from bulktool.workspace import Workspace
from bulktool.writer import LedgerWriter

if TYPE_CHECKING:  # annotations only: the loader and the migration are imported when used
    from bulktool.store.load import LoadReport
    from bulktool.store.migrate import MigrateReport

# progress(kind, rows_read, bytes_read, bytes_total), as store.load's callback with the kind first
LoadProgress = Callable[[str, int, int, int], None]


def load(store: StoreBackend, kind: str, paths: list[Path], progress: LoadProgress | None = None) -> LoadReport:
    """Validate and load the dumps of one kind (jumin|fuhyo), all or nothing."""
    if kind not in KINDS:
        raise BulkError("E-USE-001", option="--kind", value=kind)
    # start-up time: the loader brings numpy and pyarrow (~0.15 s), which only loads need
    from bulktool.store.load import load_files

    shown = (lambda rows, done, total: progress(kind, rows, done, total)) if progress else None
    return load_files(store, kind, paths, progress=shown)


def generate_and_load(store: StoreBackend, *, people: int, seed: int, directory: Path, today: date,
                      progress: LoadProgress | None = None) -> tuple[dict[str, int], list[LoadReport]]:
    """Generate `people` synthetic residents as dumps in `directory`, load both files, and return
    the store's counts as of `today` and the loads' reports."""
    directory.mkdir(parents=True, exist_ok=True)
    generate(people, seed, directory, today=today)
    reports = [load(store, kind, [directory / f"{kind}.csv"], progress) for kind in KINDS]
    return store.stats(today.isoformat()), reports


def record_load(writer: LedgerWriter, loads: list[tuple[LoadReport, list[Path]]], note: str) -> dict:
    """The 取込 entry of a store load: every dump file's name and SHA-256, the rows read and the
    versions stored per kind. An 出力 cites the latest 取込 as the store that answered it."""
    files = [{"name": p.name, "sha256": drive.file_sha256(p)} for _, paths in loads for p in paths]
    counts: dict[str, int] = {}
    for report, _ in loads:
        counts[f"{report.kind}_rows"] = counts.get(f"{report.kind}_rows", 0) + report.rows
        counts[f"{report.kind}_inserted"] = counts.get(f"{report.kind}_inserted", 0) + report.inserted
    return writer.record("取込", files=files, counts=counts, note=note)


def migrate_to(ws: Workspace, store: StoreBackend, url: str,
               progress: Callable[[str, int], None] | None = None) -> MigrateReport:
    """Copy the workspace's SQLite store into the empty PostgreSQL database at `url`, compare every
    table (counts and a hash of every row), and only then switch the config to the URL. The SQLite
    file is left as it was (docs/postgresql.md: remove it once the switch is confirmed)."""
    check_url(url, "--to")
    if not isinstance(store, SqliteStore) or ws.store_url():
        raise BulkError("E-STO-012", kind="PostgreSQL")
    # start-up time: the migration brings psycopg (~0.1 s), which only a PostgreSQL store needs
    from bulktool.store.migrate import migrate

    report = migrate(store, url, progress)
    ws.config["store"] = url
    ws.save_config()
    return report
