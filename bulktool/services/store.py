"""The prefectural store's use cases: load dumps, and generate a synthetic store and load it
through the same validation (a test and training store)."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Callable

from bulktool.messages import BulkError
from bulktool.model import KINDS
from bulktool.store.backend import StoreBackend
from bulktool.store.generate import generate
from bulktool.store.load import LoadReport, load_files

# progress(kind, rows_read, bytes_read, bytes_total), as store.load's callback with the kind first
LoadProgress = Callable[[str, int, int, int], None]


def load(store: StoreBackend, kind: str, paths: list[Path], progress: LoadProgress | None = None) -> LoadReport:
    """Validate and load the dumps of one kind (jumin|fuhyo), all or nothing."""
    if kind not in KINDS:
        raise BulkError("E-USE-001", option="--kind", value=kind)
    shown = (lambda rows, done, total: progress(kind, rows, done, total)) if progress else None
    return load_files(store, kind, paths, progress=shown)


def generate_and_load(store: StoreBackend, *, people: int, seed: int, directory: Path, today: date,
                      progress: LoadProgress | None = None) -> dict[str, int]:
    """Generate `people` synthetic residents as dumps in `directory`, load both files, and return
    the store's counts as of `today`."""
    directory.mkdir(parents=True, exist_ok=True)
    generate(people, seed, directory, today=today)
    for kind in KINDS:
        load(store, kind, [directory / f"{kind}.csv"], progress)
    return store.stats(today.isoformat())
