"""docs/cli.md, the command reference: the `--help` of every group and command, exactly as the
commands print it at a fixed width and without colours, so that a test can tell when the checked-in
file no longer matches the code. Regenerate after changing any command:

    python -m bulktool.clidoc docs/cli.md

`command_tree()` is also what tests/test_docs_commands.py checks every `bulktool …` line of the
docs against."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import typer
import typer.rich_utils
from typer.testing import CliRunner

from bulktool.cli import app

WIDTH = 120
PROG = "bulktool"
REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


Command = Any  # a click command as typer builds it (typer vendors click: duck-typed here)


def root_command() -> Command:
    """The click command tree that typer builds from `bulktool.cli.app`."""
    return typer.main.get_command(app)


def command_tree() -> list[tuple[tuple[str, ...], Command]]:
    """Every group and command as (path, click command), the root first, then depth-first with
    each group's subcommands in alphabetical order; hidden commands are left out."""
    found: list[tuple[tuple[str, ...], Command]] = []

    def walk(path: tuple[str, ...], cmd: Command) -> None:
        found.append((path, cmd))
        subcommands = getattr(cmd, "commands", None) or {}
        for name in sorted(subcommands):
            sub = subcommands[name]
            if not sub.hidden:
                walk(path + (name,), sub)

    walk((), root_command())
    return found


@contextmanager
def _plain_console(width: int) -> Iterator[None]:
    """typer's rich help at a fixed width with no colours, whatever the terminal and environment."""
    saved = (typer.rich_utils.MAX_WIDTH, typer.rich_utils.COLOR_SYSTEM, typer.rich_utils.FORCE_TERMINAL)
    typer.rich_utils.MAX_WIDTH, typer.rich_utils.COLOR_SYSTEM, typer.rich_utils.FORCE_TERMINAL = width, None, False
    try:
        yield
    finally:
        typer.rich_utils.MAX_WIDTH, typer.rich_utils.COLOR_SYSTEM, typer.rich_utils.FORCE_TERMINAL = saved


def help_text(path: tuple[str, ...], width: int = WIDTH) -> str:
    """What `bulktool PATH… --help` prints, at `width` columns, trailing spaces removed."""
    env = {"COLUMNS": str(width), "TERMINAL_WIDTH": str(width), "NO_COLOR": "1", "FORCE_COLOR": None,
           "PY_COLORS": None, "GITHUB_ACTIONS": None}
    with _plain_console(width):
        result = CliRunner().invoke(app, [*path, "--help"], prog_name=PROG, env=env, color=False)
    if result.exit_code != 0:
        raise RuntimeError(f"{PROG} {' '.join(path)} --help exited {result.exit_code}: {result.output}")
    lines = [line.rstrip() for line in result.output.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _anchor(path: tuple[str, ...]) -> str:
    return "-".join((PROG,) + path).lower()


def reference_markdown(width: int = WIDTH) -> str:
    """The whole of docs/cli.md."""
    tree = command_tree()
    out = [
        "# コマンド一覧（`bulktool --help` の全文）",
        "",
        "<!-- 生成ファイル: 手で編集しないこと。コマンドを変えたら `python -m bulktool.clidoc docs/cli.md` で"
        " 作り直す（tests/test_cli_reference.py が差を検出する） -->",
        "",
        f"すべてのグループとコマンドの `--help` を、幅 {width} 桁・色なしで出力したものです"
        "（`bulktool/clidoc.py` が生成）。各コマンドの使い方の説明は [操作手順書](操作手順書.md)、"
        "[照会元向け手引](照会元向け手引.md)、[管理者手順書](管理者手順書.md)、"
        "[監査手順書](監査手順書.md)、役割ごとの権限は [交換仕様 §8](contract.md#s8)、"
        "エラーコードは [errors.md](errors.md) にあります。",
        "",
    ]
    for path, cmd in tree:
        depth = len(path)
        indent = "  " * max(depth - 1, 0)
        label = " ".join((PROG,) + path)
        summary = (cmd.get_short_help_str(limit=80) if path else "")
        out.append(f"{indent}- [`{label}`](#{_anchor(path)})" + (f" — {summary}" if summary else ""))
    out.append("")
    for path, _ in tree:
        label = " ".join((PROG,) + path)
        out += [f'<a id="{_anchor(path)}"></a>', f"## `{label}`", "", "```text", help_text(path, width), "```", ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = reference_markdown()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8", newline="\n")
    else:
        sys.stdout.buffer.write(text.encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
