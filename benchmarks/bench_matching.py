"""Benchmark: match() against a plain SQLite join of the same keys, in the same run.

    python benchmarks/bench_matching.py --persons 1000000 --conditions 100000

Builds a synthetic store (benchmarks/bench_load.py's generator, loaded through load_files),
draws conditions from it — a third each by 個人番号, 住民票コード and 4情報 (氏名 or かな +
生年月日 + 住所 written in another form), 1 in 10 of them altered so that they are not found —
then times
  1. baseline: the same keys in in-memory temp tables joined to the store's indexes, rows
     fetched (no record-in-force rule, no name check, no result objects);
  2. match(): normalisation, batch lookups, record in force, statuses, MatchResult objects.
Prints both, the ratio, status counts and the peak RSS. Synthetic data only.
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_load import write_store_csv  # noqa: E402

from bulktool.matching import match  # noqa: E402
from bulktool.model import SearchCondition  # noqa: E402
from bulktool.store.load import load_files  # noqa: E402
from bulktool.store.schema import KIND_JUMIN  # noqa: E402
from bulktool.store.sqlite import SqliteStore  # noqa: E402

TODAY = date(2025, 4, 1)


def conditions(store: SqliteStore, n: int, seed: int = 2) -> list[SearchCondition]:
    rng = random.Random(seed)
    people = store.db.execute("SELECT count(DISTINCT jumin_code) FROM jumin").fetchone()[0]
    step = max(1, people // n)
    rows = store.db.execute(
        "SELECT jumin_code, kojin_bango, name, name_kana, birth_date, address FROM jumin "
        "WHERE update_seq = 1 AND (CAST(substr(jumin_code, 1, 10) AS INTEGER) % ?) = 0 LIMIT ?", (step, n)).fetchall()
    out = []
    for i, (code, kojin, name, kana, birth, address) in enumerate(rows * (n // max(1, len(rows)) + 1)):
        if len(out) == n:
            break
        miss = rng.random() < 0.1
        kind = i % 3
        if kind == 0:
            out.append(SearchCondition(i + 1, i + 2, str(i + 1), kojin_bango=kojin[::-1] if miss else kojin))
        elif kind == 1:
            out.append(SearchCondition(i + 1, i + 2, str(i + 1), jumin_code="00000000000" if miss else code))
        else:
            addr = address.replace("丁目", "-").replace("番", "-").replace("号", "")  # 2-3-4 form
            by_kana = rng.random() < 0.5
            out.append(SearchCondition(i + 1, i + 2, str(i + 1), name=None if by_kana else name,
                                       name_kana=kana if by_kana else None,
                                       birth_date=date(1901, 1, 1) if miss else date.fromisoformat(birth),
                                       address=addr))
    return out


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
        conds = conditions(store, args.conditions)
        print(f"conditions: {len(conds):,}")
        t = time.perf_counter()
        rows = baseline(store, conds)
        base = time.perf_counter() - t
        print(f"baseline SQLite temp-table join: {base:.2f} s ({rows:,} rows fetched)")
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        counts = Counter(r.status.value for r in match(conds, store, as_of=TODAY, kojin_bango_for_fuhyo=False,
                                                       batch_size=args.batch_size))
        took = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"match(): {took:.2f} s, {len(conds) / took:,.0f} conditions/s; ratio to baseline {took / base:.2f}×")
        print(f"statuses: {dict(sorted(counts.items()))}")
        print(f"peak RSS: {rss / 1024:.0f} MiB (before match {rss0 / 1024:.0f} MiB)")
        store.close()


if __name__ == "__main__":
    main()
