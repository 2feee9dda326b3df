"""Benchmark: a 1,000,000-row request against a 10,000,000-person store, end to end, with the
real `bulktool exchange` command in a child process — peak memory must stay under 2 GiB.

    python benchmarks/bench_exchange_scale.py [--persons 10000000] [--rows 1000000] [--home /tmp/bench10m]
                                              [--store-order]

Builds (once; a rerun reuses it) a workspace under --home: `bulktool init`, an operator, a
department, a registered drive (a folder), and a store of --persons synthetic people loaded with
`bulktool store load` from benchmarks/bench_load.py's CSV (deleted after the load). Then writes a
--rows request (bench_matching.request_csv: mixed keys in varied forms, 1 in 10 not found,
shuffled unless --store-order — the store's order makes lookups nearly sequential in the file,
which no real request is) as an AES ZIP with `bulktool request zip`, and times `bulktool
exchange` on the drive. Prints the exchange's wall time, rows/s, peak RSS (os.wait4) and the
status counts of its summary — counts only, never a cell.

The request is drawn in a separate child process so that this one stays small: a child's
ru_maxrss starts at its parent's peak RSS (fork/vfork + exec keep the old high-water mark), so
a parent that drew 1M rows itself (~1.1 GiB) would have that counted as the exchange's peak.
Also samples the exchange's VmRSS and VmHWM (/proc/PID/status, every 0.25 s: does memory grow
with the rows read?) and the bytes it reads from disk (/proc/PID/io: is the store served by
the page cache?), and prints the 1- and 5-minute load average around the run (the machine is
shared). The build's figures are kept in --home/built and printed again on a rerun.
Synthetic data only.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_load import write_store_csv  # noqa: E402
from bench_matching import request_csv  # noqa: E402

from bulktool.store.sqlite import SqliteStore  # noqa: E402

FIELDS = "住民票コード,氏名,氏名かな,生年月日,性別,住所,個人番号,異動事由,異動年月日"


def bt(home: Path, *args: str, who: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "bulktool", *args, "--home", str(home)]
    if who:
        cmd += ["--operator", who, "--passphrase-file", str(home.parent / f"{who}.pass")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r


def build(root: Path, persons: int) -> Path:
    home = root / "home"
    if (root / "built").exists():
        try:
            print("store (built earlier): " + json.loads((root / "built").read_text())["summary"])
        except (ValueError, KeyError):
            print("store (built earlier; no figures kept)")
        return home
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for who in ("adm01", "op01"):
        (root / f"{who}.pass").write_text(f"{who}-bench-passphrase\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "bulktool", "init", "--terminal-id", "BENCH-T01", "--admin", "adm01",
                    "--home", str(home), "--passphrase-file", str(root / "adm01.pass")], check=True,
                   capture_output=True)
    bt(home, "operator", "add", "op01", "--name", "op01", "--role", "operator", "--trained-on", "2026-04-01",
       "--new-passphrase-file", str(root / "op01.pass"), who="adm01")
    bt(home, "department", "add", "D01", "--name", "bench", "--purpose", "P01=住基法別表第五第一号",
       "--fields", FIELDS, who="adm01")
    drive = root / "drive"
    drive.mkdir()
    bt(home, "media", "register", str(drive), "--media-id", "BENCH-M01", "--department", "D01", who="op01")
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    csv_path = write_store_csv(root, persons)["jumin"]
    gen = time.perf_counter() - t
    t = time.perf_counter()
    bt(home, "store", "load", "--kind", "jumin", str(csv_path), who="adm01")
    took = time.perf_counter() - t
    rows = sum(1 for _ in open(csv_path, "rb")) - 1
    csv_size = csv_path.stat().st_size
    csv_path.unlink()
    size = (home / "store.sqlite").stat().st_size
    summary = (f"{persons:,} persons, {rows:,} rows, CSV {csv_size / 2**30:.2f} GiB written in {gen:.0f} s; "
               f"`store load` {took:.0f} s ({rows / took:,.0f} rows/s); store file {size / 2**30:.2f} GiB; "
               f"load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("store: " + summary)
    (root / "built").write_text(json.dumps({"summary": summary, "load_seconds": round(took, 1),
                                            "store_bytes": size}))
    return home


def rss_mib(pid: int, field: str = "VmRSS") -> float | None:
    """VmRSS (or VmHWM, its high-water mark) of a live process in MiB (Linux), None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def read_bytes(pid: int) -> int | None:
    """Bytes the process has made the kernel fetch from disk (/proc/PID/io), None once it is gone."""
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--home", type=Path, default=Path("/tmp/bench10m"))
    ap.add_argument("--store-order", action="store_true",
                    help="request rows in the store's row order instead of shuffled (page-cache friendly)")
    ap.add_argument("--draw-request", type=Path, help=argparse.SUPPRESS)  # internal: the child that draws
    args = ap.parse_args()
    root = args.home
    if args.draw_request:
        store = SqliteStore.open(root / "home" / "store.sqlite")
        args.draw_request.write_bytes(request_csv(store, args.rows, shuffle=not args.store_order))
        store.close()
        return
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    home = build(root, args.persons)
    print(f"store file: {(home / 'store.sqlite').stat().st_size / 2**30:.2f} GiB")
    drive = root / "drive"
    for f in drive.iterdir():
        if not f.name.startswith("."):
            f.unlink()
    table = root / "検索条件.csv"
    t = time.perf_counter()
    # Drawn in a child process: a child's ru_maxrss starts at its parent's peak RSS (fork/vfork +
    # exec keep the old mm's high-water mark), so drawing here — a table scan through a 256 MiB
    # SQLite cache and 1M fetched rows, ~1.1 GiB — would be counted as the exchange's peak.
    subprocess.run([sys.executable, __file__, "--draw-request", str(table), "--home", str(root),
                    "--rows", str(args.rows), *(["--store-order"] if args.store_order else [])], check=True)
    drawn = time.perf_counter() - t
    size = table.stat().st_size
    pw = root / "request.pw"
    pw.write_text("bench-request-password\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "bulktool", "request", "zip", str(table), "--out", str(drive / "検索条件.zip"),
                    "--password-file", str(pw)], check=True, capture_output=True)
    table.unlink()
    print(f"request: {args.rows:,} rows in {'store' if args.store_order else 'shuffled'} order, "
          f"{size / 2**20:.0f} MiB CSV (drawn in {drawn:.0f} s), "
          f"AES ZIP {(drive / '検索条件.zip').stat().st_size / 2**20:.0f} MiB")
    cmd = [sys.executable, "-m", "bulktool", "exchange", str(drive), "--department", "D01", "--purpose", "P01",
           "--approval", "BENCH-1", "--password-file", str(pw), "--home", str(home),
           "--operator", "op01", "--passphrase-file", str(root / "op01.pass")]
    load0 = os.getloadavg()
    t = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "COLUMNS": "200"})  # the summary table unwrapped
    got: dict[str, str] = {}
    pumps = [threading.Thread(target=lambda k=k, f=f: got.__setitem__(k, f.read()))
             for k, f in (("out", child.stdout), ("err", child.stderr))]
    samples: list[tuple[float, float]] = []  # (seconds since start, VmRSS MiB)
    disk = [0]  # the last read_bytes seen
    hwm = [0.0]  # the last VmHWM seen: the process's own peak (wait4's ru_maxrss also covers its children)

    def sample() -> None:
        while (m := rss_mib(child.pid)) is not None and child.returncode is None:
            samples.append((time.perf_counter() - t, m))
            disk[0] = read_bytes(child.pid) or disk[0]
            hwm[0] = rss_mib(child.pid, "VmHWM") or hwm[0]
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    for th in (*pumps, sampler):
        th.start()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the max of all children
    took = time.perf_counter() - t
    child.returncode = os.waitstatus_to_exitcode(status)
    for th in (*pumps, sampler):
        th.join()
    load1 = os.getloadavg()
    stdout, stderr = got["out"], got["err"]
    if child.returncode != 0:
        raise SystemExit(f"exchange failed ({child.returncode}): {stderr[-2000:]}")
    peak = usage.ru_maxrss
    if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > max(own, 200 * 1024):
        print("warning: this process grew before spawning the exchange; its peak may be in the child's figure")
    print(f"exchange: {took:.1f} s wall, {args.rows / took:,.0f} rows/s, user {usage.ru_utime:.0f} s, "
          f"sys {usage.ru_stime:.0f} s; peak RSS of the exchange process {peak / 1024:,.0f} MiB "
          f"(target < 2,048 MiB); load average (1, 5 min) {load0[0]:.1f}/{load0[1]:.1f} before, "
          f"{load1[0]:.1f}/{load1[1]:.1f} after")
    if samples:
        marks = [samples[min(len(samples) - 1, int(len(samples) * q))] for q in (0.1, 0.25, 0.5, 0.75, 0.9)]
        print("RSS over the run: " + ", ".join(f"{s:.0f} s {m:,.0f} MiB" for s, m in marks) +
              f"; highest sample {max(m for _, m in samples):,.0f} MiB at "
              f"{max(samples, key=lambda x: x[1])[0]:.0f} s; own VmHWM at the last sample {hwm[0]:,.0f} MiB; "
              f"read from disk by the exchange (last sample) "
              f"{disk[0] / 2**30:.2f} GiB, {disk[0] / 4096 / args.rows:.1f} pages of 4 KiB per request row")
    # the status table only: counts, never a cell (the 該当なし line lists 連番s; its count is enough)
    for ln in stdout.splitlines():
        if "パスワード" in ln:
            continue
        if "全国サーバ" in ln:
            print(ln.split("の連番")[0])
        elif any(k in ln for k in ("該当", "入力エラー", "受付", "処理結果")):
            print(ln)


if __name__ == "__main__":
    main()
