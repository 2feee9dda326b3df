"""Benchmark: `store load` rows/s against a baseline measured in the same run.

    python benchmarks/bench_load.py --rows 1000000 [--workers 0,1,2]

Writes N rows of valid synthetic jumin CSV (own small generator below: fictional names,
valid check digits) to a temporary folder, then times
  1. baseline: csv.reader → executemany into a table of the same columns, no validation,
     no keys, no indexes (the floor for "parse + insert" in Python + SQLite);
  2. load_files(): validation of every field, match keys, idempotent insert, indexes.
and prints rows/s and the ratio. --ceiling adds 3. the SQLite part alone (the loaded rows, already
tuples, inserted with indexes into a new store): what load_files could reach if everything else
were free. --page-sizes times new stores with other SQLite page sizes. Synthetic data only;
nothing personal is printed.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bulktool.checkdigit import with_check_digit  # noqa: E402
from bulktool.store.schema import HEADERS, JUMIN_COLUMNS, KIND_FUHYO, KIND_JUMIN  # noqa: E402

FAMILY = [("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("田中", "たなか"), ("伊藤", "いとう"),
          ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"), ("小林", "こばやし"), ("加藤", "かとう"),
          ("吉田", "よしだ"), ("山田", "やまだ"), ("佐々木", "ささき"), ("山口", "やまぐち"), ("松本", "まつもと"),
          ("井上", "いのうえ"), ("木村", "きむら"), ("林", "はやし"), ("斎藤", "さいとう"), ("清水", "しみず")]
GIVEN = [("太郎", "たろう"), ("花子", "はなこ"), ("一郎", "いちろう"), ("陽子", "ようこ"), ("健", "けん"),
         ("美咲", "みさき"), ("翔太", "しょうた"), ("さくら", "さくら"), ("大輔", "だいすけ"), ("直美", "なおみ"),
         ("誠", "まこと"), ("由美", "ゆみ"), ("拓也", "たくや"), ("恵", "めぐみ"), ("浩", "ひろし")]
CITIES = [("岐阜市", "21201"), ("大垣市", "21202"), ("高山市", "21203"), ("多治見市", "21204"), ("関市", "21205")]
TOWNS = ["本町", "栄町", "東町", "西町", "北町", "南町", "緑町", "桜木町"]
_CITY6 = {}


def city6(code5: str) -> str:
    from bulktool.checkdigit import municipality_check_digit
    if code5 not in _CITY6:
        _CITY6[code5] = code5 + str(municipality_check_digit(code5))
    return _CITY6[code5]


def person(i: int, rng: random.Random) -> dict:
    fam, giv = FAMILY[rng.randrange(len(FAMILY))], GIVEN[rng.randrange(len(GIVEN))]
    city = CITIES[rng.randrange(len(CITIES))]
    addr = f"岐阜県{city[0]}{TOWNS[rng.randrange(len(TOWNS))]}{rng.randint(1, 5)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
    return {"code": with_check_digit(f"{10_000_000_000 - 1 - i:010d}"),  # 10 digits + check digit
            "kojin": with_check_digit(f"{10_000_000_000 + i:011d}"),
            "name": f"{fam[0]}　{giv[0]}", "kana": f"{fam[1]}　{giv[1]}",
            "birth": f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "sex": rng.choice("12"), "address": addr, "city": city6(city[1])}


def jumin_rows(p: dict, versions: int) -> list[list[str]]:
    out = []
    for seq in range(1, versions + 1):
        reason = "転入" if seq == 1 else ("転居" if seq < versions or versions < 3 else "死亡")
        day = f"20{10 + seq:02d}-04-01"
        out.append([p["code"], p["name"], "0", p["kana"], p["birth"], p["sex"], p["address"], "0", p["kojin"],
                    reason, day, "0", "", p["city"], "001002", "OP01", "T01", f"{day}T09:00:00+09:00", day,
                    "0", "0", str(seq), "", "", "", "", "", ""])
    return out


def fuhyo_rows(p: dict, versions: int) -> list[list[str]]:
    out = []
    for seq in range(1, versions + 1):
        day = f"20{10 + seq:02d}-04-01"
        out.append([p["code"], p["name"], "0", p["kana"], p["birth"], p["sex"], p["city"], p["address"], "0", "",
                    "", day, "", p["city"], "1", "0", "", "", "", "", "", ""])
    return out


def write_store_csv(folder: Path, persons: int, seed: int = 1, *, kinds=(KIND_JUMIN,)) -> dict[str, Path]:
    """persons people with 1–3 versions each (~1.5 rows per person); returns {kind: path}."""
    rng = random.Random(seed)
    paths = {k: folder / f"{k}.csv" for k in kinds}
    files = {k: open(paths[k], "w", encoding="utf-8", newline="") for k in kinds}
    writers = {k: csv.writer(f, lineterminator="\n") for k, f in files.items()}
    for k, w in writers.items():
        w.writerow(HEADERS[k])
    for i in range(persons):
        p = person(i, rng)
        versions = 1 + (i % 2) + (i % 5 == 0)
        if KIND_JUMIN in writers:
            writers[KIND_JUMIN].writerows(jumin_rows(p, versions))
        if KIND_FUHYO in writers:
            writers[KIND_FUHYO].writerows(fuhyo_rows(p, versions))
    for f in files.values():
        f.close()
    return paths


def baseline(path: Path, db_path: Path) -> int:
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    cols = [en for _, en in JUMIN_COLUMNS]
    db.execute(f"CREATE TABLE t ({', '.join(cols)})")
    sql = f"INSERT INTO t VALUES ({','.join('?' * len(cols))})"
    n = 0
    db.execute("BEGIN")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        while True:
            batch = [r for _, r in zip(range(50_000), reader)]
            if not batch:
                break
            db.executemany(sql, batch)
            n += len(batch)
    db.execute("COMMIT")
    db.close()
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000, help="approximate jumin rows")
    ap.add_argument("--workers", default="auto", help="comma-separated worker counts to time, e.g. 0,1,2 "
                                                     "(auto = load_files' own choice)")
    ap.add_argument("--ceiling", action="store_true",
                    help="also time the SQLite part alone (insert + indexes of the loaded rows, already tuples)")
    ap.add_argument("--page-sizes", default="", help="comma-separated SQLite page sizes to time (default: the store's)")
    args = ap.parse_args()
    from bulktool.store.load import load_files
    from bulktool.store.sqlite import SqliteStore

    settings = [None if w == "auto" else int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        paths = write_store_csv(tmp, int(args.rows / 1.7))
        with open(paths[KIND_JUMIN], "rb") as fh:
            rows = sum(1 for _ in fh) - 1
        print(f"generated {rows:,} jumin rows in {time.perf_counter() - t:.1f} s "
              f"({os.path.getsize(paths[KIND_JUMIN]) / 2**20:.0f} MiB); load average {os.getloadavg()[0]:.1f}")
        t = time.perf_counter()
        baseline(paths[KIND_JUMIN], tmp / "base.sqlite")
        base = rows / (time.perf_counter() - t)
        print(f"baseline csv.reader → executemany, 28 columns (no validation, no keys, no index): "
              f"{base:,.0f} rows/s")
        pages = [int(p) for p in args.page_sizes.split(",") if p] or [None]
        for workers, page_size in [(w, p) for w in settings for p in pages]:
            db = tmp / f"store-{workers}.sqlite"
            store = SqliteStore.create(db, page_size=page_size)
            if page_size:
                print(f"page size {store.db.execute('PRAGMA page_size').fetchone()[0]:,} bytes")
            t = time.perf_counter()
            report = load_files(store, KIND_JUMIN, [paths[KIND_JUMIN]], workers=workers)
            speed = rows / (time.perf_counter() - t)
            print(f"load_files workers={'auto' if workers is None else workers} (validate, keys, insert, indexes): "
                  f"{speed:,.0f} rows/s, inserted {report.inserted:,}; {speed / base:.2f}× the baseline's rows/s")
            t = time.perf_counter()
            again = load_files(store, KIND_JUMIN, [paths[KIND_JUMIN]], workers=workers)
            print(f"  idempotent reload: {rows / (time.perf_counter() - t):,.0f} rows/s, inserted {again.inserted:,}")
            print(f"  peak RSS so far: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB, "
                  f"largest worker {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:,.0f} MiB")
            if args.ceiling:
                ceiling(store, tmp / "ceiling.sqlite", page_size)
                args.ceiling = False
            store.close()
            db.unlink()


def ceiling(store, path: Path, page_size: int | None) -> None:
    """The SQLite part alone: the rows just loaded, already as tuples in memory, inserted into a
    new store through the same begin_load/load_batch/commit_load (indexes included): the rows/s
    that load_files could reach if reading, validating, computing keys and building tuples cost
    nothing."""
    from bulktool.store.sqlite import load_columns
    from bulktool.store.sqlite import SqliteStore

    rows = store.db.execute(f"SELECT {', '.join(load_columns(KIND_JUMIN))} FROM jumin ORDER BY rowid").fetchall()
    rows = [tuple(r) for r in rows]
    target = SqliteStore.create(path, page_size=page_size)
    t = time.perf_counter()
    target.begin_load(KIND_JUMIN)
    for i in range(0, len(rows), 50_000):
        target.insert_rows(KIND_JUMIN, rows[i:i + 50_000])
    inserted = time.perf_counter() - t
    target.commit_load()
    took = time.perf_counter() - t
    print(f"  ceiling, SQLite alone (rows already tuples; insert {inserted:.1f} s, indexes + commit "
          f"{took - inserted:.1f} s): {len(rows) / took:,.0f} rows/s")
    target.close()
    path.unlink()


if __name__ == "__main__":
    main()
