"""Columns of the two store files (contract §2), with the rule each cell follows: the Japanese CSV
header, in order, the English identifier used by the backends, the kind of value, and whether
the cell may be empty.

This is the ONE declaration of the column rules. Both validators of store/validate.py (the
row-wise one and the vectorised one) are built from it, and so are the typed values a backend
returns (`converter`).
"""
from __future__ import annotations

from typing import NamedTuple

from bulktool.model import FUHYO_STATUSES, KIND_FUHYO, KIND_JUMIN, KINDS

__all__ = ["KIND_JUMIN", "KIND_FUHYO", "KINDS", "SCHEMA", "COLUMNS", "HEADERS", "JUMIN_COLUMNS"]

# Kinds of value (store/validate.py gives each its check and its reason; docs/store.md):
CODE = "code"  # 住民票コード: 11 ASCII digits, the last the 総務省令 check digit
KOJIN = "kojin"  # 個人番号: 12 ASCII digits, the last the 総務省令 check digit
DATE = "date"  # YYYY-MM-DD that exists
SEX = "sex"  # 1 男, 2 女
FLAG = "flag"  # 1 set; 0 or empty not set
INT = "int"  # a count or 連番: a non-negative integer in ASCII digits
CITY = "city"  # 市町村コード: 6 ASCII digits, the last the JIS X 0402 check digit
DIGITS = "digits"  # ASCII digits (a code kept as text)
STATUS = "status"  # 附票本人確認情報状態区分: a key of model.FUHYO_STATUSES
TEXT = "text"  # anything but U+001F (UNIT_SEPARATOR)

ENUMS = {SEX: frozenset({"1", "2"}), FLAG: frozenset({"", "0", "1"}), STATUS: frozenset(FUHYO_STATUSES)}
UNIT_SEPARATOR = "\x1f"  # never in a text cell: a backend may join cells with it


class Column(NamedTuple):
    ja: str  # the CSV header
    en: str  # the identifier in the database
    kind: str  # CODE, KOJIN, …
    required: bool | str = False  # True: never empty; a column name: this one or that one is given


REQ = True
JUMIN: tuple[Column, ...] = (
    Column("住民票コード", "jumin_code", CODE, REQ),
    Column("漢字氏名", "name", TEXT, REQ),
    Column("外字数（氏名）", "name_gaiji_count", INT),
    Column("ふりがな氏名", "name_kana", TEXT),  # older records have none
    Column("生年月日", "birth_date", DATE, REQ),
    Column("性別", "sex", SEX, REQ),
    Column("住所", "address", TEXT, REQ),
    Column("外字数（住所）", "address_gaiji_count", INT),
    Column("個人番号", "kojin_bango", KOJIN),  # rows written before 2015-10 have none
    Column("異動事由", "change_reason", TEXT, REQ),
    Column("異動年月日", "change_date", DATE, REQ),
    Column("保存期間フラグ", "retention_flag", FLAG),
    Column("清音化かな氏名", "seion_kana", TEXT),
    Column("市町村コード", "city_code", CITY, REQ),
    Column("大字・字コード", "aza_code", DIGITS),
    Column("操作者ID", "operator_id", TEXT),
    Column("操作端末ID", "terminal_id", TEXT),
    Column("タイムスタンプ", "timestamp", TEXT),
    Column("通知を受けた年月日", "notified_date", DATE),
    Column("外字フラグ", "gaiji_flag", FLAG),
    Column("削除フラグ", "deleted_flag", FLAG),
    Column("更新順番号", "update_seq", INT, REQ),
    Column("氏名外字変更連番", "name_gaiji_seq", INT),
    Column("住所外字変更連番", "address_gaiji_seq", INT),
    Column("旧氏 漢字", "old_name", TEXT),
    Column("旧氏 外字数", "old_name_gaiji_count", INT),
    Column("旧氏 ふりがな", "old_name_kana", TEXT),
    Column("旧氏 外字変更連番", "old_name_gaiji_seq", INT),
)

FUHYO: tuple[Column, ...] = (
    Column("住民票コード", "jumin_code", CODE, REQ),
    Column("氏名漢字", "name", TEXT, REQ),
    Column("氏名外字数", "name_gaiji_count", INT),
    Column("氏名ふりがな", "name_kana", TEXT),
    Column("生年月日", "birth_date", DATE, REQ),
    Column("性別", "sex", SEX, REQ),
    Column("住所市町村コード", "city_code", CITY),  # empty for a person abroad
    Column("住所漢字", "address", TEXT, "last_address"),  # or, for a person abroad, 最終住所漢字
    Column("住所外字数", "address_gaiji_count", INT),
    Column("最終住所漢字", "last_address", TEXT),
    Column("最終住所外字数", "last_address_gaiji_count", INT),
    Column("異動年月日", "change_date", DATE, REQ),
    Column("旧住民票コード", "old_jumin_code", CODE),
    Column("附票管理市町村コード", "fuhyo_city_code", CITY, REQ),
    Column("附票本人確認情報状態区分", "fuhyo_status", STATUS, REQ),
    Column("外字フラグ", "gaiji_flag", FLAG),
    Column("外字パターン", "gaiji_pattern", TEXT),
    Column("通知区分", "notice_kind", TEXT),
    Column("旧氏 漢字", "old_name", TEXT),
    Column("旧氏 外字数", "old_name_gaiji_count", INT),
    Column("旧氏 ふりがな", "old_name_kana", TEXT),
    Column("旧氏 外字変更連番", "old_name_gaiji_seq", INT),
)

SCHEMA: dict[str, tuple[Column, ...]] = {KIND_JUMIN: JUMIN, KIND_FUHYO: FUHYO}
COLUMNS = {kind: tuple((c.ja, c.en) for c in cols) for kind, cols in SCHEMA.items()}
JUMIN_COLUMNS = COLUMNS[KIND_JUMIN]  # benchmarks/bench_load.py
HEADERS = {kind: tuple(c.ja for c in cols) for kind, cols in SCHEMA.items()}

# How a stored cell's text becomes the value a backend returns (backend.py: "flags and counts are
# integers; an empty cell is None, an empty flag 0").
FLAG_COLUMNS = frozenset(c.en for cols in SCHEMA.values() for c in cols if c.kind == FLAG)
INT_COLUMNS = frozenset(c.en for cols in SCHEMA.values() for c in cols if c.kind in (INT, FLAG))


def _flag(v: str) -> int:
    return int(v) if v else 0


def _int(v: str) -> int | None:
    return int(v) if v else None


def converter(name: str):
    """How a stored cell's text becomes its value, for column `name`: a flag → int (empty = 0),
    another count → int (empty = None), text → itself (empty = None: the converter is None)."""
    if name in FLAG_COLUMNS:
        return _flag
    if name in INT_COLUMNS:
        return _int
    return None
