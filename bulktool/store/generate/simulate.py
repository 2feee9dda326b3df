"""The simulation: the lives of the generated persons, block by block (see the package's
docstring for the determinism it keeps)."""
from __future__ import annotations

import random
from bisect import bisect
from datetime import date
from typing import Iterator

from bulktool.store.generate.addresses import Address
from bulktool.store.generate.persons import (PAIR_ELSEWHERE, PAIR_HOMOPHONE, PAIR_KINDS, PAIR_SAME_ADDRESS,
                                             PAIR_SAME_BUILDING, R_ABROAD, R_BIRTH, R_DEATH, R_EXOFFICIO, R_IN,
                                             R_KISAI, R_KYUUJI, R_MOVE, R_NAME, R_OUT, FuhyoVersion, Person, Version,
                                             jumin_code_for, kojin_bango_for)
from bulktool.store.generate.tables import (BUILDINGS, GAIJI_SURNAMES, HOMOPHONES, ROOMS, SEION_PAIRS, SHARED,
                                            cumulative, tables)

BLOCK = 2000  # persons per independently seeded block
JUKINET_START = date(2002, 8, 5).toordinal()  # 住基ネット稼働: 住民票コードの記載
MY_NUMBER_START = date(2015, 10, 5).toordinal()  # 個人番号の指定
KYUUJI_START = date(2019, 11, 5).toordinal()  # 旧氏の記載 possible from this day

_AGE_BANDS = ((0, 10, 8), (10, 20, 9), (20, 30, 10), (30, 40, 11), (40, 50, 14), (50, 60, 13), (60, 70, 13),
              (70, 80, 14), (80, 90, 9), (90, 100, 3.5), (100, 110, 0.6), (110, 114, 0.1), (114, 118, 0.15))
_AGE_CUM = cumulative([w for _, _, w in _AGE_BANDS])


def _below(rng: random.Random, n: int) -> int:
    """rng.randrange(n), faster (one rng.random() call; n is small here)."""
    return int(rng.random() * n)


def _between(rng: random.Random, lo: int, hi: int) -> int:
    """rng.randint(lo, hi), faster."""
    return lo + int(rng.random() * (hi - lo + 1))


def _pick(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


class Block:
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


def blocks(people: int) -> Iterator[tuple[int, int, int]]:
    for b, first in enumerate(range(0, people, BLOCK)):
        yield b, first, min(BLOCK, people - first)


def iter_people(people: int, seed: int, today: date) -> Iterator[Person]:
    """The generated persons in order, the same as generate() writes (deterministic in
    (people, seed, today)). For tests and benchmarks with small `people`."""
    day = today.toordinal()
    for b, first, count in blocks(people):
        yield from Block(seed, b, day).people(first, count)
