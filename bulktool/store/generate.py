"""Deterministic, realistic synthetic residents for demos, tests and benchmarks (docs/generate.md).

    summary = generate(people, seed, out_dir, today=date(2026, 4, 1))   # jumin.csv, fuhyo.csv
    truth = list(iter_people(people, seed, today))                       # the same persons, in memory
    queries = labelled_queries(truth, seed, 500, today=today)           # 検索条件 rows + right answers

The CSV dumps follow SPEC §2 exactly (UTF-8, header = schema.HEADERS, YYYY-MM-DD, empty cell = no
value); they are loaded through store/load.py like real dumps, so generated data is validated.
Everything is invented: readings of common Japanese names (facts, bulktool/data/*.csv written for
this project), real 岐阜県 municipalities with their JIS X 0402 codes, invented 町名 and numbers.

Determinism: people are made in blocks of BLOCK persons; block b uses its own
random.Random(f"bulktool-generate:{seed}:{b}") and nothing else (no global random, no clock:
`today` is passed in), so the output is the same byte for byte whatever the number of worker
processes. 住民票コード and 個人番号 are bijections of the person's index (never repeated).
"""
from __future__ import annotations

import csv
import io
import os
import random
from bisect import bisect
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bulktool.store.schema import HEADERS, KIND_FUHYO, KIND_JUMIN

BLOCK = 2000  # persons per independently seeded block
JUKINET_START = date(2002, 8, 5).toordinal()  # 住基ネット稼働: 住民票コードの記載
MY_NUMBER_START = date(2015, 10, 5).toordinal()  # 個人番号の指定
KYUUJI_START = date(2019, 11, 5).toordinal()  # 旧氏の記載 possible from this day

# 異動事由 written by the generator
R_KISAI, R_BIRTH, R_IN, R_MOVE, R_OUT, R_ABROAD = "住民票コード記載", "出生", "転入", "転居", "転出", "国外転出"
R_DEATH, R_EXOFFICIO, R_NAME, R_KYUUJI = "死亡", "職権消除", "氏の変更", "旧氏の記載"
REMOVED_BY = (R_DEATH, R_OUT, R_ABROAD, R_EXOFFICIO)  # what a person's latest version may be

# Pair kinds (different people who look alike on purpose)
PAIR_SAME_ADDRESS = "同姓同名・同生年月日・同住所"
PAIR_SAME_BUILDING = "同姓同名・同生年月日・同じ建物の別室"
PAIR_ELSEWHERE = "同姓同名・同生年月日・別住所"
PAIR_HOMOPHONE = "同音異字・同生年月日・同住所"
PAIR_SEION = "清音化で同じよみ・同生年月日・同住所"
PAIR_KINDS = (PAIR_SAME_ADDRESS, PAIR_SAME_BUILDING, PAIR_ELSEWHERE, PAIR_HOMOPHONE, PAIR_SEION)

KANJI_DIGITS = "〇一二三四五六七八九"
BUILDINGS = ("コーポ桜", "ハイツ緑", "メゾン若葉", "グランドール中央", "サンハイム東", "県営住宅", "パークマンション")
SHARED = ("第一寮", "社員寮", "特別養護老人ホーム長寿苑", "グループホームひだまり")  # one address, many people
ROOMS = (101, 102, 103, 201, 202, 203, 301, 302, 303, 401, 402, 501)
GAIJI_SURNAMES = (("𠮷田", "よしだ"), ("𠮷川", "よしかわ"), ("𠮷村", "よしむら"), ("𡈽屋", "つちや"),
                  ("葛\U000E0100西", "かさい"))  # 𠮷 U+20BB7, 𡈽 U+2123D: outside CP932; 葛 + IVS
# 清音化 pairs: same birth date and address, readings that differ only in dakuten
SEION_PAIRS = (("山崎", "やまさき", "山﨑", "やまざき"), ("中島", "なかしま", "中嶋", "なかじま"),
               ("高田", "たかた", "髙田", "たかだ"), ("藤田", "ふじた", "冨士田", "ふした"))
HOMOPHONES = (("斎藤", "斉藤", "さいとう"), ("渡辺", "渡邊", "わたなべ"), ("高橋", "髙橋", "たかはし"),
              ("伊藤", "伊東", "いとう"), ("菊地", "菊池", "きくち"), ("新井", "荒井", "あらい"))


# --- small pure helpers -------------------------------------------------------------------------
def municipality_code(code5: str) -> str:
    """6-digit 市町村コード: the 5-digit JIS X 0402 code and its check digit — digits weighted
    6,5,4,3,2, sum mod 11 = r, check digit = (11 - r) mod 10 (岐阜市 21201 → 212016)."""
    r = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2))) % 11
    return code5 + str((11 - r) % 10)


def kanji_number(n: int) -> str:
    """0..9999 in kanji numerals (二十三, 百五)."""
    if n == 0:
        return "〇"
    out = ""
    for unit, ch in ((1000, "千"), (100, "百"), (10, "十")):
        q, n = divmod(n, unit)
        if q:
            out += ("" if q == 1 else KANJI_DIGITS[q]) + ch
    return out + (KANJI_DIGITS[n] if n else "")


_DAKUTEN = str.maketrans("がぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽゔ", "かきくけこさしすせそたちつてとはひふへほはひふへほう")
_SMALL = str.maketrans("ぁぃぅぇぉっゃゅょゎ", "あいうえおつやゆよわ")
_H2K = str.maketrans({chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)})


def hira2kata(text: str) -> str:
    return text.translate(_H2K)


def seion_reading(hira: str) -> str:
    """清音化 of a hiragana reading: dakuten/handakuten removed, small kana made large."""
    return hira.translate(_DAKUTEN).translate(_SMALL)


def cp932_gaiji_count(text: str) -> int:
    """Characters a CP932 system cannot hold: non-CP932 characters, and a CP932 character that
    carries a variation selector (counted once)."""
    count = 0
    for i, ch in enumerate(text):
        if "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":
            if i and _in_cp932(text[i - 1]):
                count += 1
        elif not _in_cp932(ch):
            count += 1
    return count


def _in_cp932(ch: str) -> bool:
    try:
        ch.encode("cp932")
        return True
    except UnicodeEncodeError:
        return False


@lru_cache(maxsize=1 << 16)
def iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


# --- tables (bulktool/data) ---------------------------------------------------------------------
@dataclass(frozen=True)
class Tables:
    surnames: tuple[tuple[str, str], ...]
    surname_cum: tuple[float, ...]
    given: dict[tuple[str, str], tuple[tuple[str, str], ...]]  # (性別, 世代) → names
    cities: tuple[tuple[str, str, str], ...]  # in-prefecture: (都道府県, 市区町村, 6-digit code)
    city_cum: tuple[float, ...]
    outside: tuple[tuple[str, str, str], ...]  # other prefectures (転出先)
    towns: tuple[tuple[str, bool], ...]  # (町名, 住居表示 with 丁目)
    gaiji: dict[str, int]  # family name → 外字数


def _csv(name: str) -> list[list[str]]:
    text = resources.files("bulktool").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))[1:]


@lru_cache(maxsize=1)
def tables() -> Tables:
    surnames = tuple((k, y) for k, y in _csv("surnames.csv"))
    weights = [1 / (rank + 8) for rank in range(len(surnames))]  # Zipf-like by rank
    given: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for k, y, sex, era in _csv("given_names.csv"):
        given.setdefault((sex, era), []).append((k, y))
    cities, outside, pops = [], [], []
    for pref, name, code5, pop in _csv("municipalities.csv"):
        row = (pref, name, municipality_code(code5))
        if int(pop):
            cities.append(row)
            pops.append(int(pop))
        else:
            outside.append(row)
    towns = tuple((name, form == "丁目") for name, form in _csv("towns.csv"))
    names = [k for k, _ in surnames] + [k for k, _ in GAIJI_SURNAMES] + [p[i] for p in SEION_PAIRS for i in (0, 2)]
    return Tables(surnames, _cum(weights), {k: tuple(v) for k, v in given.items()}, tuple(cities), _cum(pops),
                  tuple(outside), towns, {n: cp932_gaiji_count(n) for n in names})


def _cum(weights: list) -> tuple[float, ...]:
    total = sum(weights)
    return tuple(c / total for c in accumulate(weights))


# --- the truth ----------------------------------------------------------------------------------
class Address:
    """An address in canonical form. chome = 0 for a 地番 address (大字…123番地4); go = 0 for
    no 枝番; building/room None when absent (room None in a building: the whole building)."""

    __slots__ = ("city", "town", "chome", "banchi", "go", "building", "room")

    def __init__(self, city: int, town: int, chome: int, banchi: int, go: int,
                 building: str | None = None, room: int | None = None) -> None:
        self.city, self.town, self.chome, self.banchi, self.go = city, town, chome, banchi, go
        self.building, self.room = building, room

    def canonical(self) -> tuple:
        return (self.city, self.town, self.chome, self.banchi, self.go, self.building, self.room)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Address) and self.canonical() == other.canonical()

    def __hash__(self) -> int:
        return hash(self.canonical())

    def text(self, style: int, *, prefecture: bool = True, full_width: bool = False, space: str = "　",
             kanji_all: bool = False) -> str:
        """One written form. style 0: 「2丁目3番4号」 / 「123番地4」; 1: 「二丁目3番4号」 /
        「123番地の4」; 2: 「2-3-4」 / 「123-4」; 3: 「2丁目3番地4」 / 「123番地4」. kanji_all
        writes every number in kanji (「二丁目三番四号」)."""
        t = tables()
        pref, city, _ = t.cities[self.city]
        town, _ = t.towns[self.town]
        n = kanji_number if kanji_all else str
        if self.chome:
            if style == 0:
                body = f"{n(self.chome)}丁目{n(self.banchi)}番{n(self.go)}号"
            elif style == 1:
                body = f"{kanji_number(self.chome)}丁目{n(self.banchi)}番{n(self.go)}号"
            elif style == 2:
                body = f"{self.chome}-{self.banchi}-{self.go}"
            else:
                body = f"{n(self.chome)}丁目{n(self.banchi)}番地{n(self.go)}"
        else:
            tail = ""
            if self.go:
                tail = (f"-{self.go}" if style == 2 else f"の{n(self.go)}" if style == 1 else n(self.go))
            body = f"{self.banchi}{tail}" if style == 2 else f"{n(self.banchi)}番地{tail}"
        if full_width:
            body = body.translate(_FULL)
        if self.building:
            room = "" if self.room is None else f"{self.room}号室"
            if full_width:
                room = room.translate(_FULL)
            body = f"{body}{space}{self.building}{room}"
        return f"{pref if prefecture else ''}{city}{town}{body}"


class Version:
    """One jumin record version (one row of jumin.csv)."""

    __slots__ = ("seq", "reason", "day", "family", "kana", "old_family", "old_kana", "address", "style",
                 "deleted", "operator")

    def __init__(self, seq: int, reason: str, day: int, family: str, kana: str, old_family: str | None,
                 old_kana: str | None, address: Address, style: int, deleted: bool, operator: int) -> None:
        self.seq, self.reason, self.day = seq, reason, day
        self.family, self.kana, self.old_family, self.old_kana = family, kana, old_family, old_kana
        self.address, self.style, self.deleted, self.operator = address, style, deleted, operator

    @property
    def removed(self) -> bool:
        return self.reason in REMOVED_BY


class FuhyoVersion:
    """One 附票 row: the address is None while abroad (then last_address is the last domestic one);
    outside = (都道府県, 市区町村, code) after a 転出 to another prefecture."""

    __slots__ = ("day", "version", "address", "outside", "abroad", "status", "notice")

    def __init__(self, day: int, version: Version, address: Address | None, outside: tuple | None,
                 abroad: bool, status: str, notice: str) -> None:
        self.day, self.version, self.address, self.outside = day, version, address, outside
        self.abroad, self.status, self.notice = abroad, status, notice


class Person:
    """A generated person with every version of their jumin and 附票 records."""

    __slots__ = ("index", "code", "kojin", "sex", "given", "given_kana", "birth", "honseki", "versions",
                 "fuhyo", "pair", "outside_text")

    def __init__(self, index: int, code: str, kojin: str, sex: str, given: str, given_kana: str, birth: int,
                 honseki: int) -> None:
        self.index, self.code, self.kojin, self.sex = index, code, kojin, sex
        self.given, self.given_kana, self.birth, self.honseki = given, given_kana, birth, honseki
        self.versions: list[Version] = []
        self.fuhyo: list[FuhyoVersion] = []
        self.pair: str | None = None  # PAIR_* when made as the second of a look-alike pair
        self.outside_text = ""

    def __repr__(self) -> str:  # personal data (even invented) stays out of logs
        return f"Person(index={self.index})"

    @property
    def birth_date(self) -> date:
        return date.fromordinal(self.birth)

    def in_force(self, day: date | None = None) -> Version | None:
        """The jumin version in force on `day` (SPEC §2); None = the latest (as of generation)."""
        limit = day.toordinal() if day else 10**9
        best = None
        for v in self.versions:
            if not v.deleted and v.day <= limit and (best is None or v.seq > best.seq):
                best = v
        return best

    def fuhyo_in_force(self, day: date | None = None) -> FuhyoVersion | None:
        limit = day.toordinal() if day else 10**9
        live = [f for f in self.fuhyo if f.day <= limit]
        return max(live, key=lambda f: f.day) if live else None

    def name(self, v: Version) -> str:
        return f"{v.family}　{self.given}"

    def name_kana(self, v: Version) -> str:
        return f"{v.kana}　{self.given_kana}"

    @property
    def gaiji(self) -> bool:
        return any(tables().gaiji.get(v.family, 0) for v in self.versions)


# --- the simulation -----------------------------------------------------------------------------
_AGE_BANDS = ((0, 10, 8), (10, 20, 9), (20, 30, 10), (30, 40, 11), (40, 50, 14), (50, 60, 13), (60, 70, 13),
              (70, 80, 14), (80, 90, 9), (90, 100, 3.5), (100, 110, 0.6), (110, 114, 0.1), (114, 118, 0.15))
_AGE_CUM = _cum([w for _, _, w in _AGE_BANDS])
_CODE_MUL, _KOJIN_MUL = 3_145_727_939, 73_939_133_117  # odd, not multiples of 5: bijections mod 10^n


_W10 = bytes(2 + n % 6 for n in reversed(range(10)))
_W11 = bytes(2 + n % 6 for n in reversed(range(11)))
_CHECK = "".join(str(0 if r <= 1 else 11 - r) for r in range(11))


def _with_check(body: str, weights: bytes) -> str:
    """checkdigit.with_check_digit, faster (map over bytes); tests compare the two."""
    total = sum(map(int.__mul__, body.encode(), weights)) - 48 * sum(weights)
    return body + _CHECK[total % 11]


def jumin_code_for(index: int, seed: int) -> str:
    """住民票コード of person `index` (unique per index; an index ≥ people is nobody's)."""
    return _with_check(f"{(index * _CODE_MUL + 1_000_000_000 + seed * 7_919) % 10**10:010d}", _W10)


def kojin_bango_for(index: int, seed: int) -> str:
    return _with_check(f"{(index * _KOJIN_MUL + 234_567_890_123 + seed * 104_729) % 10**11:011d}", _W11)


def _below(rng: random.Random, n: int) -> int:
    """rng.randrange(n), faster (one rng.random() call; n is small here)."""
    return int(rng.random() * n)


def _between(rng: random.Random, lo: int, hi: int) -> int:
    """rng.randint(lo, hi), faster."""
    return lo + int(rng.random() * (hi - lo + 1))


def _pick(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


class _Block:
    """Makes the persons of one block from its own random.Random."""

    def __init__(self, seed: int, block: int, today: int) -> None:
        self.rng = random.Random(f"bulktool-generate:{seed}:{block}")
        self.seed, self.today, self.t = seed, today, tables()
        self.city_style = [random.Random(f"style:{seed}:{c}").randrange(4) for c in range(len(self.t.cities))]

    # draws
    def surname(self) -> tuple[str, str]:
        r = self.rng.random()
        if r < 0.003:
            return GAIJI_SURNAMES[int(r / 0.003 * len(GAIJI_SURNAMES))]
        return self.t.surnames[min(bisect(self.t.surname_cum, self.rng.random()), len(self.t.surnames) - 1)]

    def given(self, sex: str, birth: int) -> tuple[str, str]:
        year = date.fromordinal(birth).year
        era = "古" if year < 1950 else "中" if year < 1995 else "新"
        if self.rng.random() < 0.15:
            era = _pick(self.rng, "古中新")
        return _pick(self.rng, self.t.given[(sex, era)])

    def address(self, city: int | None = None) -> Address:
        rng = self.rng
        if city is None:
            city = min(bisect(self.t.city_cum, rng.random()), len(self.t.cities) - 1)
        town = _below(rng, len(self.t.towns))
        if self.t.towns[town][1]:
            a = Address(city, town, _between(rng, 1, 6), _between(rng, 1, 30), _between(rng, 1, 28))
        else:
            a = Address(city, town, 0, _between(rng, 1, 2400), _between(rng, 1, 12) if rng.random() < 0.5 else 0)
        if rng.random() < 0.22:
            a.building = _pick(rng, BUILDINGS)
            a.room = _pick(rng, ROOMS)
        return a

    def style(self, city: int) -> int:
        return self.city_style[city] if self.rng.random() < 0.85 else _below(self.rng, 4)

    def birth(self) -> int:
        rng = self.rng
        lo, hi, _ = _AGE_BANDS[bisect(_AGE_CUM, rng.random())]
        days = int((lo + rng.random() * (hi - lo)) * 365.2425)
        return self.today - days

    # persons
    def person(self, index: int, *, sex: str | None = None, birth: int | None = None,
               given: tuple[str, str] | None = None, family: tuple[str, str] | None = None,
               address: Address | None = None, quiet: bool = False) -> Person:
        rng, today = self.rng, self.today
        sex = sex or ("1" if rng.random() < 0.49 else "2")
        birth = birth if birth is not None else self.birth()
        given = given or self.given(sex, birth)
        family = family or self.surname()
        age = (today - birth) / 365.2425
        start_address = address or self.address()
        p = Person(index, jumin_code_for(index, self.seed), "", sex, given[0], given[1], birth, start_address.city)
        # when the person entered the store
        if birth < JUKINET_START and (quiet or rng.random() < 0.85):
            start, reason = JUKINET_START, R_KISAI
        elif birth >= JUKINET_START and (quiet or rng.random() < 0.85):
            start, reason = birth, R_BIRTH
        else:
            lo = max(JUKINET_START, birth + 18 * 365)
            start, reason = (_between(rng, lo, today), R_IN) if lo < today else (max(birth, JUKINET_START), R_IN)
        start = min(start, today)
        # the end (a removal), decided first so that events fit before it
        end, end_reason = today, None
        if not quiet:
            p_death = 1.0 if age > 108 else max(0.0, (age - 45) / 70) ** 3
            r = rng.random()
            if r < p_death:
                end_reason = R_DEATH
            elif r < p_death + 0.035:
                end_reason = R_OUT
            elif r < p_death + 0.045:
                end_reason = R_ABROAD
            elif r < p_death + 0.048:
                end_reason = R_EXOFFICIO
            if end_reason and today - start > 3:
                end = _between(rng, start + 2, today)
            else:
                end_reason = None
        # events between start and end
        events: list[tuple[int, str]] = []
        if not quiet:
            k = rng.random()
            for _ in range(0 if k < 0.55 else 1 if k < 0.8 else 2 if k < 0.93 else 3):
                events.append((_between(rng, start, end), R_MOVE if rng.random() < 0.7 else R_IN))
            if family not in GAIJI_SURNAMES and rng.random() < (0.35 if sex == "2" else 0.03):
                wed = birth + int(rng.uniform(22, 40) * 365.2425)
                if start < wed < end:
                    events.append((wed, R_NAME))
                    if wed < KYUUJI_START < end and rng.random() < 0.12:
                        events.append((_between(rng, KYUUJI_START, end), R_KYUUJI))
        events.sort()
        seq, day = 1, start
        v = Version(seq, reason, start, family[0], family[1], None, None, start_address,
                    self.style(start_address.city), False, _between(rng, 1, 5))
        p.versions.append(v)
        self._fuhyo(p, v, "新規")
        maiden: tuple[str, str] | None = None
        for when, what in events:
            when = max(when, day + 1)
            if when >= end or when > today:
                break
            prev = p.in_force()
            old_f, old_k, fam, kana, addr = prev.old_family, prev.old_kana, prev.family, prev.kana, prev.address
            if what == R_NAME:
                new = self.surname()
                if new[0] == fam or new in GAIJI_SURNAMES or maiden:
                    continue
                maiden = (fam, kana)
                if when >= KYUUJI_START and rng.random() < 0.3:
                    old_f, old_k = maiden
                fam, kana = new
            elif what == R_KYUUJI:
                if not maiden or old_f:
                    continue
                old_f, old_k = maiden
            elif what == R_IN:  # another municipality of the prefecture: 転出 there, 転入 here
                addr = self.address()
                if addr.city == prev.address.city:
                    what = R_MOVE
                else:
                    arrive = when + _between(rng, 1, 10)
                    if arrive >= end or arrive > today:
                        break
                    seq += 1
                    p.versions.append(Version(seq, R_OUT, when, fam, kana, old_f, old_k, prev.address, prev.style,
                                              False, _between(rng, 1, 5)))
                    when = arrive
            if what == R_MOVE:
                addr = self.address(prev.address.city)
            seq += 1
            style = prev.style if addr is prev.address else self.style(addr.city)
            v = Version(seq, what, when, fam, kana, old_f, old_k, addr, style, False, _between(rng, 1, 5))
            p.versions.append(v)
            self._fuhyo(p, v, "異動")
            day = when
            if rng.random() < 0.006 and when < today:  # a version entered in error, logically deleted
                seq += 1
                p.versions.append(Version(seq, R_MOVE, when + 1, fam, kana, old_f, old_k,
                                          self.address(addr.city), style, True, _between(rng, 1, 5)))
                day = when + 1
        if end_reason:
            last = p.in_force()
            end = max(end, day + 1)
            if end <= today:
                seq += 1
                v = Version(seq, end_reason, end, last.family, last.kana, last.old_family, last.old_kana,
                            last.address, last.style, False, _between(rng, 1, 5))
                p.versions.append(v)
                self._fuhyo(p, v, "消除" if end_reason in (R_DEATH, R_EXOFFICIO) else end_reason)
        # 個人番号: everyone still recorded on 2015-10-05 got one (written on every version here)
        last = p.in_force()
        if not (last.removed and last.day < MY_NUMBER_START) and today >= MY_NUMBER_START:
            p.kojin = kojin_bango_for(index, self.seed)
        return p

    def _fuhyo(self, p: Person, v: Version, notice: str) -> None:
        if v.reason == R_OUT and notice == "異動":
            return
        if v.reason == R_OUT:
            dest = _pick(self.rng, self.t.outside)
            f = FuhyoVersion(v.day, v, None, dest, False, "1", "転出")
            p.outside_text = f"{dest[0]}{dest[1]}{self._outside_body()}"
        elif v.reason == R_ABROAD:
            f = FuhyoVersion(v.day, v, None, None, True, "1", "国外転出")
        elif v.reason in (R_DEATH, R_EXOFFICIO):
            f = FuhyoVersion(v.day, v, v.address, None, False, "2", "消除")
        else:
            f = FuhyoVersion(v.day, v, v.address, None, False, "1", notice)
        if p.fuhyo and p.fuhyo[-1].day == f.day:
            p.fuhyo[-1] = f
        else:
            p.fuhyo.append(f)

    def _outside_body(self) -> str:
        rng = self.rng
        return f"{_pick(rng, ('栄', '本町', '丸の内', '新町', '駅前'))}{_between(rng, 1, 5)}丁目{_between(rng, 1, 20)}番{_between(rng, 1, 20)}号"

    def pair(self, index: int) -> tuple[Person, Person]:
        """Two different people who look alike (PAIR_KINDS); both stay put (no later 異動)."""
        rng = self.rng
        kind = PAIR_KINDS[_below(rng, len(PAIR_KINDS))]
        sex = "1" if rng.random() < 0.5 else "2"
        birth = self.birth()
        if self.today - birth > 95 * 365:
            birth = self.today - _between(rng, 20, 90) * 365
        given = self.given(sex, birth)
        fam_a = fam_b = self.surname()
        if fam_a in GAIJI_SURNAMES:
            fam_a = fam_b = ("𠮷田", "よしだ")
        addr_a = self.address()
        addr_b = addr_a
        if kind == PAIR_SAME_ADDRESS:
            addr_a.building, addr_a.room = _pick(rng, SHARED), None
        elif kind == PAIR_SAME_BUILDING:
            addr_a.building, addr_a.room = _pick(rng, BUILDINGS), _pick(rng, ROOMS[:6])
            addr_b = Address(*addr_a.canonical()[:5], addr_a.building, _pick(rng, ROOMS[6:]))
        elif kind == PAIR_ELSEWHERE:
            addr_b = self.address()
        elif kind == PAIR_HOMOPHONE:
            a, b, y = _pick(rng, HOMOPHONES)
            fam_a, fam_b = (a, y), (b, y)
        else:
            a, ya, b, yb = _pick(rng, SEION_PAIRS)
            fam_a, fam_b = (a, ya), (b, yb)
        pa = self.person(index, sex=sex, birth=birth, given=given, family=fam_a, address=addr_a, quiet=True)
        pb = self.person(index + 1, sex=sex, birth=birth, given=given, family=fam_b, address=addr_b, quiet=True)
        pb.pair = kind
        return pa, pb

    def people(self, first: int, count: int) -> list[Person]:
        out: list[Person] = []
        i, stop = first, first + count
        while i < stop:
            if i + 1 < stop and self.rng.random() < 0.004:
                out.extend(self.pair(i))
                i += 2
            else:
                out.append(self.person(i))
                i += 1
        return out


def _blocks(people: int) -> Iterator[tuple[int, int, int]]:
    for b, first in enumerate(range(0, people, BLOCK)):
        yield b, first, min(BLOCK, people - first)


def iter_people(people: int, seed: int, today: date) -> Iterator[Person]:
    """The generated persons in order, the same as generate() writes (deterministic in
    (people, seed, today)). For tests and benchmarks with small `people`."""
    day = today.toordinal()
    for b, first, count in _blocks(people):
        yield from _Block(seed, b, day).people(first, count)


# --- CSV rows -----------------------------------------------------------------------------------
_FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")


@lru_cache(maxsize=4096)
def _family_info(family: str) -> int:
    return tables().gaiji.get(family, 0)


@lru_cache(maxsize=1 << 14)
def _seion_kata(kana: str) -> str:
    return hira2kata(seion_reading(kana))


def jumin_row(p: Person, v: Version) -> list[str]:
    city_code = tables().cities[v.address.city][2]
    gaiji = _family_info(v.family)
    old_gaiji = _family_info(v.old_family) if v.old_family else 0
    day = iso(v.day)
    seq = v.seq
    return [p.code, f"{v.family}　{p.given}", str(gaiji), f"{v.kana}　{p.given_kana}", iso(p.birth), p.sex,
            v.address.text(v.style), "0", p.kojin, v.reason, day, "0",
            f"{_seion_kata(v.kana)}　{_seion_kata(p.given_kana)}", city_code,
            f"{v.address.town + 1:03d}{v.address.chome:03d}", f"{city_code}-OP{v.operator:02d}",
            f"{city_code}-T{v.operator % 3 + 1:02d}", f"{day}T{9 + seq % 8:02d}:{(seq * 7) % 60:02d}:{(v.day * 13) % 60:02d}",
            iso(min(v.day + v.operator % 3, max(v.day, p.versions[-1].day))), "1" if gaiji or old_gaiji else "0",
            "1" if v.deleted else "0", str(seq), "1" if gaiji else "", "", v.old_family or "",
            str(old_gaiji) if v.old_family else "", v.old_kana or "", "1" if old_gaiji else ""]


def fuhyo_row(p: Person, f: FuhyoVersion) -> list[str]:
    t = tables()
    v = f.version
    gaiji = t.gaiji.get(v.family, 0)
    old_gaiji = t.gaiji.get(v.old_family, 0) if v.old_family else 0
    if f.abroad:
        city, address, last = "", ("国外" if p.index % 3 == 0 else ""), v.address.text(v.style)
    elif f.outside:
        city, address, last = f.outside[2], p.outside_text, ""
    else:
        city, address, last = t.cities[f.address.city][2], f.address.text(v.style), ""
    pattern = "".join(f"U+{ord(c):X}" for c in v.family if not _in_cp932(c)) if gaiji else ""
    return [p.code, p.name(v), str(gaiji), p.name_kana(v), iso(p.birth), p.sex, city, address, "0", last,
            "0" if last else "", iso(f.day), "", t.cities[p.honseki][2], f.status, "1" if gaiji or old_gaiji else "0",
            pattern, f.notice, v.old_family or "", str(old_gaiji) if v.old_family else "", v.old_kana or "",
            "1" if old_gaiji else ""]


# --- generate -----------------------------------------------------------------------------------
@dataclass
class GenerationSummary:
    people: int = 0
    jumin_rows: int = 0
    fuhyo_rows: int = 0
    removed: dict[str, int] = field(default_factory=dict)  # 異動事由 of the latest version → persons
    abroad: int = 0  # persons whose 附票 in force is 国外
    moved_out: int = 0  # persons whose 附票 in force is in another prefecture
    same_name_pairs: int = 0  # look-alike pairs, all kinds
    pairs: dict[str, int] = field(default_factory=dict)  # PAIR_* → count
    gaiji_names: int = 0  # persons with a name outside CP932 (外字フラグ)
    deleted_rows: int = 0  # versions with 削除フラグ = 1
    name_changes: int = 0  # persons with 氏の変更
    old_names: int = 0  # persons with 旧氏 recorded
    without_kojin_bango: int = 0

    def add(self, other: "GenerationSummary") -> None:
        for k, v in vars(other).items():
            if isinstance(v, dict):
                mine = getattr(self, k)
                for kk, vv in v.items():
                    mine[kk] = mine.get(kk, 0) + vv
            else:
                setattr(self, k, getattr(self, k) + v)


def _render_block(args: tuple[int, int, int, int, int]) -> tuple[str, str, GenerationSummary]:
    """CSV text of one block (jumin, fuhyo) and its counts. Runs in a worker process too."""
    seed, b, first, count, today = args
    s = GenerationSummary(people=count)
    jbuf, fbuf = io.StringIO(), io.StringIO()
    jw, fw = csv.writer(jbuf, lineterminator="\n"), csv.writer(fbuf, lineterminator="\n")
    for p in _Block(seed, b, today).people(first, count):
        jw.writerows([jumin_row(p, v) for v in p.versions])
        fw.writerows([fuhyo_row(p, f) for f in p.fuhyo])
        s.jumin_rows += len(p.versions)
        s.fuhyo_rows += len(p.fuhyo)
        last = p.in_force()
        if last.removed:
            s.removed[last.reason] = s.removed.get(last.reason, 0) + 1
        fz = p.fuhyo[-1]
        s.abroad += fz.abroad
        s.moved_out += fz.outside is not None
        if p.pair:
            s.same_name_pairs += 1
            s.pairs[p.pair] = s.pairs.get(p.pair, 0) + 1
        s.gaiji_names += p.gaiji
        s.deleted_rows += sum(v.deleted for v in p.versions)
        s.name_changes += any(v.reason == R_NAME for v in p.versions)
        s.old_names += any(v.old_family for v in p.versions)
        s.without_kojin_bango += not p.kojin
    return jbuf.getvalue(), fbuf.getvalue(), s


def generate(people: int, seed: int, out_dir: Path | str, *, today: date, workers: int | None = None,
             progress: Callable[[int], None] | None = None) -> GenerationSummary:
    """Write out_dir/jumin.csv and out_dir/fuhyo.csv (SPEC §2) for `people` persons.

    Streams block by block (memory bounded by a few blocks), optionally in `workers` processes
    (default: all cores for large runs, 1 below 50,000 people); the bytes do not depend on it.
    progress(n) is called with the number of persons written so far."""
    if people < 0:
        raise ValueError("people must be >= 0")
    out_dir = Path(out_dir)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if people >= 50_000 else 1
    summary = GenerationSummary()
    jobs = ((seed, b, first, count, today.toordinal()) for b, first, count in _blocks(people))
    with open(out_dir / "jumin.csv", "w", encoding="utf-8", newline="") as jf, \
            open(out_dir / "fuhyo.csv", "w", encoding="utf-8", newline="") as ff:
        csv.writer(jf, lineterminator="\n").writerow(HEADERS[KIND_JUMIN])
        csv.writer(ff, lineterminator="\n").writerow(HEADERS[KIND_FUHYO])
        for jtext, ftext, s in _run(jobs, workers):
            jf.write(jtext)
            ff.write(ftext)
            summary.add(s)
            if progress:
                progress(summary.people)
    return summary


def _run(jobs: Iterable[tuple], workers: int) -> Iterator[tuple[str, str, GenerationSummary]]:
    if workers <= 1:
        yield from map(_render_block, jobs)
        return
    from collections import deque
    with ProcessPoolExecutor(workers) as pool:
        pending: deque = deque()
        for job in jobs:
            pending.append(pool.submit(_render_block, job))
            if len(pending) >= 2 * workers:  # bounded: at most 2 blocks per worker in flight
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# --- labelled queries: a 検索条件 table with realistic noise and the known right answer ----------
QUERY_COLUMNS = ("連番", "対象", "個人番号", "住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所")

Q_CODE, Q_KOJIN, Q_FOUR, Q_FOUR_KANA, Q_FOUR_BOTH = "住民票コード", "個人番号", "4情報（漢字）", "4情報（かな）", "4情報（漢字とかな）"
Q_OLD_NAME, Q_PAIR, Q_OLD_ADDRESS, Q_NAME_BIRTH = "旧氏で4情報", "よく似た別人", "転居前の住所", "氏名と生年月日のみ"
Q_UNKNOWN_CODE, Q_UNKNOWN_FOUR, Q_FUHYO_CODE, Q_FUHYO_KOJIN = "該当なし（住民票コード）", "該当なし（4情報）", "附票（住民票コード）", "附票（個人番号のみ）"
Q_BAD_CHECK = "個人番号のチェックデジット誤り"
_QUERY_MIX = ((Q_CODE, 12), (Q_KOJIN, 12), (Q_FOUR, 18), (Q_FOUR_KANA, 12), (Q_FOUR_BOTH, 6), (Q_OLD_NAME, 5),
              (Q_PAIR, 10), (Q_OLD_ADDRESS, 5), (Q_NAME_BIRTH, 8), (Q_UNKNOWN_CODE, 4), (Q_UNKNOWN_FOUR, 4),
              (Q_FUHYO_CODE, 6), (Q_FUHYO_KOJIN, 2), (Q_BAD_CHECK, 2))
_QUERY_CUM = _cum([w for _, w in _QUERY_MIX])
ERAS = (("令和", "R", date(2019, 5, 1)), ("平成", "H", date(1989, 1, 8)), ("昭和", "S", date(1926, 12, 25)),
        ("大正", "T", date(1912, 7, 30)), ("明治", "M", date(1868, 1, 25)))
_VS = "".join(chr(c) for c in range(0xFE00, 0xFE10)) + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
_LARGE = str.maketrans("ゃゅょっぁぃぅぇぉ", "やゆよつあいうえお")
_O_U_ROWS = set("おこそとのほもよろごぞどぼぽうくすつぬふむゆるぐずづぶぷょゅ")


@dataclass
class LabelledQuery:
    """One 検索条件 row (SPEC §3 column → cell text) and its right answer from the truth:
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
            value = value.translate(_FULL)
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
        return (wareki(d) if self.rng.random() < 0.5 else d.isoformat()).translate(_FULL)

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
    """n 検索条件 rows built from the truth with realistic noise, each with the answer the SPEC
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
