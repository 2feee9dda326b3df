"""Addresses of the generated persons: one canonical form, several written forms."""
from __future__ import annotations

from bulktool.store.generate.tables import KANJI_DIGITS, tables

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")  # full-width digits and hyphen


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
            body = body.translate(FULL_WIDTH)
        if self.building:
            room = "" if self.room is None else f"{self.room}号室"
            if full_width:
                room = room.translate(FULL_WIDTH)
            body = f"{body}{space}{self.building}{room}"
        return f"{pref if prefecture else ''}{city}{town}{body}"
