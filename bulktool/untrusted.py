"""Text that comes from outside (the department's 依頼番号, the request file's name, the 依頼票's
strings) before it reaches the ledger or the operation log: one rule for both.

Such text is bounded in length, holds no control characters, and never holds a run of digits
shaped like a 個人番号 (12) or a 住民票コード (11) — in ASCII or full-width digits, or written in
groups (1234-5678-9012). This refuses a little more than numbers with a valid check digit, on
purpose: the guard must not depend on the sender writing a real number correctly.
"""
from __future__ import annotations

import re

from bulktool.messages import BulkError

_D = "[0-9０-９]"
_LOOKS_PERSONAL = re.compile(
    rf"(?<!{_D})(?:{_D}{{11,12}}|{_D}{{4}}[-‐－ 　]{_D}{{4}}[-‐－ 　]{_D}{{3,4}})(?!{_D})")
# C0 and C1 controls, DEL, and the bidi overrides that reorder what a screen shows
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LIMITS = {"依頼番号": 64, "ファイル名": 128, "決裁番号": 64, "見出し": 32}


def looks_personal(text: str) -> bool:
    """True when `text` holds a run of digits shaped like a 個人番号 or 住民票コード."""
    return bool(_LOOKS_PERSONAL.search(text))


def problem(text: object, what: str) -> str | None:
    """Why `text` may not be ledgered as `what` (依頼番号, ファイル名), or None."""
    if not isinstance(text, str):
        return "文字列ではありません"
    if len(text) > LIMITS[what]:
        return f"{LIMITS[what]} 文字を超えています"
    if _CONTROL.search(text):
        return "制御文字を含みます"
    if looks_personal(text):
        return "住民票コード・個人番号の形の数字を含みます"
    return None


UNRECORDABLE = "（記録できない名前）"


def ledger_name(name: str) -> str:
    """A file name as the ledger may record it: the name itself, or a placeholder when the rule
    above refuses it (a file on a drive may be named after a person)."""
    return name if problem(name, "ファイル名") is None else UNRECORDABLE


_RENBAN = re.compile(r"[A-Za-z0-9_\-]{1,12}")


def shown_renban(text: object) -> str | None:
    """A 連番 as a screen may show it (the terminal's 該当なし list, `request check`): short, plain
    letters and digits, and not a digit run shaped like a 住民票コード or 個人番号 — a 連番 cell
    may hold a resident's data (a column shifted in Excel). Else None: 「表示しません」."""
    if isinstance(text, str) and _RENBAN.fullmatch(text) and not looks_personal(text):
        return text
    return None


def check(text: object, what: str) -> str:
    """`text` if it may be ledgered as `what`; else the refusal E-REQ-020 (naming only what and why)."""
    why = problem(text, what)
    if why is not None:
        raise BulkError("E-REQ-020", field=what, reason=why)
    return text  # type: ignore[return-value]
