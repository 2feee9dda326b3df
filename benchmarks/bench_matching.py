"""Benchmark: the exchange's pure pipeline, and match() alone, against a plain SQLite join of the
same keys, in the same run.

    python benchmarks/bench_matching.py --persons 1000000 --conditions 100000 [--repeat 5] [--store FILE]

Builds a synthetic store (benchmarks/bench_load.py's generator, loaded through load_files; with
--store the file is kept and reused), writes the bytes of a 検索条件 CSV with the contract §3 header
drawn from it (request_csv: a third each by 個人番号, 住民票コード and 4情報, in varied written
forms — hyphenated and full-width numbers, 和暦 and other date forms, 2-3-4 / full-width /
kanji-numeral addresses, spaced or unspaced names, katakana — 1 in 10 altered so that they
are not found, order shuffled), then times, alternating, medians of --repeat runs after one
untimed warm-up of the page cache:
  1. baseline: the same keys in in-memory temp tables joined to the store's indexes, rows
     fetched (no record-in-force rule, no name check, no result objects);
  2. pipeline, as bulktool.exchange runs it: request bytes → iter_conditions → match →
     write_results (照会結果.csv in memory), under matching.fewer_collections;
and once more 3. match() alone on the already parsed conditions.
Prints the figures, both ratios (target: pipeline ≤ 2× baseline), status counts, peak RSS
and the 1-minute load average. Synthetic data only; no cell is printed.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_load import write_store_csv  # noqa: E402

from bulktool.checkdigit import with_check_digit  # noqa: E402
from bulktool.conditions import iter_conditions, read_conditions  # noqa: E402
from bulktool.matching import fewer_collections, match  # noqa: E402
from bulktool.results import write_results  # noqa: E402
from bulktool.store.sqlite import unpack  # noqa: E402
from bulktool.store.generate import wareki  # noqa: E402
from bulktool.model import JUMIN_FIELDS, SearchCondition  # noqa: E402
from bulktool.store.load import load_files  # noqa: E402
from bulktool.store.schema import KIND_JUMIN  # noqa: E402
from bulktool.store.sqlite import SqliteStore  # noqa: E402

TODAY = date(2025, 4, 1)


HEADER = ["連番", "対象", "個人番号", "住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所"]


_FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")
_KANJI_DIGITS = "〇一二三四五六七八九"


def _kanji_number(n: int) -> str:
    """1–99 as written in an address: 十, 二十三, …"""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _KANJI_DIGITS[tens]) + "十" if tens else "") + (_KANJI_DIGITS[ones] if ones else "")


def _address_form(address: str, form: int) -> str:
    """The stored 「…2丁目3番4号」 written another way: 2-3-4, full-width 2－3－4, 二丁目三番四号, or as stored."""
    head, sep, tail = address.rpartition("町")
    if form == 0:
        return address.replace("丁目", "-").replace("番", "-").replace("号", "")
    if form == 1:
        return address.replace("丁目", "-").replace("番", "-").replace("号", "").translate(_FULL)
    if form == 2 and sep:
        return head + sep + re.sub(r"\d+", lambda m: _kanji_number(int(m.group())), tail)
    return address


def request_csv(store: SqliteStore, n: int, seed: int = 2, *, shuffle: bool = True) -> bytes:
    """The bytes of an n-row 検索条件 CSV (UTF-8 with BOM) drawn from the store, in shuffled order:
    a third each by 個人番号 (plain, hyphenated or full-width), 住民票コード and 4情報 (氏名 with a
    full-width, half-width or no space, or 氏名かな in hiragana or katakana; 生年月日 as
    YYYY-MM-DD, 和暦, YYYY/M/D or YYYYMMDD; 住所 as 2-3-4, full-width, kanji numerals or as stored);
    1 in 10 altered so that they are not found. shuffle=False keeps the store's row order.

    People are drawn by a hash of their 住民票コード, not every k-th one: the generator's version
    count follows the person's index modulo 10, and a stride of 10 would draw only people with
    exactly two versions (no 消除者, no single or triple histories)."""
    rng = random.Random(seed)
    people = store.db.execute("SELECT count(DISTINCT jumin_code) FROM jumin").fetchone()[0]
    step = max(1, people // n)
    rows = store.db.execute(
        "SELECT jumin_code, kojin_bango, birth_date, packed FROM jumin WHERE update_seq = 1 "
        "AND (CAST(substr(jumin_code, 1, 10) AS INTEGER) * 40503 % 1000003) % ? = 0 LIMIT ?", (step, n)).fetchall()
    if shuffle:  # a request is not in the store's order; store order flatters the page cache
        rng.shuffle(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADER)
    for i in range(n):
        code, kojin, birth, packed = rows[i % len(rows)]
        cells = unpack(KIND_JUMIN, packed)
        miss = rng.random() < 0.1
        kind = i % 3
        row = [str(i + 1), "", "", "", "", "", "", "", ""]
        if kind == 0:
            # a valid number outside the generated range (the generator's numbers are consecutive,
            # so a small offset would hit another person)
            k = with_check_digit(f"{(int(kojin[:11]) + 5 * 10**10) % 10**11:011d}") if miss else kojin
            form = rng.random()
            row[2] = f"{k[:4]}-{k[4:8]}-{k[8:]}" if form < 0.3 else k.translate(_FULL) if form < 0.4 else k
        elif kind == 1:
            row[3] = "00000000000" if miss else code  # valid check digit, nobody's
        else:
            day = date(1901, 1, 1) if miss else date.fromisoformat(birth)
            form = rng.randrange(4)
            row[6] = (wareki(day) if form == 0 and day.year > 1912 else f"{day.year}/{day.month}/{day.day}"
                      if form == 1 else day.strftime("%Y%m%d") if form == 2 else day.isoformat())
            row[8] = _address_form(cells["address"], rng.randrange(4))
            if rng.random() < 0.5:
                kana = cells["name_kana"]
                row[5] = kana if rng.random() < 0.5 else "".join(
                    chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in kana)  # katakana
            else:
                name = cells["name"]
                form = rng.randrange(3)
                row[4] = name if form == 0 else name.replace("　", " ") if form == 1 else name.replace("　", "")
        w.writerow(row)
    return buf.getvalue().encode("utf-8-sig")


def baseline(store: SqliteStore, conds: list[SearchCondition]) -> int:
    """Same keys, one temp table per key kind, joined to the indexes; rows fetched."""
    from bulktool.normalize import address_key

    db = store.db
    db.execute("CREATE TEMP TABLE IF NOT EXISTS qk (k TEXT)")
    db.execute("CREATE TEMP TABLE IF NOT EXISTS qc (k TEXT)")
    db.execute("CREATE TEMP TABLE IF NOT EXISTS qf (b TEXT, a TEXT)")
    for t in ("qk", "qc", "qf"):
        db.execute(f"DELETE FROM {t}")
    db.executemany("INSERT INTO qk VALUES (?)", [(c.kojin_bango,) for c in conds if c.kojin_bango])
    db.executemany("INSERT INTO qc VALUES (?)", [(c.jumin_code,) for c in conds if c.jumin_code])
    db.executemany("INSERT INTO qf VALUES (?, ?)", [(c.birth_date.isoformat(), address_key(c.address))
                                                   for c in conds if c.address])
    n = 0
    for sql in ("SELECT j.* FROM qk JOIN jumin j ON j.kojin_bango = qk.k",
                "SELECT j.* FROM qc JOIN jumin j ON j.jumin_code = qc.k",
                "SELECT j.* FROM qf JOIN jumin j ON j.birth_date = qf.b AND j.k_addr = qf.a"):
        n += len(db.execute(sql).fetchall())
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--conditions", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each side (medians are reported)")
    ap.add_argument("--store", type=Path, help="reuse (or keep) the store file here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.store or Path(tmp) / "store.sqlite"
        if not path.exists():
            t = time.perf_counter()
            csvs = write_store_csv(Path(tmp), args.persons)
            store = SqliteStore.create(path)
            report = load_files(store, KIND_JUMIN, [csvs[KIND_JUMIN]])
            csvs[KIND_JUMIN].unlink()
            print(f"store: {args.persons:,} persons, {report.inserted:,} rows, built in {time.perf_counter() - t:.0f} s")
        else:
            store = SqliteStore.open(path)
        data = request_csv(store, args.conditions)
        conds = [c for c in read_conditions("検索条件.csv", data).items if isinstance(c, SearchCondition)]
        print(f"request: {args.conditions:,} rows, {len(data) / 2**20:.0f} MiB CSV; {len(conds):,} valid conditions; "
              f"load average {os.getloadavg()[0]:.1f} before the timed runs")
        baseline(store, conds)  # warm the page cache once, untimed, so that neither side pays for it
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # store (built) + request + baseline
        bases, takes = [], []
        for _ in range(args.repeat):  # alternate the two, report medians: the machine is noisy
            t = time.perf_counter()
            rows = baseline(store, conds)
            bases.append(time.perf_counter() - t)
            t = time.perf_counter()
            with fewer_collections():  # as bulktool.exchange runs it
                stream = iter_conditions("検索条件.csv", data)
                table = write_results(match(stream.items, store, as_of=TODAY, kojin_bango_for_fuhyo=False,
                                            batch_size=args.batch_size), fields=JUMIN_FIELDS)
            takes.append(time.perf_counter() - t)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        base, took = statistics.median(bases), statistics.median(takes)
        print(f"baseline SQLite temp-table join of the same keys: {base:.2f} s ({rows:,} rows fetched); "
              f"runs {', '.join(f'{b:.2f}' for b in bases)}")
        print(f"pipeline (parse + normalise + match + write 照会結果.csv): {took:.2f} s, "
              f"{args.conditions / took:,.0f} rows/s; runs {', '.join(f'{b:.2f}' for b in takes)}")
        print(f"ratio pipeline / baseline (medians): {took / base:.2f}× (target ≤ 2×)")
        print(f"statuses: {dict(sorted(table.counts.items()))}")
        t = time.perf_counter()
        counts = Counter(r.status.value for r in match(conds, store, as_of=TODAY, kojin_bango_for_fuhyo=False,
                                                       batch_size=args.batch_size))
        only = time.perf_counter() - t
        print(f"match() alone on parsed conditions: {only:.2f} s; ratio to baseline {only / base:.2f}×")
        assert counts == Counter({k: v for k, v in table.counts.items() if v and k != "90"}), "both runs agree"
        print(f"peak RSS: {rss / 1024:.0f} MiB (before the first pipeline run {rss0 / 1024:.0f} MiB: store build "
              f"when built here, request, baseline); "
              f"load average {os.getloadavg()[0]:.1f}")
        store.close()


if __name__ == "__main__":
    main()
