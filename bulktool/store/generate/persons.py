"""The generated persons: every version of their jumin and 附票 records (the truth), and their
identity numbers."""
from __future__ import annotations

from datetime import date

from bulktool.checkdigit import with_check_digit
from bulktool.store.generate.addresses import Address
from bulktool.store.generate.tables import tables

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

_CODE_MUL, _KOJIN_MUL = 3_145_727_939, 73_939_133_117  # odd, not multiples of 5: bijections mod 10^n


def jumin_code_for(index: int, seed: int) -> str:
    """住民票コード of person `index` (unique per index; an index ≥ people is nobody's)."""
    return with_check_digit(f"{(index * _CODE_MUL + 1_000_000_000 + seed * 7_919) % 10**10:010d}")


def kojin_bango_for(index: int, seed: int) -> str:
    return with_check_digit(f"{(index * _KOJIN_MUL + 234_567_890_123 + seed * 104_729) % 10**11:011d}")


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
        """The jumin version in force on `day` (contract §2); None = the latest (as of generation)."""
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
