"""The seam between the tool and the database holding the prefectural store.

SQLite (store/sqlite.py) is the embedded default; PostgreSQL (store/postgresql.py) implements the
same protocol for a server store (store/url.py chooses by the workspace's store URL). All SQL stays inside the backends; nothing above this seam writes SQL, and nothing
above it knows how a backend lays its rows out.

What goes in
  * the two store files (contract §2): `load_batch` takes validated rows whose columns are
    `record_columns(kind)` — every column of store/schema.py under its English name, as the
    validated CSV text ("" = empty cell), then the match keys computed at load time by
    store/validate.py (KEY_COLUMNS; text, None = no key) — as a pyarrow Table (the fast path's
    chunks) or as a list of tuples (the chunks of the exact, row-by-row path);
  * the provision record (contract §6b): dicts with PROVISION_KEYS.

What comes out
  Rows as mappings (column name → value), read-only by convention: `StoredRow` (a dict whose
  repr hides the values) from every backend, with every schema column and match key by name.
  Dates are `YYYY-MM-DD` text; flags and counts are integers; an empty cell is None (an empty
  flag 0): schema.converter is that rule, for every backend.

What a backend decides, and what it does not
  A lookup answers with each linked person's *record in force* on the 基準日 — the one rule of
  contract §2, written once in Python below (`in_force`) and checked against every backend's SQL by
  tests/test_store_backends.py on both backends — because choosing it in the database keeps the older versions
  (~40 % of the rows a batch touches) out of Python altogether (docs/store.md「Measured」).
  Whether a condition holds on that record, and what the answer is, is bulktool.matching, pure
  Python, identical for every backend. `versions` returns every stored row (loading checks,
  tools).
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

from bulktool.store.schema import COLUMNS, KIND_FUHYO, KIND_JUMIN

if TYPE_CHECKING:
    import pyarrow

Row = Mapping[str, Any]
Versions = dict[str, list[Row]]  # 住民票コード → every row of that person in one table
InForce = dict[str, Row]  # 住民票コード → that person's record in force on the 基準日 (`in_force`)

# Match keys computed once at load time (store/validate.py) and stored beside the columns:
#   k_name      name_key(漢字氏名)                 k_kana      kana_key(ふりがな)
#   k_old_name  name_key(旧氏 + given name)        k_old_kana  kana_key(旧氏ふりがな + given kana)
#   k_addr      address_key(住所 / 住所漢字)        k_last_addr address_key(最終住所漢字) (fuhyo)
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    KIND_JUMIN: ("k_name", "k_kana", "k_old_name", "k_old_kana", "k_addr"),
    KIND_FUHYO: ("k_name", "k_kana", "k_old_name", "k_old_kana", "k_addr", "k_last_addr"),
}

# Primary key of each table: loading is idempotent on it (contract §2).
PRIMARY_KEYS: dict[str, tuple[str, str]] = {
    KIND_JUMIN: ("jumin_code", "update_seq"),
    KIND_FUHYO: ("jumin_code", "change_date"),
}

# The provision record (contract §6b); the dicts given to record_provisions and returned by
# provisions_for carry these keys.
PROVISION_KEYS = ("jumin_code", "provided_on", "entry", "department", "purpose", "fields", "use")


def record_columns(kind: str) -> tuple[str, ...]:
    """The columns of the Table given to `load_batch`: the schema columns, then the match keys."""
    return tuple(en for _, en in COLUMNS[kind]) + KEY_COLUMNS[kind]


class StoredRow(dict):
    """A stored row as returned by lookups: a plain dict whose repr never shows the values
    (they are personal data), so a row in a log line or an exception names no resident."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"StoredRow({len(self)} columns)"


def in_force(kind: str, versions: Sequence[Row], as_of: str) -> Row | None:
    """The record in force on `as_of` (YYYY-MM-DD) among one person's rows (contract §2): jumin —
    among the rows with 異動年月日 ≤ as_of and 削除フラグ not set, the highest 更新順番号;
    fuhyo — the row with the latest 異動年月日 ≤ as_of. None when no row qualifies. Backends
    apply this rule in their lookups; this is its statement, and the tests' reference."""
    best = None
    if kind == KIND_JUMIN:
        for v in versions:
            if not v["deleted_flag"] and v["change_date"] <= as_of and (
                    best is None or v["update_seq"] > best["update_seq"]):
                best = v
    else:
        for v in versions:
            if v["change_date"] <= as_of and (best is None or v["change_date"] > best["change_date"]):
                best = v
    return best


class StoreBackend(Protocol):
    """What matching, loading, stats and the exchange need from a store."""

    # --- loading: one transaction per `store load` command -----------------------------
    def begin_load(self, kind: str) -> None:
        """Open the load transaction for `kind` (fast settings; may drop secondary indexes of
        an empty table, to rebuild them in commit_load)."""

    def load_batch(self, kind: str, batch: "pyarrow.Table | list[tuple]") -> int:
        """Insert validated rows (`record_columns(kind)`, see above) inside the open
        load transaction. A row whose primary key is already stored is skipped: stored versions
        are immutable (docs/store.md). Returns the number of rows inserted."""

    def commit_load(self) -> int | None:
        """Commit, rebuild any dropped index, and return to the safe settings. Returns the
        number of rows that load_batch counted as inserted but that were dropped at the end as
        duplicates of an earlier row (a backend that checks uniqueness only then), or None."""

    def rollback_load(self) -> None:
        """Undo everything since begin_load (nothing of the command is kept)."""

    # --- batch lookups: the record in force on `as_of` (YYYY-MM-DD) of each linked person ----
    # A person linked to a key by any stored row (an older version's 個人番号 too: matching
    # re-checks the key on the record in force) and having a record in force on as_of.
    # matching.match may call them from a thread other than the one that opened the backend
    # (one call at a time, never beside another call on this backend).
    def lookup_jumin_by_codes(self, codes: Iterable[str], as_of: str) -> InForce: ...

    def lookup_jumin_by_kojin_bango(self, numbers: Iterable[str], as_of: str) -> InForce:
        """Persons having a jumin row (any version) that carries one of the 個人番号."""

    def lookup_jumin_by_four(self, keys: Iterable[tuple[str, str]], as_of: str) -> InForce:
        """Persons having a jumin row with (birth date, address key) among `keys`."""

    def lookup_fuhyo_by_codes(self, codes: Iterable[str], as_of: str) -> InForce: ...

    def lookup_fuhyo_by_four(self, keys: Iterable[tuple[str, str]], as_of: str) -> InForce:
        """Persons having a fuhyo row with (birth date, key of 住所漢字 or 最終住所漢字)."""

    def versions(self, kind: str, codes: Iterable[str]) -> Versions:
        """Every stored row of these persons in table `kind`, in no particular order."""

    # --- provision record (contract §6b) ----------------------------------------------------
    def record_provisions(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append provision records (dicts with PROVISION_KEYS) in one transaction."""

    def provisions_for(self, jumin_code: str, since: date | str | None = None) -> list[dict]:
        """The provision records of one person, oldest first, provided on or after `since`."""

    def purge_provisions(self, before: date, confirm: Callable[[int], None]) -> int:
        """Delete the provision records provided before `before` (their retention has ended) in one
        transaction, and call `confirm(count)` inside it when there were any: the caller ledgers
        the 履歴削除 there, so a crash leaves either the records and no entry, or the entry and the
        records (deleted again, and ledgered again, by the next purge) — never a silent deletion.
        Needs the owner role on PostgreSQL (the exchange role may only add records)."""

    # --- statistics and lifetime -----------------------------------------------------------
    def stats(self, today: date | str) -> dict[str, int]:
        """Counts only (docs/store.md names them); never personal data."""

    def close(self) -> None: ...
