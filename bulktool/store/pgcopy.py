"""PostgreSQL's binary COPY format, built from a load batch (a pyarrow Table of
backend.record_columns) column by column in C: no Python work per row.

A binary COPY stream is a header, then per row a 16-bit field count and per field a 32-bit length
(-1 = NULL) and the value in network byte order, then a 16-bit -1. Each column becomes an Arrow
binary array of its encoded fields; `binary_join_element_wise` concatenates them row by row, and
the joined array's data buffer is the stream's body.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bulktool.store.layout import load_columns, packed_column
from bulktool.store.schema import KIND_JUMIN

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"

# The database type of every column of layout.load_columns (both kinds).
PG_TYPES = {"jumin_code": "text", "update_seq": "int8", "change_date": "date", "deleted_flag": "int2",
            "kojin_bango": "text", "birth_date": "date", "change_reason": "text", "gaiji_flag": "int2",
            "fuhyo_status": "text", "k_addr": "text", "k_last_addr": "text", "packed": "text"}
_FIXED = {"int8": ">i8", "int2": ">i2", "date": ">i4"}
_PG_EPOCH = 10957  # days from 1970-01-01 (Arrow's date32) to 2000-01-01 (PostgreSQL's date)


def _fixed(values: np.ndarray, dtype: str) -> pa.Array:
    """Non-null fixed-width values as encoded fields (length, then the value, big-endian)."""
    n = len(values)
    rec = np.empty(n, dtype=[("len", ">i4"), ("value", dtype)])
    rec["len"] = np.dtype(dtype).itemsize
    rec["value"] = values
    width = rec.dtype.itemsize
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(np.arange(0, width * n + 1, width, dtype=np.int32)),
                                                  pa.py_buffer(rec.tobytes())])


def _text(cells) -> pa.Array:
    """Text cells (None = NULL) as encoded fields."""
    cells = pc.cast(cells, pa.binary())
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    n = len(cells)
    lengths = pc.fill_null(pc.binary_length(cells), -1).to_numpy(zero_copy_only=False).astype(">i4")
    prefix = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(np.arange(0, 4 * n + 1, 4, dtype=np.int32)),
                                                    pa.py_buffer(lengths.tobytes())])
    return pc.binary_join_element_wise(prefix, pc.fill_null(cells, b""), b"")


def _dates(cells) -> np.ndarray:
    return pc.cast(cells, pa.date32()).to_numpy(zero_copy_only=False).astype(np.int32) - _PG_EPOCH


def _field(kind: str, name: str, batch: pa.Table) -> pa.Array:
    pg = PG_TYPES[name]
    if name == "packed":
        return _text(packed_column(kind, batch))
    cells = batch.column(name)
    if name.startswith("k_"):
        return _text(cells)  # match keys as given (None: no key)
    if pg == "text":
        return _text(pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.string()), cells))  # empty cell → NULL
    if pg == "date":
        return _fixed(_dates(cells), _FIXED[pg])
    if pg == "int2":  # a flag: 1 set, 0 or empty not
        return _fixed(pc.equal(cells, "1").to_numpy(zero_copy_only=False).astype(np.int16), _FIXED[pg])
    return _fixed(pc.cast(cells, pa.int64()).to_numpy(zero_copy_only=False), _FIXED[pg])


def copy_rows(kind: str, batch: pa.Table) -> memoryview:
    """The body of a binary COPY of `batch` into table `kind` (columns load_columns(kind))."""
    cols = load_columns(kind)
    n = batch.num_rows
    count = np.full(n, len(cols), dtype=">i2")
    head = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(np.arange(0, 2 * n + 1, 2, dtype=np.int32)),
                                                  pa.py_buffer(count.tobytes())])
    rows = pc.binary_join_element_wise(head, *[_field(kind, c, batch) for c in cols], b"")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=n + 1, offset=rows.offset * 4)
    return memoryview(rows.buffers()[2])[offsets[0]:offsets[-1]]


def key_numbers(kind: str, batch: pa.Table) -> np.ndarray:
    """Each row's primary key as one int64 (jumin: 住民票コード × 2^26 + 更新順番号; fuhyo:
    住民票コード × 2^22 + the day number of 異動年月日), to find duplicate keys of a load in memory; or an
    array holding -1 when some key does not fit (the caller then asks the database)."""
    code = pc.cast(batch.column("jumin_code"), pa.int64()).to_numpy(zero_copy_only=False)
    if kind == KIND_JUMIN:
        second = pc.cast(batch.column("update_seq"), pa.int64()).to_numpy(zero_copy_only=False)
        limit, shift = 1 << 26, 26
    else:
        second = _dates(batch.column("change_date")).astype(np.int64) + _PG_EPOCH + (1 << 21)
        limit, shift = 1 << 22, 22
    if len(second) and (second.min() < 0 or second.max() >= limit):
        return np.array([-1], dtype=np.int64)
    return (code << shift) | second
