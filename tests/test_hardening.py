"""Crash, race and hostile-input safety (issue 21): one request answered once, unledgered results
removed, department strings kept out of the ledger, bounded login attempts, Ctrl-C, core dumps."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ledger_rows, put_zip_request, request_table

from bulktool import workspace as wsmod
from bulktool.app import logged_in
from bulktool.containers import aeszip
from bulktool.messages import BulkError
from bulktool.registry import Registry
from bulktool.session import authenticate
from bulktool.workspace import Workspace

ZIP_TIME = (2026, 12, 3, 9, 0, 0)


def bulktool(cli, *args: str, passphrase_of: str = "op01", operator: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, BULKTOOL_HOME=str(cli.home))
    return subprocess.Popen([sys.executable, "-m", "bulktool", *args, "--operator", operator or passphrase_of,
                             "--passphrase-file", cli.passfile(passphrase_of)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.system_clock
def test_one_request_is_answered_once_whatever_runs_at_the_same_time(cli, world):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)
    procs = [bulktool(cli, "exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval",
                      f"決裁-{i}", "--password-file", str(pw)) for i in range(4)]
    codes = sorted(p.wait(timeout=300) for p in procs)
    assert codes == [0, 1, 1, 1], [p.stderr.read().decode()[-300:] for p in procs]
    rows = ledger_rows(cli)
    assert sum(r["事象"] == "出力" for r in rows) == 1
    assert {r["エラーコード"] for r in rows if r["事象"] == "拒否"} == {"E-MED-014"}
    assert len(list(d1.glob("照会結果_*"))) == 1
    cli.ok("ledger", "verify", as_="aud01")


@pytest.mark.system_clock
def test_parallel_wrong_passphrases_are_bounded_like_sequential_ones(cli, tmp_path):
    bad = tmp_path / "bad.pass"
    bad.write_text("not-the-passphrase\n")
    env = dict(os.environ, BULKTOOL_HOME=str(cli.home))
    procs = [subprocess.Popen([sys.executable, "-m", "bulktool", "store", "stats", "--operator", "op01",
                               "--passphrase-file", str(bad)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(12)]
    outs = [p.communicate(timeout=300)[1].decode() for p in procs]
    assert all(("E-AUTH-002" in o) or ("E-AUTH-003" in o) for o in outs), outs
    registry = Registry(cli.home / "registry.sqlite")
    try:
        op = registry.operator("op01")
        # twelve tries at once, five passphrase checks: the gate counts each try before its check
        assert op.locked and op.failures == 5
    finally:
        registry.close()
    r = cli("store", "stats", as_="op01")  # now even the right passphrase is refused
    assert r.exit_code == 1 and "E-AUTH-003" in r.output


def test_an_unknown_operator_costs_the_same_key_derivation(cli, monkeypatch):
    calls = []
    real = wsmod.derive_key
    monkeypatch.setattr(wsmod, "derive_key", lambda *a: calls.append(1) or real(*a))
    ws = Workspace.open(cli.home)
    registry = Registry(ws.path("registry.sqlite"))
    try:
        for who in ("nobody", "op01"):
            with pytest.raises(BulkError):
                authenticate(ws, registry, who, b"wrong-passphrase", "store stats", cli.clock)
    finally:
        registry.close()
    assert calls == [1, 1]


def _zip_with(world, drive, irai: bytes, name="依頼.zip"):
    table, _ = request_table(world)
    (drive / name).write_bytes(aeszip.write_request("t.csv", table, "request-password-123", irai, when=ZIP_TIME))
    pw = world["tmp"] / "pw"
    pw.write_text("request-password-123\n")
    return pw


@pytest.mark.parametrize("irai, code", [
    (b"[" * 100_000 + b"]" * 100_000, "E-CON-017"),                                   # nested past recursion
    (json.dumps({"依頼番号": "照会 123456789012 の件"}).encode(), "E-REQ-020"),      # a 個人番号-shaped run
    (json.dumps({"依頼番号": "x" * 10_000}).encode(), "E-REQ-020"),                    # unbounded
    (json.dumps({"依頼番号": "A\x1b]0;title\x07"}).encode(), "E-REQ-020"),            # escape sequences
])
def test_hostile_request_forms_are_refused_and_never_ledgered(cli, world, irai, code):
    d1 = world["drives"][0]
    pw = _zip_with(world, d1, irai)
    r = cli("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", "決裁-1",
            "--password-file", str(pw), as_="op01")
    assert r.exit_code == 1 and code in r.output and "Traceback" not in r.output
    ledger = cli.ok("ledger", "export", as_="aud01").stdout
    assert "123456789012" not in ledger and "x" * 100 not in ledger and "\x1b" not in ledger
    assert ledger_rows(cli)[-1]["事象"] == "拒否"


def test_a_request_number_or_file_name_shaped_like_a_resident_number_is_refused(cli, world):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)  # request zip refuses such a name: the clerk used 7-Zip
    (d1 / "依頼.zip").rename(d1 / "佐藤_12345678901.zip")
    r = cli("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", "決裁-1",
            "--password-file", str(pw), "--request-no", "R-1", as_="op01")
    assert r.exit_code == 1 and "E-REQ-020" in r.output
    (d1 / "佐藤_12345678901.zip").rename(d1 / "依頼.zip")
    r = cli("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", "決裁-1",
            "--password-file", str(pw), "--request-no", "1234-5678-9012", as_="op01")
    assert r.exit_code == 1 and "E-REQ-020" in r.output
    ledger = cli.ok("ledger", "export", as_="aud01").stdout
    assert "12345678901" not in ledger and "1234-5678-9012" not in ledger


def test_a_result_left_by_a_crash_is_named_and_removed_by_the_next_exchange(cli, world):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)
    with logged_in(cli.home, "op01", b"op-pass-00001", "exchange", clock=cli.clock) as s:
        crashed = s.writer.record("受付", media_id="M001", department="D01", purpose="P01", approval_no="決裁-X")
    stale = d1 / f"照会結果_{crashed['seq']}.zip"
    stale.write_bytes(b"a complete result the killed exchange wrote")
    (d1 / ".0123456789ab.tmp").write_bytes(b"half")
    os.utime(d1 / ".0123456789ab.tmp", (time.time() - 3600, time.time() - 3600))
    cli.ok("store", "stats", as_="op01")  # the next command closes the 受付 as 失敗, naming the file
    closed = [r for r in ledger_rows(cli) if r["事象"] == "失敗"][-1]
    assert closed["参照番号"] == str(crashed["seq"]) and stale.name in closed["ファイル"]
    assert stale.exists()  # the drive is not here: it is cleaned when next seen
    cli.ok("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", "決裁-2",
           "--password-file", str(pw), as_="op01")
    assert not stale.exists() and not (d1 / ".0123456789ab.tmp").exists()
    outputs = {r["参照番号"] for r in ledger_rows(cli) if r["事象"] == "出力"}
    assert all(p.name.split("_")[1].split(".")[0] in outputs for p in d1.glob("照会結果_*"))


def test_the_process_keeps_no_core_dump():
    code = ("import resource; from bulktool.hardening import harden, dumpable; harden(); "
            "print(resource.getrlimit(resource.RLIMIT_CORE), dumpable())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(0, 0) 0"
