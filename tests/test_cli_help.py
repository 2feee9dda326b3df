"""Every command's `--help` is Japanese and says what to type: each option and argument of the
real command tree (walked as docs/cli.md walks it, so commands added later are covered too) has a
Japanese help text and a meaningful metavar (DIR, OPID, FILE, CODE, …, never the generic TEXT,
INTEGER, PATH, <str>, <bool>); the --help option itself and the help's frame (使い方, panels) are
Japanese; a usage error (exit 2) leads with a Japanese line."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bulktool.cli import app
from bulktool.clidoc import PROG, command_tree, help_text

JAPANESE = re.compile("[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")
# what typer/click show when a parameter has no metavar of its own
GENERIC = {"TEXT", "INTEGER", "INT", "FLOAT", "BOOLEAN", "BOOL", "PATH", "FILENAME", "DIRECTORY", "UUID",
           "DATETIME", "CHOICE", "STRING", "STR", "VALUE", "ARGS", "OPTIONS"}
ENGLISH_FRAME = ("Show this message", "Usage:", "Options", "Arguments", "Commands", "[required]", "[default:",
                 "[env var:", "Error", "Try '")


def _context(path: tuple[str, ...], cmd):
    return cmd.context_class(cmd, info_name=path[-1] if path else PROG)


def _shown_metavars(param, ctx) -> list[str]:
    """What the help prints for the value of `param`: the argument's name column, and the type
    column (typer's rich help) or click's metavar."""
    shown = []
    if param.param_type_name == "argument":
        shown.append(param.metavar or param.name.upper() if param.metavar is None else param.metavar)
    if hasattr(param, "display_type_rich"):
        shown.append(param.display_type_rich(ctx))
    else:  # pragma: no cover - a typer that renders click's own metavars
        shown.append(param.make_metavar(ctx))
    return [s for s in shown if s]


def _generic(metavar: str) -> bool:
    bare = metavar.strip("[]{}.… ")
    return "<" in metavar or bare.upper() in GENERIC or bare == "" or bare != bare.strip()


def offenders() -> list[str]:
    found = []
    for path, cmd in command_tree():
        ctx = _context(path, cmd)
        where = " ".join((PROG, *path))
        for param in cmd.get_params(ctx):
            if getattr(param, "hidden", False):
                continue
            name = param.opts[0] if param.param_type_name == "option" else (param.metavar or param.name)
            help_ = getattr(param, "help", None) or ""
            if not JAPANESE.search(help_):
                found.append(f"{where} {name}: help {help_!r} is missing or not Japanese")
            flag = getattr(param, "is_flag", False)
            if param.param_type_name == "argument" and not (param.metavar and param.metavar.upper() == param.metavar):
                found.append(f"{where} {name}: argument without an upper-case metavar")
            for metavar in _shown_metavars(param, ctx):
                if _generic(metavar):
                    found.append(f"{where} {name}: generic metavar {metavar!r}")
            if not flag and param.param_type_name == "option" and not _shown_metavars(param, ctx):
                found.append(f"{where} {name}: option that takes a value without a metavar")
    return found


def test_every_option_and_argument_has_japanese_help_and_a_meaningful_metavar():
    found = offenders()
    assert not found, f"{len(found)} parameters without help or with a generic metavar:\n" + "\n".join(found)


def test_the_help_option_and_the_help_frame_are_japanese():
    for path, cmd in command_tree():
        option = cmd.get_help_option(_context(path, cmd))
        assert option is not None and JAPANESE.search(option.help or ""), (path, option and option.help)
        text = help_text(path, width=100)
        english = [s for s in ENGLISH_FRAME if s in text]
        assert not english, f"{PROG} {' '.join(path)} --help still shows {english}:\n{text}"
        assert text.lstrip().startswith(f"使い方: {' '.join((PROG, *path))}"), text


@pytest.mark.parametrize("args, said", [
    (["media", "list", "--bogus"], "--bogus"),
    (["media", "register"], "DIR"),
    (["exchange", "x", "--department"], "--department"),
    (["ledger", "nosuch"], "nosuch"),
    (["media", "handover", "abc"], "ENTRY"),
])
def test_usage_errors_lead_in_japanese(args, said):
    r = CliRunner().invoke(app, args, prog_name=PROG, env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert r.exit_code == 2, r.output
    text = r.stderr
    assert text.startswith("使い方: "), text
    assert said in text and "エラー" in text and "--help" in text
    assert not any(s in text for s in ENGLISH_FRAME + ("Missing", "No such", "Invalid value", "Got unexpected")), text


@pytest.mark.system_clock
def test_usage_error_of_the_installed_command_is_japanese():
    """`python -m bulktool` (the entry point's main(), not typer's runner) renders it the same way."""
    r = subprocess.run([sys.executable, "-m", "bulktool", "media", "list", "--bogus"], capture_output=True,
                       text=True, encoding="utf-8", env={"COLUMNS": "100", "NO_COLOR": "1", "PATH": ""})
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("使い方: ") and "bulktool media list" in r.stderr.splitlines()[0], r.stderr
    assert "エラー" in r.stderr and "--bogus" in r.stderr and "Error" not in r.stderr and "Try" not in r.stderr
