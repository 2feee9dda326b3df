"""The crash contract (issue 21, docs/crash.md): after a kill at any named point of the exchange,
once the next command that sees the drive has run, either the result is on the drive with its
出力, or no result of that 受付 is on the drive and its 失敗 names the file that was or might have
been written; the kept copy and the provision record agree with the ledger; no temp file is
left; the ledger verifies; and the same request can be exchanged again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from conftest import ledger_rows, put_zip_request, read_result

from bulktool import faults
from bulktool.app import logged_in


def run_exchange(cli, drive, pw, fault: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, BULKTOOL_HOME=str(cli.home))
    env.pop("BULKTOOL_FAULT", None)
    if fault:
        env["BULKTOOL_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "bulktool", "exchange", str(drive), "--department", "D01",
                           "--purpose", "P01", "--approval", "決裁-K", "--password-file", str(pw),
                           "--operator", "op01", "--passphrase-file", cli.passfile("op01")],
                          env=env, capture_output=True, text=True, timeout=300)


def acceptance_numbers(rows, event) -> set[str]:
    return {r["参照番号"] for r in rows if r["事象"] == event}


@pytest.mark.system_clock
@pytest.mark.slow
@pytest.mark.parametrize("point", [p for p in faults.POINTS if p != "during-matching"])
def test_a_kill_at_each_point_keeps_the_contract(cli, world, point):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)
    killed = run_exchange(cli, d1, pw, f"kill@{point}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-500:]
    # the next command that sees the drive: the same request, exchanged again
    again = run_exchange(cli, d1, pw)
    assert again.returncode == 0, again.stderr[-800:]
    rows = ledger_rows(cli)
    first = [r for r in rows if r["事象"] == "受付"][0]["番号"]
    failure = [r for r in rows if r["事象"] == "失敗" and r["参照番号"] == first]
    assert len(failure) == 1 and f"照会結果_{first}" in failure[0]["ファイル"]
    outputs = acceptance_numbers(rows, "出力")
    assert first not in outputs and len(outputs) == 1
    on_drive = sorted(p.name for p in d1.iterdir() if p.name.startswith("照会結果_"))
    assert on_drive == [f"照会結果_{n}.zip" for n in outputs]
    assert not [p for p in d1.iterdir() if p.name.endswith(".tmp")]
    assert not list((cli.home / "tmp").glob("*.tmp")) and not (cli.home / "reissue" / f"{first}.bin").exists()
    # the provision record shows only the exchange the ledger confirms
    code = read_result_codes(cli, world, d1, again.stdout)
    with logged_in(cli.home, "admin01", b"admin-pass-0001", "disclosure", clock=cli.clock) as s:
        from bulktool.services.records import disclose
        shown = disclose(s.writer, s.store, code, "開示-1")
    assert {r["entry"] for r in shown} == {int(n) for n in outputs}
    cli.ok("ledger", "verify", as_="aud01")


def read_result_codes(cli, world, drive, stdout: str) -> str:
    import re
    password = re.search(r"^照会結果パスワード: (\S+)$", stdout, re.M).group(1)
    (world["tmp"] / "r.pw").write_text(password + "\n")
    result = sorted(drive.glob("照会結果_*.zip"))[-1]
    out = world["tmp"] / "out-crash"
    r = cli.raw("decrypt", str(result), "--out", str(out), "--password-file", str(world["tmp"] / "r.pw"))
    assert r.exit_code == 0, r.output
    hit = next(row for row in read_result(out / "照会結果.csv").values() if row["処理結果コード"] == "00")
    return hit["住民票コード"]


@pytest.mark.system_clock
def test_ctrl_c_during_matching_exits_130_and_ledgers_failure(cli, world):
    d1 = world["drives"][0]
    table = world["tmp"] / "big.csv"
    codes = [r["住民票コード"] for r in world["jumin"]]
    table.write_text("連番,住民票コード\r\n" + "".join(f"{i + 1},{codes[i % len(codes)]}\r\n" for i in range(3000)),
                     encoding="utf-8")
    pw = world["tmp"] / "big.pw"
    pw.write_text("request-password-123\n")
    r = cli.raw("request", "zip", str(table), "--out", str(d1 / "依頼.zip"), "--password-file", str(pw))
    assert r.exit_code == 0, r.output
    interrupted = run_exchange(cli, d1, pw, "sigint@during-matching")
    assert interrupted.returncode == 130, interrupted.stderr[-800:]
    rows = ledger_rows(cli)
    assert rows[-1]["事象"] == "失敗" and rows[-1]["エラーコード"] == "E-EXC-003"
    assert not list(d1.glob("照会結果_*"))
    assert run_exchange(cli, d1, pw).returncode == 0
    cli.ok("ledger", "verify", as_="aud01")
