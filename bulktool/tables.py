"""Tables handed to a spreadsheet: the formula-neutralising rule, CSV and .xlsx export. Pure.

One rule for every CSV bulktool writes (照会結果.csv in results.py, the 管理簿 and 操作履歴
exports): a cell beginning with =, +, -, @, tab or CR gets a leading ' so that a spreadsheet
shows it as text and never runs it (OWASP "CSV Injection").

CSV exports are UTF-8 with a BOM and CRLF line ends, as Excel on Windows reads them. .xlsx
tables (照会結果.xlsx, exports) store text as text cells, which never run: formula-looking text is
kept as it is, without the '. They are built in memory and are byte-for-byte reproducible.
"""
from __future__ import annotations

import csv
import functools
import io
import zipfile
from datetime import date, datetime
from typing import Iterable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_STARTS = frozenset(FORMULA_PREFIXES)


def neutralise_all(cells: Iterable[str]) -> list[str]:
    """Each cell with a leading ' when a spreadsheet would read it as a formula."""
    starts = FORMULA_STARTS
    return ["'" + c if c[:1] in starts else c for c in cells]


def neutralise(cell: str) -> str:
    """One cell, as neutralise_all."""
    return neutralise_all((cell,))[0]


def rows_to_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    """UTF-8 with BOM and CRLF line ends, as Excel on Windows reads it; every cell as text
    (None as empty), formula-like cells neutralised."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(list(header))
    for r in rows:
        w.writerow(neutralise_all("" if c is None else str(c) for c in r))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def rows_to_xlsx(title: str, header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    """An .xlsx workbook with one sheet, as bytes. Text is always stored as text (never a formula);
    characters that XML cannot hold are dropped."""
    return xlsx_sheet(title, header, rows)


# --- .xlsx in memory ------------------------------------------------------------------------
# Every part of the workbook carries this time: the same rows give the same bytes (a hash in a
# manifest, a test) whatever the hour.
XLSX_TIME = (2000, 1, 1, 0, 0, 0)
TEXT_FORMAT = "@"  # Excel's 文字列 format: a text cell stays text when the clerk edits it


def xlsx_sheet(title: str, header: Iterable[str], rows: Iterable[Iterable[object]], *, freeze_header: bool = False,
               text_format: bool = False, widths: dict[int, float] | None = None) -> bytes:
    """An .xlsx workbook with one sheet, as bytes, built in memory (openpyxl's write-only sheet
    would otherwise stream through a temporary file: plaintext on the disk) and reproducible
    (fixed part times and document properties).

    Cells: str → a text cell (data type "s", even when it begins with "=": a text cell never
    runs, so nothing is prefixed; with `text_format` also formatted 文字列 "@"), date → a date
    cell formatted yyyy-mm-dd, None or "" → empty, anything else as openpyxl stores it.
    `freeze_header` freezes the first row; `widths` sets column widths (0-based index → width)."""
    from openpyxl import Workbook  # imported here: ~0.13 s, and only xlsx tables need it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    if freeze_header:
        ws.freeze_panes = "A2"
    for i, width in (widths or {}).items():
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    ws._writer = _memory_sheet_writer()(ws, out=io.BytesIO())  # before the first row: no temp file
    ws._writer.write_top()
    ws.append(list(header))
    illegal = ILLEGAL_CHARACTERS_RE.search
    for r in rows:
        cells = []
        for v in r:
            if isinstance(v, str):
                if not v:
                    cells.append(None)
                    continue
                c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", v) if illegal(v) else v)
                c.data_type = "s"
                if text_format:
                    c.number_format = TEXT_FORMAT
                cells.append(c)
            elif isinstance(v, date) and not isinstance(v, datetime):
                c = WriteOnlyCell(ws, value=v)
                c.number_format = "yyyy-mm-dd"
                cells.append(c)
            else:
                cells.append(v)
        ws.append(cells)
    fixed = datetime(*XLSX_TIME)
    wb.properties.created = wb.properties.modified = fixed
    buf = io.BytesIO()
    _write_workbook(wb, _MemoryZip(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True))
    return buf.getvalue()


def _write_workbook(wb, archive: zipfile.ZipFile) -> None:
    from openpyxl.writer.excel import ExcelWriter  # as above; wb.save would stamp the time of day

    ExcelWriter(wb, archive).save()


@functools.cache
def _memory_sheet_writer() -> type:
    """openpyxl's sheet writer, kept on a BytesIO (the class is made on first use: see above)."""
    from openpyxl.worksheet._writer import WorksheetWriter  # as above

    class MemorySheetWriter(WorksheetWriter):
        def cleanup(self) -> None:  # nothing on the disk to remove
            pass

    return MemorySheetWriter


class _MemoryZip(zipfile.ZipFile):
    """The workbook's zip as openpyxl writes it, with every part at XLSX_TIME, and the sheet taken
    from memory (openpyxl hands over the sheet writer's output, here a BytesIO, not a file name)."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, XLSX_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        if not isinstance(filename, io.BytesIO):  # never read a file from the disk into the workbook
            raise TypeError("the sheet must be written in memory")
        self.writestr(arcname, filename.getvalue(), compress_type, compresslevel)
