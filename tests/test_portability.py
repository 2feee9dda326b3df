"""The department's commands must work on a Windows PC (contract §9): nothing POSIX-only may be
imported or called on their path, and no text file may be read or written in the locale's
encoding (Windows' is CP932, Linux's UTF-8: a file written by one would not read on the other).

Each department command runs here in a Python where the POSIX-only modules cannot be imported
(fcntl, resource) and the POSIX-only attributes of `os` are gone, under
`-X warn_default_encoding` with an EncodingWarning from bulktool made an error. The results and
the 受領証 they work on come from a real exchange, and the 受領証 made there is accepted by the
terminal."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import exchange_ok, ledger_rows, make_cli, make_world, put_zip_request, request_table

# What Windows' os module lacks that a POSIX one has, and that code might reach for.
POSIX_ONLY = ("posix_fadvise", "POSIX_FADV_DONTNEED", "O_NOFOLLOW", "O_DIRECTORY", "getuid", "geteuid",
              "getgid", "fchmod", "fchown", "chown", "lchown", "sync", "statvfs", "fstatvfs", "getpgid",
              "killpg", "setsid", "mkfifo", "mknod", "getloadavg", "sched_getaffinity", "fdatasync")

# -W on the command line matches one module name literally; this filter matches every bulktool module.
STRICT = 'import warnings; warnings.filterwarnings("error", category=EncodingWarning, module="bulktool")\n'

SCRIPT = STRICT + r"""
import json, os, sys
sys.modules["fcntl"] = None      # as on Windows: importing them fails
sys.modules["resource"] = None
for name in json.loads(sys.argv[2]):
    if hasattr(os, name):
        delattr(os, name)
from typer.testing import CliRunner
from bulktool.cli import app
for expected, args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(app, args)
    if r.exit_code != expected or r.exception is not None and not isinstance(r.exception, SystemExit):
        print("FAILED", args[:2], r.exit_code, repr(r.exception), r.stdout, r.stderr, sep="\n")
        sys.exit(1)
    print("ok", *args[:2])
"""


def run_as_on_windows(commands: list[tuple[int, list[str]]]) -> subprocess.CompletedProcess:
    """Run each (expected exit code, arguments) there; stdout says "ok" per command that ended so."""
    return subprocess.run([sys.executable, "-X", "warn_default_encoding", "-c", SCRIPT, json.dumps(commands), json.dumps(POSIX_ONLY)],
                          capture_output=True, text=True, encoding="utf-8")


def test_the_strictness_itself_catches_what_it_should(tmp_path):
    """The harness fails on a locale-encoded open() in bulktool and on a POSIX-only call."""
    probe = (f"import os, sys, json\nsys.modules['fcntl'] = None\n"
             f"[delattr(os, n) for n in {list(POSIX_ONLY)!r} if hasattr(os, n)]\n"
             f"import bulktool.drive as d\n"
             f"try:\n    import fcntl\nexcept ImportError:\n    print('no fcntl')\n"
             f"print('no fadvise' if not hasattr(os, 'posix_fadvise') else 'fadvise')\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.stdout.split("\n")[:2] == ["no fcntl", "no fadvise"], r.stderr
    module = tmp_path / "bulktool_probe.py"
    module.write_text("def read(p):\n    return open(p).read()\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-X", "warn_default_encoding",
                        "-c", STRICT + f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import bulktool_probe; "
                              f"bulktool_probe.read({str(module)!r})"], capture_output=True, text=True)
    assert r.returncode != 0 and "EncodingWarning" in r.stderr


def test_every_department_command_runs_as_on_windows(tmp_path):
    cli = make_cli(tmp_path / "ws", tmp_path)
    world = make_world(cli, tmp_path)
    d1, d2, _ = world["drives"]
    r = exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    zip_result = next(d1.glob("照会結果_*.zip"))
    out = [e for e in ledger_rows(cli) if e["事象"] == "出力"][-1]
    cli.ok("media", "handover", out["番号"], as_="op01")
    rpw = tmp_path / "result.pw"
    rpw.write_text(re.search(r"^照会結果パスワード: (\S+)$", r.stdout, re.M).group(1) + "\n", encoding="utf-8")
    exchange_ok(cli, d2, put_zip_request(cli, world, d2), "--container", "sealed")
    sealed_result = next(d2.glob("照会結果_*.bte"))
    table, _ = request_table(world)
    (tmp_path / "t.csv").write_bytes(table)
    (tmp_path / "req.pw").write_text("request-password-on-windows\n", encoding="utf-8")
    keys, dept_pass, term = world["keys"], str(tmp_path / "dept.pass"), str(world["term_pub"])
    samples = Path(__file__).resolve().parents[1] / "samples"
    w = tmp_path / "win"
    commands = [
        ["keys", "generate", "--name", "d9", "--out", str(w / "keys"), "--passphrase-file", dept_pass],
        ["request", "check", str(tmp_path / "t.csv")],  # the fixture's table holds rows that would be 90: exit 1
        ["request", "check", str(samples / "検索条件_見本.xlsx")],
        ["request", "check", str(samples / "検索条件_見本_cp932.csv")],
        ["request", "zip", str(tmp_path / "t.csv"), "--out", str(w / "依頼.zip"), "--password-file",
         str(tmp_path / "req.pw"), "--department", "D01", "--purpose", "P01", "--request-no", "R-7", "--as-of",
         "2026-12-01"],
        ["request", "seal", str(tmp_path / "t.csv"), "--department", "D01", "--key", str(keys / "d01.key"),
         "--to", term, "--out", str(w / "依頼.bte"), "--passphrase-file", dept_pass],
        ["verify", str(zip_result), "--terminal-key", term, "--password-file", str(rpw)],
        ["decrypt", str(zip_result), "--out", str(w / "zip"), "--password-file", str(rpw), "--terminal-key", term],
        ["decrypt", str(sealed_result), "--out", str(w / "bte"), "--key", str(keys / "d01.key"),
         "--passphrase-file", dept_pass, "--terminal-key", term],
        ["receipt", str(zip_result), "--password-file", str(rpw), "--key-sign", str(keys / "d01.key"),
         "--passphrase-file", dept_pass, "--terminal-key", term, "--out", str(w / "受領証.json")],
    ]
    done = run_as_on_windows([(1 if i == 1 else 0, args) for i, args in enumerate(commands)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok ") == len(commands)
    assert (w / "keys" / "d9.pub").exists() and (w / "依頼.zip").exists() and (w / "依頼.bte").exists()
    assert sorted(p.name for p in (w / "zip").iterdir()) == ["manifest.json", "照会結果.csv"]
    assert sorted(p.name for p in (w / "bte").iterdir()) == ["manifest.json", "照会結果.csv"]
    # what was made "on Windows" works at the terminal: the 受領証 is accepted
    cli.ok("media", "receipt", out["番号"], "--proof", str(w / "受領証.json"), as_="op01")
    assert ledger_rows(cli)[-1]["事象"] == "受領確認"
