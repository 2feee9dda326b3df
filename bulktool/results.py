"""Writing the 照会結果 table (contract §5) to bytes: pure, no I/O (docs/formats.md「照会結果.csv」).

Columns: 連番, 処理結果コード, 処理結果, 該当件数, the department's permitted fields in the law's
order (model.JUMIN_FIELDS), 外字フラグ (always). One row per input row, in input order.

- 該当件数 follows the status, not the caller: 1 for 00/10, the candidates for 30, 0 for 20,
  empty for 90. Data cells are filled only for 00/10, and only with what the record carries
  (a 附票 record has no 異動事由/異動年月日, so those cells stay empty).
- Encoding: "utf-8" → UTF-8 with BOM; "cp932" → CP932. In CP932 a character the code page cannot
  hold (𠮷, IVS selectors, …) becomes 〓, is counted in gaiji_substitutions and sets the row's
  外字フラグ. The JIS/Microsoft look-alikes are mapped to the CP932 character Windows shows for
  them and are not substitutions: 〜 U+301C → ～ U+FF5E, − U+2212 → － U+FF0D, ‖ → ∥, ¢ £ ¬ →
  ￠ ￡ ￢, — U+2014 → ― U+2015. (Python's cp932 codec already encodes the first five so; decoding
  gives back the full-width forms: the department sees ～ and －, the same bytes Excel writes.)
- Formula injection: every cell is neutralised by the one rule in tables.py (a cell beginning
  with =, +, -, @, tab or CR gets a leading '); the row loop below only prefilters for it.
- CRLF line ends, minimal quoting (csv.QUOTE_MINIMAL).

照会結果.xlsx (write_results_xlsx, `exchange --table xlsx`): the same columns and rows on one sheet
「照会結果」, the header row frozen; every code and number a text cell formatted 文字列 (Excel keeps
住民票コード's and 個人番号's leading zeros), 生年月日 and 異動年月日 date cells (yyyy-mm-dd);
formula-looking text stored as a text cell as it is (a text cell never runs, so no '); no CP932
substitution (xlsx holds any Unicode character). More rows than an Excel sheet holds is E-EXC-010.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Sequence

from bulktool.manifest import RESULT_CSV, RESULT_XLSX
from bulktool.messages import BulkError
from bulktool.model import JUMIN_FIELDS, MatchResult, Status
from bulktool.tables import FORMULA_PREFIXES, FORMULA_STARTS, neutralise, neutralise_all, xlsx_sheet  # noqa: F401 (neutralise: re-exported)

RESULT_COLUMNS_FIXED = ("連番", "処理結果コード", "処理結果", "該当件数")
GAIJI_COLUMN = "外字フラグ"
GETA = "〓"
# a character that makes csv.QUOTE_MINIMAL quote a cell (neutralising and 〓 add none of them)
_QUOTED = re.compile('[",\r\n]')
# a cell after the first, in a row joined by NUL, that begins with a formula prefix (a prefilter:
# neutralise_all decides). No "^|" alternative: a literal first character lets re scan fast.
_LATER_FORMULA_CELL = re.compile("\0[" + re.escape("".join(FORMULA_PREFIXES)) + "]")
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8", "cp932": "cp932",
             "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "ms932": "cp932"}
_CP932_MAP = str.maketrans({"\u301c": "\uff5e", "\u2212": "\uff0d", "\u2016": "\u2225", "\u00a2": "\uffe0",
                            "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u2014": "\u2015"})
_PROVIDED = (Status.HIT, Status.HIT_REMOVED)
# 該当件数 per status (contract §5): 1 for 00 and 10, 0 for 20, empty for 90; 30 gives its count
_COUNT_OF = {Status.HIT: "1", Status.HIT_REMOVED: "1", Status.NOT_FOUND: "0", Status.INPUT_ERROR: ""}
_FLUSH_ROWS = 10_000
TABLE_KINDS = ("csv", "xlsx")
DATE_COLUMNS = ("生年月日", "異動年月日")
XLSX_SHEET = "照会結果"
XLSX_MAX_ROWS = 1_048_576  # rows of an Excel sheet, the header included
# column widths of the xlsx result (characters), so that codes and dates show whole when opened
_XLSX_WIDTHS = {"連番": 10, "処理結果コード": 8, "処理結果": 16, "該当件数": 8, "住民票コード": 14, "氏名": 16,
                "氏名かな": 20, "生年月日": 12, "性別": 6, "住所": 40, "個人番号": 15, "異動事由": 10,
                "異動年月日": 12, "外字フラグ": 8}


@dataclass
class ResultTable:
    """照会結果.csv (or .xlsx) as bytes, with what the manifest and the summary need: rows, counts per
    処理結果コード (every code present, 0 when none), CP932 substitutions, and the 連番 of the 20
    rows (candidates for a 全国サーバ inquiry)."""

    data: bytes
    rows: int
    counts: dict[str, int]
    gaiji_substitutions: int
    not_found: list[str] = field(default_factory=list)
    name: str = RESULT_CSV  # the file's name in the container (照会結果.csv or 照会結果.xlsx)
    encoding: str = "utf-8"  # the CSV's encoding, or "xlsx"

    @property
    def described(self) -> str:
        """「文字コード utf-8」 or 「表 xlsx」, for the 出力 entry's note."""
        return "表 xlsx" if self.name == RESULT_XLSX else f"文字コード {self.encoding}"

    def __repr__(self) -> str:
        return f"ResultTable(rows={self.rows}, counts={self.counts})"


def columns_for(fields: Sequence[str]) -> list[str]:
    """The result header for a department permitted `fields` (unknown names are ignored)."""
    return [*RESULT_COLUMNS_FIXED, *(f for f in JUMIN_FIELDS if f in fields), GAIJI_COLUMN]


def to_cp932(cell: str) -> tuple[str, int]:
    """The cell made CP932-safe (see the module docstring) and how many characters became 〓."""
    cell = cell.translate(_CP932_MAP)
    try:
        cell.encode("cp932")
        return cell, 0
    except UnicodeEncodeError:
        out, n = [], 0
        for ch in cell:
            try:
                ch.encode("cp932")
                out.append(ch)
            except UnicodeEncodeError:
                out.append(GETA)
                n += 1
        return "".join(out), n


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_results(results: Iterable[MatchResult], *, fields: Sequence[str], encoding: str = "utf-8") -> ResultTable:
    """照会結果.csv for `results` (in input order), with the permitted `fields` only.
    encoding: "utf-8" (written with a BOM) or "cp932"; anything else is a ValueError."""
    codec = ENCODINGS.get(encoding.lower())
    if codec is None:
        raise ValueError(f"unsupported result encoding {encoding!r}")
    cp932 = codec == "cp932"
    cols = columns_for(fields)
    data_cols = cols[len(RESULT_COLUMNS_FIXED):-1]
    out = io.BytesIO()
    if not cp932:
        out.write(b"\xef\xbb\xbf")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(cols)
    blank = ("",) * len(data_cols)
    by_status = dict.fromkeys(Status, 0)
    code_of = {s: s.value for s in Status}  # Enum.value is a slow property; a dict is not
    count_of = _COUNT_OF
    later_formula = _LATER_FORMULA_CELL.search
    needs_quotes = _QUOTED.search
    write = buf.write
    not_found: list[str] = []
    rows = subs = 0
    for r in results:
        rows += 1
        status = r.status
        by_status[status] += 1
        count = count_of.get(status)
        if count is None:  # 30: the number of candidates
            count = "" if r.count is None else str(r.count)
        elif status is Status.NOT_FOUND:
            not_found.append(r.renban)
        provided = status in _PROVIDED
        # the permitted fields, "" where the record has none (a 附票 record has no 異動事由)
        cells = [r.renban or "", code_of[status], r.message or status.label, count,
                 *(map(r.record.get, data_cols, blank) if provided else blank)]
        try:
            line = "\0".join(cells)  # one string to test the whole row at once
        except TypeError:  # a date or None among the cells (callers other than matching)
            cells = [_text(c) for c in cells]
            line = "\0".join(cells)
        gaiji = provided and r.gaiji
        if cp932:
            try:  # the common case: the whole row fits (the codec itself maps 〜 − ‖ ¢ £ ¬)
                line.encode("cp932")
            except UnicodeEncodeError:
                for i, c in enumerate(cells):
                    cells[i], n = to_cp932(c)
                    if n:
                        subs += n
                        gaiji = True
        if line[:1] in FORMULA_STARTS or later_formula(line):  # a cell may begin like a formula (rare)
            cells = neutralise_all(cells)
        cells.append("1" if gaiji else "")
        if needs_quotes(line) is None:  # what csv.writer writes for such a row, without its per-cell work
            write(",".join(cells) + "\r\n")
        else:
            writer.writerow(cells)
        if rows % _FLUSH_ROWS == 0:
            out.write(buf.getvalue().encode(codec))
            buf.seek(0)
            buf.truncate()
    out.write(buf.getvalue().encode(codec))
    counts = {s.value: n for s, n in by_status.items()}
    return ResultTable(out.getvalue(), rows, counts, subs, not_found)


def _as_date(value: object) -> object:
    """A date column's cell as a date (a date cell in the xlsx); text that is not an ISO date
    stays text."""
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def write_results_xlsx(results: Iterable[MatchResult], *, fields: Sequence[str]) -> ResultTable:
    """照会結果.xlsx for `results` (in input order), with the permitted `fields` only (the module
    docstring says what each cell is). Rows, counts and 該当なし as write_results."""
    cols = columns_for(fields)
    data_cols = cols[len(RESULT_COLUMNS_FIXED):-1]
    dates = [c in DATE_COLUMNS for c in data_cols]
    blank = ("",) * len(data_cols)
    by_status = dict.fromkeys(Status, 0)
    count_of = _COUNT_OF
    not_found: list[str] = []
    rows = 0

    def table_rows():
        nonlocal rows
        for r in results:
            rows += 1
            if rows >= XLSX_MAX_ROWS:
                raise BulkError("E-EXC-010", limit=XLSX_MAX_ROWS - 1)
            status = r.status
            by_status[status] += 1
            count = count_of.get(status)
            if count is None:  # 30: the number of candidates
                count = "" if r.count is None else str(r.count)
            elif status is Status.NOT_FOUND:
                not_found.append(r.renban)
            provided = status in _PROVIDED
            data = map(r.record.get, data_cols, blank) if provided else blank
            yield [r.renban or "", status.value, r.message or status.label, count,
                   *(_as_date(v) if is_date else _text(v) for v, is_date in zip(data, dates)),
                   "1" if provided and r.gaiji else ""]

    widths = {i: _XLSX_WIDTHS[c] for i, c in enumerate(cols) if c in _XLSX_WIDTHS}
    data = xlsx_sheet(XLSX_SHEET, cols, table_rows(), freeze_header=True, text_format=True, widths=widths)
    counts = {s.value: n for s, n in by_status.items()}
    return ResultTable(data, rows, counts, 0, not_found, RESULT_XLSX, "xlsx")


def table_kind(asked: str | None, registered: str | None, encoding: str = "utf-8") -> str:
    """The 照会結果 table of an exchange: the operator's `--table`, else the department's
    registered kind, else "csv". An xlsx with a CSV encoding other than UTF-8 is a usage error
    (E-USE-010): CP932 is the CSV's alone."""
    kind = asked or registered or "csv"
    if kind not in TABLE_KINDS:
        raise ValueError(f"unsupported result table {kind!r}")
    if kind == "xlsx" and ENCODINGS.get(encoding.lower()) != "utf-8":
        raise BulkError("E-USE-010")
    return kind


def write_result_table(results: Iterable[MatchResult], fields: Sequence[str], encoding: str = "utf-8",
                       table: str = "csv") -> ResultTable:
    """The 照会結果 table of kind `table`: "csv" (write_results, in `encoding`) or "xlsx"
    (write_results_xlsx; table_kind has refused a CSV encoding with it)."""
    if table == "xlsx":
        return write_results_xlsx(results, fields=fields)
    if table != "csv":
        raise ValueError(f"unsupported result table {table!r}")
    out = write_results(results, fields=fields, encoding=encoding)
    out.encoding = ENCODINGS[encoding.lower()]
    return out
