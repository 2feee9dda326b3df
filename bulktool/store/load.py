"""`store load`: stream the SPEC §2 CSV dumps into a StoreBackend, validating every row.

    report = load_files(store, "jumin", [path, ...], progress=callback)  # callback(rows, bytes_read, bytes_total)

- Streaming: the file is read in chunks of about CHUNK_BYTES bytes of whole records (cut only
  between records; never the whole file); memory is bounded by a few chunks.
- Two parsers, one answer. The fast path (parse_chunk_fast) lets pyarrow parse the chunk and
  checks every rule column-wise in C (check digits on a numpy digit matrix, a strict date cast);
  match keys are computed once per DISTINCT value in the chunk; the cells that are not real
  database columns are joined into the packed value in C. It takes a chunk only whole: any bad
  row, a double quote, a blank line or a record over several lines sends the chunk to the
  csv-module path (parse_chunk), which finds the exact line, column and reason of each problem.
- Header: must equal schema.HEADERS[kind] exactly (a UTF-8 BOM is tolerated) → else E-STO-001.
- Every row is validated (rules below, docs/store.md). ALL bad rows are collected as `Problem`
  (file, line, column, reason — never the value); if there is any, `LoadError` (E-STO-003) is
  raised and nothing of the call's files is committed: all files of one call are one
  transaction.
- Idempotent: rows are keyed by (住民票コード, 更新順番号) for jumin and (住民票コード, 異動年月日)
  for fuhyo; a row whose key is already stored (or appears earlier in the same load) is skipped.
  Stored versions are immutable: a corrected version must come with a new 更新順番号 (jumin) or
  be a new 異動年月日 (fuhyo); a row with a known key but different content is skipped too and
  shows in LoadReport.skipped.
- Match keys are computed here with bulktool.normalize, once per distinct value.
- Parsing and validation can run in worker processes (`workers`), the main process only
  inserting; chunks travel through pipes in memory, never through a temp file.

Validation rules (both kinds unless said):
  住民票コード      11 digits with check digit (旧住民票コード: same, may be empty)
  個人番号          empty, or 12 digits with check digit (rows written before 2015-10 have none)
  dates             YYYY-MM-DD that exists (生年月日, 異動年月日 required; 通知を受けた年月日 optional)
  性別              1 or 2
  flags             1, 0 or empty (empty = 0)
  counts, 連番       non-negative integers or empty; 更新順番号 required
  市町村コード       6 digits: JIS X 0402 code with its check digit (jumin required; fuhyo
                   住所市町村コード may be empty for a person abroad, 附票管理市町村コード required)
  大字・字コード     digits or empty
  required text    氏名, 異動事由 (jumin), 住所 (jumin); fuhyo needs 住所漢字 or 最終住所漢字
  附票本人確認情報状態区分  1 (記載中) or 2 (消除)
  ふりがな          may be empty (older records have none); then the row has no kana key
"""
from __future__ import annotations

import csv
import os
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bulktool import normalize
from bulktool.messages import BulkError, text
from bulktool.store.backend import PACK_SEP, PACKED_COLUMNS, load_columns
from bulktool.store.schema import COLUMNS, HEADERS, KIND_FUHYO, KIND_JUMIN, KINDS

CHUNK_BYTES = 4 << 20  # a chunk is about this many bytes of whole records
MAX_PROBLEMS = 1000  # problems kept in detail; all are counted
PARALLEL_MIN_BYTES = 32 << 20  # smaller files are parsed in the main process


@dataclass(frozen=True)
class Problem:
    """One bad row: where and why, never the value."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return "[E-STO-002] " + text("E-STO-002", file=self.file, line=self.line, field=self.field, reason=self.reason)


class LoadError(BulkError):
    """Some rows are invalid; nothing was committed. `.problems` lists them (up to MAX_PROBLEMS),
    `.count` is the number of bad rows."""

    def __init__(self, files: str, problems: list[Problem], count: int) -> None:
        super().__init__("E-STO-003", file=files, count=count)
        self.problems = problems
        self.count = count


@dataclass
class LoadReport:
    kind: str
    rows: int = 0  # data rows read
    inserted: int = 0  # new versions stored
    skipped: int = 0  # rows whose key was already stored (idempotent reload)
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.rows:,} 行（新規 {self.inserted:,} 行、登録済みのため省略 {self.skipped:,} 行）"


def municipality_check_digit(code5: str) -> int:
    """JIS X 0402 全国地方公共団体コードの検査数字 (weights 6..2, mod 11)."""
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return (11 - total % 11) % 10


# --- field checks (fast paths; reasons are Japanese and never contain the value) ----------------
R_REQUIRED = "必須項目が空です"
R_CODE = "住民票コードは 11 桁でチェックデジットが正しいこと"
R_KOJIN = "個人番号は 12 桁でチェックデジットが正しいこと"
R_DATE = "YYYY-MM-DD の実在する日付であること"
R_SEX = "性別は 1 または 2"
R_FLAG = "フラグは 1、0 または空"
R_INT = "0 以上の整数であること"
R_CITY = "6 桁の団体コード（検査数字付き）であること"
R_DIGITS = "数字であること"
R_STATUS = "1（記載中）または 2（消除）"
R_ADDRESS = "住所漢字と最終住所漢字のどちらかが必要です"
R_SEP = "制御文字 U+001F を含めないこと"


class _Bad(Exception):
    def __init__(self, column: int, reason: str) -> None:
        self.column = column
        self.reason = reason


def _check_digit_tables(length: int) -> list[tuple[int, int, dict[str, int]]]:
    """Per two-digit slice of the body: (start, end, {digits: weighted sum}) for the 総務省令
    formula (weights 2..7 from the right), so a check costs a few dict look-ups."""
    body = length - 1
    slices = [(max(0, end - 2), end) for end in range(body, 0, -2)]
    tables = []
    for start, end in slices:
        weights = [2 + (body - 1 - i) % 6 for i in range(start, end)]
        table = {}
        for n in range(10 ** (end - start)):
            s = f"{n:0{end - start}d}"
            table[s] = sum(int(c) * w for c, w in zip(s, weights))
        tables.append((start, end, table))
    return tables


_CODE_TABLES = _check_digit_tables(11)
_KOJIN_TABLES = _check_digit_tables(12)
_CHECK = {r: str(0 if r <= 1 else 11 - r) for r in range(11)}
_FLAGS = {"": 0, "0": 0, "1": 1}
_SEXES = frozenset({"1", "2"})
_STATUSES = frozenset({"1", "2"})
_EN = {kind: tuple(en for _, en in cols) for kind, cols in COLUMNS.items()}
_PACKED_CELLS = {kind: tuple(c for c in PACKED_COLUMNS[kind] if c in _EN[kind]) for kind in COLUMNS}  # + name keys
_PACKED_IDX = {kind: tuple(_EN[kind].index(c) for c in _PACKED_CELLS[kind]) for kind in COLUMNS}


def _code_ok(v: str) -> bool:
    """Same answer as checkdigit.valid_jumin_code (a test compares them), by table look-ups."""
    if len(v) != 11:
        return False
    (_, _, a), (_, _, b), (_, _, c), (_, _, d), (_, _, e) = _CODE_TABLES
    try:
        total = a[v[8:10]] + b[v[6:8]] + c[v[4:6]] + d[v[2:4]] + e[v[0:2]]
    except KeyError:  # not ASCII digits
        return False
    return _CHECK[total % 11] == v[10]


def _kojin_ok(v: str) -> bool:
    """Same answer as checkdigit.valid_kojin_bango (a test compares them)."""
    if len(v) != 12:
        return False
    (_, _, a), (_, _, b), (_, _, c), (_, _, d), (_, _, e), (_, _, f) = _KOJIN_TABLES
    try:
        total = a[v[9:11]] + b[v[7:9]] + c[v[5:7]] + d[v[3:5]] + e[v[1:3]] + f[v[0:1]]
    except KeyError:
        return False
    return _CHECK[total % 11] == v[11]


@lru_cache(maxsize=1 << 16)
def _date_ok(v: str) -> bool:
    if len(v) != 10 or v[4] != "-" or v[7] != "-" or not v.isascii():
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _city_ok(v: str) -> bool:
    return len(v) == 6 and v.isascii() and v.isdigit() and municipality_check_digit(v[:5]) == ord(v[5]) - 48


def _opt_int(v: str, col: int) -> int | None:
    if not v:
        return None
    if v.isascii() and v.isdigit():
        return int(v)
    raise _Bad(col, R_INT)


def _flag(v: str, col: int) -> int:
    f = _FLAGS.get(v)
    if f is None:
        raise _Bad(col, R_FLAG)
    return f


@lru_cache(maxsize=1 << 18)
def name_keys(name: str, kana: str, old_name: str, old_kana: str) -> tuple:
    """(k_name, k_kana, k_old_name, k_old_kana). The old name is 旧氏 + the given name of the
    current name (the resident's name with the old surname); likewise for the kana."""
    k_old = normalize.name_key(old_name + normalize.split_name(name)[1]) if old_name else None
    k_old_kana = normalize.kana_key(old_kana + normalize.split_name(kana)[1]) if old_kana and kana else None
    return normalize.name_key(name), (normalize.kana_key(kana) if kana else None), k_old, k_old_kana


def _addr_key(address: str) -> str | None:
    return normalize.address_key(address) if address else None


def _packed(r: list[str], idx: tuple[int, ...], keys: tuple) -> str:
    packed = PACK_SEP.join([r[i] for i in idx])
    if packed.count(PACK_SEP) != len(idx) - 1:
        raise _Bad(next(i for i in idx if PACK_SEP in r[i]), R_SEP)
    return PACK_SEP.join([packed, *(k or "" for k in keys)])


def _jumin_row(r: list[str]) -> tuple:
    (code, name, ngc, kana, birth, sex, addr, agc, kojin, reason, cdate, ret, seion, city, aza, op, term, ts,
     notified, gflag, dflag, seq, ngs, ags, old, ogc, okana, ogs) = r
    if not _code_ok(code):
        raise _Bad(0, R_CODE)
    if not name:
        raise _Bad(1, R_REQUIRED)
    _opt_int(ngc, 2)
    if not _date_ok(birth):
        raise _Bad(4, R_DATE)
    if sex not in _SEXES:
        raise _Bad(5, R_SEX)
    if not addr:
        raise _Bad(6, R_REQUIRED)
    _opt_int(agc, 7)
    if kojin and not _kojin_ok(kojin):
        raise _Bad(8, R_KOJIN)
    if not reason:
        raise _Bad(9, R_REQUIRED)
    if not _date_ok(cdate):
        raise _Bad(10, R_DATE)
    _flag(ret, 11)
    if not _city_ok(city):
        raise _Bad(13, R_CITY)
    if aza and not (aza.isascii() and aza.isdigit()):
        raise _Bad(14, R_DIGITS)
    if notified and not _date_ok(notified):
        raise _Bad(18, R_DATE)
    gf, df = _flag(gflag, 19), _flag(dflag, 20)
    if not seq:
        raise _Bad(21, R_REQUIRED)
    seq_n = _opt_int(seq, 21)
    for v, col in ((ngs, 22), (ags, 23), (ogc, 25), (ogs, 27)):
        _opt_int(v, col)
    return (code, seq_n, cdate, df, kojin or None, birth, reason, gf, _addr_key(addr),
            _packed(r, _PACKED_IDX[KIND_JUMIN], name_keys(name, kana, old, okana)))


def _fuhyo_row(r: list[str]) -> tuple:
    (code, name, ngc, kana, birth, sex, city, addr, agc, last, lgc, cdate, old_code, fcity, status, gflag,
     gpattern, notice, old, ogc, okana, ogs) = r
    if not _code_ok(code):
        raise _Bad(0, R_CODE)
    if not name:
        raise _Bad(1, R_REQUIRED)
    _opt_int(ngc, 2)
    if not _date_ok(birth):
        raise _Bad(4, R_DATE)
    if sex not in _SEXES:
        raise _Bad(5, R_SEX)
    if city and not _city_ok(city):
        raise _Bad(6, R_CITY)
    if not addr and not last:
        raise _Bad(7, R_ADDRESS)
    _opt_int(agc, 8)
    _opt_int(lgc, 10)
    if not _date_ok(cdate):
        raise _Bad(11, R_DATE)
    if old_code and not _code_ok(old_code):
        raise _Bad(12, R_CODE)
    if not _city_ok(fcity):
        raise _Bad(13, R_CITY)
    if status not in _STATUSES:
        raise _Bad(14, R_STATUS)
    gf = _flag(gflag, 15)
    _opt_int(ogc, 19)
    _opt_int(ogs, 21)
    return (code, cdate, birth, status, gf, _addr_key(addr), _addr_key(last),
            _packed(r, _PACKED_IDX[KIND_FUHYO], name_keys(name, kana, old, okana)))


_ROW = {KIND_JUMIN: _jumin_row, KIND_FUHYO: _fuhyo_row}
_JA = {kind: tuple(ja for ja, _ in cols) for kind, cols in COLUMNS.items()}


# --- fast path: pyarrow parses and validates a whole chunk in C ------------------------------
# A chunk goes through the fast path only when every row is valid and every record is one
# physical line; otherwise it is parsed again by the csv-module path above, which finds the exact
# line, column and reason of every problem. So both paths accept and reject the same rows.
_CODE_W = np.array([2 + (9 - i) % 6 for i in range(10)], dtype=np.int64)
_KOJIN_W = np.array([2 + (10 - i) % 6 for i in range(11)], dtype=np.int64)
_CHECK_NP = np.array([0 if r <= 1 else 11 - r for r in range(11)], dtype=np.int64)


class _Fallback(Exception):
    pass


def _need(cond: pa.Array) -> None:
    """Every value of the boolean array is true (an empty array is fine)."""
    if pc.all(cond, min_count=0).as_py() is not True:
        raise _Fallback


def _digit_matrix(arr: pa.Array, n: int) -> np.ndarray:
    """Rows × n digits of a string array whose values are all exactly n ASCII digits."""
    arr = pc.cast(arr, pa.string())
    if len(arr) == 0:
        return np.zeros((0, n), dtype=np.int64)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0]:offsets[0] + n * len(arr)].reshape(len(arr), n).astype(np.int64) - 48


def _check_codes(arr: pa.Array, n: int, weights: np.ndarray, optional: bool = False) -> None:
    if optional:
        arr = pc.filter(arr, pc.not_equal(arr, ""))
    _need(_digits(arr, n, n))
    m = _digit_matrix(arr, n)
    if not np.array_equal(_CHECK_NP[(m[:, :-1] @ weights) % 11], m[:, -1]):
        raise _Fallback


def _check_dates(arr: pa.Array, optional: bool = False) -> None:
    if optional:
        arr = pc.filter(arr, pc.not_equal(arr, ""))
    _need(pc.invert(pc.starts_with(arr, "0000")))
    try:
        pc.cast(arr, pa.date32())  # strict YYYY-MM-DD; raises on a day that does not exist
    except pa.ArrowInvalid:
        raise _Fallback from None


def _check_in(arr: pa.Array, values: list[str]) -> None:
    ok = pc.equal(arr, values[0])
    for v in values[1:]:
        ok = pc.or_(ok, pc.equal(arr, v))
    _need(ok)


def _digits(arr: pa.Array, shortest: int, longest: int) -> pa.Array:
    """Per value: `shortest`..`longest` ASCII digits (0 digits = the empty cell)."""
    length = pc.binary_length(arr)
    ok = pc.and_(pc.greater_equal(length, max(shortest, 1)), pc.less_equal(length, longest))
    ok = pc.and_(ok, pc.ascii_is_decimal(arr))
    return pc.or_(ok, pc.equal(length, 0)) if shortest == 0 else ok


def _check_digits(arr: pa.Array, shortest: int, longest: int) -> None:
    _need(_digits(arr, shortest, longest))


def _check_required(arr: pa.Array) -> None:
    _need(pc.not_equal(arr, ""))


def _check_city(arr: pa.Array, optional: bool = False) -> None:
    for v in pc.unique(arr).to_pylist():
        if not ((optional and v == "") or _city_ok(v)):
            raise _Fallback


def _flag_int(arr: pa.Array) -> pa.Array:
    return pc.cast(pc.equal(arr, "1"), pa.int64())


def _null_if_empty(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _distinct_map(fn, *cols: pa.Array) -> list[pa.Array]:
    """fn(*values) → tuple of keys, called once per DISTINCT combination of `cols` in the chunk."""
    joined = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, PACK_SEP)
    enc = pc.dictionary_encode(joined)
    uniques = enc.dictionary.to_pylist()
    keys = [fn(*(u.split(PACK_SEP) if len(cols) > 1 else (u,))) for u in uniques]
    return [pc.take(pa.array([k[i] for k in keys], pa.string()), enc.indices) for i in range(len(keys[0]) if keys else 0)]


def _addr_keys(address: str) -> tuple:
    return (_addr_key(address),)


def _validate_fast(kind: str, c: dict[str, pa.Array]) -> list[pa.Array]:
    _check_codes(c["jumin_code"], 11, _CODE_W)
    _check_required(c["name"])
    for col in ("name_gaiji_count", "old_name_gaiji_count", "old_name_gaiji_seq"):
        _check_digits(c[col], 0, 18)
    _check_dates(c["birth_date"])
    _check_in(c["sex"], ["1", "2"])
    _check_dates(c["change_date"])
    _check_in(c["gaiji_flag"], ["", "0", "1"])
    for col in _PACKED_CELLS[kind]:
        _need(pc.invert(pc.match_substring(c[col], PACK_SEP)))
    names = _distinct_map(name_keys, c["name"], c["name_kana"], c["old_name"], c["old_name_kana"])
    packed = pc.binary_join_element_wise(*[c[col] for col in _PACKED_CELLS[kind]],
                                         *[pc.fill_null(k, "") for k in names], PACK_SEP)
    if kind == KIND_JUMIN:
        _check_required(c["address"])
        _check_codes(c["kojin_bango"], 12, _KOJIN_W, optional=True)
        _check_required(c["change_reason"])
        _check_in(c["retention_flag"], ["", "0", "1"])
        _check_city(c["city_code"])
        _check_digits(c["aza_code"], 0, 1 << 30)
        _check_dates(c["notified_date"], optional=True)
        _check_in(c["deleted_flag"], ["", "0", "1"])
        _check_digits(c["update_seq"], 1, 18)
        for col in ("address_gaiji_count", "name_gaiji_seq", "address_gaiji_seq"):
            _check_digits(c[col], 0, 18)
        return [c["jumin_code"], pc.cast(c["update_seq"], pa.int64()), c["change_date"], _flag_int(c["deleted_flag"]),
                _null_if_empty(c["kojin_bango"]), c["birth_date"], c["change_reason"],
                _flag_int(c["gaiji_flag"]), *_distinct_map(_addr_keys, c["address"]), packed]
    _check_city(c["city_code"], optional=True)
    _need(pc.or_(pc.not_equal(c["address"], ""), pc.not_equal(c["last_address"], "")))
    for col in ("address_gaiji_count", "last_address_gaiji_count"):
        _check_digits(c[col], 0, 18)
    _check_codes(c["old_jumin_code"], 11, _CODE_W, optional=True)
    _check_city(c["fuhyo_city_code"])
    _check_in(c["fuhyo_status"], ["1", "2"])
    return [c["jumin_code"], c["change_date"], c["birth_date"], c["fuhyo_status"],
            _flag_int(c["gaiji_flag"]), *_distinct_map(_addr_keys, c["address"]),
            *_distinct_map(_addr_keys, c["last_address"]), packed]


def parse_chunk_fast(kind: str, data: bytes) -> pa.Table | None:
    """The validated rows of `data` as an Arrow table in load_columns(kind) order, or None when
    the chunk needs the exact csv-module path (a bad row, a quoted newline, a blank line...)."""
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
    return pa.Table.from_arrays(cols, names=list(load_columns(kind)))


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
        """The validated rows as tuples in load_columns order."""
        if self.table is None:
            return self.rows
        return zip(*[col.to_pylist() for col in self.table.columns])


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


def _chunks(path: Path, kind: str) -> Iterator[tuple[int, bytes]]:
    """(first line number, bytes of whole records) after checking the header."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise BulkError("E-STO-005", file=path.name, detail=type(exc).__name__) from None
    with fh:
        head = fh.readline()
        try:
            header = next(csv.reader([head.decode("utf-8-sig")]), [])
        except UnicodeDecodeError:
            raise BulkError("E-STO-004", file=path.name, line=1) from None
        expected = HEADERS[kind]
        if tuple(header) != expected:
            pos = next((i for i, (a, b) in enumerate(zip(header, expected)) if a != b), min(len(header), len(expected)))
            raise BulkError("E-STO-001", file=path.name,
                            detail=f"{pos + 1} 列目が「{expected[pos] if pos < len(expected) else 'なし'}」でない、"
                                   f"列数 {len(header)}/{len(expected)}")
        first, carry = 2, b""
        while True:
            block = fh.read(CHUNK_BYTES)
            data = carry + block
            if not block:
                if data:
                    yield first, data
                return
            cut = data.rfind(b"\n") + 1
            # cut only between records: an even number of quotes before the cut (a quoted cell may
            # hold a newline); go back one line at a time until it is (rare)
            while cut > 0 and data.count(b'"', 0, cut) & 1:
                cut = data.rfind(b"\n", 0, cut - 1) + 1
            if cut == 0 and len(data) >= 16 * CHUNK_BYTES:
                cut = data.rfind(b"\n") + 1  # an unterminated quote: bounded memory; the csv path reports it
            if cut == 0:
                carry = data  # no record ends in this block yet: read more
                continue
            yield first, data[:cut]
            first += data.count(b"\n", 0, cut)
            carry = data[cut:]


def _parsed(kind: str, path: Path, pool: ProcessPoolExecutor | None, workers: int) -> Iterator[tuple[int, Chunk]]:
    """(bytes of the chunk, parsed chunk), in file order."""
    if pool is None:
        for first, data in _chunks(path, kind):
            yield len(data), parse_chunk(kind, path.name, first, data)
        return
    pending: deque = deque()
    for first, data in _chunks(path, kind):
        pending.append((len(data), pool.submit(parse_chunk, kind, path.name, first, data)))
        if len(pending) > 2 * workers:
            size, future = pending.popleft()
            yield size, future.result()
    while pending:
        size, future = pending.popleft()
        yield size, future.result()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # _chunks reports the unreadable file (E-STO-005)


def _workers_for(paths: list[Path], workers: int | None) -> int:
    if workers is not None:
        return max(0, workers)
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main_file or not os.path.exists(main_file):
        return 0  # spawned workers re-import __main__: impossible for `python -` or an embedded interpreter
    try:
        size = sum(p.stat().st_size for p in paths)
    except OSError:
        return 0
    return min(2, os.cpu_count() or 1) if size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1 else 0


def load_files(store, kind: str, paths: Iterable[Path | str], progress: Callable[[int, int, int], None] | None = None,
               *, workers: int | None = None) -> LoadReport:
    """Validate and load every file into `store` (a StoreBackend), all or nothing.

    workers: processes that parse and validate (None: 2 for files over 32 MiB on a multi-core
    machine, else 0 = in this process). progress(rows_read, bytes_read, bytes_total) is called
    after every chunk (header lines are not counted in bytes_read), and once more with
    bytes_read == bytes_total when everything is read and valid, before the indexes are built
    and the load is committed.
    Raises LoadError (E-STO-003, with .problems) when any row is invalid, BulkError E-STO-001
    (header), E-STO-002 (broken CSV quoting), E-STO-004 (not UTF-8), E-STO-005 (unreadable).
    """
    if kind not in KINDS:
        raise ValueError(kind)
    paths = [Path(p) for p in paths]
    report = LoadReport(kind)
    problems: list[Problem] = []
    bad = 0
    n_workers = _workers_for(paths, workers)
    total = sum(_size(p) for p in paths)
    done = 0
    pool = ProcessPoolExecutor(n_workers, mp_context=get_context("spawn")) if n_workers else None
    store.begin_load(kind)
    try:
        for path in paths:
            report.files.append(path.name)
            for size, chunk in _parsed(kind, path, pool, n_workers):
                if chunk.undecodable_line is not None:
                    raise BulkError("E-STO-004", file=path.name, line=chunk.undecodable_line)
                if chunk.csv_error is not None:
                    raise BulkError("E-STO-002", file=path.name, line=chunk.csv_error[0], field="CSV",
                                    reason=chunk.csv_error[1])
                report.rows += chunk.read
                bad += chunk.bad
                problems.extend(chunk.problems[:MAX_PROBLEMS - len(problems)])
                if not bad and chunk.read:
                    report.inserted += store.load_batch(kind, chunk.row_tuples())
                done += size
                if progress is not None:
                    progress(report.rows, min(done, total), total)
        if bad:
            raise LoadError(",".join(report.files), problems, bad)
        if progress is not None:
            progress(report.rows, total, total)  # all read: the indexes and the commit come next
        store.commit_load()
    except BaseException:
        store.rollback_load()
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    report.skipped = report.rows - report.inserted
    return report
