"""Parse and validate one chunk of a store dump (contract §2): bytes of whole CSV records in, the
validated rows with their match keys (backend.record_columns) and the problems out. Pure.

Two validators, one declaration. Both are built from schema.SCHEMA (per column: kind of value,
required or not); nothing here names a column's rule by hand.
- The fast path (parse_chunk_fast) lets pyarrow parse the chunk and checks every column at once
  in C (check digits on a numpy digit matrix through bulktool.checkdigit, a strict date cast);
  match keys are computed once per DISTINCT value in the chunk. It takes a chunk only whole: any
  bad row, a double quote, a blank line or a record over several lines sends the chunk to
- the csv-module path (parse_chunk), row by row (`_jumin_row`, `_fuhyo_row`), which finds the
  exact line, column and reason of each problem. So both paths accept and reject the same rows.

Reasons are Japanese and never contain the value. A row gets the reason of its first bad
column; a U+001F in a text cell (schema.UNIT_SEPARATOR) is looked for after every other rule.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bulktool import normalize
from bulktool.checkdigit import (valid_check_digits, valid_jumin_code, valid_kojin_bango, valid_municipality_code,
                                 valid_municipality_codes)
from bulktool.messages import text
from bulktool.store.backend import record_columns
from bulktool.store.schema import (CITY, CODE, DATE, DIGITS, ENUMS, FLAG, INT, KIND_FUHYO, KIND_JUMIN, KOJIN, SCHEMA,
                                   SEX, STATUS, TEXT, UNIT_SEPARATOR)

MAX_PROBLEMS = 1000  # problems kept in detail; all are counted
SEP = UNIT_SEPARATOR

R_REQUIRED = "必須項目が空です"
R_SEP = "制御文字 U+001F を含めないこと"
REASONS = {
    CODE: "住民票コードは 11 桁でチェックデジットが正しいこと",
    KOJIN: "個人番号は 12 桁でチェックデジットが正しいこと",
    DATE: "YYYY-MM-DD の実在する日付であること",
    SEX: "性別は 1 または 2",
    FLAG: "フラグは 1、0 または空",
    INT: "0 以上の整数であること",
    CITY: "6 桁の団体コード（検査数字付き）であること",
    DIGITS: "数字であること",
    STATUS: "1（記載中）または 2（消除）",
    TEXT: R_REQUIRED,
}
# an empty required cell: "required" for free text and numbers, else the kind's own reason
EMPTY_REASONS = {kind: R_REQUIRED if kind in (TEXT, INT, DIGITS) else reason for kind, reason in REASONS.items()}
# the address columns whose address_key is a match key, in backend.KEY_COLUMNS order (k_addr, k_last_addr)
ADDRESS_KEYS = {KIND_JUMIN: ("address",), KIND_FUHYO: ("address", "last_address")}
NAME_SOURCES = ("name", "name_kana", "old_name", "old_name_kana")
_EN = {kind: tuple(c.en for c in cols) for kind, cols in SCHEMA.items()}
_JA = {kind: tuple(c.ja for c in cols) for kind, cols in SCHEMA.items()}


@dataclass(frozen=True)
class Problem:
    """One bad row: where and why, never the value."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return "[E-STO-002] " + text("E-STO-002", file=self.file, line=self.line, field=self.field, reason=self.reason)


class _Bad(Exception):
    def __init__(self, column: int, reason: str) -> None:
        self.column = column
        self.reason = reason


# --- match keys ----------------------------------------------------------------------------------
@lru_cache(maxsize=1 << 18)
def name_keys(name: str, kana: str, old_name: str, old_kana: str) -> tuple:
    """(k_name, k_kana, k_old_name, k_old_kana). The old name is 旧氏 + the given name of the
    current name (the resident's name with the old surname); likewise for the kana."""
    k_old = normalize.name_key(old_name + normalize.split_name(name)[1]) if old_name else None
    k_old_kana = normalize.kana_key(old_kana + normalize.split_name(kana)[1]) if old_kana and kana else None
    return normalize.name_key(name), (normalize.kana_key(kana) if kana else None), k_old, k_old_kana


def _addr_key(address: str) -> str | None:
    return normalize.address_key(address) if address else None


# --- the row-wise validator (csv-module path) ------------------------------------------------------
@lru_cache(maxsize=1 << 16)
def _date_ok(v: str) -> bool:
    if len(v) != 10 or v[4] != "-" or v[7] != "-" or not v.isascii():
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _digits_ok(v: str) -> bool:
    return v.isascii() and v.isdigit()


_VALID: dict[str, Callable[[str], bool] | None] = {
    CODE: valid_jumin_code, KOJIN: valid_kojin_bango, DATE: _date_ok, INT: _digits_ok, DIGITS: _digits_ok,
    CITY: lru_cache(maxsize=4096)(valid_municipality_code), TEXT: None,
    **{kind: values.__contains__ for kind, values in ENUMS.items()},
}


def _row_validator(kind: str) -> Callable[[list[str]], tuple]:
    """The row-wise validator of `kind`, from schema.SCHEMA: a row of CSV cells → the row with
    its match keys (record_columns order), or _Bad for its first bad column."""
    cols = SCHEMA[kind]
    at = {c.en: i for i, c in enumerate(cols)}
    checks = []  # (column, check of a non-empty cell, required, the other column of an either-or, reason, empty)
    for i, c in enumerate(cols):
        if c.kind == TEXT and not c.required:
            continue  # any text, or none (U+001F: below)
        other = at[c.required] if isinstance(c.required, str) else None
        empty = f"{c.ja}と{cols[other].ja}のどちらかが必要です" if other is not None else EMPTY_REASONS[c.kind]
        checks.append((i, _VALID[c.kind], bool(c.required), other, REASONS[c.kind], empty))
    texts = tuple(i for i, c in enumerate(cols) if c.kind == TEXT)
    n, k, o, ok_ = (at[c] for c in NAME_SOURCES)
    addresses = tuple(at[c] for c in ADDRESS_KEYS[kind])

    def validate(r: list[str]) -> tuple:
        for i, valid, required, other, reason, empty in checks:
            v = r[i]
            if v:
                if valid is not None and not valid(v):
                    raise _Bad(i, reason)
            elif required and (other is None or not r[other]):
                raise _Bad(i, empty)
        if SEP in "".join(r):  # only a text cell can still hold it: every other kind refuses it
            raise _Bad(next(i for i in texts if SEP in r[i]), R_SEP)
        return (*r, *name_keys(r[n], r[k], r[o], r[ok_]), *[_addr_key(r[i]) for i in addresses])

    return validate


_jumin_row = _row_validator(KIND_JUMIN)
_fuhyo_row = _row_validator(KIND_FUHYO)
_ROW = {KIND_JUMIN: _jumin_row, KIND_FUHYO: _fuhyo_row}


# --- the vectorised validator (fast path) ---------------------------------------------------------
class _Fallback(Exception):
    pass


def _need(ok) -> None:
    """Every value of the boolean array (pyarrow or numpy) is true (an empty array is fine)."""
    if not (ok.all() if isinstance(ok, np.ndarray) else pc.all(ok, min_count=0).as_py() is True):
        raise _Fallback


def _digits(arr: pa.Array, shortest: int, longest: int) -> pa.Array:
    """Per value: `shortest`..`longest` ASCII digits (shortest ≥ 1)."""
    length = pc.binary_length(arr)
    ok = pc.and_(pc.greater_equal(length, shortest), pc.less_equal(length, longest))
    return pc.and_(ok, pc.ascii_is_decimal(arr))


def _digit_matrix(arr: pa.Array, n: int) -> np.ndarray:
    """Rows × n digits of a string array whose values are all exactly n ASCII digits."""
    if len(arr) == 0:
        return np.zeros((0, n), dtype=np.int64)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0]:offsets[0] + n * len(arr)].reshape(len(arr), n).astype(np.int64) - 48


def check_digits_ok(arr: pa.Array, n: int, valid) -> np.ndarray:
    """Per value: n ASCII digits that `valid` (a vectorised formula of bulktool.checkdigit)
    accepts."""
    shaped = _digits(pc.cast(arr, pa.string()), n, n).to_numpy(zero_copy_only=False)
    ok = np.zeros(len(arr), dtype=bool)
    ok[shaped] = valid(_digit_matrix(pc.filter(arr, pa.array(shaped)), n))
    return ok


_CHECKED = {CODE: (11, valid_check_digits), KOJIN: (12, valid_check_digits), CITY: (6, valid_municipality_codes)}


def _check_fast(kind: str, arr: pa.Array) -> None:
    """Every value of `arr` is a valid non-empty cell of this kind, or _Fallback."""
    if kind in _CHECKED:
        _need(check_digits_ok(arr, *_CHECKED[kind]))
    elif kind == DATE:
        _need(pc.invert(pc.starts_with(arr, "0000")))
        try:
            pc.cast(arr, pa.date32())  # strict YYYY-MM-DD; raises on a day that does not exist
        except pa.ArrowInvalid:
            raise _Fallback from None
    elif kind in ENUMS:
        _need(pc.is_in(arr, value_set=pa.array(sorted(ENUMS[kind]), pa.string())))
    elif kind in (INT, DIGITS):
        _need(_digits(arr, 1, 18 if kind == INT else 1 << 30))  # 19+ digits: the exact path decides
    else:
        _need(pc.not_equal(arr, ""))


def _distinct_map(fn, *cols: pa.Array) -> list[pa.Array]:
    """fn(*values) → tuple of keys, called once per DISTINCT combination of `cols` in the chunk."""
    joined = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, SEP)
    enc = pc.dictionary_encode(joined)
    uniques = enc.dictionary.to_pylist()
    keys = [fn(*(u.split(SEP) if len(cols) > 1 else (u,))) for u in uniques]
    return [pc.take(pa.array([k[i] for k in keys], pa.string()), enc.indices) for i in range(len(keys[0]) if keys else 0)]


def _addr_keys(address: str) -> tuple:
    return (_addr_key(address),)


def _validate_fast(kind: str, c: dict[str, pa.Array]) -> list[pa.Array]:
    """Check every column of a parsed chunk by schema.SCHEMA (or _Fallback); its columns with
    their match keys, in record_columns order."""
    for col in SCHEMA[kind]:
        arr = c[col.en]
        if col.required is True:
            _check_fast(col.kind, arr)
            continue
        if col.required:  # this column or the other one
            _need(pc.or_(pc.not_equal(arr, ""), pc.not_equal(c[col.required], "")))
        if col.kind != TEXT:
            _check_fast(col.kind, pc.filter(arr, pc.not_equal(arr, "")))
    for col in SCHEMA[kind]:
        if col.kind == TEXT:
            _need(pc.invert(pc.match_substring(c[col.en], SEP)))
    names = _distinct_map(name_keys, *(c[n] for n in NAME_SOURCES))
    addresses = [_distinct_map(_addr_keys, c[a])[0] for a in ADDRESS_KEYS[kind]]
    return [*(c[en] for en in _EN[kind]), *names, *addresses]


def parse_chunk_fast(kind: str, data: bytes) -> pa.Table | None:
    """The validated rows of `data` as an Arrow table of record_columns(kind), or None when the
    chunk needs the exact csv-module path (a bad row, a quoted newline, a blank line...)."""
    if b'"' in data:
        return None  # pyarrow accepts quoting the csv module refuses ("ab"c): quoted chunks take the exact path
    names = _EN[kind]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=len(data) + 1),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if table.num_rows != lines or table.num_rows == 0:
        return None  # a blank line or a record over several lines: line numbers need the csv path
    c = {n: table.column(n).combine_chunks() for n in names}
    try:
        cols = _validate_fast(kind, c)
    except _Fallback:
        return None
    return pa.Table.from_arrays(cols, names=list(record_columns(kind)))


# --- one chunk --------------------------------------------------------------------------------------
@dataclass
class Chunk:
    """The outcome of parsing one chunk of lines (picklable: it may come from a worker)."""

    rows: list[tuple]
    problems: list[Problem]
    bad: int
    read: int
    undecodable_line: int | None = None
    csv_error: tuple[int, str] | None = None
    table: pa.Table | None = None  # valid rows from the fast path (then `rows` is empty)

    def row_tuples(self) -> Iterable[tuple]:
        """The validated rows as tuples in record_columns order."""
        if self.table is None:
            return self.rows
        return zip(*[col.to_pylist() for col in self.table.columns])

    def batch(self) -> pa.Table | list[tuple]:
        """The validated rows as a backend's load_batch takes them: the fast path's Table, or
        the exact path's row tuples (turning them into a Table would cost a third of its time)."""
        return self.rows if self.table is None else self.table


def parse_chunk(kind: str, file: str, first_line: int, data: bytes) -> Chunk:
    """Decode, parse and validate the CSV lines `data` (whole records) whose first line is
    `first_line` of `file`. Pure: bytes in, validated rows and problems out. Tries the pyarrow
    fast path first; any chunk it cannot take whole goes through the exact csv-module path."""
    table = parse_chunk_fast(kind, data)
    if table is not None:
        return Chunk([], [], 0, table.num_rows, table=table)
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Chunk([], [], 0, 0, undecodable_line=first_line + data.count(b"\n", 0, exc.start))
    convert, ja, width = _ROW[kind], _JA[kind], len(_JA[kind])
    rows: list[tuple] = []
    problems: list[Problem] = []
    bad = read = 0
    reader = csv.reader(content.splitlines(keepends=True), strict=True)
    prev = 0
    try:
        for r in reader:
            line = first_line + prev
            prev = reader.line_num
            if not r:
                continue
            read += 1
            try:
                if len(r) != width:
                    raise _Bad(-1, f"列数が {len(r)} です（{width} 列）")
                rows.append(convert(r))
            except _Bad as b:
                bad += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(Problem(file, line, ja[b.column] if b.column >= 0 else "（行全体）", b.reason))
    except csv.Error:
        return Chunk(rows, problems, bad, read, csv_error=(first_line + prev, "CSV の形式が不正です（引用符）"))
    return Chunk(rows, problems, bad, read)
