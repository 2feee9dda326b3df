"""The 媒体棚卸表 (contract §10): the physical check of the drives, made by hand or in Excel.

UTF-8 (with or without a BOM) or CP932; a header row; the columns of COLUMNS in any order. An
unknown, missing or duplicated column, a 媒体ID listed twice, a 状態 outside STATES or a 確認日 that
is not YYYY-MM-DD refuses the whole file with a stable code (exit 1): an audit never rests on a
half-read inventory. Pure: bytes in, rows out.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from bulktool.messages import BulkError

COLUMNS = ("媒体ID", "状態", "所在", "確認者", "確認日")
STATES = ("保管中", "貸与中", "廃棄済", "紛失")
MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 100_000


@dataclass(frozen=True)
class InventoryRow:
    line: int          # the line of the file (the header is line 1)
    media_id: str
    state: str         # one of STATES
    place: str
    checked_by: str
    checked_on: date


def decode(data: bytes, name: str) -> str:
    """UTF-8 (a BOM is dropped) or, failing that, CP932; E-AUD-001 when neither reads it."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        encodings = ("utf-8",)
    else:
        encodings = ("utf-8", "cp932")
    for enc in encodings:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise BulkError("E-AUD-001", file=name)


def read_inventory(data: bytes, name: str = "棚卸表") -> list[InventoryRow]:
    """The inventory's rows, in file order (blank lines skipped); refuses as the module says."""
    if len(data) > MAX_BYTES:
        raise BulkError("E-AUD-008", file=name, line=0, detail=f"{MAX_BYTES} バイトを超えています")
    text = decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise BulkError("E-AUD-002", file=name)
        index = _columns([c.strip() for c in header])
        rows: list[InventoryRow] = []
        first_line: dict[str, int] = {}
        for record in reader:
            line = reader.line_num
            if not any(c.strip() for c in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise BulkError("E-AUD-008", file=name, line=line, detail=f"{MAX_ROWS} 行を超えています")
            if len(record) > len(header):
                raise BulkError("E-AUD-008", file=name, line=line, detail="見出しより列が多い行です")
            cells = [c.strip() for c in record] + [""] * (len(header) - len(record))
            row = _row(line, {col: cells[i] for col, i in index.items()})
            if row.media_id in first_line:
                raise BulkError("E-AUD-006", line=line, media_id=row.media_id, first=first_line[row.media_id])
            first_line[row.media_id] = line
            rows.append(row)
    except csv.Error as exc:
        raise BulkError("E-AUD-008", file=name, line=reader.line_num, detail=str(exc)) from None
    return rows


def _columns(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, col in enumerate(header):
        if col not in COLUMNS:
            raise BulkError("E-AUD-003", column=col)
        if col in index:
            raise BulkError("E-AUD-005", column=col)
        index[col] = i
    for col in COLUMNS:
        if col not in index:
            raise BulkError("E-AUD-004", column=col)
    return index


def _row(line: int, v: dict[str, str]) -> InventoryRow:
    if not v["媒体ID"]:
        raise BulkError("E-AUD-007", line=line, column="媒体ID", value="", expected="空欄は使えません")
    if v["状態"] not in STATES:
        raise BulkError("E-AUD-007", line=line, column="状態", value=v["状態"], expected="、".join(STATES))
    try:
        checked = date.fromisoformat(v["確認日"])
        if len(v["確認日"]) != 10:
            raise ValueError
    except ValueError:
        raise BulkError("E-AUD-007", line=line, column="確認日", value=v["確認日"], expected="YYYY-MM-DD") from None
    return InventoryRow(line, v["媒体ID"], v["状態"], v["所在"], v["確認者"], checked)
