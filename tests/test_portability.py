"""The department's commands must work on a Windows PC: nothing POSIX-only may be imported by them."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys
sys.modules["fcntl"] = None      # as on Windows: importing it fails
sys.modules["resource"] = None
from typer.testing import CliRunner
from bulktool.cli import app
out = sys.argv[1]
open(out + "/t.csv", "w", encoding="utf-8").write("連番,住民票コード\n1,12345678906\n")
open(out + "/pw", "w").write("department-pass\n")
r = CliRunner().invoke(app, ["keys", "generate", "--name", "d1", "--out", out, "--passphrase-file", out + "/pw"])
assert r.exit_code == 0, r.output
r = CliRunner().invoke(app, ["request", "zip", out + "/t.csv", "--out", out + "/r.zip", "--password-file", out + "/pw"])
assert r.exit_code == 0, r.output
print("ok")
"""


def test_department_commands_need_no_posix_modules(tmp_path):
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
    assert (tmp_path / "r.zip").exists() and (tmp_path / "d1.pub").exists()
