"""Benchmark: a 1,000,000-row request against a 10,000,000-person store, end to end, with the
real `bulktool exchange` command in a child process — peak memory must stay under 2 GiB.

    python benchmarks/bench_exchange_scale.py [--persons 10000000] [--rows 1000000] [--home /tmp/bench10m]

Builds (once; a rerun reuses it) a workspace under --home: `bulktool init`, an operator, a
department, a registered drive (a folder), and a store of --persons synthetic people loaded with
`bulktool store load` from benchmarks/bench_load.py's CSV (deleted after the load). Then writes a
--rows request (bench_matching.request_csv: mixed keys, 1 in 10 not found) as an AES ZIP with
`bulktool request zip` and times `bulktool exchange` on the drive. Prints the child's wall time,
rows/s, peak RSS (os.wait4: the exchange process's own) and the status counts of the
result's ledger entry — counts only, never a cell. Synthetic data only.
"""
from __future__ import annotations

import argparse
import os
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
    t = time.perf_counter()
    csv_path = write_store_csv(root, persons)["jumin"]
    gen = time.perf_counter() - t
    t = time.perf_counter()
    bt(home, "store", "load", "--kind", "jumin", str(csv_path), who="adm01")
    took = time.perf_counter() - t
    rows = sum(1 for _ in open(csv_path, "rb")) - 1
    csv_path.unlink()
    size = (home / "store.sqlite").stat().st_size
    print(f"store: {persons:,} persons, {rows:,} rows; CSV written in {gen:.0f} s, `store load` {took:.0f} s "
          f"({rows / took:,.0f} rows/s), store file {size / 2**30:.1f} GiB")
    (root / "built").write_text("ok")
    return home


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--home", type=Path, default=Path("/tmp/bench10m"))
    args = ap.parse_args()
    root = args.home
    home = build(root, args.persons)
    drive = root / "drive"
    for f in drive.iterdir():
        if not f.name.startswith("."):
            f.unlink()
    store = SqliteStore.open(home / "store.sqlite")
    data = request_csv(store, args.rows)
    store.close()
    table = root / "検索条件.csv"
    table.write_bytes(data)
    pw = root / "request.pw"
    pw.write_text("bench-request-password\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "bulktool", "request", "zip", str(table), "--out", str(drive / "検索条件.zip"),
                    "--password-file", str(pw)], check=True, capture_output=True)
    table.unlink()
    print(f"request: {args.rows:,} rows, {len(data) / 2**20:.0f} MiB CSV; load average {os.getloadavg()[0]:.1f}")
    cmd = [sys.executable, "-m", "bulktool", "exchange", str(drive), "--department", "D01", "--purpose", "P01",
           "--approval", "BENCH-1", "--password-file", str(pw), "--home", str(home),
           "--operator", "op01", "--passphrase-file", str(root / "op01.pass")]
    t = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: dict[str, str] = {}
    pumps = [threading.Thread(target=lambda k=k, f=f: got.__setitem__(k, f.read()))
             for k, f in (("out", child.stdout), ("err", child.stderr))]
    for p in pumps:
        p.start()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the max of all children
    took = time.perf_counter() - t
    for p in pumps:
        p.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = got["out"], got["err"]
    if child.returncode != 0:
        raise SystemExit(f"exchange failed ({child.returncode}): {stderr[-2000:]}")
    peak = usage.ru_maxrss
    print(f"exchange: {took:.1f} s, {args.rows / took:,.0f} rows/s; peak RSS of the exchange process "
          f"{peak / 1024:,.0f} MiB (target < 2,048 MiB)")
    out = [ln for ln in stdout.splitlines() if "パスワード" not in ln]
    print("\n".join(ln for ln in out if any(k in ln for k in ("該当", "入力エラー", "出力", "件"))))


if __name__ == "__main__":
    main()
