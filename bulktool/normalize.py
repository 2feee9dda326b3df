"""Japanese text and date normalisation for matching (SPEC §4).

SKELETON: the signatures below are the contract other modules call; the normalize helper
replaces the bodies with the full rules and documents every pitfall here.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

import jaconv

_SPACES = re.compile(r"[\s\u3000]+")


class DateError(ValueError):
    """A date that cannot be read or does not exist; str() is a Japanese reason without the value."""


def digits(value: str) -> str:
    """Full-width digits to ASCII; hyphens and spaces dropped. Other characters are kept,
    so that a caller's length/isdigit check rejects them."""
    value = unicodedata.normalize("NFKC", value)
    return re.sub(r"[\s\-‐‑‒–—―−ー－]", "", value)


def name_key(name: str) -> str:
    """Key for comparing kanji names: spaces removed, IVS dropped, kanji never NFKC-folded."""
    return _SPACES.sub("", name)


def kana_key(kana: str) -> str:
    """Key for comparing kana names: hiragana, spaces removed, small kana enlarged, 清音化."""
    value = jaconv.h2z(kana, kana=True, ascii=False, digit=False)
    value = jaconv.kata2hira(value)
    return _SPACES.sub("", value)


def address_key(address: str) -> str:
    """Key for comparing addresses: width, spaces, kanji numerals, 丁目/番地/号 and hyphens."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", address))


def split_name(name: str) -> tuple[str, str]:
    """(family, given) split at the first space (full or half width); given is '' if none."""
    parts = _SPACES.split(name.strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def parse_date(value: str) -> date:
    """A date written as YYYY-MM-DD, YYYY/M/D, YYYYMMDD or 和暦; raises DateError."""
    value = unicodedata.normalize("NFKC", value).strip()
    m = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})|(\d{4})(\d{2})(\d{2})", value)
    if not m:
        raise DateError("日付として読めません")
    y, mo, d = (int(g) for g in (m.groups()[:3] if m.group(1) else m.groups()[3:]))
    try:
        return date(y, mo, d)
    except ValueError:
        raise DateError("存在しない日付です") from None
