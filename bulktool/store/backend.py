"""The seam between the tool and the database holding the prefectural store.

SQLite (store/sqlite.py) is the embedded default; a PostgreSQL backend will implement the same
protocol. All SQL stays inside the backends; nothing above this seam writes SQL.

What a backend stores
  * the two store files (SPEC §2), one table each, every column of store/schema.py under its
    English name, plus the match keys computed at load time by store/load.py (KEY_COLUMNS) —
    how they are laid out is the backend's business (SQLite: REAL_COLUMNS + a packed value),
    but lookups return every column and key by name;
  * the provision record (SPEC §6b).

What a backend does NOT decide
  Which version of a person is in force on the 基準日, whether a condition holds, and what the
  answer is: that is bulktool.matching, pure Python, identical for every backend. The lookups
  therefore return *every version* of each person that some row of the store links to the key
  asked for; matching picks the record in force and re-checks the condition on it.

Rows come back as read-only mappings (column name → value): `PackedRow` here (packed cells
unpacked on first use), a dict from psycopg's dict_row in PostgreSQL. Dates are `YYYY-MM-DD`
text; flags and counts are integers.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping, Protocol, Sequence

from bulktool.store.schema import COLUMNS, KIND_FUHYO, KIND_JUMIN

Row = Mapping[str, Any]
Versions = dict[str, list[Row]]  # 住民票コード → every row of that person in one table

# Match keys computed once at load time (store/load.py) and stored beside the columns:
#   k_name      name_key(漢字氏名)                 k_kana      kana_key(ふりがな)
#   k_old_name  name_key(旧氏 + given name)        k_old_kana  kana_key(旧氏ふりがな + given kana)
#   k_addr      address_key(住所 / 住所漢字)        k_last_addr address_key(最終住所漢字) (fuhyo)
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    KIND_JUMIN: ("k_name", "k_kana", "k_old_name", "k_old_kana", "k_addr"),
    KIND_FUHYO: ("k_name", "k_kana", "k_old_name", "k_old_kana", "k_addr", "k_last_addr"),
}

# Primary key of each table: loading is idempotent on it (SPEC §2).
PRIMARY_KEYS: dict[str, tuple[str, str]] = {
    KIND_JUMIN: ("jumin_code", "update_seq"),
    KIND_FUHYO: ("jumin_code", "change_date"),
}

# The provision record (SPEC §6b); the dicts given to record_provisions and returned by
# provisions_for carry these keys.
PROVISION_KEYS = ("jumin_code", "provided_on", "entry", "department", "purpose", "fields", "use")


# Schema columns stored as real database columns: what the SQL of the lookups and statistics
# reads. Every other schema column and the name keys travel in ONE packed text value per row
# (PACKED): the raw CSV cells in schema order, then the name keys, joined by PACK_SEP (U+001F,
# refused in the input), unpacked by `unpack` only for the rows a lookup returns. Binding 8–10
# instead of 33–34 values per row is what makes the bulk load fast (docs/store.md).
REAL_COLUMNS: dict[str, tuple[str, ...]] = {
    KIND_JUMIN: ("jumin_code", "update_seq", "change_date", "deleted_flag", "kojin_bango", "birth_date",
                 "change_reason", "gaiji_flag"),
    KIND_FUHYO: ("jumin_code", "change_date", "birth_date", "fuhyo_status", "gaiji_flag"),
}
INDEXED_KEYS: dict[str, tuple[str, ...]] = {KIND_JUMIN: ("k_addr",), KIND_FUHYO: ("k_addr", "k_last_addr")}
NAME_KEYS = ("k_name", "k_kana", "k_old_name", "k_old_kana")
PACKED = "packed"
PACK_SEP = "\x1f"
PACKED_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(en for _, en in COLUMNS[kind] if en not in REAL_COLUMNS[kind]) + NAME_KEYS for kind in COLUMNS}
FLAG_COLUMNS = frozenset({"retention_flag", "gaiji_flag", "deleted_flag"})  # empty cell = 0
INT_COLUMNS = frozenset({
    "name_gaiji_count", "address_gaiji_count", "retention_flag", "gaiji_flag", "deleted_flag", "update_seq",
    "name_gaiji_seq", "address_gaiji_seq", "old_name_gaiji_count", "old_name_gaiji_seq", "last_address_gaiji_count"})


def load_columns(kind: str) -> tuple[str, ...]:
    """Column order of the tuples given to `load_batch`: real columns, address keys, packed value."""
    return REAL_COLUMNS[kind] + INDEXED_KEYS[kind] + (PACKED,)


def converter(name: str):
    """How a stored cell's text becomes its value, for column `name`: a flag → int (empty = 0),
    another count → int (empty = None), text → itself (empty = None, the converter is None).
    The one rule for every cell a lookup returns (packed cells here, real columns in sqlite.py)."""
    if name in FLAG_COLUMNS:
        return lambda v: int(v) if v else 0
    if name in INT_COLUMNS:
        return lambda v: int(v) if v else None
    return None


# column → (position among the packed cells, converter) per kind
_PACKED_CELL = {kind: {n: (i, converter(n)) for i, n in enumerate(cols)} for kind, cols in PACKED_COLUMNS.items()}


def unpack(kind: str, packed: str | list[str]) -> dict[str, Any]:
    """The packed schema columns of one row as {column: value} (see `converter`). `packed` is the
    stored value, or its cells already split."""
    cells = packed.split(PACK_SEP) if isinstance(packed, str) else packed
    return {n: convert(cells[i]) if convert is not None else (cells[i] or None)
            for n, (i, convert) in _PACKED_CELL[kind].items()}


class PackedRow(dict):
    """A stored row as a mapping: the real columns at once, the packed cells on first use.
    Matching reads a few packed cells (names, kana, address, …) of a record in force only, so
    the older versions a lookup returns are never unpacked, and a record in force converts only
    the cells read. A dict subclass so that reading a real column stays a plain dict lookup;
    every view (iteration, len, in, get, ==) unpacks the whole row first."""

    __slots__ = ("_kind", "_packed")

    def __init__(self, kind: str, cols: Iterable[tuple[str, Any]], packed: list[str]) -> None:
        super().__init__(cols)
        self._kind = kind
        self._packed: list[str] | None = packed  # the packed cells, split

    def _unpack(self) -> None:
        if self._packed is not None:
            packed, self._packed = self._packed, None
            self.update(unpack(self._kind, packed))

    def __missing__(self, key: str) -> Any:
        if self._packed is None:
            raise KeyError(key)
        i, convert = _PACKED_CELL[self._kind][key]  # KeyError for a name that is no column
        v = self._packed[i]
        v = convert(v) if convert is not None else (v or None)
        dict.__setitem__(self, key, v)
        return v

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        self._unpack()
        return dict.__contains__(self, key)

    def __iter__(self):
        self._unpack()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._unpack()
        return dict.__len__(self)

    def keys(self):
        self._unpack()
        return dict.keys(self)

    def values(self):
        self._unpack()
        return dict.values(self)

    def items(self):
        self._unpack()
        return dict.items(self)

    def __eq__(self, other: object) -> bool:
        self._unpack()
        if isinstance(other, PackedRow):
            other._unpack()
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PackedRow({self._kind}, {len(self)} columns)"  # never the values: they are personal data


class StoreBackend(Protocol):
    """What matching, loading, stats and the exchange need from a store."""

    # --- loading: one transaction per `store load` command -----------------------------
    def begin_load(self, kind: str) -> None:
        """Open the load transaction for `kind` (fast settings; may drop secondary indexes of
        an empty table, to rebuild them in commit_load)."""

    def load_batch(self, kind: str, rows: Sequence[tuple]) -> int:
        """Insert validated rows (tuples in `load_columns(kind)` order) inside the open load
        transaction. A row whose primary key is already stored is skipped: stored versions are
        immutable (docs/store.md). Returns the number of rows inserted."""

    def commit_load(self) -> None:
        """Commit, rebuild any dropped index, and return to the safe settings."""

    def rollback_load(self) -> None:
        """Undo everything since begin_load (nothing of the command is kept)."""

    # --- batch lookups: every version of each person linked to a key ------------------
    # matching.match calls them from one worker thread (never two at once, never beside another
    # call on this backend): a backend's connection must allow use from a thread other than
    # the one that opened it. The faster a lookup gives up the GIL, the more it overlaps.
    def lookup_jumin_by_codes(self, codes: Iterable[str]) -> Versions: ...

    def lookup_jumin_by_kojin_bango(self, numbers: Iterable[str]) -> Versions:
        """Persons having a jumin row (any version) that carries one of the 個人番号."""

    def lookup_jumin_by_four(self, keys: Iterable[tuple[str, str]]) -> Versions:
        """Persons having a jumin row with (birth date, address key) among `keys`."""

    def lookup_fuhyo_by_codes(self, codes: Iterable[str]) -> Versions: ...

    def lookup_fuhyo_by_four(self, keys: Iterable[tuple[str, str]]) -> Versions:
        """Persons having a fuhyo row with (birth date, key of 住所漢字 or 最終住所漢字)."""

    # --- provision record (SPEC §6b) ----------------------------------------------------
    def record_provisions(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append provision records (dicts with PROVISION_KEYS) in one transaction."""

    def provisions_for(self, jumin_code: str, since: date | str | None = None) -> list[dict]:
        """The provision records of one person, oldest first, provided on or after `since`."""

    # --- statistics and lifetime -----------------------------------------------------------
    def stats(self, today: date | str) -> dict[str, int]:
        """Counts only (docs/store.md names them); never personal data."""

    def close(self) -> None: ...
