"""An .xlsx table read from bytes, safely: pure, no I/O (the .xlsx form of the 検索条件 table,
docs/formats.md「検索条件の表」).

Before openpyxl sees the file (it has no limits of its own), its zip is checked: no encryption
(a password-protected workbook is an OLE file), no nested archives or macros, and the
containers' zip guard (entry count, declared and actual expanded size, ratio). Then the first
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
            for info in infos:  # count what really expands: declared sizes may lie
                budget -= sum(map(len, zipguard.stream_entry(zf, info, info.filename, limits, budget)))
    except BulkError as err:
        if err.code not in _ZIP_REFUSALS:
            raise
        raise _xlsx_fail(_ZIP_REFUSALS[err.code].format(limits)) from None
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, OSError, ValueError):
        # ValueError: an entry's offset before the file's start (zipfile: "negative seek value")
        raise _xlsx_fail("ファイルが壊れています") from None


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
