"""Data types shared along the exchange path (docs/contract.md): conditions → matching → results.

Plain frozen dataclasses; no I/O. Values that hold personal data (SearchCondition,
MatchResult.record) must never be printed, logged or put into an exception message:
their __repr__ hides them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

# The two store files (contract §2), by `kind`: 本人確認情報 (jumin) and 附票本人確認情報 (fuhyo). A
# 検索条件 row names its file in the 対象 column (TARGET_*, the Japanese cell text).
KIND_JUMIN = "jumin"
KIND_FUHYO = "fuhyo"
KINDS = (KIND_JUMIN, KIND_FUHYO)
TARGET_JUMIN = "本人確認情報"
TARGET_FUHYO = "附票"
TARGETS = (TARGET_JUMIN, TARGET_FUHYO)
KIND_OF_TARGET = {TARGET_JUMIN: KIND_JUMIN, TARGET_FUHYO: KIND_FUHYO}

# 消除 (contract §2): a person whose record in force is a 消除 is a 消除者 (answer 10).
#   jumin: told by the 異動事由 — one of REMOVAL_REASONS, or any reason ending in REMOVAL_SUFFIX;
#   fuhyo: 附票本人確認情報状態区分 FUHYO_STATUS_REMOVED.
# The one statement of the rule: matching uses is_removal; a backend's SQL (store stats) is built
# from these constants.
REMOVAL_REASONS = frozenset({"死亡", "転出", "国外転出", "職権消除", "失踪宣告", "消除"})
REMOVAL_SUFFIX = "消除"
# 附票本人確認情報状態区分 (this implementation's codes; docs/store.md)
FUHYO_STATUSES = {"1": "記載中", "2": "消除"}
FUHYO_STATUS_REMOVED = "2"


def is_removal(change_reason: str) -> bool:
    """True when a jumin record with this 異動事由 is a 消除."""
    return change_reason in REMOVAL_REASONS or change_reason.endswith(REMOVAL_SUFFIX)


class Status(str, Enum):
    HIT = "00"
    HIT_REMOVED = "10"
    NOT_FOUND = "20"
    MULTIPLE = "30"
    INPUT_ERROR = "90"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.HIT: "該当",
    Status.HIT_REMOVED: "該当（消除者）",
    Status.NOT_FOUND: "該当なし",
    Status.MULTIPLE: "複数該当",
    Status.INPUT_ERROR: "入力エラー",
}

# Fields a result may carry, in result-column order (contract §5), per target.
JUMIN_FIELDS = ("住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所", "個人番号", "異動事由", "異動年月日")
FUHYO_FIELDS = ("住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所", "個人番号")


# SearchCondition and MatchResult are made once per request row (a million per exchange) and
# never changed after. They are plain slotted dataclasses, not frozen ones: a frozen dataclass's
# __init__ sets each field through object.__setattr__, ≈ 1 µs more per object (measured:
# 1.22 µs vs 0.25 µs for 11 fields), ≈ 6 % of the whole exchange pipeline. Treat them as values.
@dataclass(slots=True)
class SearchCondition:
    """One valid row of a 検索条件 table, keys already digit-normalised.

    row_no is the 1-based data-row index (input order); line is the line or sheet row
    number in the file, for messages.
    """

    row_no: int
    line: int
    renban: str
    target: str = TARGET_JUMIN
    kojin_bango: str | None = None
    jumin_code: str | None = None
    name: str | None = None
    name_kana: str | None = None
    birth_date: date | None = None
    sex: str | None = None  # "1" or "2"
    address: str | None = None

    @property
    def kind(self) -> str:
        """The store file the row asks about: KIND_JUMIN or KIND_FUHYO (from its 対象)."""
        return KIND_OF_TARGET[self.target]

    def __repr__(self) -> str:  # never show personal data
        return f"SearchCondition(row_no={self.row_no}, renban=<hidden>, target={self.target!r})"


@dataclass(frozen=True, slots=True)
class RowError:
    """A row answered 90 入力エラー. reason names the field and why, never its value."""

    row_no: int
    line: int
    renban: str | None
    field: str
    reason: str

    @property
    def message(self) -> str:
        return f"入力エラー：{self.field}（{self.reason}）"


@dataclass(slots=True)
class MatchResult:
    """The answer to one row. record maps result field names (JUMIN_FIELDS) to cell text
    for 00 and 10; it is empty otherwise."""

    row_no: int
    renban: str
    status: Status
    count: int | None
    message: str
    record: dict[str, str] = field(default_factory=dict)
    gaiji: bool = False  # the stored record carries 外字 (外字フラグ)

    def __repr__(self) -> str:
        return f"MatchResult(row_no={self.row_no}, status={self.status.value}, count={self.count})"
