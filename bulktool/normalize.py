"""Japanese text and date normalisation for matching (SPEC §3, §4). Pure functions.

Each key function applies a fixed, documented list of rules (docs/normalize.md) and is used on
both sides — at load time for the store, at match time for the request — so both agree.

Pitfalls guarded against:
- NFKC (and even NFC) rewrites CJK compatibility ideographs: U+FA19 神 → U+795E 神. Kanji names
  are therefore never NFKC/NFC-folded; only ASCII and half-width kana are width-folded by table.
- Ideographic variation selectors (IVS, U+E0100–E01EF) and U+FE00–FE0F are dropped for matching
  only; the stored and provided name keeps them.
- Python's cp932 codec changes 〜 (U+301C) to ～ (U+FF5E) and − (U+2212) to － (U+FF0D) on a round
  trip: every dash and wave look-alike is folded to one form before comparing.
- 𠮷 (U+20BB7) is outside CP932 and outside the BMP: nothing here assumes one char = one BMP unit.
- Half-width katakana carry dakuten as separate characters (ｶﾞ = ｶ + ﾞ): they are composed to ガ
  before anything else, so ｶﾞ and ガ agree.
- ー is a 長音 in kana (センター) but a hyphen between digits (2ー3): only digit-digit dashes are
  hyphens in addresses; in kana keys 長音 and its look-alikes are dropped.
- 清音化 (が→か, ぱ→は) merges readings on purpose, for kana only: 「はし」 and 「はじ」 become one
  key. That is why a kana-only query must also agree on birth date and address, and why several
  persons on one key come out 複数該当, never a silent single hit.
- Kanji numerals in addresses are converted only where they are numbers of the address (before
  丁目/番/番地/号/の/- or at the end), never inside a place name (八幡町, 四日市 stay as written).
- Old and new character forms (髙/高, 齋/斎, 邊/辺) are different registered characters and are
  never folded: a kanji mismatch still matches through the kana and the other 4情報.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

import jaconv

# --- character tables -------------------------------------------------------------------
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # full-width ASCII → ASCII
_WIDTH[0x3000] = 0x20
_SPACE_RE = re.compile(r"[\s\u3000\u200b\u2060\ufeff]+")
_VS_RE = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
DASHES = "-‐‑‒–—―−－ｰ─━ー〜～~"
_DIGIT_DASH_RE = re.compile(r"(?<=[0-9])[" + re.escape(DASHES) + r"]+(?=[0-9])")
_SMALL = str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖゐゑ", "あいうえおつやゆよわかけいえ")
_LONG_RE = re.compile("[" + re.escape("ー－−‐-～〜ｰ―—–") + "]")
_KANA_RE = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\uff66-\uff9f\s\u3000・]+")
KANJI_NUM = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUM_RE = re.compile(r"[〇零一二三四五六七八九十百千]+(?=丁目|丁|番地|番(?!町)|号|の|-|条|線|地割|$)")
PREFECTURES = ("北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 "
               "富山県 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 "
               "鳥取県 島根県 岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 "
               "鹿児島県 沖縄県").split()
_PREF_RE = re.compile("^(?:" + "|".join(PREFECTURES) + ")")
_KE_RE = re.compile(r"(?<=[\u4e00-\u9fff])[ヶヵケがガｹ](?=[\u4e00-\u9fff])")


class DateError(ValueError):
    """A date that cannot be read or does not exist; str() is a Japanese reason without the value."""


def width(value: str) -> str:
    """Full-width ASCII → ASCII, ideographic space → space, half-width katakana → full-width
    (dakuten composed). Kanji are untouched."""
    value = value.translate(_WIDTH)
    if any("\uff61" <= ch <= "\uff9f" for ch in value):
        value = jaconv.h2z(value, kana=True, ascii=False, digit=False)
    return value


def digits(value: str) -> str:
    """Full-width digits to ASCII; hyphens (every dash look-alike) and spaces dropped. Other
    characters are kept, so that a caller's length/isdigit check rejects them."""
    value = value.translate(_WIDTH)
    return re.sub("[\\s" + re.escape(DASHES) + "]", "", value)


@lru_cache(maxsize=1 << 17)
def name_key(name: str) -> str:
    """Kanji-name key: spaces removed, IVS dropped, ASCII and half-width kana width-folded; kanji
    never NFKC-folded and kana script (ひらがな/カタカナ) kept as written, since both are
    registered names in their own right."""
    return _SPACE_RE.sub("", _VS_RE.sub("", width(name)))


@lru_cache(maxsize=1 << 17)
def kana_key(kana: str) -> str:
    """Kana comparison key: width, katakana → hiragana, spaces, small kana → large, 長音 dropped,
    and 清音化 (dakuten and handakuten removed: が→か, ぱ→は, ゔ→う)."""
    value = jaconv.kata2hira(width(kana))
    value = _SPACE_RE.sub("", value).replace("・", "")
    value = _long_vowels(value.translate(_SMALL))
    decomposed = unicodedata.normalize("NFD", value)
    return unicodedata.normalize("NFC", decomposed.replace("\u3099", "").replace("\u309a", ""))


_VOWEL_ROWS = {"あ": "あかさたなはまやらわがざだばぱ", "い": "いきしちにひみりぎじぢびぴ", "う": "うくすつぬふむゆるぐずづぶぷゔ",
               "え": "えけせてねへめれげぜでべぺ", "う ": "おこそとのほもよろをごぞどぼぽ"}
_VOWEL_OF = {ch: v.strip() for v, chars in _VOWEL_ROWS.items() for ch in chars}


def _long_vowels(value: str) -> str:
    """長音 (ー and look-alikes) → the vowel it lengthens (ゆーこ → ゆうこ; o-row → う, as in こう);
    dropped where no kana precedes it."""
    if not _LONG_RE.search(value):
        return value
    out: list[str] = []
    for ch in value:
        if _LONG_RE.fullmatch(ch):
            prev = out[-1] if out else ""
            vowel = _VOWEL_OF.get(prev)
            if vowel:
                out.append(vowel)
            continue
        out.append(ch)
    return "".join(out)


def kanji_to_int(text: str) -> int:
    """二十三 → 23, 百五 → 105, 一〇五 → 105 (digit by digit when no 十/百/千)."""
    if not any(c in "十百千" for c in text):
        return int("".join(str(KANJI_NUM[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c in KANJI_NUM:
            current = current * 10 + KANJI_NUM[c] if current else KANJI_NUM[c]
        else:
            unit = {"十": 10, "百": 100, "千": 1000}[c]
            total += (current or 1) * unit
            current = 0
    return total + current


@lru_cache(maxsize=1 << 18)
def address_key(address: str) -> str:
    """Address key: width, spaces, prefecture prefix, 大字, ケ/ヶ/が between kanji, kanji numerals
    of the address numbers, and 丁目/番地/番/号/の/dashes → one hyphenated form, so that
    「2丁目1番地2号」「二丁目一番二号」「2-1-2」「２－１－２」 agree while 「1-12」 and 「11-2」 differ."""
    v = _SPACE_RE.sub("", _VS_RE.sub("", width(address)))
    v = _PREF_RE.sub("", v).replace("大字", "")
    v = _KE_RE.sub("ケ", v)
    v = _KANJI_NUM_RE.sub(lambda m: str(kanji_to_int(m.group(0))), v)
    v = v.replace("号室", "").replace("番地の", "-").replace("番地", "-").replace("丁目", "-")
    v = re.sub(r"(?<=[0-9])番(?!町)", "-", v)
    v = re.sub(r"(?<=[0-9])号", "-", v)
    v = re.sub(r"(?<=[0-9])の(?=[0-9])", "-", v)
    v = _DIGIT_DASH_RE.sub("-", v)
    v = re.sub(r"-{2,}", "-", v)
    v = re.sub(r"-(?=[^0-9]|$)", "", v)
    return v


def split_name(name: str) -> tuple[str, str]:
    """(family, given) split at the first space (full or half width); given is '' if none."""
    parts = _SPACE_RE.split(name.strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def is_kana(value: str) -> bool:
    """Only hiragana, katakana (full or half width), 長音, 中黒 and spaces."""
    return bool(value) and _KANA_RE.fullmatch(value.replace("ｰ", "ー")) is not None


# --- dates ------------------------------------------------------------------------------
# (kanji, romaji initial, first day, last day)
ERAS = (
    ("明治", "M", date(1868, 1, 25), date(1912, 7, 29)),
    ("大正", "T", date(1912, 7, 30), date(1926, 12, 24)),
    ("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    ("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    ("令和", "R", date(2019, 5, 1), date(9999, 12, 31)),
)
_ERA_BY_NAME = {k: e for e in ERAS for k in (e[0], e[0][0], e[1], e[1].lower())}
_NUM = r"([0-9]{1,4}|[〇一二三四五六七八九十百千]+|元)"
_WAREKI_RE = re.compile(r"(明治|大正|昭和|平成|令和|明|大|昭|平|令|[MTSHRmtshr])\.?\s*" + _NUM
                        + r"\s*[年./\-]\s*" + _NUM + r"\s*[月./\-]\s*" + _NUM + r"\s*日?")
_ISO_RE = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})|([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?"
                     r"|([0-9]{4})([0-9]{2})([0-9]{2})")


def _num(text: str) -> int:
    if text == "元":
        return 1
    return int(text) if text.isdigit() else kanji_to_int(text)


def _make(y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise DateError("存在しない日付です") from None


@lru_cache(maxsize=65536)
def parse_date(value: str) -> date:
    """A date written as YYYY-MM-DD, YYYY/M/D, YYYYMMDD, YYYY年M月D日 or 和暦 (昭和50年4月1日,
    S50.4.1, 平成元年1月8日, R3.8.10, full-width digits too). A date that does not exist, or lies
    outside its era (平成31年5月1日, 昭和64年1月8日), raises DateError."""
    text = _SPACE_RE.sub("", value.translate(_WIDTH)).strip()
    m = _ISO_RE.fullmatch(text)
    if m:
        g = [x for x in m.groups() if x is not None]
        return _make(int(g[0]), int(g[1]), int(g[2]))
    m = _WAREKI_RE.fullmatch(text)
    if not m:
        raise DateError("日付として読めません")
    era = _ERA_BY_NAME[m.group(1)]
    year = _num(m.group(2))
    if year < 1:
        raise DateError("元号の期間外です")
    d = _make(era[2].year + year - 1, _num(m.group(3)), _num(m.group(4)))
    if not era[2] <= d <= era[3]:
        raise DateError("元号の期間外です")
    return d
