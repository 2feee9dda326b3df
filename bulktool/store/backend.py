"""The seam between matching and a database: SQLite (embedded default) today, PostgreSQL later.

A backend stores rows already validated and keyed by store/load.py, and answers batch lookups
with *all versions* of the persons concerned; deciding which version is in force on the 基準日
is matching's job (pure Python, the same for every backend).

Rows are dicts with the English column names of store/schema.py plus the precomputed keys
`k_name`, `k_kana`, `k_old_name`, `k_old_kana`, `k_addr` (and `k_last_addr` for fuhyo).
"""
from __future__ import annotations

from typing import Iterable, Protocol, Sequence


class StoreBackend(Protocol):
    def insert_rows(self, kind: str, rows: Sequence[tuple]) -> int:
        """Insert rows (tuples in `columns(kind)` order) in the open load transaction; rows whose
        key is already stored are skipped (versions are immutable). Returns rows inserted."""

    def columns(self, kind: str) -> tuple[str, ...]: ...

    def begin_load(self) -> None: ...

    def commit_load(self) -> None: ...

    def rollback_load(self) -> None: ...

    def codes_by_kojin_bango(self, numbers: Iterable[str]) -> dict[str, set[str]]:
        """個人番号 → 住民票コード of every jumin row carrying it."""

    def codes_by_four(self, kind: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        """(birth date, address key) → 住民票コード of every row of `kind` carrying them."""

    def versions(self, kind: str, codes: Iterable[str]) -> dict[str, list[dict]]:
        """住民票コード → all its rows of `kind` (every version)."""

    def record_provisions(self, rows: Iterable[dict]) -> int: ...

    def provisions_for(self, jumin_code: str) -> list[dict]: ...

    def stats(self, today: str) -> dict: ...

    def close(self) -> None: ...
