"""Failures of the drive itself, made by the kernel's answer rather than by a hook in the code:
`strace -e inject` makes one system call of a real `bulktool exchange` fail (issue 21). A drive
that fails while the result is being put in place, or while the request is read, ends the exchange
with a media code (exit 4, ledgered 失敗), leaves no result and no temp file on the drive, keeps no
copy, and the same request is answered by the next exchange once the drive behaves."""
from __future__ import annotations

import codecs
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ledger_rows, put_zip_request

# The drive's faults have nothing to do with the store: SQLite only (the kill points of
# tests/test_crash.py run on both).
pytestmark = [pytest.mark.system_clock, pytest.mark.slow, pytest.mark.parametrize("store_backend", ["sqlite"])]

STRACE = shutil.which("strace")


def exchange(cli, drive, pw, strace: list[str] | None = None, log=None) -> subprocess.CompletedProcess:
    assert STRACE, "strace is installed by .ci/run"
    env = dict(os.environ, BULKTOOL_HOME=str(cli.home))
    env.pop("BULKTOOL_FAULT", None)
    command = [sys.executable, "-m", "bulktool", "exchange", str(drive), "--department", "D01", "--purpose", "P01",
               "--approval", "決裁-S", "--password-file", str(pw), "--operator", "op01",
               "--passphrase-file", cli.passfile("op01")]
    if strace is not None:
        command = [STRACE, "-f", "-qq", "-e", "signal=none", "-o", str(log), *strace, *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def renames(log) -> list[str]:
    """The rename calls of a trace, with strace's octal escapes of non-ASCII bytes decoded."""
    lines = log.read_bytes().decode("ascii", errors="replace").splitlines()
    return [codecs.escape_decode(line.encode())[0].decode("utf-8", errors="replace")
            for line in lines if "rename" in line]


def assert_failed_cleanly(cli, drive, done, code: str) -> dict:
    assert done.returncode == 4 and code in done.stderr, done.stderr[-800:]
    assert "Traceback" not in done.stderr
    rows = ledger_rows(cli)
    acceptance = [r for r in rows if r["事象"] == "受付"][-1]
    end = [r for r in rows if r["参照番号"] == acceptance["番号"]]
    assert [(r["事象"], r["エラーコード"]) for r in end] == [("失敗", code)]
    assert not list(drive.glob("照会結果_*")) and not [p for p in drive.iterdir() if p.name.endswith(".tmp")]
    assert not (cli.home / "reissue" / f"{acceptance['番号']}.bin").exists()
    return acceptance


def test_the_drive_fails_to_put_the_result_in_place(cli, world):
    d1, d2, _ = world["drives"]
    # a first exchange, traced: which rename puts the result on the drive
    log = world["tmp"] / "trace.log"
    done = exchange(cli, d1, put_zip_request(cli, world, d1), ["-e", "trace=rename,renameat,renameat2"], log)
    assert done.returncode == 0, done.stderr[-800:]
    calls = renames(log)
    k = next(i for i, line in enumerate(calls, 1) if re.search(rf'"{re.escape(str(d1))}/照会結果_\d+\.zip"', line))
    # the same exchange on another drive, the k-th rename failing as a dying USB stick fails it
    pw = put_zip_request(cli, world, d2)
    done = exchange(cli, d2, pw, ["-e", "trace=rename,renameat,renameat2",
                                  "-e", f"inject=rename,renameat,renameat2:error=EIO:when={k}"], log)
    injected = [line for line in renames(log) if "INJECTED" in line]
    assert len(injected) == 1 and f"{d2}/照会結果_" in injected[0]  # the premise: it hit the drive's result
    acceptance = assert_failed_cleanly(cli, d2, done, "E-MED-009")
    again = exchange(cli, d2, pw)
    assert again.returncode == 0, again.stderr[-800:]
    rows = ledger_rows(cli)
    assert rows[-1]["事象"] == "出力" and rows[-1]["参照番号"] != acceptance["番号"]
    cli.ok("ledger", "verify", as_="aud01")


def test_the_drive_fails_while_the_request_is_read(cli, world):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)
    request = d1 / "依頼.zip"
    log = world["tmp"] / "trace-read.log"
    before = {p.name: p.read_bytes() for p in d1.iterdir()}
    done = exchange(cli, d1, pw, ["-P", str(request), "-e", "trace=read,pread64",
                                  "-e", "inject=read,pread64:error=EIO"], log)
    assert "INJECTED" in log.read_text(encoding="utf-8", errors="replace")
    assert done.returncode == 4 and "E-MED-009" in done.stderr and "Traceback" not in done.stderr, done.stderr[-800:]
    rows = ledger_rows(cli)
    assert rows[-1]["事象"] == "失敗" and rows[-1]["エラーコード"] == "E-MED-009"
    assert {p.name: p.read_bytes() for p in d1.iterdir()} == before  # the drive as it was
    again = exchange(cli, d1, pw)
    assert again.returncode == 0, again.stderr[-800:]
    cli.ok("ledger", "verify", as_="aud01")
