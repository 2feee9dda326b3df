"""Reading the 検索条件 table (SPEC §3) from bytes: pure, no I/O.

- CSV encoding is detected, never guessed silently: a UTF-8 BOM → utf-8-sig; bytes that decode
  strictly as UTF-8 → utf-8; else bytes that decode strictly as CP932 → cp932; else E-REQ-001.
  (Strict decoding is decisive here: CP932 text of any length is almost never valid UTF-8, and
  binary data is neither; control characters other than tab/CR/LF refuse the file too.)
- xlsx: the first sheet, opened from memory after its own zip directory and expanded sizes were
  checked under the container limits; a date cell is that date, a number cell in a key column
  is read as its digits (Excel drops leading zeros: a short key is 90, never padded).
- The header: any order; an unknown or repeated column refuses the file; 連番 is required.
- Each row becomes a SearchCondition or a RowError (90) naming the field and why — never its value.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Iterator

from bulktool import normalize
from bulktool.checkdigit import valid_jumin_code, valid_kojin_bango
from bulktool.containers.limits import DEFAULT_LIMITS, Limits
from bulktool.messages import BulkError
from bulktool.model import TARGET_FUHYO, TARGET_JUMIN, TARGETS, RowError, SearchCondition

COLUMNS = ("連番", "対象", "個人番号", "住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所")
KEY_COLUMNS = ("個人番号", "住民票コード")
SEX = {"男": "1", "女": "2", "1": "1", "2": "2"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class ConditionTable:
    header: list[str]
    encoding: str
    items: list[SearchCondition | RowError]

    @property
    def rows(self) -> int:
        return len(self.items)


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(encoding, text) of a CSV, or E-REQ-001."""
    if data.startswith(b"\xef\xbb\xbf"):
        enc, body = "utf-8-sig", data[3:]
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BulkError("E-REQ-001") from None
    else:
        for enc in ("utf-8", "cp932"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise BulkError("E-REQ-001")
    if _CONTROL.search(text):
        raise BulkError("E-REQ-001")
    return enc, text


def _check_header(header: list[str]) -> list[str]:
    names = [h.strip().lstrip("\ufeff") for h in header]
    while names and names[-1] == "":
        names.pop()
    if not names:
        raise BulkError("E-REQ-002")
    seen = set()
    for n in names:
        if n not in COLUMNS:
            raise BulkError("E-REQ-003", column=n or "（空）")
        if n in seen:
            raise BulkError("E-REQ-004", column=n)
        seen.add(n)
    if "連番" not in seen:
        raise BulkError("E-REQ-005", column="連番")
    return names


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise BulkError("E-REQ-009", line=reader.line_num, detail=str(exc)[:80]) from None


def _cell(value) -> str | date:
    """An xlsx cell as text (numbers as their digits) or a date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _check_xlsx(data: bytes, limits: Limits) -> None:
    """The xlsx's own zip directory and expanded sizes, under the container limits (counted)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise BulkError("E-REQ-008", detail="xlsx として読めません") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_entries:
            raise BulkError("E-REQ-008", detail=f"項目数が上限 {limits.max_entries} を超えています")
        budget = limits.max_expanded_bytes
        for info in infos:
            if info.flag_bits & 0x1:
                raise BulkError("E-REQ-008", detail="暗号化された xlsx は読めません")
            if info.filename.lower().endswith((".zip", ".xlsx", ".bin", ".7z")):
                raise BulkError("E-CON-006", entry=info.filename)
            with zf.open(info) as fh:
                read = 0
                while chunk := fh.read(1 << 20):
                    read += len(chunk)
                    if read > budget:
                        raise BulkError("E-CON-009", limit=limits.max_expanded_bytes)
                    if read > (1 << 20) and read > max(info.compress_size, 1) * limits.max_ratio:
                        raise BulkError("E-CON-010", entry=info.filename)
            budget -= read


def _xlsx_rows(data: bytes, limits: Limits) -> Iterator[tuple[int, list]]:
    _check_xlsx(data, limits)
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise BulkError("E-REQ-008", detail=type(exc).__name__) from None
    try:
        ws = wb.worksheets[0]
        for n, row in enumerate(ws.iter_rows(values_only=True), 1):
            yield n, [_cell(v) for v in row]
    finally:
        wb.close()


def read_conditions(table_name: str, data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> ConditionTable:
    low = table_name.lower()
    if low.endswith(".xlsx"):
        encoding, rows = "xlsx", _xlsx_rows(data, limits)
    elif low.endswith(".csv"):
        encoding, text = detect_encoding(data)
        rows = _csv_rows(text)
    else:
        raise BulkError("E-CON-005", count=0)
    first = next(rows, None)
    if first is None:
        raise BulkError("E-REQ-002")
    header = _check_header([c if isinstance(c, str) else str(c) for c in first[1]])
    items = list(parse_rows(header, rows, limits))
    while items and _blank(items[-1]):
        items.pop()
    if not items:
        raise BulkError("E-REQ-007")
    return ConditionTable(header, encoding, items)


def _blank(item) -> bool:
    return isinstance(item, RowError) and item.field == "（空行）"


def parse_rows(header: list[str], rows: Iterable[tuple[int, list]], limits: Limits) -> Iterator[SearchCondition | RowError]:
    seen: set[str] = set()
    width = len(header)
    pending_blank: list[RowError] = []
    n = 0
    for line, raw in rows:
        values = list(raw[:width]) + [""] * (width - len(raw))
        extra = [v for v in raw[width:] if v not in ("", None)]
        if all(v in ("", None) for v in values) and not extra:
            pending_blank.append(RowError(0, line, None, "（空行）", "空の行です"))
            continue
        # blank lines inside the table are rows too (answered 90); trailing ones are dropped
        for b in pending_blank:
            n += 1
            yield RowError(n, b.line, None, "連番", "空の行です")
        pending_blank.clear()
        n += 1
        if n > limits.max_rows:
            raise BulkError("E-REQ-006", limit=limits.max_rows)
        cells = dict(zip(header, values))
        if extra:
            yield RowError(n, line, _text(cells.get("連番", "")) or None, "（行全体）", "見出しより列が多い行です")
            continue
        yield parse_row(n, line, cells, seen)


def _text(v) -> str:
    return v.isoformat() if isinstance(v, date) else str(v).strip()


def _is_kana(value: str) -> bool:
    f = getattr(normalize, "is_kana", None)
    if f is not None:
        return f(value)
    return all(("\u3041" <= ch <= "\u309f") or ("\u30a0" <= ch <= "\u30ff") or ("\uff66" <= ch <= "\uff9f")
               or ch in " \u3000" for ch in value)


def parse_row(n: int, line: int, cells: dict, seen: set[str]) -> SearchCondition | RowError:
    renban = _text(cells.get("連番", ""))

    def err(field: str, reason: str) -> RowError:
        return RowError(n, line, renban or None, field, reason)

    if not renban:
        return err("連番", "連番がありません")
    if renban in seen:
        return err("連番", "連番が重複しています")
    seen.add(renban)
    target = _text(cells.get("対象", "")) or TARGET_JUMIN
    if target not in TARGETS:
        return err("対象", "本人確認情報 または 附票 を指定してください")
    kojin = code = None
    raw = _text(cells.get("個人番号", ""))
    if raw:
        kojin = normalize.digits(raw)
        if len(kojin) != 12 or not kojin.isascii() or not kojin.isdigit():
            return err("個人番号", "12 桁の数字ではありません")
        if not valid_kojin_bango(kojin):
            return err("個人番号", "チェックデジットが不正です")
    raw = _text(cells.get("住民票コード", ""))
    if raw:
        code = normalize.digits(raw)
        if len(code) != 11 or not code.isascii() or not code.isdigit():
            return err("住民票コード", "11 桁の数字ではありません")
        if not valid_jumin_code(code):
            return err("住民票コード", "チェックデジットが不正です")
    name = _text(cells.get("氏名", "")) or None
    kana = _text(cells.get("氏名かな", "")) or None
    if kana and not _is_kana(kana):
        return err("氏名かな", "ひらがな・カタカナ以外の文字があります")
    birth = None
    raw_birth = cells.get("生年月日", "")
    if isinstance(raw_birth, date):
        birth = raw_birth
    elif _text(raw_birth):
        try:
            birth = normalize.parse_date(_text(raw_birth))
        except normalize.DateError as exc:
            return err("生年月日", str(exc) or "日付として読めません")
    sex = None
    raw = _text(cells.get("性別", ""))
    if raw:
        sex = SEX.get(normalize.digits(raw) if raw.isdigit() else raw)
        if sex is None:
            return err("性別", "男・女・1・2 のいずれかを指定してください")
    address = _text(cells.get("住所", "")) or None
    four = bool((name or kana) and birth and address)
    if target == TARGET_FUHYO:
        if not code and not four:
            if kojin:
                return err("個人番号", "附票の照会に個人番号は使えません（住民票コードまたは4情報を指定してください）")
            return _missing_key(err, name or kana, birth, address)
        kojin = None  # 個人番号 is not a key for 附票
    elif not (kojin or code or four):
        return _missing_key(err, name or kana, birth, address)
    return SearchCondition(n, line, renban, target, kojin, code, name, kana, birth, sex, address)


def _missing_key(err, name, birth, address) -> RowError:
    if name and birth and not address:
        return err("住所", "氏名と生年月日だけでは照会できません（4情報の照会には住所が必要です）")
    if name or birth or address:
        missing = [f for f, v in (("氏名または氏名かな", name), ("生年月日", birth), ("住所", address)) if not v]
        return err(missing[0], "4情報の照会に必要な項目がありません")
    return err("検索キー", "個人番号、住民票コード、または4情報（氏名・生年月日・住所）を指定してください")
