"""The generator's tables (bulktool/data/*.csv: readings of common Japanese names, 岐阜県
municipalities with their JIS X 0402 codes, invented 町名) and the small text helpers they need."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import accumulate

from bulktool.checkdigit import municipality_code

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
            if i and in_cp932(text[i - 1]):
                count += 1
        elif not in_cp932(ch):
            count += 1
    return count


def in_cp932(ch: str) -> bool:
    try:
        ch.encode("cp932")
        return True
    except UnicodeEncodeError:
        return False


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
    return Tables(surnames, cumulative(weights), {k: tuple(v) for k, v in given.items()}, tuple(cities), cumulative(pops),
                  tuple(outside), towns, {n: cp932_gaiji_count(n) for n in names})


def cumulative(weights: list) -> tuple[float, ...]:
    total = sum(weights)
    return tuple(c / total for c in accumulate(weights))
