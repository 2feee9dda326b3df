"""The test oracle: labelled queries — a 検索条件 table written with realistic noise, each row
with the answer the contract requires, derived from the generated truth (never from
bulktool.normalize, which is what it checks)."""
from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import date

from bulktool.store.generate.addresses import FULL_WIDTH, Address
from bulktool.store.generate.persons import Person, Version, jumin_code_for
from bulktool.store.generate.tables import cumulative, hira2kata, seion_reading

QUERY_COLUMNS = ("連番", "対象", "個人番号", "住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所")

Q_CODE, Q_KOJIN, Q_FOUR, Q_FOUR_KANA, Q_FOUR_BOTH = "住民票コード", "個人番号", "4情報（漢字）", "4情報（かな）", "4情報（漢字とかな）"
Q_OLD_NAME, Q_PAIR, Q_OLD_ADDRESS, Q_NAME_BIRTH = "旧氏で4情報", "よく似た別人", "転居前の住所", "氏名と生年月日のみ"
Q_UNKNOWN_CODE, Q_UNKNOWN_FOUR, Q_FUHYO_CODE, Q_FUHYO_KOJIN = "該当なし（住民票コード）", "該当なし（4情報）", "附票（住民票コード）", "附票（個人番号のみ）"
Q_BAD_CHECK = "個人番号のチェックデジット誤り"
_QUERY_MIX = ((Q_CODE, 12), (Q_KOJIN, 12), (Q_FOUR, 18), (Q_FOUR_KANA, 12), (Q_FOUR_BOTH, 6), (Q_OLD_NAME, 5),
              (Q_PAIR, 10), (Q_OLD_ADDRESS, 5), (Q_NAME_BIRTH, 8), (Q_UNKNOWN_CODE, 4), (Q_UNKNOWN_FOUR, 4),
              (Q_FUHYO_CODE, 6), (Q_FUHYO_KOJIN, 2), (Q_BAD_CHECK, 2))
_QUERY_CUM = cumulative([w for _, w in _QUERY_MIX])
ERAS = (("令和", "R", date(2019, 5, 1)), ("平成", "H", date(1989, 1, 8)), ("昭和", "S", date(1926, 12, 25)),
        ("大正", "T", date(1912, 7, 30)), ("明治", "M", date(1868, 1, 25)))
_VS = "".join(chr(c) for c in range(0xFE00, 0xFE10)) + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
_LARGE = str.maketrans("ゃゅょっぁぃぅぇぉ", "やゆよつあいうえお")
_O_U_ROWS = set("おこそとのほもよろごぞどぼぽうくすつぬふむゆるぐずづぶぷょゅ")


@dataclass
class LabelledQuery:
    """One 検索条件 row (contract §3 column → cell text) and its right answer from the truth:
    expected_status 00/10 with expected_code (the right person's 住民票コード), or 20/30/90."""

    row: dict[str, str]
    expected_status: str
    expected_code: str | None
    kind: str  # Q_*: what the row exercises
    noise: tuple[str, ...] = ()  # which written forms were used (e.g. "和暦", "全角", "半角カナ")

    def __repr__(self) -> str:  # the row holds (invented) personal data
        return f"LabelledQuery(kind={self.kind!r}, expected={self.expected_status}, noise={self.noise})"


def wareki(d: date, abbreviated: bool = False) -> str:
    """昭和50年4月1日 (元年 for year 1) or S50.4.1."""
    for name, abbr, start in ERAS:
        if d >= start:
            y = d.year - start.year + 1
            if abbreviated:
                return f"{abbr}{y}.{d.month}.{d.day}"
            return f"{name}{'元' if y == 1 else y}年{d.month}月{d.day}日"
    return d.isoformat()


def name_match_key(family: str, given: str) -> str:
    """What identifies a kanji name in the truth: family + given, variation selectors ignored."""
    return (family + given).translate({ord(c): None for c in _VS})


def kana_match_key(family_kana: str, given_kana: str) -> str:
    return seion_reading(family_kana + given_kana)


class _Truth:
    """The people in force on `today`, indexed on the canonical 4情報."""

    def __init__(self, people: list[Person], today: date | None) -> None:
        self.people = people
        self.current: dict[str, tuple[Person, Version]] = {}
        self.by_name: dict[tuple, set[str]] = {}
        self.by_kana: dict[tuple, set[str]] = {}
        for p in people:
            v = p.in_force(today)
            if v is None:
                continue
            self.current[p.code] = (p, v)
            addr = v.address.canonical()
            for fam, kana in ((v.family, v.kana), (v.old_family, v.old_kana)):
                if fam:
                    self.by_name.setdefault((name_match_key(fam, p.given), p.birth, addr), set()).add(p.code)
                if kana:
                    self.by_kana.setdefault((kana_match_key(kana, p.given_kana), p.birth, addr), set()).add(p.code)

    def four(self, name: str | None, kana: str | None, birth: int, addr: tuple, sex: str | None) -> set[str]:
        """Who a 4情報 condition means (both name and kana must hold when both are given)."""
        sets = []
        if name is not None:
            sets.append(self.by_name.get((name, birth, addr), set()))
        if kana is not None:
            sets.append(self.by_kana.get((kana, birth, addr), set()))
        codes = set.intersection(*sets) if sets else set()
        return {c for c in codes if not sex or self.current[c][0].sex == sex}


class _Noise:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: list[str] = []

    def pick(self, options: tuple[tuple[str, float], ...]) -> str:
        r = self.rng.random() * sum(w for _, w in options)
        for label, w in options:
            r -= w
            if r < 0:
                return label
        return options[-1][0]

    def digits(self, value: str, hyphenate: bool) -> str:
        form = self.pick((("半角", 5), ("全角", 2), ("ハイフン", 2 if hyphenate else 0), ("空白", 1 if hyphenate else 0)))
        if form == "全角":
            value = value.translate(FULL_WIDTH)
        elif form == "ハイフン":
            value = f"{value[:4]}-{value[4:8]}-{value[8:]}"
        elif form == "空白":
            value = f"{value[:4]} {value[4:8]} {value[8:]}"
        self.used.append(form)
        return value

    def name(self, family: str, given: str) -> str:
        sep = self.pick((("　", 5), (" ", 3), ("", 2)))
        self.used.append({"　": "全角空白", " ": "半角空白", "": "空白なし"}[sep])
        if any(c in _VS for c in family) and self.rng.random() < 0.5:
            family = family.translate({ord(c): None for c in _VS})
            self.used.append("異体字セレクタなし")
        return f"{family}{sep}{given}"

    def kana(self, family: str, given: str) -> str:
        """A reading written as a clerk might: script, spaces, 長音, large/small kana, 清音化."""
        rng = self.rng
        text = family + self.pick((("　", 4), (" ", 3), ("", 3))) + given
        if rng.random() < 0.15:  # 長音: ゆうこ → ゆーこ where う lengthens an o/u-row kana
            text = "".join("ー" if c == "う" and i and text[i - 1] in _O_U_ROWS else c for i, c in enumerate(text))
            if "ー" in text:
                self.used.append("長音")
        if rng.random() < 0.1 and text != text.translate(_LARGE):
            text = text.translate(_LARGE)
            self.used.append("小書き→大書き")
        if rng.random() < 0.05 and text != seion_reading(text):
            text = seion_reading(text)
            self.used.append("清音化")
        script = self.pick((("ひらがな", 5), ("カタカナ", 4), ("半角カナ", 2)))
        self.used.append(script)
        if script != "ひらがな":
            text = hira2kata(text)
        if script == "半角カナ":
            import jaconv
            text = jaconv.z2h(text, kana=True, ascii=False, digit=False)
        return text

    def birth(self, d: date) -> str:
        form = self.pick((("ISO", 4), ("スラッシュ", 2), ("8桁", 1), ("和暦", 3), ("和暦略記", 2), ("全角", 1)))
        self.used.append(form)
        if form == "ISO":
            return d.isoformat()
        if form == "スラッシュ":
            return f"{d.year}/{d.month}/{d.day}"
        if form == "8桁":
            return d.strftime("%Y%m%d")
        if form == "和暦":
            return wareki(d)
        if form == "和暦略記":
            return wareki(d, abbreviated=True)
        return (wareki(d) if self.rng.random() < 0.5 else d.isoformat()).translate(FULL_WIDTH)

    def address(self, a: Address) -> str:
        rng = self.rng
        style = rng.randrange(4)
        full, kanji_all = rng.random() < 0.15, a.chome > 0 and rng.random() < 0.12
        text = a.text(style, prefecture=rng.random() < 0.7, full_width=full, kanji_all=kanji_all,
                      space=self.pick((("　", 3), (" ", 2), ("", 2))))
        self.used.append("二丁目一番二号" if kanji_all else ("2丁目1番2号", "二丁目1番2号", "2-1-2", "2丁目1番地2")[style])
        if full:
            self.used.append("全角数字")
        if "霞ヶ丘" in text and rng.random() < 0.5:
            text = text.replace("霞ヶ丘", "霞ケ丘")
            self.used.append("ケ/ヶ")
        if "大字" in text and rng.random() < 0.4:
            text = text.replace("大字", "")
            self.used.append("大字なし")
        if text.endswith("号室") and rng.random() < 0.3:
            text = text[:-2]
            self.used.append("号室なし")
        return text

    def sex(self, sex: str) -> str:
        form = self.pick((("なし", 5), ("数字", 2), ("漢字", 2)))
        if form == "なし":
            return ""
        self.used.append("性別" + form)
        return sex if form == "数字" else {"1": "男", "2": "女"}[sex]


def labelled_queries(people: list[Person], seed: int, n: int, *, today: date | None = None) -> list[LabelledQuery]:
    """n 検索条件 rows built from the truth with realistic noise, each with the answer the contract
    requires (derived from the canonical truth, never from bulktool.normalize). `today` is the
    基準日 the rows will be matched on (None = the latest versions, i.e. the generation day)."""
    rng = random.Random(f"bulktool-labelled:{seed}")
    truth = _Truth(people, today)
    codes = sorted(truth.current)
    if not codes:
        return []
    with_old_name = [c for c in codes if truth.current[c][1].old_family]
    paired = [c for c in codes if truth.current[c][0].pair]
    movers = [c for c in codes if len({v.address for v in truth.current[c][0].versions if not v.deleted}) > 1]
    with_kojin = [c for c in codes if truth.current[c][0].kojin]
    next_free = max(p.index for p in people) + 1
    out: list[LabelledQuery] = []
    for i in range(n):
        kind = _QUERY_MIX[bisect(_QUERY_CUM, rng.random())][0]
        pool = {Q_OLD_NAME: with_old_name, Q_PAIR: paired, Q_OLD_ADDRESS: movers, Q_KOJIN: with_kojin,
                Q_NAME_BIRTH: with_kojin, Q_BAD_CHECK: with_kojin, Q_FUHYO_KOJIN: with_kojin}.get(kind, codes)
        if not pool:
            kind, pool = Q_FOUR, codes
        p, v = truth.current[rng.choice(pool)]
        out.append(_query(i + 1, kind, p, v, truth, rng, seed, next_free + i, today))
    return out


def _query(renban: int, kind: str, p: Person, v: Version, truth: _Truth, rng: random.Random, seed: int,
           free_index: int, today: date | None) -> LabelledQuery:
    noise = _Noise(rng)
    row = dict.fromkeys(QUERY_COLUMNS, "")
    row["連番"] = str(renban)
    hit = ("10" if v.removed else "00", p.code)
    expected: tuple[str, str | None]
    if kind == Q_CODE:
        row["住民票コード"] = noise.digits(p.code, hyphenate=False)
        expected = hit
    elif kind == Q_KOJIN:
        row["個人番号"] = noise.digits(p.kojin, hyphenate=True)
        expected = hit
    elif kind == Q_BAD_CHECK:
        bad = p.kojin[:-1] + str((int(p.kojin[-1]) + 1 + rng.randrange(9)) % 10)
        row["個人番号"] = noise.digits(bad, hyphenate=True)
        expected = ("90", None)
    elif kind == Q_UNKNOWN_CODE:
        row["住民票コード"] = noise.digits(jumin_code_for(free_index, seed), hyphenate=False)
        expected = ("20", None)
    elif kind in (Q_FUHYO_CODE, Q_FUHYO_KOJIN):
        row["対象"] = "附票"
        if kind == Q_FUHYO_KOJIN:
            row["個人番号"] = noise.digits(p.kojin, hyphenate=True)
            expected = ("90", None)
        else:
            row["住民票コード"] = noise.digits(p.code, hyphenate=False)
            f = p.fuhyo_in_force(today)
            expected = ("10" if f.status == "2" else "00", p.code)
    elif kind == Q_NAME_BIRTH:
        row["氏名"] = noise.name(v.family, p.given)
        row["生年月日"] = noise.birth(p.birth_date)
        row["性別"] = noise.sex(p.sex)
        expected = ("90", None)
    else:  # the 4情報 family of queries
        family, family_kana, addr, birth = v.family, v.kana, v.address, p.birth
        if kind == Q_OLD_NAME:
            family, family_kana = v.old_family, v.old_kana
        elif kind == Q_OLD_ADDRESS:
            addr = next(x.address for x in p.versions if not x.deleted and x.address != v.address)
        elif kind == Q_UNKNOWN_FOUR:
            birth += rng.choice((-400, -31, -1, 1, 2, 365))
        use_name = kind != Q_FOUR_KANA and not (kind == Q_PAIR and rng.random() < 0.4)
        use_kana = kind in (Q_FOUR_KANA, Q_FOUR_BOTH) or not use_name
        if use_name:
            row["氏名"] = noise.name(family, p.given)
        if use_kana:
            row["氏名かな"] = noise.kana(family_kana, p.given_kana)
        row["生年月日"] = noise.birth(date.fromordinal(birth))
        row["住所"] = noise.address(addr)
        row["性別"] = noise.sex(p.sex)
        who = truth.four(name_match_key(family, p.given) if use_name else None,
                         kana_match_key(family_kana, p.given_kana) if use_kana else None,
                         birth, addr.canonical(), p.sex if row["性別"] else None)
        if not who:
            expected = ("20", None)
        elif len(who) > 1:
            expected = ("30", None)
        else:
            code = next(iter(who))
            expected = ("10" if truth.current[code][1].removed else "00", code)
    if kind not in (Q_FUHYO_CODE, Q_FUHYO_KOJIN) and rng.random() < 0.2:
        row["対象"] = "本人確認情報"
    return LabelledQuery(row, expected[0], expected[1], kind, tuple(noise.used))
