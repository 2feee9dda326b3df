"""What every command module shares: options, secrets, error rendering, the console."""
from __future__ import annotations

import functools
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Annotated, Callable, Iterator, Optional

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bulktool.app import Command, logged_in
from bulktool.clock import Clock, SystemClock
from bulktool.containers.limits import DEFAULT_LIMITS
from bulktool.messages import BulkError

# soft_wrap: rich never breaks a printed line itself (the terminal may): a fingerprint to compare
# with the paper 依頼書, a file name, an error code's message stay on one line for grep and for
# the eye even in an 80-column or captured output. Tables are still laid out to the width.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def list_table(title: str, columns: tuple[str, ...]) -> Table:
    """A list for the screen whose cells fold onto the next line instead of ending in "…": an
    administrator answering a 開示 request or an auditor reading a list must see every value
    whole, whatever the window's width."""
    t = Table(title=title)
    for col in columns:
        t.add_column(col, overflow="fold")
    return t


# How a list's column may break when the window is narrow (print_list):
FIXED = "fixed"  # identifiers, dates, codes, short labels: never broken
WORDS = "words"  # a list of codes or names separated by spaces: broken only between them
TEXT = "text"    # free text (a name, a legal basis): may fold anywhere


def print_list(title: str, columns: tuple[tuple[str, str], ...], rows: list[tuple[str, ...]],
               styles: list[Optional[str]] | None = None) -> None:
    """A list on screen, whole in any window from 80 columns up: a table (one line per record,
    like `ledger list`) when its FIXED and WORDS columns fit the window unbroken; otherwise one
    block per record: its first value on a line, then 「見出し 値」 items packed into lines of
    the window's width, never broken inside an identifier, a date or a code.

    `columns` are (header, FIXED | WORDS | TEXT); a value may hold several lines."""
    styles = styles or [None] * len(rows)
    widths = []
    for i, (header, kind) in enumerate(columns):
        cells = [header, *(r[i] for r in rows)]
        if kind == FIXED:
            widths.append(max(cell_len(line) for c in cells for line in c.splitlines() or [""]))
        elif kind == WORDS:
            widths.append(max([cell_len(header)] + [cell_len(w) for c in cells[1:] for w in c.split()]))
        else:
            widths.append(cell_len(header))
    if sum(widths) + 2 * len(columns) <= console.width:
        t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
        for (header, kind), width in zip(columns, widths):
            t.add_column(header, no_wrap=kind == FIXED, min_width=width, overflow="fold")
        for row, style in zip(rows, styles):
            t.add_row(*row, style=style)
        console.print(t)
        return
    console.print(Text(title, style="italic"))
    for row, style in zip(rows, styles):
        console.print()
        console.print(Text(row[0], style=f"bold {style or ''}".strip()))
        for line in _packed([(h, kind, v) for (h, kind), v in zip(columns[1:], row[1:]) if v], console.width - 2):
            console.print(Text("  " + line, style=style or ""))


def _packed(items: list[tuple[str, str, str]], width: int) -> list[str]:
    """「見出し 値」 items joined by two spaces into lines of at most `width` cells; an item that
    alone is wider is broken as its kind allows (TEXT folds, WORDS between words), a value of
    several lines starts a line of its own with one line per value line."""
    lines: list[str] = []
    open_line = False  # whether the last line may take another item
    for header, kind, value in items:
        parts = value.splitlines()
        if len(parts) > 1:
            lines.append(header)
            for part in parts:
                lines += _broken(part, kind, width - 2, "  ")
            open_line = False
            continue
        item = f"{header} {value}"
        if open_line and cell_len(lines[-1]) + 2 + cell_len(item) <= width:
            lines[-1] += "  " + item
        else:
            broken = _broken(item, kind, width, "")
            lines += broken
            open_line = len(broken) == 1
    return lines


def _broken(text: str, kind: str, width: int, indent: str) -> list[str]:
    if cell_len(text) <= width or kind == FIXED:
        return [indent + text]
    # TEXT folds where it must; WORDS breaks between words (each fits: see print_list's widths)
    wrapped = Text(text).wrap(console, width, overflow="fold", no_wrap=False)
    return [indent + line.plain.rstrip() for line in wrapped]


def screen_time(timestamp: str, *, seconds: bool = False) -> str:
    """「2026-11-23 06:50」 (or with seconds) for a list on screen; exports keep the whole stamp
    with its time zone."""
    return timestamp[:19 if seconds else 16].replace("T", " ")


# The CLI edge is the one place that builds the clock: every command passes `clock()` down.
# A test sets another clock with `using_clock` (the commands run in process under typer's runner).
_CLOCK: ContextVar[Clock | None] = ContextVar("bulktool_clock", default=None)


def clock() -> Clock:
    """The clock of the running command: the system clock unless a test set one."""
    return _CLOCK.get() or SystemClock()


@contextmanager
def using_clock(c: Clock):
    token = _CLOCK.set(c)
    try:
        yield c
    finally:
        _CLOCK.reset(token)


# --- options and arguments that many commands share -----------------------------------------
# Each with its metavar and Japanese help (tests/test_cli_help.py). The Annotated aliases are
# written `operator: Operator = None`; the *Opt defaults (`operator: Optional[str] = OperatorOpt`)
# are the same options in typer's older style, kept for commands written that way.
_HOME = dict(envvar="BULKTOOL_HOME", metavar="DIR", help="作業領域のフォルダ（省略時は環境変数 BULKTOOL_HOME）")
_OPERATOR = dict(metavar="OPID", help="ログインする操作者ID")
_PASSFILE = dict(metavar="FILE", help="操作者のパスフレーズを読むファイル（- は標準入力。省略時は入力を求める）")
HomeOpt = typer.Option(None, "--home", **_HOME)
OperatorOpt = typer.Option(None, "--operator", **_OPERATOR)
PassFileOpt = typer.Option(None, "--passphrase-file", **_PASSFILE)

Home = Annotated[Optional[str], typer.Option("--home", **_HOME)]
Operator = Annotated[Optional[str], typer.Option("--operator", **_OPERATOR)]
PassFile = Annotated[Optional[str], typer.Option("--passphrase-file", **_PASSFILE)]

Entry = Annotated[int, typer.Argument(metavar="ENTRY", help="出力・再発行の管理簿番号、または受付番号")]
MediaId = Annotated[str, typer.Argument(metavar="ID", help="媒体ID")]
Drive = Annotated[Path, typer.Argument(metavar="DIR", help="媒体（マウントしたドライブ）のパス")]
OperatorId = Annotated[str, typer.Argument(metavar="OPID", help="対象の操作者ID")]
Department = Annotated[str, typer.Option("--department", metavar="CODE", help="照会元コード")]
Approval = Annotated[str, typer.Option("--approval", metavar="NO", help="決裁番号")]
NewPassFile = Annotated[Optional[str], typer.Option(
    "--new-passphrase-file", metavar="FILE", help="新しいパスフレーズを読むファイル（- は標準入力。省略時は入力を求める）")]
# the lists and exports of the ledger and the operation log
Since = Annotated[Optional[str], typer.Option("--since", metavar="DATE", help="この日から（YYYY-MM-DD）")]
Until = Annotated[Optional[str], typer.Option("--until", metavar="DATE", help="この日まで（YYYY-MM-DD）")]
MediaFilter = Annotated[Optional[str], typer.Option("--media", metavar="ID", help="媒体ID")]
DepartmentFilter = Annotated[Optional[str], typer.Option("--department", metavar="CODE", help="照会元コード")]
ExportFormat = Annotated[str, typer.Option("--format", metavar="csv|xlsx", help="書き出す形式")]
ExportOut = Annotated[Optional[str], typer.Option(
    "--out", metavar="FILE", help="書き出すファイル（CSV は省略時に標準出力。xlsx は必須）")]
# the department clerk's secrets and keys (no workspace, no operator)
PasswordFile = Annotated[Optional[str], typer.Option(
    "--password-file", metavar="FILE", help="照会結果パスワードを読むファイル（- は標準入力。省略時は入力を求める）")]
KeyFile = Annotated[Optional[Path], typer.Option("--key", metavar="FILE", help="照会元の秘密鍵（.key、封緘形式）")]
KeyPassFile = Annotated[Optional[str], typer.Option(
    "--passphrase-file", metavar="FILE", help="秘密鍵のパスフレーズを読むファイル（- は標準入力。省略時は入力を求める）")]

_stdin_used: list[str] = []


def read_secret(file: Optional[str], prompt: str, *, confirm: bool = False, option: str = "") -> bytes:
    """A passphrase or password: from a file (`-` = standard input), else a hidden prompt.
    The trailing line end is dropped; the value is never echoed or logged."""
    if file is not None:
        if file == "-":
            if _stdin_used:
                raise BulkError("E-USE-003")
            _stdin_used.append(option)
            data = sys.stdin.buffer.readline()
        else:
            try:
                data = Path(file).read_bytes()
            except OSError:
                raise BulkError("E-USE-002", path=file) from None
            data = data.splitlines()[0] if data.strip() else b""
        return data.rstrip(b"\r\n")
    return ask_hidden(prompt, confirm=confirm).encode("utf-8")


def ask_hidden(prompt: str, *, confirm: bool = False) -> str:
    """A hidden prompt on standard error (so that `X=$(bulktool …)` captures only the answer's
    output), in Japanese, asked again for confirmation where a typo would lock someone out."""
    while True:
        value = typer.prompt(prompt, hide_input=True, err=True)
        if not confirm:
            return value
        again = typer.prompt("確認のためもう一度入力してください", hide_input=True, err=True)
        if again == value:
            return value
        err_console.print("入力が一致しません。もう一度最初から入力してください。")


def passphrase(file: Optional[str]) -> bytes:
    return read_secret(file, "パスフレーズ", option="--passphrase-file")


# A file option's content is read whole; its size is checked first (a 3 GiB file given by mistake
# or malice must not take 3 GiB). Keys, passwords, receipts, inventories: SMALL_FILE. Tables and
# results: BIG_FILE, the terminal's own request limit. Ledger exports and backups: no limit.
SMALL_FILE = 16 * 1024 * 1024
BIG_FILE = DEFAULT_LIMITS.max_request_bytes


def read_input(path: str, limit: int | None = SMALL_FILE) -> bytes:
    """A file option's content, never more than `limit` bytes (E-USE-005, checked by stat before
    the file is opened); `-` reads standard input."""
    if path == "-":
        if _stdin_used:
            raise BulkError("E-USE-003")
        _stdin_used.append(path)
        data = sys.stdin.buffer.read() if limit is None else sys.stdin.buffer.read(limit + 1)
    else:
        try:
            if limit is not None and Path(path).stat().st_size > limit:
                raise BulkError("E-USE-005", path=path, limit=limit)
            with open(path, "rb") as fh:
                data = fh.read() if limit is None else fh.read(limit + 1)
        except OSError:
            raise BulkError("E-USE-002", path=path) from None
    if limit is not None and len(data) > limit:
        raise BulkError("E-USE-005", path=path, limit=limit)
    return data


def parse_day(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BulkError("E-USE-001", option=option, value=value) from None


def fail(err: BulkError) -> None:
    # the message may carry a file name from the drive: never let it act as Rich markup
    err_console.print(f"[bold red]{err.code}[/] {escape(err.message)}")
    raise typer.Exit(err.exit_code)


def handles_errors(fn):
    """Render a BulkError as its code and Japanese message and exit with its exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _stdin_used.clear()
        try:
            return fn(*args, **kwargs)
        except BulkError as err:
            fail(err)
        except KeyboardInterrupt:
            # what was running has recorded itself (an exchange ledgers 失敗); the shell's code for SIGINT
            err_console.print("中断しました。")
            raise typer.Exit(130) from None

    return wrapper


@contextmanager
def session(home, operator: Optional[str], passphrase_file: Optional[str], command: str,
            defer_role: bool = False) -> Iterator[Command]:
    """Log in for `command` (passphrase from the file or a prompt) and yield its parts."""
    if not operator:
        raise BulkError("E-AUTH-013")
    secret = passphrase(passphrase_file)
    with logged_in(home, operator, secret, command, defer_role, clock=clock()) as s:
        yield s


# --- lists and exports shared by the ledger and the operation log ---------------------------
# How the ledger's and the log's count names read on screen (the files keep the names).
COUNT_LABELS = {
    "files": "ファイル", "removed": "削除", "records": "記録", "results": "照会結果", "persons": "提供人数",
    "people": "人数", "entries": "管理簿", "findings": "所見", "jumin_rows": "本人確認情報の行",
    "jumin_inserted": "本人確認情報の取込", "fuhyo_rows": "附票の行", "fuhyo_inserted": "附票の取込",
    "inserted": "取込", "erased": "消去",
}


def counts_cell(counts: dict) -> str:
    """「5行（00:2 20:1 90:2）」: the rows and the non-zero codes of an output; other counts as
    「削除 3」 (COUNT_LABELS; a name it does not know as it is), a zero included: a purge of
    nothing says so."""
    codes = " ".join(f"{k}:{v}" for k, v in counts.items() if k.isdigit() and v)
    total = counts.get("rows")
    if total is not None:
        return f"{total}行（{codes}）" if codes else f"{total}行"
    return "　".join(f"{COUNT_LABELS.get(k, k)} {v:,}" if isinstance(v, int) else f"{COUNT_LABELS.get(k, k)} {v}"
                     for k, v in counts.items() if v is not None)


def export(source: Callable[[Command], object], command: str, fmt: str, out: Optional[str], *, operator,
           passphrase_file, home) -> None:
    """`ledger export` / `oplog export`: the table that `source` picks, as CSV (standard output by
    default) or xlsx (--out required)."""
    if fmt not in ("csv", "xlsx"):
        raise BulkError("E-USE-001", option="--format", value=fmt)
    if fmt == "xlsx" and not out:
        raise BulkError("E-USE-001", option="--out", value="（xlsx は --out が必要です）")
    with session(home, operator, passphrase_file, command) as s:
        table = source(s)
        data = table.export_xlsx() if fmt == "xlsx" else table.export_csv()
    if out:
        Path(out).write_bytes(data)
        console.print(f"{out} に書き出しました。")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
