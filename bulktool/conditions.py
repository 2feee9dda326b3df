"""Reading the 検索条件 table (contract §3) from bytes: pure, no I/O (docs/formats.md「検索条件の表」).

- CSV encoding is detected, never guessed silently, by strict decoding in a fixed order:
  1. a UTF-8 BOM → "utf-8-sig" (the rest must be valid UTF-8);
  2. bytes that decode strictly as UTF-8 → "utf-8";
  3. bytes that decode strictly as EUC-JP → refused (E-REQ-001): a CP932 table never does, since
     the CP932 bytes of its required header 連番 (98 41 94 D4) are invalid EUC-JP;
  4. bytes that decode strictly as CP932 → "cp932";
  5. otherwise E-REQ-001. Control characters other than tab/CR/LF also refuse the file (binary).
  The bytes are decoded piece by piece to find the encoding (the text is never held whole), then
  read line by line: a line, or a record across quoted line ends, longer than
  limits.max_line_bytes is refused (E-REQ-011) as soon as it passes the limit.
  Strict decoding is decisive: CP932 kanji and kana lead bytes (0x81–0x9F) are UTF-8 continuation
  bytes, so a CP932 file holding 連番 is never valid UTF-8; and UTF-8 is tried first.
- xlsx (xlsxread.py): the first sheet, opened from memory after its own zip passed the zip guard
  under the container limits; a date cell is that date; a number cell is read as its digits
  (Excel drops leading zeros: a short key is 90, never padded).
- The header: any order; names trimmed; an unknown or repeated column refuses the whole file;
  連番 is required.
- Each row becomes a SearchCondition or a RowError (90) naming the field and why, never the value.
"""
from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Iterator

import jaconv

from bulktool import normalize, untrusted
from bulktool.checkdigit import valid_jumin_code, valid_kojin_bango
from bulktool.containers.limits import DEFAULT_LIMITS, Limits
from bulktool.messages import BulkError
from bulktool.model import TARGET_FUHYO, TARGET_JUMIN, TARGETS, RowError, SearchCondition
from bulktool.xlsxread import NumberCell, check_xlsx, xlsx_rows  # noqa: F401 (check_xlsx: documented here)

COLUMNS = ("連番", "対象", "個人番号", "住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所")
REQUIRED_COLUMNS = ("連番",)
SEX = {"男": "1", "女": "2", "1": "1", "2": "2"}
EXTRA_CELLS_FIELD = "（見出しのない列）"
NO_KEY_FIELD = "検索キー"
_CSV_ERRORS = (("unexpected end of data", "引用符（\"）が閉じられていません"),
               ("expected after", "引用符の後に区切り文字がありません"),
               ("field larger than field limit", "項目が長すぎます"),
               ("new-line character seen in unquoted field", "引用符の外に改行文字があります"))


@dataclass
class ConditionTable:
    """A whole table read: header as given (trimmed), the detected encoding ("utf-8",
    "utf-8-sig", "cp932" or "xlsx"), one item per data row in input order, and the row count."""

    header: list[str]
    encoding: str
    items: list[SearchCondition | RowError]
    rows: int = 0

    def __post_init__(self) -> None:
        self.rows = len(self.items)


@dataclass
class ConditionStream:
    """The streaming form (iter_conditions): header and encoding are known at once; `items`
    yields rows lazily. E-REQ-006 (too many rows) and E-REQ-007 (no data row) are raised from
    the iteration, so a consumer must not act on the items before the iteration has ended."""

    header: list[str]
    encoding: str
    items: Iterator[SearchCondition | RowError]

    def __iter__(self) -> Iterator[SearchCondition | RowError]:
        return self.items


class _Invalid(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason


# --- encoding ---------------------------------------------------------------------------
_BOM = b"\xef\xbb\xbf"
# The control characters as bytes: below 0x80 a UTF-8 byte is always that ASCII character, and
# CP932's trail bytes (0x40–0xFC) are never one, so the raw bytes can be searched in every encoding.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PIECE = 1 << 20


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(encoding, text) of a CSV by the rule in the module docstring, or BulkError E-REQ-001."""
    encoding = sniff_encoding(data)
    return encoding, data.decode(encoding)


def sniff_encoding(data: bytes) -> str:
    """The encoding of a CSV by the rule in the module docstring (as detect_encoding), found by
    strict decoding in 1 MiB pieces that are not kept; BulkError E-REQ-001."""
    if data.startswith(_BOM):
        encoding = "utf-8-sig" if _decodes(data, "utf-8-sig") else None
    elif _decodes(data, "utf-8"):
        encoding = "utf-8"
    elif _decodes(data, "euc_jp"):
        raise BulkError("E-REQ-001")
    else:
        encoding = "cp932" if _decodes(data, "cp932") else None
    if encoding is None or _CONTROL_BYTES.search(data):
        raise BulkError("E-REQ-001")
    return encoding


def _decodes(data: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    view = memoryview(data)
    try:
        for start in range(0, len(view), _PIECE):
            decoder.decode(view[start:start + _PIECE])
        decoder.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


# --- header -----------------------------------------------------------------------------
def _resembles(name: str) -> list[str]:
    """The known column an unknown header most resembles (katakana, width and case set aside), if any."""
    def key(text: str) -> str:
        return jaconv.kata2hira(jaconv.h2z(text, kana=True, ascii=False, digit=False)).lower()
    keys = {key(c): c for c in COLUMNS}
    return [keys[k] for k in difflib.get_close_matches(key(name), list(keys), n=1, cutoff=0.5)]


def check_header(cells: Iterable[object], *, own_table: bool = False) -> list[str]:
    """The header's column names (trimmed, BOM stripped, trailing empty cells dropped), or a
    refusal of the whole file: E-REQ-002 (none, or no known column at all: the header row is
    missing), E-REQ-003 (unknown, named by its position), E-REQ-004 (repeated), E-REQ-005 (連番
    missing). A header cell's text is never echoed at the terminal: it may be a resident's data.
    `own_table` (the clerk's own PC, `request check`/`zip`): an unknown column is named by its
    text too, unless it looks like a resident's number (untrusted.py)."""
    names = ["" if c is None else str(c).replace("\ufeff", "").strip() for c in cells]
    while names and names[-1] == "":
        names.pop()
    if not names:
        raise BulkError("E-REQ-002")
    if not any(name in COLUMNS for name in names):
        raise BulkError("E-REQ-002")  # the first row is data (header forgotten): never echo it
    seen: set[str] = set()
    for position, name in enumerate(names, 1):
        if name not in COLUMNS:
            # by position, not by text: a header cell may hold a resident's data by mistake; a known
            # column it resembles may be named (「氏名カナ」→ 氏名かな)
            near = _resembles(name)
            shown = f"「{name}」" if own_table and untrusted.problem(name, "見出し") is None else ""
            raise BulkError("E-REQ-003", column=f"{position}列目{shown}" + (f"（「{near[0]}」の誤りでは？）" if near else ""))
        if name in seen:
            raise BulkError("E-REQ-004", column=name)
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            raise BulkError("E-REQ-005", column=name)
    return names


# --- CSV --------------------------------------------------------------------------------
def _csv_rows(data: bytes, encoding: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[int, list[str]]]:
    """(first line number of the record, cells) per CSV record, read line by line from `data`:
    a line (or a record across quoted line ends) over limits.max_line_bytes bytes is refused
    (E-REQ-011) once it passes the limit, never held whole."""
    limit = limits.max_line_bytes
    fh = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    byte_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    record = [0, 1]  # bytes of the record so far (line ends not counted), its first line
    line_no = 0

    def lines() -> Iterator[str]:
        nonlocal line_no
        while line := fh.readline(limit + 2):  # a line of `limit` bytes and CR LF, never a whole long one
            line_no += 1
            size = len(line) if line.isascii() else len(line.encode(byte_encoding))
            size -= 2 if line.endswith("\r\n") else 1 if line[-1] in "\r\n" else 0
            record[0] += size
            if record[0] > limit:
                raise BulkError("E-REQ-011", line=line_no if size > limit else record[1], limit=limit)
            yield line

    reader = csv.reader(lines(), strict=True)
    try:
        for row in reader:
            yield record[1], row
            record[0], record[1] = 0, line_no + 1
    except csv.Error as exc:
        detail = next((ja for en, ja in _CSV_ERRORS if en in str(exc)), "CSV として読めません")
        raise BulkError("E-REQ-009", line=record[1], detail=detail) from None


# --- rows -------------------------------------------------------------------------------
def iter_conditions(table_name: str, data: bytes, *, limits: Limits = DEFAULT_LIMITS,
                    own_table: bool = False) -> ConditionStream:
    """Open a 検索条件 table (.csv or .xlsx, by the name's extension) and validate its header at
    once; the rows follow lazily (see ConditionStream). File-level refusals are BulkError.
    `own_table`: read on the clerk's own PC (check_header)."""
    low = table_name.lower()
    if low.endswith(".xlsx"):
        encoding, rows = "xlsx", xlsx_rows(data, limits)
    elif low.endswith(".csv"):
        encoding = sniff_encoding(data)
        rows = _csv_rows(data, encoding, limits)
    else:
        raise BulkError("E-REQ-010")
    first = next(rows, None)
    if first is None:
        raise BulkError("E-REQ-002")
    header = check_header(first[1], own_table=own_table)
    return ConditionStream(header, encoding, _nonempty(parse_rows(header, rows, limits, plain=encoding != "xlsx")))


def read_conditions(table_name: str, data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> ConditionTable:
    """Read a whole 検索条件 table: header, detected encoding, one SearchCondition or RowError
    per data row, in input order. Raises BulkError for file-level refusals (E-REQ-001…010)."""
    stream = iter_conditions(table_name, data, limits=limits)
    return ConditionTable(stream.header, stream.encoding, list(stream.items))


def _nonempty(items: Iterator[SearchCondition | RowError]) -> Iterator[SearchCondition | RowError]:
    empty = True
    for item in items:
        empty = False
        yield item
    if empty:
        raise BulkError("E-REQ-007")


def _is_blank(cells: list) -> bool:
    """True for a row of empty or whitespace-only cells (cells are str or date, never None)."""
    try:
        return not "".join(cells).strip()
    except TypeError:  # a date cell: not blank
        return False


def parse_rows(header: list[str], rows: Iterable[tuple[int, list]], limits: Limits = DEFAULT_LIMITS, *,
               plain: bool = False) -> Iterator[SearchCondition | RowError]:
    """Validate data rows (line, cells) against a checked header. Empty rows at the end are
    dropped; an empty row between data rows is answered 90 (so output rows stay aligned with the
    department's lines). More than limits.max_rows data rows → BulkError E-REQ-006.
    plain: every cell is a str (CSV), so the row is stripped once and read as text only."""
    seen: set[str] = set()
    width = len(header)
    pending_blank: list[int] = []
    n = 0
    for line, raw in rows:
        if plain:  # CSV: every cell is text, and its stripped form is all parse_row needs
            cells = texts = dict(zip(header, map(str.strip, raw)))
        else:  # xlsx: dates and number cells keep their type in `cells`
            cells = dict(zip(header, raw))
            texts = _texts(cells)
        extra = len(raw) > width and not _is_blank(raw[width:])
        if not extra and not any(texts.values()):
            pending_blank.append(line)
            continue
        for blank_line in pending_blank:
            n += 1
            yield RowError(n, blank_line, None, "連番", "空の行です")
        pending_blank.clear()
        n += 1
        if n > limits.max_rows:
            raise BulkError("E-REQ-006", limit=limits.max_rows)
        if extra:
            yield RowError(n, line, texts.get("連番") or None, EXTRA_CELLS_FIELD, "見出しより列が多い行です")
            continue
        yield parse_row(n, line, cells, seen, texts)


def _text(v: object) -> str:
    if type(v) is str:
        return v.strip()
    if v is None:
        return ""
    if isinstance(v, date):
        return v.isoformat()
    return v.strip() if isinstance(v, str) else str(v).strip()


def _texts(cells: dict) -> dict[str, str]:
    """Every cell of a row as stripped text (_text)."""
    return {k: _text(v) for k, v in cells.items()}


def parse_row(n: int, line: int, cells: dict, seen: set[str], texts: dict[str, str] | None = None
              ) -> SearchCondition | RowError:
    """One data row (column → cell) → SearchCondition, or RowError naming the first rule broken.
    `seen` collects 連番 across the file (a repeated 連番 makes its later rows 90); `texts`, the
    cells as stripped text, when the caller has them already."""
    if texts is None:
        texts = _texts(cells)
    renban = texts.get("連番", "")
    try:
        if not renban:
            raise _Invalid("連番", "連番がありません")
        if renban in seen:
            raise _Invalid("連番", "連番が重複しています")
        seen.add(renban)
        return _condition(n, line, renban, cells, texts)
    except _Invalid as bad:
        return RowError(n, line, renban or None, bad.field, bad.reason)


def _key(cells: dict, texts: dict, column: str, length: int, valid) -> str | None:
    text = texts.get(column)
    if not text:
        return None
    value = text if (text.isascii() and text.isdigit()) else normalize.digits(text)
    if not (value.isascii() and value.isdigit()):
        raise _Invalid(column, "数字以外の文字があります")
    if len(value) != length:
        if isinstance(cells.get(column), NumberCell) and len(value) < length:
            raise _Invalid(column, "桁数不正（Excel の数値セルで先頭の0が落ちています。文字列として入力してください）")
        raise _Invalid(column, f"桁数不正（{length}桁で指定してください）")
    if not valid(value):
        raise _Invalid(column, "チェックデジット不正")
    return value


def _condition(n: int, line: int, renban: str, cells: dict, texts: dict) -> SearchCondition:
    target = texts.get("対象") or TARGET_JUMIN
    if target not in TARGETS:
        raise _Invalid("対象", "「本人確認情報」または「附票」を指定してください")
    kojin = _key(cells, texts, "個人番号", 12, valid_kojin_bango)
    code = _key(cells, texts, "住民票コード", 11, valid_jumin_code)
    name = texts.get("氏名") or None
    kana = texts.get("氏名かな") or None
    if kana and not normalize.is_kana(kana):
        raise _Invalid("氏名かな", "ひらがな・カタカナ以外の文字があります")
    birth = None
    raw_birth = cells.get("生年月日")
    if isinstance(raw_birth, date):
        birth = raw_birth
    elif texts.get("生年月日"):
        try:
            birth = normalize.parse_date(texts["生年月日"])
        except normalize.DateError as exc:
            raise _Invalid("生年月日", str(exc) or "日付として読めません") from None
    sex = None
    raw_sex = texts.get("性別")
    if raw_sex:
        sex = SEX.get(normalize.digits(raw_sex))
        if sex is None:
            raise _Invalid("性別", "男・女・1・2 のいずれかを指定してください")
    address = texts.get("住所") or None
    four = bool((name or kana) and birth and address)
    if target == TARGET_FUHYO:
        if not code and not four:
            if kojin:
                raise _Invalid("個人番号", "附票の照会に個人番号は使えません（住民票コードまたは4情報を指定してください）")
            _missing_key(name or kana, birth, address)
        kojin = None  # 個人番号 is not a key for 附票: ignored when another key is given
    elif not (kojin or code or four):
        _missing_key(name or kana, birth, address)
    return SearchCondition(n, line, renban, target, kojin, code, name, kana, birth, sex, address)


def _missing_key(name: object, birth: object, address: object) -> None:
    if name and birth and not address:
        raise _Invalid("住所", "氏名と生年月日だけでは照会できません。4情報の照会には住所が必要です")
    if name or birth or address:
        missing = next(f for f, v in (("氏名", name), ("生年月日", birth), ("住所", address)) if not v)
        raise _Invalid(missing, "4情報（氏名または氏名かな・生年月日・住所）の照会に必要な項目がありません")
    raise _Invalid(NO_KEY_FIELD, "個人番号、住民票コード、または4情報（氏名・生年月日・住所）を指定してください")
