"""The row layout both store backends share: a few real columns, the address keys, and ONE packed
text value per row holding everything else (docs/store.md「SQLite layout」, 「PostgreSQL layout」).

Schema columns the SQL reads are real database columns; every other schema column and the name
keys travel in the packed value, split only for the rows a lookup returns (`row_from_cells`).
Binding or copying 8–10 values per row instead of 33–34 is what makes the bulk loads fast. A
backend answers a batch lookup as one text value (`rows_from_text`), every cell of every row
joined by U+001F, which no stored cell can hold.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Any, Iterable, Iterator, Sequence

from bulktool.messages import BulkError
from bulktool.store.backend import StoredRow, record_columns
from bulktool.store.schema import COLUMNS, FLAG_COLUMNS, INT_COLUMNS, KIND_FUHYO, KIND_JUMIN, UNIT_SEPARATOR, converter

# --- the row layout ------------------------------------------------------------------------------
# Schema columns stored as real database columns: what the SQL of the lookups and statistics
# reads. Every other schema column and the name keys travel in ONE packed text value per row
# (PACKED): the raw CSV cells in schema order, then the name keys, joined by PACK_SEP (U+001F,
# refused in every text cell at load: schema.UNIT_SEPARATOR), split (`row_from_cells`) only for
# the rows a lookup returns. Binding 8–10 instead of 33–34 values per row is what makes the bulk
# load fast (docs/store.md).
REAL_COLUMNS: dict[str, tuple[str, ...]] = {
    KIND_JUMIN: ("jumin_code", "update_seq", "change_date", "deleted_flag", "kojin_bango", "birth_date",
                 "change_reason", "gaiji_flag"),
    KIND_FUHYO: ("jumin_code", "change_date", "birth_date", "fuhyo_status", "gaiji_flag"),
}
INDEXED_KEYS: dict[str, tuple[str, ...]] = {KIND_JUMIN: ("k_addr",), KIND_FUHYO: ("k_addr", "k_last_addr")}
NAME_KEYS = ("k_name", "k_kana", "k_old_name", "k_old_kana")
PACKED = "packed"
PACK_SEP = UNIT_SEPARATOR
PACKED_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(en for _, en in COLUMNS[kind] if en not in REAL_COLUMNS[kind]) + NAME_KEYS for kind in COLUMNS}


def load_columns(kind: str) -> tuple[str, ...]:
    """The columns of a table, in order: real columns, address keys, packed value."""
    return REAL_COLUMNS[kind] + INDEXED_KEYS[kind] + (PACKED,)


def stored_columns(kind: str) -> tuple[str, ...]:
    """Every column a lookup returns, in the order it reads them: the real columns and address
    keys (load_columns without PACKED), then PACKED_COLUMNS."""
    return load_columns(kind)[:-1] + PACKED_COLUMNS[kind]


# (position, converter) of the cells that are not plain text, per kind, over stored_columns
_CONVERSIONS = {kind: tuple((i, converter(n)) for i, n in enumerate(stored_columns(kind)) if converter(n))
                for kind in COLUMNS}


def row_from_cells(kind: str, names: tuple[str, ...], cells: Sequence[str]) -> StoredRow:
    """One stored row as {column: value} from its cells as text, in stored_columns(kind) order
    (`names` is that tuple, passed in so that a caller building many rows looks it up once):
    empty text → None, then each flag and count through schema.converter. Lookups build every
    row they return at once: they return records in force, nearly all of which matching reads."""
    values = [c or None for c in cells]
    for i, convert in _CONVERSIONS[kind]:
        values[i] = convert(values[i])
    return StoredRow(zip(names, values))


def unpack(kind: str, packed: str) -> dict[str, Any]:
    """The packed schema columns of one stored value as {column: value} (see schema.converter)."""
    cells = packed.split(PACK_SEP)
    return {n: (convert(c) if convert else (c or None))
            for n, c, convert in zip(PACKED_COLUMNS[kind], cells, map(converter, PACKED_COLUMNS[kind]))}


def tuples(kind: str, batch) -> Iterable[tuple]:
    """A load batch (backend.record_columns: a Table, or the exact path's tuples) as tuples in
    load_columns order: real columns typed as schema.converter says (an empty cell NULL),
    address keys as given, then the packed value (of a Table: joined in C)."""
    if isinstance(batch, list):
        return _tuples_of_rows(kind, batch)
    # imported here: the commands that only read the store never load pyarrow (start-up time)
    import pyarrow as pa
    import pyarrow.compute as pc

    def typed(name: str):
        cells = batch.column(name)
        if name in FLAG_COLUMNS:
            return pc.cast(pc.equal(cells, "1"), pa.int64())
        cells = pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.string()), cells)
        return pc.cast(cells, pa.int64()) if name in INT_COLUMNS else cells

    packed = packed_column(kind, batch)
    columns = [*map(typed, REAL_COLUMNS[kind]), *map(batch.column, INDEXED_KEYS[kind]), packed]
    return zip(*[c.to_pylist() for c in columns])


def _tuples_of_rows(kind: str, rows: list[tuple]) -> Iterator[tuple]:
    """`tuples` of row tuples, row by row (the Table's way, in Python: tests compare the two)."""
    at = {name: i for i, name in enumerate(record_columns(kind))}
    cells = tuple(c for c in PACKED_COLUMNS[kind] if c not in NAME_KEYS)  # text, never None
    real, keys, packed, names = (itemgetter(*[at[c] for c in cols]) for cols in (
        REAL_COLUMNS[kind], INDEXED_KEYS[kind] + ("jumin_code",), cells, NAME_KEYS))
    typed = [(i, convert) for i, convert in enumerate(map(converter, REAL_COLUMNS[kind])) if convert]
    for r in rows:
        values = [c or None for c in real(r)]
        for i, convert in typed:
            values[i] = convert(values[i])
        n1, n2, n3, n4 = names(r)
        yield (*values, *keys(r)[:-1], f"{PACK_SEP.join(packed(r))}{PACK_SEP}{n1 or ''}{PACK_SEP}{n2 or ''}"
                                     f"{PACK_SEP}{n3 or ''}{PACK_SEP}{n4 or ''}")


def packed_column(kind: str, batch):
    """The packed value of every row of a load batch given as a pyarrow Table (joined in C)."""
    # imported here: the commands that only read the store never load pyarrow (start-up time)
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*[pc.fill_null(batch.column(c), "") for c in PACKED_COLUMNS[kind]], PACK_SEP)


def as_table(kind: str, batch):
    """A load batch as a pyarrow Table of record_columns(kind) (the exact path's tuples converted)."""
    if not isinstance(batch, list):
        return batch
    # imported here: the commands that only read the store never load pyarrow (start-up time)
    import pyarrow as pa

    names = record_columns(kind)
    columns = list(zip(*batch)) if batch else [()] * len(names)
    return pa.table([pa.array(c, pa.string()) for c in columns], names=list(names))


def rows_from_text(kind: str, count: int, text: str | None) -> list[StoredRow]:
    """The rows of a batch lookup answered as ONE text value: `count` rows, every cell (in
    stored_columns order) joined by PACK_SEP. A cell count that does not divide is a damaged
    store (E-STO-007)."""
    if not count:
        return []
    names = stored_columns(kind)
    width = len(names)
    cells = text.split(PACK_SEP)
    if len(cells) != count * width:
        raise BulkError("E-STO-007", table=kind)
    return [row_from_cells(kind, names, cells[i:i + width]) for i in range(0, len(cells), width)]
