"""Every `bulktool …` line in README.md and docs/*.md names a command that exists and only options
that command has — in fenced code blocks, indented code blocks and inline code alike — checked
against the real command tree (`bulktool.cli.app`, walked by bulktool/clidoc.py).

A line that describes a planned feature is exempt only when it carries the marker 予定 on the same
source line (as in 「予定（未実装）」); every exemption used is listed in a warning, and an exempt line
whose command now parses is not reported as an exemption at all. docs/cli.md is generated from the
tree itself (tests/test_cli_reference.py) and is not read here."""
from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from bulktool.clidoc import command_tree

ROOT = Path(__file__).resolve().parent.parent
MARKER = "予定"
GENERATED = {"docs/cli.md"}

INVOCATION = re.compile(r"(?<![\w./\\-])bulktool(?=\s|$)")
END = re.compile(r"&&|;|\s#\s|\s#$|`")  # not `|`: in the docs it means "or" (`--format csv|xlsx`)
OPTION = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")
# words standing for "any group or command" in prose such as `bulktool GROUP --help`
PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z_]*|<[^>]+>|\.\.\.|…)$")


@dataclass(frozen=True)
class Use:
    file: str
    line: int
    source: str  # the source line(s) the command stands on, for the marker
    text: str  # from `bulktool` to the end of the command

    def where(self) -> str:
        return f"{self.file}:{self.line}: {self.text.strip()}"


def doc_files() -> list[Path]:
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    return [p for p in files if p.relative_to(ROOT).as_posix() not in GENERATED]


def _at_command_position(before: str) -> bool:
    """Whether `bulktool` after `before` is a command (not a word such as a database or user name):
    at the start, after a shell prompt, `&&`, `||`, `;`, `|`, `(` or `$(`, and environment settings."""
    before = re.sub(r"(?:\b[A-Za-z_]\w*=\S*\s+)+$", "", before.rstrip() + " ").rstrip()
    return before == "" or before.endswith(("&&", "||", ";", "|", "(", "$", ">"))


def _invocations(file: str, line: int, source: str, text: str) -> list[Use]:
    uses = []
    for m in INVOCATION.finditer(text):
        if not _at_command_position(text[:m.start()]):
            continue
        rest = text[m.start():]
        end = END.search(rest, len("bulktool"))
        uses.append(Use(file, line, source, rest[:end.start()] if end else rest))
    return uses


def uses_in(path: Path) -> list[Use]:
    """Every `bulktool …` command written in one Markdown file."""
    name = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    uses: list[Use] = []
    prose: list[tuple[int, str]] = []  # (line number, text) outside fenced blocks
    fence = None
    i = 0
    while i < len(lines):
        line = lines[i]
        opener = re.match(r"^\s*(```+|~~~+)", line)
        if fence is None and opener:
            fence = opener.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is not None or (line.startswith("    ") and "`" not in line and not line.lstrip().startswith(("-", "*", "|"))):
            # code: join shell continuation lines (a trailing backslash or caret)
            start, logical = i, line
            while re.search(r"[\\^]\s*$", logical) and i + 1 < len(lines):
                i += 1
                logical = re.sub(r"[\\^]\s*$", " ", logical) + lines[i]
            uses += _invocations(name, start + 1, "\n".join(lines[start:i + 1]), logical)
        else:
            prose.append((i + 1, line))
        i += 1
    # inline code, which may run over a line break inside a paragraph or a list item
    text = "\n".join(t for _, t in prose)
    numbers = [n for n, _ in prose]
    for m in re.finditer(r"(?<!`)`([^`]+)`(?!`)", text):
        first = text.count("\n", 0, m.start())
        last = text.count("\n", 0, m.end())
        source = "\n".join(t for _, t in prose[first:last + 1])
        uses += _invocations(name, numbers[first], source, " ".join(m.group(1).split()))
    return uses


def _options(cmd) -> set[str]:
    return {o for p in cmd.params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)}


def problem(use: Use, tree: dict[tuple[str, ...], object]) -> str | None:
    """Why `use` does not fit the command tree, or None when it does."""
    words = [w.strip("()[]{}") for w in use.text.split()[1:]]
    path: tuple[str, ...] = ()
    any_command = False
    for word in words:
        if not word or word.startswith("-"):
            break
        if not hasattr(tree[path], "commands"):
            break  # an argument of the command
        if path + (word,) in tree:
            path += (word,)
        elif PLACEHOLDER.match(word):
            any_command = True
            break
        else:
            return f"unknown command `bulktool {' '.join(path + (word,))}`"
    known = {"--help"} if any_command else _options(tree[path]) | {"--help"}
    unknown = sorted({o for o in OPTION.findall(use.text) if o not in known})
    if unknown:
        return f"`bulktool {' '.join(path)}` has no option {', '.join(unknown)}"
    return None


def all_uses() -> list[Use]:
    return [u for p in doc_files() for u in uses_in(p)]


def test_every_documented_command_and_option_exists():
    tree = dict(command_tree())
    uses = all_uses()
    assert len(uses) > 50  # the parser sees the manuals' commands
    wrong, exempt = [], []
    for use in uses:
        why = problem(use, tree)
        if why is None:
            continue
        (exempt if MARKER in use.source else wrong).append(f"{use.where()}  — {why}")
    if exempt:
        warnings.warn(UserWarning(f"{len(exempt)} `bulktool` line(s) exempt as {MARKER}:\n" + "\n".join(exempt)))
    print("\n".join(["exempt as " + MARKER + ":"] + exempt) if exempt else "no exemptions")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("text, expected", [
    ("bulktool exchange /media/usb --department D01 --operator OP01", None),
    ("bulktool --version", None),
    ("bulktool GROUP --help", None),
    ("bulktool media register PATH --media-id M1 --department D01 --home X", None),
    ("bulktool nosuch --help", "unknown command `bulktool nosuch`"),
    ("bulktool media nosuch", "unknown command `bulktool media nosuch`"),
    ("bulktool exchange /media/usb --no-such-option", "`bulktool exchange` has no option --no-such-option"),
    ("bulktool decrypt F (--password-file F | --key FILE)", None),
    ("bulktool GROUP --department", "`bulktool ` has no option --department"),
])
def test_the_checker_itself(text, expected):
    assert problem(Use("x.md", 1, text, text), dict(command_tree())) == expected


def test_the_parser_finds_code_blocks_inline_code_and_continuations(tmp_path, monkeypatch):
    doc = tmp_path / "docs" / "x.md"
    doc.parent.mkdir()
    doc.write_text("\n".join([
        "段落 `bulktool media",
        "list --operator A` と `bulktool/cli.py`（パス）と `bulktool-workspace/1`。",
        "```",
        "bulktool exchange /m --department D01 \\",
        "  --approval X   # コメント --not-an-option",
        "CP=$(bulktool ledger checkpoint --operator A) && bulktool demo",
        "local bulktool bulktool_exchange peer map=bulktool",
        "BULKTOOL_HOME=/x bulktool store stats",
        "```",
        "",
        "    pip install -e . && bulktool demo",
        "| 予定 | `bulktool media nosuch --x` |",
    ]), encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    got = [(u.line, " ".join(u.text.split())) for u in uses_in(doc)]
    assert sorted(got) == sorted([
        (4, "bulktool exchange /m --department D01 --approval X"),
        (6, "bulktool ledger checkpoint --operator A)"),
        (6, "bulktool demo"),
        (8, "bulktool store stats"),
        (11, "bulktool demo"),
        (1, "bulktool media list --operator A"),
        (12, "bulktool media nosuch --x"),
    ])
    assert MARKER in [u for u in uses_in(doc) if u.line == 12][0].source


def test_ci_runs_the_readmes_two_commands_verbatim():
    """The README's set-up commands are what .ci/run runs, character for character."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Set-up"):readme.index("## What is where")]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ")]
    assert len(commands) == 2 and "bulktool demo" in commands[0] and "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in commands:
        assert command in ci, command
