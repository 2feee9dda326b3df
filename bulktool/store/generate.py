"""Deterministic, realistic synthetic residents (SPEC §2 dumps) for demos, tests and benchmarks.

`generate` writes jumin.csv and fuhyo.csv exactly as SPEC §2 describes them; the caller loads
them through store/load.py, so generated data passes the same validation as real dumps. All
names, numbers and addresses are invented: readings are common Japanese names (facts), the
municipalities are real 岐阜県 ones with their JIS X 0402 codes, 町名 and numbers are random.

What the data holds on purpose (docs/generate.md): several record versions (転居, 氏の変更 with
旧氏), logically deleted versions (削除フラグ), 消除者 (死亡, 転出, 国外転出, 職権消除), strangers with
the same name and birth date (some in the same apartment block), names outside CP932 (𠮷) with
外字フラグ, 髙 (CP932 IBM extension), addresses written in several forms, 附票 rows for every
address version and for people abroad (住所 empty, 最終住所 the last domestic address).
"""
from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

import jaconv

from bulktool.checkdigit import with_check_digit
from bulktool.store.load import municipality_check_digit
from bulktool.store.schema import HEADERS, KIND_FUHYO, KIND_JUMIN

SURNAMES = [tuple(x.split(":")) for x in """佐藤:さとう 鈴木:すずき 高橋:たかはし 田中:たなか 伊藤:いとう 渡辺:わたなべ
山本:やまもと 中村:なかむら 小林:こばやし 加藤:かとう 吉田:よしだ 山田:やまだ 佐々木:ささき 山口:やまぐち 松本:まつもと
井上:いのうえ 木村:きむら 林:はやし 斎藤:さいとう 清水:しみず 山崎:やまざき 森:もり 池田:いけだ 橋本:はしもと 阿部:あべ
石川:いしかわ 山下:やました 中島:なかじま 石井:いしい 小川:おがわ 前田:まえだ 岡田:おかだ 長谷川:はせがわ 藤田:ふじた
後藤:ごとう 近藤:こんどう 村上:むらかみ 遠藤:えんどう 青木:あおき 坂本:さかもと 斉藤:さいとう 福田:ふくだ 太田:おおた
西村:にしむら 藤井:ふじい 金子:かねこ 岡本:おかもと 藤原:ふじわら 中野:なかの 三浦:みうら 原田:はらだ 中川:なかがわ
松田:まつだ 竹内:たけうち 小野:おの 田村:たむら 中山:なかやま 和田:わだ 石田:いしだ 森田:もりた 上田:うえだ 原:はら
内田:うちだ 柴田:しばた 酒井:さかい 宮崎:みやざき 横山:よこやま 高木:たかぎ 安藤:あんどう 宮本:みやもと 大野:おおの
小島:こじま 谷口:たにぐち 工藤:くどう 今井:いまい 高田:たかだ 丸山:まるやま 増田:ますだ 杉山:すぎやま 村田:むらた
大塚:おおつか 小山:こやま 平野:ひらの 藤本:ふじもと 河野:こうの 上野:うえの 野口:のぐち 武田:たけだ 松井:まつい 千葉:ちば
岩崎:いわさき 菅原:すがわら 木下:きのした 久保:くぼ 佐野:さの 野村:のむら 松尾:まつお 市川:いちかわ 菊地:きくち
杉本:すぎもと 古川:ふるかわ 大西:おおにし 島田:しまだ 水野:みずの 桜井:さくらい 高野:たかの 渡部:わたなべ 吉川:よしかわ
山内:やまうち 西田:にしだ 飯田:いいだ 菊池:きくち 西川:にしかわ 小松:こまつ 北村:きたむら 安田:やすだ 五十嵐:いがらし
川口:かわぐち 平田:ひらた 関:せき 中田:なかた 久保田:くぼた 服部:はっとり 東:ひがし 岩田:いわた 土屋:つちや 川崎:かわさき
福島:ふくしま 本田:ほんだ 辻:つじ 樋口:ひぐち 秋山:あきやま 田代:たしろ 荒木:あらき 齋藤:さいとう 渡邊:わたなべ
髙橋:たかはし 長尾:ながお 早川:はやかわ 大橋:おおはし 土井:どい 羽田:はねだ 堀:ほり 広瀬:ひろせ 梶原:かじわら""".split()]
GAIJI_SURNAMES = [("𠮷田", "よしだ"), ("𠮷川", "よしかわ"), ("𡈽屋", "つちや")]
MALE = [tuple(x.split(":")) for x in """太郎:たろう 一郎:いちろう 健:けん 誠:まこと 大輔:だいすけ 翔太:しょうた 拓也:たくや
健太:けんた 直樹:なおき 浩:ひろし 学:まなぶ 修:おさむ 隆:たかし 茂:しげる 博:ひろし 清:きよし 勇:いさむ 進:すすむ
実:みのる 稔:みのる 和夫:かずお 正:ただし 明:あきら 豊:ゆたか 弘:ひろし 悠真:ゆうま 蓮:れん 陽翔:はると 湊:みなと
大翔:ひろと 颯太:そうた 悠斗:ゆうと 樹:いつき 翼:つばさ 亮:りょう 達也:たつや 和也:かずや 哲也:てつや 秀樹:ひでき
剛:つよし 聡:さとし 裕太:ゆうた 雄一:ゆういち 功:いさお 昭:あきら 三郎:さぶろう 次郎:じろう 駿:しゅん 航:わたる
優斗:ゆうと 祐介:ゆうすけ 慎吾:しんご 康弘:やすひろ 正義:まさよし 信夫:のぶお 英二:えいじ 克己:かつみ 智也:ともや""".split()]
FEMALE = [tuple(x.split(":")) for x in """花子:はなこ 洋子:ようこ 恵子:けいこ 京子:きょうこ 幸子:さちこ 和子:かずこ
久美子:くみこ 由美子:ゆみこ 裕子:ゆうこ 真由美:まゆみ 明美:あけみ 陽子:ようこ 直美:なおみ 智子:ともこ 美穂:みほ 愛:あい
彩:あや 舞:まい 麻衣:まい 美咲:みさき 陽菜:ひな 結衣:ゆい 葵:あおい 凛:りん 芽依:めい 結菜:ゆいな さくら:さくら
美優:みゆ 千尋:ちひろ 香織:かおり 恵:めぐみ 由紀:ゆき 沙織:さおり 梨花:りか 瞳:ひとみ 優子:ゆうこ 節子:せつこ
文子:ふみこ 静香:しずか ちよ:ちよ 美智子:みちこ 光子:みつこ 紀子:のりこ 悦子:えつこ 綾:あや 真理:まり 里美:さとみ
奈々:なな 莉子:りこ 楓:かえで 純子:じゅんこ 弘美:ひろみ 房子:ふさこ 静子:しずこ 正子:まさこ""".split()]
CITIES = [("岐阜市", "21201"), ("大垣市", "21202"), ("高山市", "21203"), ("多治見市", "21204"), ("関市", "21205"),
          ("中津川市", "21206"), ("美濃市", "21207"), ("瑞浪市", "21208"), ("羽島市", "21209"), ("恵那市", "21210"),
          ("各務原市", "21213"), ("可児市", "21214")]
TOWNS = ("本町", "栄町", "旭町", "緑町", "若葉町", "東町", "西町", "南町", "北町", "中央", "桜ケ丘", "霞ヶ丘", "八幡町",
         "新町", "元町", "宮前町", "城南町", "城北", "日ノ出町", "富士見町", "松原", "青葉台", "錦町", "朝日町", "清水町")
BUILDINGS = ("コーポ桜", "ハイツ緑", "メゾン若葉", "グランドール中央", "サンハイム東")
PREF = "岐阜県"
KANJI_DIGITS = "〇一二三四五六七八九"
REMOVALS = ("死亡", "転出", "国外転出", "職権消除")


def kanji_number(n: int) -> str:
    """1..99 in kanji numerals (二十三)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else KANJI_DIGITS[tens]) + "十" if tens else "") + (KANJI_DIGITS[ones] if ones else "")


def city_code(code5: str) -> str:
    return code5 + str(municipality_check_digit(code5))


def seion(kana: str) -> str:
    """Dakuten and handakuten removed (清音化)."""
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", kana) if c not in "\u3099\u309a"))


@dataclass
class Address:
    city: int
    town: int
    chome: int
    banchi: int
    go: int
    building: int | None = None
    room: int | None = None

    def canonical(self) -> tuple:
        return (self.city, self.town, self.chome, self.banchi, self.go, self.building, self.room)

    def text(self, style: int) -> str:
        """The address in one of its written forms: 0 「2丁目3番4号」, 1 「二丁目3番地4」, 2 「2-3-4」."""
        city = CITIES[self.city][0]
        town = TOWNS[self.town]
        if style == 0:
            body = f"{self.chome}丁目{self.banchi}番{self.go}号"
        elif style == 1:
            body = f"{kanji_number(self.chome)}丁目{self.banchi}番地{self.go}"
        else:
            body = f"{self.chome}-{self.banchi}-{self.go}"
        tail = f"　{BUILDINGS[self.building]}{self.room}号室" if self.building is not None else ""
        return f"{PREF}{city}{town}{body}{tail}"


@dataclass
class Version:
    seq: int
    reason: str
    day: date
    family: tuple[str, str]
    address: Address
    style: int
    deleted: bool = False
    old_family: tuple[str, str] | None = None


@dataclass
class Person:
    code: str
    kojin: str
    sex: str
    given: tuple[str, str]
    birth: date
    versions: list[Version] = field(default_factory=list)
    gaiji: bool = False

    def in_force(self, day: date) -> Version | None:
        live = [v for v in self.versions if not v.deleted and v.day <= day]
        return max(live, key=lambda v: v.seq) if live else None

    def name(self, v: Version) -> str:
        return f"{v.family[0]}　{self.given[0]}"

    def kana(self, v: Version) -> str:
        return f"{v.family[1]}　{self.given[1]}"


@dataclass
class GenerationSummary:
    people: int = 0
    jumin_rows: int = 0
    fuhyo_rows: int = 0
    removed: dict = field(default_factory=dict)
    abroad: int = 0
    same_name_pairs: int = 0
    gaiji: int = 0
    deleted_rows: int = 0


def _random_address(rng: random.Random) -> Address:
    a = Address(rng.randrange(len(CITIES)), rng.randrange(len(TOWNS)), rng.randint(1, 6), rng.randint(1, 40),
                rng.randint(1, 25))
    if rng.random() < 0.25:
        a.building, a.room = rng.randrange(len(BUILDINGS)), rng.choice((101, 102, 201, 202, 301, 302))
    return a


def _birth(rng: random.Random, today: date) -> date:
    age = min(int(rng.triangular(0, 105, 45)), 108)
    return today - timedelta(days=age * 365 + rng.randrange(365))


def iter_people(people: int, seed: int, *, today: date) -> Iterator[Person]:
    """The generated persons, deterministic in (people, seed, today)."""
    rng = random.Random(seed)
    recent: list[Person] = []
    for i in range(people):
        code = with_check_digit(f"{(i * 7_654_321 + 1_000_000_007 + seed * 104_729) % 10**10:010d}")
        kojin = with_check_digit(f"{(i * 98_765_431 + 12_345 + seed * 1_299_709) % 10**11:011d}")
        twin = recent[rng.randrange(len(recent))] if recent and rng.random() < 0.004 else None
        if twin is not None:  # a stranger with the same name and birth date
            sex, given, birth = twin.sex, twin.given, twin.birth
            first = twin.versions[0]
            family = first.family
            address = Address(**vars(first.address)) if rng.random() < 0.5 else _random_address(rng)
            if address.building is not None and rng.random() < 0.5:
                address.room = rng.choice((101, 102, 201, 202, 301, 302))
        else:
            sex = rng.choice("12")
            given = rng.choice(MALE if sex == "1" else FEMALE)
            birth = _birth(rng, today)
            if rng.random() < 0.003:
                family = rng.choice(GAIJI_SURNAMES)
            else:
                family = SURNAMES[min(int(rng.expovariate(1 / 40)), len(SURNAMES) - 1)]
            address = _random_address(rng)
        p = Person(code, kojin if rng.random() < 0.97 else "", sex, given, birth,
                   gaiji=any(f[0] == family[0] for f in GAIJI_SURNAMES))
        born_here = rng.random() < 0.6
        start = birth if born_here else min(today, birth + timedelta(days=rng.randint(18 * 365, 40 * 365)))
        seq = 1
        p.versions.append(Version(seq, "出生" if born_here else "転入", start, family, address, rng.randrange(3)))
        day = start
        horizon = (today - day).days
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            if horizon < 60:
                break
            day = day + timedelta(days=rng.randint(30, max(31, horizon // 2)))
            if day > today:
                break
            horizon = (today - day).days
            prev = p.versions[-1]
            seq += 1
            age = (day - birth).days // 365
            if sex == "2" and 20 <= age <= 50 and prev.old_family is None and rng.random() < 0.4 and not p.gaiji:
                new_family = SURNAMES[rng.randrange(len(SURNAMES))]
                if new_family[0] != prev.family[0]:
                    p.versions.append(Version(seq, "氏の変更", day, new_family, prev.address, prev.style,
                                              old_family=prev.family))
                    continue
            p.versions.append(Version(seq, "転居", day, prev.family, _random_address(rng), rng.randrange(3),
                                      old_family=prev.old_family))
        if rng.random() < 0.01:  # an erroneous version, logically deleted
            prev = p.versions[-1]
            seq += 1
            p.versions.append(Version(seq, "転居", min(today, prev.day + timedelta(days=10)), prev.family,
                                      _random_address(rng), 0, deleted=True, old_family=prev.old_family))
        r = rng.random()
        age = (today - birth).days // 365
        removal = None
        death = age / 1500
        if r < death:
            removal = "死亡"
        elif r < death + 0.03:
            removal = "転出"
        elif r < death + 0.04:
            removal = "国外転出"
        elif r < death + 0.043:
            removal = "職権消除"
        if removal and (today - p.versions[-1].day).days > 2:
            prev = max((v for v in p.versions if not v.deleted), key=lambda v: v.seq)
            seq += 1
            day = prev.day + timedelta(days=rng.randint(1, max(1, (today - prev.day).days)))
            p.versions.append(Version(seq, removal, min(day, today), prev.family, prev.address, prev.style,
                                      old_family=prev.old_family))
        recent.append(p)
        if len(recent) > 500:
            recent.pop(0)
        yield p


def jumin_rows(p: Person, today: date) -> Iterator[list[str]]:
    for v in p.versions:
        city = CITIES[v.address.city]
        name = p.name(v)
        kana = p.kana(v)
        notified = min(today, v.day + timedelta(days=3))
        yield [p.code, name, "1" if p.gaiji else "0", kana, p.birth.isoformat(), p.sex, v.address.text(v.style), "0",
               p.kojin, v.reason, v.day.isoformat(), "0", jaconv.hira2kata(seion(kana)), city_code(city[1]),
               f"{v.address.town + 1:03d}{v.address.chome:03d}", f"OP{city[1]}", f"T{city[1]}",
               f"{v.day.isoformat()}T09:00:00+09:00", notified.isoformat(), "1" if p.gaiji else "0",
               "1" if v.deleted else "0", str(v.seq), "1" if p.gaiji else "", "",
               v.old_family[0] if v.old_family else "", "0" if v.old_family else "",
               v.old_family[1] if v.old_family else "", ""]


def fuhyo_rows(p: Person, today: date) -> Iterator[list[str]]:
    """One 附票 row per (住民票コード, 異動年月日) of the address history."""
    seen: set[date] = set()
    last_domestic = None
    for v in sorted((v for v in p.versions if not v.deleted), key=lambda v: v.seq):
        if v.day in seen:
            continue
        seen.add(v.day)
        city = CITIES[v.address.city]
        abroad = v.reason == "国外転出"
        status = "2" if v.reason in ("死亡", "職権消除") else "1"
        address = "" if abroad else v.address.text(v.style)
        last_domestic = v.address.text(v.style)
        yield [p.code, p.name(v), "1" if p.gaiji else "0", p.kana(v), p.birth.isoformat(), p.sex,
               "" if abroad else city_code(city[1]), address, "0", last_domestic if abroad else "",
               "0" if abroad else "", v.day.isoformat(), "", city_code(city[1]), status, "1" if p.gaiji else "0",
               "", "国外転出" if abroad else "", v.old_family[0] if v.old_family else "",
               "0" if v.old_family else "", v.old_family[1] if v.old_family else "", ""]


def generate(people: int, seed: int, out_dir: Path, *, today: date) -> GenerationSummary:
    out_dir = Path(out_dir)
    s = GenerationSummary(people=people)
    with open(out_dir / "jumin.csv", "w", encoding="utf-8", newline="") as jf, \
            open(out_dir / "fuhyo.csv", "w", encoding="utf-8", newline="") as ff:
        jw, fw = csv.writer(jf, lineterminator="\n"), csv.writer(ff, lineterminator="\n")
        jw.writerow(HEADERS[KIND_JUMIN])
        fw.writerow(HEADERS[KIND_FUHYO])
        seen_names: set[tuple] = set()
        for p in iter_people(people, seed, today=today):
            rows = list(jumin_rows(p, today))
            jw.writerows(rows)
            s.jumin_rows += len(rows)
            s.deleted_rows += sum(v.deleted for v in p.versions)
            frows = list(fuhyo_rows(p, today))
            fw.writerows(frows)
            s.fuhyo_rows += len(frows)
            last = p.versions[-1].reason
            if last in REMOVALS:
                s.removed[last] = s.removed.get(last, 0) + 1
            s.abroad += last == "国外転出"
            s.gaiji += p.gaiji
            key = (p.versions[0].family[0], p.given[0], p.birth)
            s.same_name_pairs += key in seen_names
            seen_names.add(key)
    return s


# --- labelled queries: a 検索条件 table with realistic noise and the known right answers -----
@dataclass
class LabelledQuery:
    row: dict  # SPEC §3 column name → cell text
    expected_status: str  # "00", "10", "20", "30", "90"
    expected_code: str | None = None  # the right person for 00/10
    kind: str = ""  # what the row exercises

    def __repr__(self) -> str:
        return f"LabelledQuery(kind={self.kind!r}, expected={self.expected_status})"


ERAS = (("令和", "R", date(2019, 5, 1)), ("平成", "H", date(1989, 1, 8)), ("昭和", "S", date(1926, 12, 25)),
        ("大正", "T", date(1912, 7, 30)), ("明治", "M", date(1868, 1, 25)))
_FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")


def wareki(d: date, style: int) -> str:
    for name, abbr, start in ERAS:
        if d >= start:
            y = d.year - start.year + 1
            if style == 0:
                return f"{name}{'元' if y == 1 else y}年{d.month}月{d.day}日"
            return f"{abbr}{y}.{d.month}.{d.day}"
    return d.isoformat()


def _birth_text(d: date, rng: random.Random) -> str:
    return rng.choice((d.isoformat(), f"{d.year}/{d.month}/{d.day}", d.strftime("%Y%m%d"), wareki(d, 0),
                       wareki(d, 1), d.isoformat().translate(_FULL)))


def _name_text(family: str, given: str, rng: random.Random) -> str:
    return family + rng.choice(("　", " ", "", "  ")) + given


def _kana_text(family: str, given: str, rng: random.Random) -> str:
    text = family + rng.choice(("　", " ", "")) + given
    style = rng.randrange(3)
    if style == 1:
        return jaconv.hira2kata(text)
    if style == 2:
        return jaconv.z2h(jaconv.hira2kata(text), kana=True, ascii=True, digit=True)
    return text


def _address_text(a: Address, rng: random.Random) -> str:
    text = a.text(rng.randrange(3))
    return text.translate(_FULL) if rng.random() < 0.3 else text


def labelled_queries(people: list[Person], seed: int, n: int, *, today: date) -> list[LabelledQuery]:
    """n rows exercising every outcome, each with the right answer derived from the truth
    (never from the normaliser under test)."""
    rng = random.Random(seed * 31 + 7)
    # who is who on the canonical 4情報 (family, given, birth, address) of the record in force
    four: dict[tuple, list[str]] = {}
    current: dict[str, tuple[Person, Version]] = {}
    for p in people:
        v = p.in_force(today)
        if v is None:
            continue
        current[p.code] = (p, v)
        for fam in {v.family[0], *(v.old_family[:1] if v.old_family else ())}:
            four.setdefault((fam, p.given[0], p.birth, v.address.canonical()), []).append(p.code)
    codes = sorted(current)
    out: list[LabelledQuery] = []
    kinds = ("code", "kojin", "four", "four_kana", "old_name", "name_birth_only", "unknown", "fuhyo_code", "twin")
    twins = [k for k, v in four.items() if len(set(v)) > 1]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        p, v = current[codes[rng.randrange(len(codes))]]
        status = "10" if v.reason in REMOVALS else "00"
        row = {"連番": str(i + 1)}
        q = LabelledQuery(row, status, p.code, kind)
        if kind == "code":
            row["住民票コード"] = p.code if rng.random() < 0.7 else p.code.translate(_FULL)
        elif kind == "kojin":
            if not p.kojin:
                row["住民票コード"] = p.code
            else:
                k = p.kojin
                row["個人番号"] = rng.choice((k, f"{k[:4]}-{k[4:8]}-{k[8:]}", k.translate(_FULL), f"{k[:4]} {k[4:8]} {k[8:]}"))
        elif kind in ("four", "four_kana", "old_name", "twin"):
            fam = v.family
            if kind == "old_name" and v.old_family:
                fam = v.old_family
            if kind == "twin" and twins:
                fam_t, given_t, birth_t, addr_t = twins[rng.randrange(len(twins))]
                twin_code = four[(fam_t, given_t, birth_t, addr_t)][0]
                p, v = current[twin_code]
                fam = (fam_t, "")
            if kind == "four_kana":
                kana_fam = fam[1] or v.family[1]
                row["氏名かな"] = _kana_text(kana_fam, p.given[1], rng)
            else:
                row["氏名"] = _name_text(fam[0], p.given[0], rng)
            row["生年月日"] = _birth_text(p.birth, rng)
            row["住所"] = _address_text(v.address, rng)
            if rng.random() < 0.5:
                row["性別"] = rng.choice({"1": ("1", "男"), "2": ("2", "女")}[p.sex])
            key = (fam[0] if kind != "four_kana" else None, p.given[0], p.birth, v.address.canonical())
            if kind == "four_kana":
                # a kana query can mean anyone whose reading matches
                same = {c for (f, g, b, a), cs in four.items() if b == p.birth and a == v.address.canonical()
                        for c in cs if current[c][1].family[1] == (fam[1] or v.family[1])
                        and current[c][0].given[1] == p.given[1]}
            else:
                same = set(four.get(key, []))
            if "性別" in row:
                same = {c for c in same if current[c][0].sex == p.sex}
            if len(same) > 1:
                q.expected_status, q.expected_code = "30", None
            else:
                q.expected_code = p.code
                q.expected_status = "10" if v.reason in REMOVALS else "00"
        elif kind == "name_birth_only":
            row["氏名"] = _name_text(v.family[0], p.given[0], rng)
            row["生年月日"] = _birth_text(p.birth, rng)
            q.expected_status, q.expected_code = "90", None
        elif kind == "unknown":
            row["住民票コード"] = with_check_digit(f"{rng.randrange(10**9):09d}9")
            if row["住民票コード"] in current or any(x.code == row["住民票コード"] for x in people):
                row["住民票コード"] = with_check_digit("9999999999")
            q.expected_status, q.expected_code = "20", None
        elif kind == "fuhyo_code":
            row["対象"] = "附票"
            row["住民票コード"] = p.code
            q.expected_status = "10" if v.reason in ("死亡", "職権消除") else "00"
        q.row = row
        out.append(q)
    return out
