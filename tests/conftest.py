"""Shared fixtures: a CLI runner and a ready workspace with one operator of each role."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bulktool.cli import app

PASS = {"admin01": "admin-pass-0001", "op01": "op-pass-00001", "sec01": "sec-pass-0001",
        "aud01": "aud-pass-00001"}


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    """Runs `bulktool …` in process, as SPEC §9 writes the commands."""

    def __init__(self, home: Path, tmp: Path) -> None:
        self.home = home
        self.tmp = tmp
        self.runner = CliRunner()

    def passfile(self, operator: str) -> str:
        p = self.tmp / f"{operator}.pass"
        if not p.exists():
            p.write_text(PASS.get(operator, f"{operator}-passphrase") + "\n", encoding="utf-8")
        return str(p)

    def raw(self, *args: str, input: str | bytes | None = None) -> Result:
        r = self.runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
        return Result(r.exit_code, r.stdout, r.stderr)

    def __call__(self, *args: str, as_: str | None = "admin01", input=None) -> Result:
        extra = ["--home", str(self.home)]
        if as_ is not None:
            extra += ["--operator", as_, "--passphrase-file", self.passfile(as_)]
        return self.raw(*args, *extra, input=input)

    def ok(self, *args: str, as_: str | None = "admin01", input=None) -> Result:
        r = self(*args, as_=as_, input=input)
        assert r.exit_code == 0, r.output
        return r


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A workspace with admin01 (administrator), op01 (operator), sec01 (security), aud01 (auditor)."""
    c = Cli(tmp_path / "ws", tmp_path)
    r = c.raw("init", "--terminal-id", "T001", "--admin", "admin01", "--home", str(c.home),
              "--passphrase-file", c.passfile("admin01"), "--trained-on", "2026-04-01")
    assert r.exit_code == 0, r.output
    for oid, role in (("op01", "operator"), ("sec01", "security"), ("aud01", "auditor")):
        c.ok("operator", "add", oid, "--name", f"職員{oid}", "--role", role, "--trained-on", "2026-04-01",
             "--new-passphrase-file", c.passfile(oid))
    return c
