"""Benchmark: the same store and the same request on SQLite and on PostgreSQL, through the real CLI,
with a plain key join on each engine in the same run.

    python benchmarks/bench_engines.py [--persons 1000000] [--rows 100000] [--root /tmp/bench-engines]
                                       [--pg-url URL] [--pg-setting NAME=VALUE ...]

1. Writes --persons synthetic people (bench_load.write_store_csv: 1–3 versions each, ~1.7 rows a
   person) as one jumin CSV.
2. Two workspaces: `bulktool init` (SQLite) and `bulktool init --store URL` (PostgreSQL: a
   throwaway cluster started here with tests/pgcluster.py — shared_buffers 1 GB, max_wal_size
   8 GB — unless --pg-url names one), each with an operator, a department and a drive (a folder);
   `bulktool store load` into each, timed (rows/s, peak RSS of the command).
3. A --rows request drawn from the store (bench_matching.request_csv: a third each 個人番号,
   住民票コード, 4情報 in varied forms, 1 in 10 not found, shuffled), zipped once with `bulktool
   request zip`, and `bulktool exchange` on each drive, timed (wall, rows/s, peak RSS).
4. The plain key join on each engine: the request's keys put into temporary tables and joined
   to the store's indexes, rows fetched (bench_matching.baseline; on PostgreSQL the keys go in by
   COPY, as the backend does). No record-in-force choice, no matching, no files: the floor.
5. With --migrate: `bulktool store migrate --to` of the SQLite workspace into a new schema (copy,
   indexes, counts and a hash of every row on both sides), timed.
6. With --ceiling: the backends alone — the CSV parsed and validated in this process first, then
   the chunks handed to begin_load / load_batch / commit_load of a new store on each engine: what
   `store load` could reach if parsing were free.
Prints every figure and the ratios (exchange ÷ its own join, PostgreSQL ÷ SQLite). Synthetic
data only; nothing personal is printed. --root is emptied first; the figures are left in --root/built.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

import pgcluster  # noqa: E402
from bench_load import write_store_csv  # noqa: E402
from bench_matching import baseline, request_csv  # noqa: E402

from bulktool.conditions import iter_conditions  # noqa: E402
from bulktool.normalize import address_key  # noqa: E402
from bulktool.store.sqlite import SqliteStore  # noqa: E402

FIELDS = "住民票コード,氏名,氏名かな,生年月日,性別,住所,個人番号,異動事由,異動年月日"
PG_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}


def timed(root: Path, home: Path, *args: str, who: str | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB of this command alone — os.wait4 —, stdout) of one bulktool command."""
    cmd = [sys.executable, "-m", "bulktool", *args, "--home", str(home)]
    if who:
        cmd += ["--operator", who, "--passphrase-file", str(root / f"{who}.pass")]
    out_path, err_path = root / "cmd.out", root / "cmd.err"
    _loads.append(os.getloadavg()[0])
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, "COLUMNS": "200"})
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed: {err_path.read_text()[-2000:]}")
    return took, usage.ru_maxrss / 1024, out_path.read_text()


_loads: list[float] = []  # the 1-minute load average before each timed command (the machine is shared)


def workspace(root: Path, name: str, store: str | None) -> Path:
    home = root / name
    subprocess.run([sys.executable, "-m", "bulktool", "init", "--terminal-id", "BENCH-T01", "--admin", "adm01",
                    "--home", str(home), "--passphrase-file", str(root / "adm01.pass"),
                    *(["--store", store] if store else [])], check=True, capture_output=True)
    timed(root, home, "operator", "add", "op01", "--name", "op01", "--role", "operator", "--trained-on",
          "2026-04-01", "--new-passphrase-file", str(root / "op01.pass"), who="adm01")
    timed(root, home, "department", "add", "D01", "--name", "bench", "--purpose", "P01=住基法別表第五第一号",
          "--fields", FIELDS, "--kojin-bango", who="adm01")
    (root / f"drive-{name}").mkdir()
    timed(root, home, "media", "register", str(root / f"drive-{name}"), "--media-id", f"BENCH-{name}",
          "--department", "D01", who="op01")
    return home


def pg_join(url: str, conds) -> int:
    """bench_matching.baseline on PostgreSQL: keys COPY'd into temporary tables, three joins."""
    import psycopg

    with psycopg.connect(url) as conn:
        for t, cols in (("qk", "k text"), ("qc", "k text"), ("qf", "b date, a text")):
            conn.execute(f"CREATE TEMP TABLE {t} ({cols})")
        cur = conn.cursor()
        for t, rows in (("qk", [(c.kojin_bango,) for c in conds if c.kojin_bango]),
                        ("qc", [(c.jumin_code,) for c in conds if c.jumin_code]),
                        ("qf", [(c.birth_date, address_key(c.address)) for c in conds if c.address])):
            with cur.copy(f"COPY {t} FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
        conn.execute("ANALYZE qk; ANALYZE qc; ANALYZE qf")
        n = 0
        for sql in ("SELECT j.* FROM qk JOIN jumin j ON j.kojin_bango = qk.k",
                    "SELECT j.* FROM qc JOIN jumin j ON j.jumin_code = qc.k",
                    "SELECT j.* FROM qf JOIN jumin j ON j.birth_date = qf.b AND j.k_addr = qf.a"):
            n += len(conn.execute(sql).fetchall())
        return n


def ceiling(csv_path: Path, root: Path, url: str) -> None:
    """The backends' part of a load alone: chunks parsed first, then inserted, indexed, committed."""
    import psycopg

    from bulktool.store import load as loadmod
    from bulktool.store.postgresql import PostgresStore
    from bulktool.store.validate import parse_chunk

    t = time.perf_counter()
    batches = [parse_chunk("jumin", csv_path.name, first, data).batch() for first, data in loadmod._chunks(csv_path, "jumin")]
    rows = sum(b.num_rows for b in batches)
    print(f"ceiling: parse + validate in one process {rows / (time.perf_counter() - t):,.0f} rows/s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA ceiling")
    for engine, make in (("sqlite", lambda: SqliteStore.create(root / "ceiling.sqlite")),
                         ("postgresql", lambda: PostgresStore.create(url + "&options=-c%20search_path%3Dceiling"))):
        store = make()
        t = time.perf_counter()
        store.begin_load("jumin")
        for b in batches:
            store.load_batch("jumin", b)
        t1 = time.perf_counter()
        store.commit_load()
        t2 = time.perf_counter()
        store.close()
        print(f"ceiling {engine:10s}: insert {t1 - t:.1f} s + indexes and commit {t2 - t1:.1f} s = "
              f"{rows / (t2 - t):,.0f} rows/s")
    (root / "ceiling.sqlite").unlink()
    del batches


def pg_sizes(url: str) -> str:
    """Table and index sizes of the PostgreSQL store (heap + TOAST, indexes)."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c "
                            "WHERE c.relname IN ('jumin', 'fuhyo', 'provisions') AND c.relkind = 'r' "
                            "AND c.relnamespace = current_schema()::regnamespace").fetchall()
    return ", ".join(f"{name} {t / 2**30:.2f} GiB + indexes {i / 2**30:.2f} GiB" for name, t, i in rows)


def median_time(fn, repeat: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2], n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--root", type=Path, default=Path("/tmp/bench-engines"))
    ap.add_argument("--pg-url", help="a PostgreSQL database (schema) to use instead of a throwaway cluster")
    ap.add_argument("--pg-setting", action="append", default=[], help="NAME=VALUE for the throwaway cluster")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each plain join (median)")
    ap.add_argument("--migrate", action="store_true", help="also time store migrate of the SQLite workspace")
    ap.add_argument("--ceiling", action="store_true", help="also time the backends' load alone, parsing excluded")
    ap.add_argument("--draw-request", type=Path, help=argparse.SUPPRESS)  # internal: the child that draws
    args = ap.parse_args()
    root = args.root
    if args.draw_request:
        store = SqliteStore.open(root / "sqlite" / "store.sqlite")
        args.draw_request.write_bytes(request_csv(store, args.rows))
        store.close()
        return
    cluster = None
    settings = dict(PG_SETTINGS, **dict(s.split("=", 1) for s in args.pg_setting))
    built = root / "built"
    shutil.rmtree(root, ignore_errors=True)  # each run builds anew: the throwaway cluster is gone
    root.mkdir(parents=True)
    try:
        if args.pg_url:
            url = args.pg_url
        else:
            cluster = pgcluster.start(settings=settings)
            url = cluster.url()
            print(f"PostgreSQL: throwaway cluster, settings {settings}")
        for who in ("adm01", "op01"):
            (root / f"{who}.pass").write_text(f"{who}-bench-passphrase\n", encoding="utf-8")
        homes = {"sqlite": workspace(root, "sqlite", None), "postgresql": workspace(root, "postgresql", url)}
        t = time.perf_counter()
        csv_path = write_store_csv(root, args.persons)["jumin"]
        rows = sum(1 for _ in open(csv_path, "rb")) - 1
        print(f"store CSV: {args.persons:,} persons, {rows:,} rows, {csv_path.stat().st_size / 2**30:.2f} GiB, "
              f"written in {time.perf_counter() - t:.0f} s")
        figures: dict[str, dict] = {}
        for engine, home in homes.items():
            took, peak, _ = timed(root, home, "store", "load", "--kind", "jumin", str(csv_path), who="adm01")
            figures[engine] = {"load_s": took, "load_rss": peak}
            print(f"{engine:10s} store load: {took:7.1f} s, {rows / took:9,.0f} rows/s, peak RSS {peak:,.0f} MiB")
        if not args.ceiling:
            csv_path.unlink()
        print(f"store size: SQLite file {(homes['sqlite'] / 'store.sqlite').stat().st_size / 2**30:.2f} GiB; "
              f"PostgreSQL {pg_sizes(url)}")
        # drawn in a child process: a child's ru_maxrss starts at its parent's peak (fork + exec keep
        # the high-water mark), so a parent that drew 1M rows itself would inflate the exchange's figure
        subprocess.run([sys.executable, __file__, "--draw-request", str(root / "request.csv"), "--root", str(root),
                        "--rows", str(args.rows)], check=True)
        table = (root / "request.csv").read_bytes()
        (root / "request.csv").unlink()
        pw = root / "request.pw"
        pw.write_text("bench-request-password\n", encoding="utf-8")
        (root / "検索条件.csv").write_bytes(table)
        subprocess.run([sys.executable, "-m", "bulktool", "request", "zip", str(root / "検索条件.csv"), "--out",
                        str(root / "検索条件.zip"), "--password-file", str(pw)], check=True, capture_output=True)
        (root / "検索条件.csv").unlink()
        for engine, home in homes.items():
            drive = root / f"drive-{engine}"
            shutil.copy(root / "検索条件.zip", drive / "検索条件.zip")
            took, peak, out = timed(root, home, "exchange", str(drive), "--department", "D01", "--purpose", "P01",
                                    "--approval", "BENCH-1", "--password-file", str(pw), who="op01")
            figures[engine].update(exchange_s=took, exchange_rss=peak)
            counts = [ln.strip() for ln in out.splitlines() if "該当" in ln and "パスワード" not in ln
                      and "全国サーバ" not in ln]
            print(f"{engine:10s} exchange:   {took:7.1f} s, {args.rows / took:9,.0f} rows/s, peak RSS {peak:,.0f} MiB"
                  f"  [{'; '.join(counts[:4])}]")
        conds = [c for c in iter_conditions("検索条件.csv", table).items if hasattr(c, "jumin_code")]
        sq = SqliteStore.open(homes["sqlite"] / "store.sqlite")
        join_s, n = median_time(lambda: baseline(sq, conds), args.repeat)
        figures["sqlite"]["join_s"] = join_s
        print(f"sqlite     plain join: {join_s:6.2f} s ({n:,} rows), median of {args.repeat}")
        sq.close()
        join_s, n = median_time(lambda: pg_join(url, conds), args.repeat)
        figures["postgresql"]["join_s"] = join_s
        print(f"postgresql plain join: {join_s:6.2f} s ({n:,} rows), median of {args.repeat}")
        s, p = figures["sqlite"], figures["postgresql"]
        print(f"ratios: exchange ÷ own join — SQLite {s['exchange_s'] / s['join_s']:.2f}×, PostgreSQL "
              f"{p['exchange_s'] / p['join_s']:.2f}× (target ≤ 2×); PostgreSQL ÷ SQLite — exchange "
              f"{p['exchange_s'] / s['exchange_s']:.2f}× (target ≤ 1.5×), join {p['join_s'] / s['join_s']:.2f}×, "
              f"load {p['load_s'] / s['load_s']:.2f}× (PostgreSQL load {rows / p['load_s']:,.0f} rows/s, target ≥ 150,000)")
        if args.migrate:
            target = url + ("&" if "?" in url else "?") + "options=-c%20search_path%3Dmigrated"
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE SCHEMA migrated")
            took, peak, _ = timed(root, homes["sqlite"], "store", "migrate", "--to", target, who="adm01")
            print(f"sqlite → postgresql store migrate: {took:.1f} s ({rows / took:,.0f} rows/s with the checks), "
                  f"peak RSS {peak:,.0f} MiB")
        if args.ceiling:  # last: parsing the whole CSV here raises this process's peak RSS
            ceiling(csv_path, root, url)
            csv_path.unlink()
        print(f"load average (1 min) before each timed command: {', '.join(f'{x:.1f}' for x in _loads)}")
        built.write_text(json.dumps(figures))
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
