"""Tables handed to a spreadsheet: the formula-neutralising rule, CSV and .xlsx export. Pure.

One rule for every table bulktool writes (照会結果.csv in results.py, the 管理簿 and 操作履歴
exports): a cell beginning with =, +, -, @, tab or CR gets a leading ' so that a spreadsheet
shows it as text and never runs it (OWASP "CSV Injection").

CSV exports are UTF-8 with a BOM and CRLF line ends, as Excel on Windows reads them; .xlsx
exports store text as text (never a formula).
"""
from __future__ import annotations

import csv
import io
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
    from openpyxl import Workbook  # imported here: ~0.13 s, and only exports need it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(list(header))
    for r in rows:
        cells = []
        for v in r:
            if isinstance(v, str):
                c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", v))
                c.data_type = "s"
                cells.append(c)
            else:
                cells.append(v)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
