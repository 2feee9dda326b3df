"""Secrets asked at a real terminal: the prompt is visible, never hidden by the progress display
(issue 16). Driven through a pseudo-terminal, as an operator types at the 代表端末."""
from __future__ import annotations

import os
import sys
import time

import pexpect
import pytest
from conftest import put_zip_request


@pytest.mark.system_clock
def test_exchange_password_prompt_is_visible_on_a_terminal(cli, world):
    drive = world["drives"][0]
    pw = put_zip_request(cli, world, drive)
    env = dict(os.environ, BULKTOOL_HOME=str(cli.home), COLUMNS="100", TERM="xterm")
    child = pexpect.spawn(sys.executable, ["-m", "bulktool", "exchange", str(drive), "--department", "D01",
                                           "--purpose", "P01", "--approval", "決裁-1", "--operator", "op01",
                                           "--passphrase-file", cli.passfile("op01")],
                          env=env, encoding="utf-8", timeout=120, dimensions=(40, 100))
    try:
        # the prompt must be on the screen, and must stay there: nothing redraws over it while waiting
        child.expect(r"照会ファイルのパスワード[:：] ?")
        waited, deadline = "", time.monotonic() + 2
        try:
            while time.monotonic() < deadline:
                waited += child.read_nonblocking(4096, timeout=max(0.05, deadline - time.monotonic()))
        except pexpect.TIMEOUT:
            pass
        # a live display redraws with carriage returns and erase-line sequences; the prompt waits still
        assert waited.strip() == "" and "\r" not in waited and "\x1b" not in waited, \
            f"the screen changed while the prompt waited: {waited[:200]!r}"
        child.sendline(pw.read_text().strip())
        child.expect("照会結果パスワード: ")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        child.close(force=True)  # never leave a bulktool waiting at a prompt
