"""An .xlsx table read from bytes, safely: pure, no I/O (the .xlsx form of the 検索条件 table,
docs/formats.md「検索条件の表」).

Before openpyxl sees the file (it has no limits of its own), its zip is checked: no encryption
(a password-protected workbook is an OLE file), no nested archives or macros, and the
containers' zip guard (entry count, declared and actual expanded size, ratio), and every XML
part is counted as it expands (XmlBudget: shared strings, text, cells, rows, cells in a row — the
limits openpyxl lacks: it would hold every shared string in memory). Then the first
sheet is streamed, whatever its own <dimension> says; cells come as text, number cells as their
digits (NumberCell), date cells as dates. Every refusal is E-REQ-008 naming the problem, never
any cell content.
"""
from __future__ import annotations

import io
import lzma
import warnings
import zipfile
import zlib
from datetime import date, datetime
from typing import Iterator
from xml.parsers import expat

from bulktool.containers import zipguard
from bulktool.containers.limits import DEFAULT_LIMITS, Limits
from bulktool.messages import BulkError

SHEET_MAX_ROWS = 1_048_576  # the rows of an Excel sheet (results.XLSX_MAX_ROWS)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NESTED = (".zip", ".xlsx", ".xlsm", ".xls", ".7z", ".rar", ".gz", ".cab", ".bin", ".jar")


class NumberCell(str):
    """The text of an xlsx number cell (so a short key can say its leading zeros were lost)."""

    __slots__ = ()


def _xlsx_fail(detail: str) -> BulkError:
    return BulkError("E-REQ-008", detail=detail)


# The zip guard's refusals (containers/zipguard.py), said of an .xlsx.
_ZIP_REFUSALS = {"E-CON-008": "ファイル内の項目数が上限 {0.max_entries} を超えています",
                 "E-CON-009": "展開後の大きさが上限 {0.max_expanded_bytes} バイトを超えています",
                 "E-CON-010": "圧縮率が異常です（圧縮爆弾の疑い）",
                 "E-CON-011": "ファイルが壊れています"}


def check_xlsx(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """Check an .xlsx's own zip before openpyxl sees it (openpyxl has no limits of its own):
    encrypted or nested entries here, then entry count, declared and actual expanded size and
    expansion ratio by the containers' zip guard. Raises BulkError E-REQ-008 naming the
    problem (never any cell content)."""
    if data.startswith(_OLE_MAGIC):
        raise _xlsx_fail("パスワード付きのファイルか .xls 形式です。パスワードを外し .xlsx 形式で保存してください")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError):  # NotImplemented: "zip file version 6.4"
        raise _xlsx_fail("xlsx（ZIP）として読めません") from None
    try:
        with zf:
            infos, declared = zipguard.files_within(zf.infolist(), limits), 0
            for info in infos:
                if info.flag_bits & 0x1:
                    raise _xlsx_fail("暗号化された項目があります")
                if info.filename.lower().endswith(_NESTED):
                    raise _xlsx_fail("埋め込みファイルやマクロ（入れ子の書庫）を含む表は受け付けられません")
                declared = zipguard.check_declared(info, info.filename, declared, limits)
            budget = limits.max_expanded_bytes
            xml = XmlBudget(limits)
            for info in infos:  # count what really expands: declared sizes may lie
                part = xml.part()
                for chunk in zipguard.stream_entry(zf, info, info.filename, limits, budget):
                    budget -= len(chunk)
                    part.feed(chunk)
                part.close()
    except BulkError as err:
        if err.code not in _ZIP_REFUSALS:
            raise
        raise _xlsx_fail(_ZIP_REFUSALS[err.code].format(limits)) from None
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, OSError, ValueError):
        # ValueError: an entry's offset before the file's start (zipfile: "negative seek value")
        raise _xlsx_fail("ファイルが壊れています") from None


_LOCAL: dict[str, str] = {}  # "namespace local" → local name (a cache: a part has few distinct names)


class XmlBudget:
    """Counts, across the XML parts of one .xlsx as their bytes expand, what openpyxl would hold
    whole or loop over, and refuses past the limits (E-REQ-008) before openpyxl sees the file:
    shared strings (<si>: openpyxl keeps them all in memory) by number and by the bytes of the
    part that holds them, cells (<c>), rows in a sheet (<row>, E-REQ-006), cells in one row
    (openpyxl holds a row whole), and bytes read without an element starting (a huge attribute or
    name, which the parser would hold). Parts are parsed by expat with entity declarations
    refused (as defusedxml does); a part that is not XML (an image) is not counted past its
    first error (openpyxl fails on it if it ever parses it)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.strings = self.string_bytes = self.cells = 0

    def part(self) -> "_XmlPart":
        return _XmlPart(self)


class _XmlPart:
    def __init__(self, budget: XmlBudget) -> None:
        self.budget, self.limits = budget, budget.limits
        self.rows = self.row_cells = self.events = self.quiet = 0
        self.has_strings = False
        p = self.parser = expat.ParserCreate(namespace_separator=" ")
        p.ordered_attributes = True  # attributes are not looked at: a list is cheaper than a dict
        p.StartElementHandler = self._start
        p.EntityDeclHandler = p.UnparsedEntityDeclHandler = self._entity
        p.ExternalEntityRefHandler = self._entity
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def feed(self, chunk: bytes) -> None:
        if self.parser is None:
            return
        before = self.events
        try:
            self.parser.Parse(chunk, False)
        except expat.ExpatError:
            self.parser = None  # not XML (or broken XML: openpyxl says so if it reads the part)
            return
        lim = self.limits
        self.quiet = 0 if self.events != before else self.quiet + len(chunk)
        if self.quiet > lim.max_xml_token_bytes:
            raise _xlsx_fail(f"XML の一つの要素が上限 {lim.max_xml_token_bytes} バイトを超えています")
        if self.has_strings:  # the shared strings' part: its bytes bound what openpyxl will hold
            self.budget.string_bytes += len(chunk)
            if self.budget.string_bytes > lim.max_shared_strings_bytes:
                raise _xlsx_fail(f"共有文字列の大きさが上限 {lim.max_shared_strings_bytes} バイトを超えています")

    def close(self) -> None:
        if self.parser is not None:
            try:
                self.parser.Parse(b"", True)
            except expat.ExpatError:
                pass
            self.parser = None

    def _start(self, name: str, attrs: list) -> None:
        self.events += 1
        local = _LOCAL.get(name)
        if local is None:
            local = _LOCAL[name] = name[name.rfind(" ") + 1:] if len(_LOCAL) < 4096 else "?"
        if local == "c":
            b, lim = self.budget, self.limits
            b.cells += 1
            self.row_cells += 1
            if b.cells > lim.max_xlsx_cells:
                raise _xlsx_fail(f"セルの数が上限 {lim.max_xlsx_cells} 個を超えています")
            if self.row_cells > lim.max_row_cells:
                raise _xlsx_fail(f"一行のセルの数が上限 {lim.max_row_cells} 個を超えています")
        elif local == "si":
            b = self.budget
            b.strings += 1
            self.has_strings = True
            if b.strings > self.limits.max_shared_strings:
                raise _xlsx_fail(f"共有文字列の数が上限 {self.limits.max_shared_strings} 個を超えています")
        elif local == "row":
            self.rows += 1
            self.row_cells = 0
            if self.rows > self.limits.max_rows + 1:  # the header row and max_rows data rows
                raise BulkError("E-REQ-006", limit=self.limits.max_rows)

    def _entity(self, *args) -> None:
        raise _xlsx_fail("XML のエンティティ宣言は受け付けられません")


def _cell(value: object) -> str | date:
    """An xlsx cell as text (numbers as their digits) or a date."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return NumberCell(value)
    if isinstance(value, float):
        return NumberCell(int(value)) if value.is_integer() else NumberCell(repr(value))
    return str(value)


def xlsx_rows(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[int, list]]:
    """(row number, cells) for each row of the first sheet, once check_xlsx has passed."""
    check_xlsx(data, limits)
    from openpyxl import load_workbook  # defusedxml is installed: openpyxl parses through it

    try:
        with warnings.catch_warnings():  # openpyxl warns about odd parts on stderr: not for the screen
            warnings.simplefilter("ignore")
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise _xlsx_fail(f"Excel ファイルとして開けません（{type(exc).__name__}）") from None
    try:
        if not wb.worksheets:
            raise _xlsx_fail("シートがありません")
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # never trust the sheet's own <dimension>: it may hide rows
        it = ws.iter_rows(values_only=True)
        n = 0
        while True:
            try:
                row = next(it, None)
            except BulkError:
                raise
            except Exception as exc:  # a malformed or hostile sheet XML, found while streaming
                raise _xlsx_fail(f"シートを読めません（{type(exc).__name__}）") from None
            if row is None:
                return
            n += 1
            if n > SHEET_MAX_ROWS:  # a row number past Excel's last row: openpyxl yields every row before it
                raise _xlsx_fail(f"行番号が Excel の上限（{SHEET_MAX_ROWS} 行）を超えています")
            yield n, [_cell(v) for v in row]
    finally:
        wb.close()
