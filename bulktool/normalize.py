"""Japanese text and date normalisation for matching (contract §3 生年月日, §4). Pure functions.

Each key function applies a fixed, documented list of rules (docs/normalize.md) and is used on
both sides — at load time for the store, at match time for the request — so both agree. A key is
for comparison only: it is never shown, stored as the person's data, or written to a result.

Pitfalls guarded against:
- NFKC (and even NFC) rewrites CJK compatibility ideographs: U+FA19 神 → U+795E 神. Kanji names
  are therefore never NFKC/NFC-folded; only ASCII and half-width kana are width-folded, by table
  and by NFKC applied to runs of kana alone. Addresses are NFKC-folded on purpose (a place name's
  glyph variant is not an identity, a person's registered name character is).
- Ideographic variation selectors (IVS, U+E0100–E01EF) and U+FE00–FE0F are dropped for matching
  only; the stored and provided name keeps them.
- Python's cp932 codec changes 〜 (U+301C) to ～ (U+FF5E) and − (U+2212) to － (U+FF0D) on a round
  trip: every dash and wave look-alike is folded to one form before comparing, so a file that went
  through CP932 matches the store.
- 𠮷 (U+20BB7) is outside CP932 and outside the BMP: it is kept as one character (Python strings
  are code points, not UTF-16 units) and never folded to 吉.
- Half-width katakana carry (han)dakuten as separate characters (ｶﾞ = ｶ + ﾞ), and macOS text may
  carry combining U+3099/U+309A: they are composed (names) or dropped with 清音化 (kana keys), so
  ｶﾞ, ガ and カ+U+3099 agree.
- ー is a 長音 in kana (センター) but a hyphen after a number (2ー3): in addresses only a ー right
  after a number (or its 番/号) is a hyphen; in kana keys 長音 and its look-alikes (－−‐-～〜)
  become the lengthened vowel.
- 清音化 (が→か, ぱ→は) merges readings on purpose, for kana only: 「はし」 and 「はじ」 become one
  key. That is why a kana-only query must also agree on birth date and address, and why several
  persons on one key come out 複数該当, never a silent single hit.
- 「ヶ」「ケ」「ヵ」「ｹ」「が」「ガ」 between two kanji in an address (霞ヶ関/霞ケ関/霞が関) are one
  key; カ and ノ/の are not folded (霞カ関 is not a spelling, 一ノ瀬/一の瀬 are left as written).
- Kanji numerals in addresses are converted only where they are address numbers (before
  丁目/番地/番/号/の/-/条/線/地割 or at the end), never inside a place name (四日市, 一番町, 八幡町).
- Old and new character forms (髙/高, 齋/斎, 邊/辺) are different registered characters and are
  never folded: a kanji mismatch can still match through the kana and the other 4情報.
- 和暦 before 明治6年1月1日 (1873-01-01) is a lunisolar (旧暦) date: year + offset would be wrong,
  so such a date is refused, not silently shifted.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

# --- character sets ---------------------------------------------------------------------
#: Every character str.isspace() accepts (a literal: computing it costs 10+ ms at import).
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
               "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters and BOM
_VARIATION = range(0xFE00, 0xFE10)  # the supplementary IVS (U+E0100–E01EF) go by _IVS_RE
_IVS_RE = re.compile("[\U000e0100-\U000e01ef]+")
#: Every hyphen look-alike other than the katakana 長音 (ー, ｰ).
HYPHENS = "-‐‑‒–—―−－─━"
#: Characters taken as 長音 in kana (the 長音 itself, the hyphens, and the wave dashes).
LONG_MARKS = "ーｰ" + HYPHENS + "～〜~"
_FULL_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # ！…～ → !…~
_IDENTITY = list(range(0x10000))


def _bmp_table(mapping: dict[int, object]) -> list:
    """A str.translate table indexed by code point over the BMP: about 3× faster than a dict on
    Japanese text. Characters above U+FFFF fall outside (IndexError) and are left untouched."""
    table: list = _IDENTITY.copy()  # shares the int objects: 512 KiB of pointers per table
    for cp, value in mapping.items():
        table[cp] = value
    return table


_DIGITS_TABLE = _bmp_table({**{0xFF10 + i: 0x30 + i for i in range(10)},
                            **{ord(c): None for c in _WHITESPACE + _INVISIBLE + HYPHENS + "ーｰ"}})

_NAME_TABLE_WIDTH = _bmp_table(_FULL_ASCII)
_NAME_TABLE = _bmp_table({**_FULL_ASCII, **{ord(c): None for c in _WHITESPACE + _INVISIBLE},
                          **{cp: None for cp in _VARIATION}})
# A half-width katakana run (or combining sound marks), with the kana before it: NFKC on kana
# alone is safe and composes ｶﾞ → ガ, ﾊﾟ → パ, ｳﾞ → ヴ, カ+U+3099 → ガ.
_NAME_RARE_RE = re.compile("[\U000e0100-\U000e01ef\uff61-\uff9f\u3099\u309a]")
_HALF_KANA_RE = re.compile("[\u3041-\u3096\u30a1-\u30fa]?[\uff61-\uff9f\u3099\u309a]+")


def _seion_hiragana(ch: str) -> str:
    """The large, unvoiced hiragana for one kana character (ガ→か, ァ→あ, ヴ→う, ヲ→お), or ''."""
    base = unicodedata.normalize("NFKC", ch)
    base = unicodedata.normalize("NFD", base).replace("\u3099", "").replace("\u309a", "")
    if len(base) != 1:
        return ""
    cp = ord(base)
    if 0x30A1 <= cp <= 0x30F6:
        base = chr(cp - 0x60)
    if base in "ヷヸヹヺ":  # NFD has no decomposition target in hiragana for these
        base = "わいえお"["ヷヸヹヺ".index(base)]
    return base.translate(str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖゐゑを", "あいうえおつやゆよわかけいえお"))


def _kana_table() -> list:
    table: dict[int, object] = dict(_FULL_ASCII)
    for cp in [*range(0x3041, 0x3097), *range(0x30A1, 0x30FB), *range(0xFF66, 0xFF9E), *range(0x31F0, 0x3200)]:
        ch = chr(cp)
        if ch == "ｰ":  # a 長音, handled below
            continue
        mapped = _seion_hiragana(ch)
        if mapped and mapped != ch:
            table[cp] = mapped
    for c in _WHITESPACE + _INVISIBLE + "・･\u3099\u309a゛゜ﾞﾟ":
        table[ord(c)] = None
    for cp in _VARIATION:
        table[cp] = None
    for c in LONG_MARKS:
        table[ord(c)] = "ー"
    for c in "ゝゞヽヾ":
        table[ord(c)] = "ゝ"  # iteration marks: repeat the kana before (voicing dropped by 清音化)
    return _bmp_table(table)


_KANA_TABLE = _kana_table()
_VOWEL = {ch: v for v, chars in (("あ", "あかさたなはまやらわ"), ("い", "いきしちにひみりえけせてねへめれ"),
                                  ("う", "うくすつぬふむゆるおこそとのほもよろ"))
          for ch in chars}
_VOWEL["え"] = "え"  # えー → ええ and おー → おお (おおの): only a consonant + e/o lengthens as
_VOWEL["お"] = "お"  # い/う (けい, こう), as 現代仮名遣い writes those long vowels
_HAS_KANA_RE = re.compile("[\u3041-\u3096\u30a1-\u30fa\u31f0-\u31ff\uff66-\uff6f\uff71-\uff9d]")
_KANA_RE = re.compile("[\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff65-\uff9f\u3099\u309a"
                      + re.escape(LONG_MARKS + _WHITESPACE) + "]+")


class DateError(ValueError):
    """A date that cannot be read or does not exist; str() is a Japanese reason without the value."""


# --- digits and names -------------------------------------------------------------------
def digits(value: str) -> str:
    """Full-width digits → ASCII; hyphens (every dash look-alike, ー included) and spaces dropped.
    Other characters are kept, so that a caller's length/isdigit check rejects them."""
    return value.translate(_DIGITS_TABLE)


def width(value: str) -> str:
    """Full-width ASCII → ASCII, half-width katakana → full-width (ｶﾞ → ガ). Kanji untouched."""
    value = value.translate(_NAME_TABLE_WIDTH)
    return _HALF_KANA_RE.sub(_nfkc_match, value) if _HALF_KANA_RE.search(value) else value


def _nfkc_match(m: re.Match) -> str:
    return unicodedata.normalize("NFKC", m.group(0))


@lru_cache(maxsize=1 << 16)
def name_key(name: str) -> str:
    """Kanji-name key: every space removed, variation selectors (IVS) dropped, full-width ASCII and
    half-width katakana width-folded. Kanji are never NFKC/NFC-folded (U+FA19 stays U+FA19), old
    and new forms stay apart, and kana keep their script (やまだ ≠ ヤマダ here: kana_key compares
    readings)."""
    value = name.translate(_NAME_TABLE)
    if value.isascii() or not _NAME_RARE_RE.search(value):  # one scan for the usual name
        return value
    value = _IVS_RE.sub("", value)
    return _HALF_KANA_RE.sub(_nfkc_match, value)


@lru_cache(maxsize=1 << 16)
def kana_key(kana: str) -> str:
    """Kana comparison key: half-width → full-width, katakana → hiragana, spaces and 中黒 dropped,
    small kana → large (ゃ→や, っ→つ), 清音化 (が→か, ぱ→は, ゔ→う), ゐゑを → いえお, 長音 and its
    look-alikes → the lengthened vowel (ユーコ → ゆうこ, コータ → こうた, ケーコ → けいこ), iteration
    marks (ゝゞ) → the kana before."""
    value = kana.translate(_KANA_TABLE)
    if "ー" in value or "ゝ" in value:
        value = _resolve_marks(value)
    return value


def _resolve_marks(value: str) -> str:
    """A 長音 becomes the vowel of the kana before it (ゆーー → ゆうう), an iteration mark repeats
    that kana; with no kana before (or after ん for a 長音), the mark is dropped."""
    out = []
    prev = ""
    for ch in value:
        if ch == "ー":
            ch = _VOWEL.get(prev, "")
        elif ch == "ゝ":
            ch = prev if prev in _VOWEL or prev == "ん" else ""
        if ch:
            out.append(ch)
            prev = ch
    return "".join(out)


def is_kana(value: str) -> bool:
    """Whether a 氏名かな holds only hiragana, katakana (full or half width), 長音 (and the
    look-alikes kana_key treats as 長音), 中黒 and spaces — and at least one kana."""
    return _KANA_RE.fullmatch(value) is not None and _HAS_KANA_RE.search(value) is not None


def split_name(name: str) -> tuple[str, str]:
    """(family, given) split at the first space (full or half width); given is '' if none."""
    parts = _SPACE_RE.split(name.strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


_SPACE_RE = re.compile("[" + re.escape(_WHITESPACE) + "]+")

# --- addresses --------------------------------------------------------------------------
KANJI_DIGIT = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNIT = {"十": 10, "百": 100, "千": 1000}
_KN = "〇零一二三四五六七八九十百千"
_ADDR_TABLE = _bmp_table({**{ord(c): " " for c in _WHITESPACE}, **{ord(c): None for c in _INVISIBLE},
                          **{cp: None for cp in [*_VARIATION, *range(0x300, 0x370), 0x3099, 0x309A]},
                          **{ord(c): "-" for c in HYPHENS}, ord("〜"): "~",
                          **{ord(c): "ケ" for c in "ヶヵ"}})
_SPACE_DIGITS_RE = re.compile(r"(?<=[0-9]) +(?=[0-9])")
_KANJI_CLASS = "\u3005\u3006\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KE_RE = re.compile(f"(?<=[{_KANJI_CLASS}])[ケがガ](?=[{_KANJI_CLASS}])")
_KANJI_NUM_RE = re.compile(f"[{_KN}]+(?=丁目|丁|番地|番(?!町)|号|の|-|ー[0-9{_KN}]|条|線|地割|$)")
# the last number of an address, in kanji, right after a separator and before a building name
# (「十四番地十八 コーポ桜」): a separator after a number says what follows is a number too
_KANJI_AFTER_SEP_RE = re.compile(f"(?<=[0-9])((?:丁目|番地の|番地|番(?!町)|-|の)+)([{_KN}]+)")
_KATA_DASH_RE = re.compile(r"(?<=[ァ-ヶ])-+(?![0-9])")
_SEP_RE = re.compile(r"(?<=[0-9])(?:丁目|番地の(?=[0-9])|番地|番(?!町)|号室|号|の(?=[0-9])|-|ー)+")
_DASH_RUN_RE = re.compile(r"-{2,}")
_TRAILING_DASH_RE = re.compile(r"(?<=[0-9])-(?![0-9])")
PREFECTURES = ("北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 "
               "富山県 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 "
               "鳥取県 島根県 岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 "
               "鹿児島県 沖縄県").split()
_PREF_RE = re.compile("(?:〒[0-9]{3}-?[0-9]{4})?(?:" + "|".join(PREFECTURES) + ")*")


def kanji_to_int(text: str) -> int:
    """二十三 → 23, 百五 → 105, 千二十 → 1020; digit by digit when no 十/百/千 (一〇五 → 105)."""
    if not any(c in _KANJI_UNIT for c in text):
        return int("".join(str(KANJI_DIGIT[c]) for c in text))
    total = current = 0
    for c in text:
        if c in KANJI_DIGIT:
            current = current * 10 + KANJI_DIGIT[c]
        else:
            total += (current or 1) * _KANJI_UNIT[c]
            current = 0
    return total + current


def _kanji_number(m: re.Match) -> str:
    return str(kanji_to_int(m.group(0)))


@lru_cache(maxsize=1 << 16)
def address_key(address: str) -> str:
    """Address key, so that 「2丁目1番地2号」「二丁目一番二号」「2-1-2」「２－１－２」「2丁目1-2」
    agree while 「1-12」/「11-2」 and 「2丁目1番2号」/「2丁目12号」 differ. In order: NFKC; a space
    between digits → '-', other spaces, IVS and stray combining marks dropped; hyphen look-alikes
    → '-', 〜 → ~, ヶ/ヵ → ケ; 大字 dropped; ケ/が/ガ between kanji → ケ; kanji numerals of address
    numbers → arabic; a dash after katakana (not before a digit) → ー (センタ－ = センター);
    丁目/番地/番/号/号室/の/ー after a number → '-'; a '-' ending a number dropped; a
    leading 〒 postal code and prefecture name dropped (the store holds one prefecture)."""
    v = unicodedata.normalize("NFKC", address).translate(_ADDR_TABLE)
    if " " in v:
        v = _SPACE_DIGITS_RE.sub("-", v).replace(" ", "")
    if not v.isascii() and _IVS_RE.search(v):
        v = _IVS_RE.sub("", v)
    if "大字" in v:
        while "大字" in v:
            v = v.replace("大字", "")
        v = unicodedata.normalize("NFKC", v)  # what the removal brought together (idempotence)
    elif not v.isascii() and not unicodedata.is_normalized("NFKC", v):
        v = unicodedata.normalize("NFKC", v)  # a deleted space or mark between two composable chars
    if "ケ" in v or "が" in v or "ガ" in v:
        v = _KE_RE.sub("ケ", v)
    v = _KANJI_NUM_RE.sub(_kanji_number, v)
    v = _KANJI_AFTER_SEP_RE.sub(lambda m: m.group(1) + str(kanji_to_int(m.group(2))), v)
    if "-" in v:
        v = _KATA_DASH_RE.sub("ー", v)
    v = _SEP_RE.sub("-", v)
    if "-" in v:
        if "--" in v:
            v = _DASH_RUN_RE.sub("-", v)
        if v[-1] == "-" and "0" <= v[-2:-1] <= "9":
            v = v[:-1]
        if _TRAILING_DASH_RE.search(v):
            # a dash between a number and a non-number (「1-の二」): dropping it brings them
            # together, which is a new text for the rules above — run them again (a fixpoint:
            # the text gets shorter each time), so that the key stays idempotent
            return address_key(_TRAILING_DASH_RE.sub("", v))
    end = _PREF_RE.match(v).end()  # type: ignore[union-attr]  (the pattern matches '' at least)
    return v[end:] if end else v


# --- dates ------------------------------------------------------------------------------
DATE_UNREADABLE = "日付として読めません"
DATE_NONEXISTENT = "存在しない日付です"
DATE_OUT_OF_ERA = "元号の期間外です"
DATE_LUNAR = "元号の期間外です（明治5年以前の和暦は旧暦のため、西暦で指定してください）"
#: Japan adopted the Gregorian calendar on 明治6年1月1日; earlier 和暦 dates are 旧暦.
GREGORIAN_FROM = date(1873, 1, 1)
#: (kanji, initial, first day, last day). 明治 begins 1868-01-25 (慶応4年1月1日): the 改元の詔 of
#: 1868-10-23 made the whole year 明治元年. The other boundaries are the days of accession.
ERAS = (
    ("明治", "M", date(1868, 1, 25), date(1912, 7, 29)),
    ("大正", "T", date(1912, 7, 30), date(1926, 12, 24)),
    ("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    ("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    ("令和", "R", date(2019, 5, 1), date.max),
)
_ERA_BY_NAME = {k: e for e in ERAS for k in (e[0], e[0][0], e[1], e[1].lower())}
_ERA = r"(明治|大正|昭和|平成|令和|[明大昭平令MTSHRmtshr])\.?"
_N = f"([0-9]{{1,2}}|[{_KN}]+)"
_WAREKI_RES = (re.compile(_ERA + f"([0-9]{{1,2}}|[{_KN}]+|元)年{_N}月{_N}日?"),
               re.compile(_ERA + r"([0-9]{1,2}|元)([./\-])([0-9]{1,2})\3([0-9]{1,2})"))
_ISO_RES = (re.compile(r"([0-9]{4})([./\-])([0-9]{1,2})\2([0-9]{1,2})"),
            re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?"),
            re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})"))
_DATE_TABLE = _bmp_table({**{ord(c): None for c in _WHITESPACE + _INVISIBLE}, **{ord(c): "-" for c in HYPHENS + "ー"}})


def _num(text: str) -> int:
    if text == "元":
        return 1
    return int(text) if text.isascii() else kanji_to_int(text)


def _make(y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise DateError(DATE_NONEXISTENT) from None


@lru_cache(maxsize=1 << 16)
def parse_date(value: str) -> date:
    """A date written as YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYYMMDD, YYYY年M月D日 or 和暦
    (昭和50年4月1日, 昭和五十年四月一日, S50.4.1, s50/4/1, H1-1-8, 平成元年1月8日, R3.8.10), full-width
    too. Raises DateError: 日付として読めません (no such form), 存在しない日付です (2023-02-29),
    元号の期間外です (平成31年5月1日, 昭和64年1月8日, 昭和0年; 明治5年以前 with a hint)."""
    text = unicodedata.normalize("NFKC", value).translate(_DATE_TABLE)
    for rx in _ISO_RES:
        m = rx.fullmatch(text)
        if m:
            g = m.groups()
            return _make(int(g[0]), int(g[-2]), int(g[-1]))
    for rx in _WAREKI_RES:
        m = rx.fullmatch(text)
        if m:
            break
    else:
        raise DateError(DATE_UNREADABLE)
    _, _, first, last = _ERA_BY_NAME[m.group(1)]
    year = first.year + _num(m.group(2)) - 1
    if not first.year <= year <= last.year:
        raise DateError(DATE_OUT_OF_ERA)
    day = _make(year, _num(m.group(m.lastindex - 1)), _num(m.group(m.lastindex)))
    if not first <= day <= last:
        raise DateError(DATE_OUT_OF_ERA)
    if day < GREGORIAN_FROM:
        raise DateError(DATE_LUNAR)
    return day
