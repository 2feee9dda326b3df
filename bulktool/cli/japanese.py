"""typer's and click's own words in Japanese: the --help option, the help's frame (使い方, the
panels 引数・オプション・コマンド, [必須], [既定: …]) and usage errors (exit 2).

The root group (`BulkGroup`, root.py) applies this to the whole command tree when typer builds
it, so a command or group added in any module speaks Japanese without doing anything; what a
command must still give itself is a Japanese help text and a metavar for each of its options and
arguments (tests/test_cli_help.py checks both over the real tree).

typer (≥ 0.2x) vendors its own click without gettext, so nothing here goes through `_()`: the
words are typer.rich_utils' module constants, click's help option and usage line overridden on
the command classes, and usage errors rewritten from their parts (the option, the argument, the
value) as they leave the root group."""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterator

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

HELP_OPTION_HELP = "このヘルプを表示して終了する"
USAGE = "使い方: "

# typer.rich_utils' words (the help is printed by rich): set when a help or an error is shown,
# so that a command's start-up does not import rich_utils
_RICH_WORDS = {
    "ARGUMENTS_PANEL_TITLE": "引数",
    "OPTIONS_PANEL_TITLE": "オプション",
    "COMMANDS_PANEL_TITLE": "コマンド",
    "ERRORS_PANEL_TITLE": "エラー",
    "REQUIRED_LONG_STRING": "[必須]",
    "DEFAULT_STRING": "[既定: {}]",
    "ENVVAR_STRING": "[環境変数: {}]",
    "DEPRECATED_STRING": "（廃止予定） ",
    "ABORTED_TEXT": "中断しました。",
    "RICH_HELP": "詳しくは [blue]'{command_path} {help_option}'[/] を参照してください。",
}


def rich_words() -> None:
    import typer.rich_utils

    for name, text in _RICH_WORDS.items():
        setattr(typer.rich_utils, name, text)


def _help_option(option):
    if option is not None:
        option.help = HELP_OPTION_HELP
        option.metavar = ""  # a flag: no value to name (typer would show <bool>)
    return option


@contextmanager
def _with_context(ctx) -> Iterator[None]:
    """click's option parser raises some usage errors (an option missing its value) without
    the context: give it theirs, so that the error shows the command's usage line."""
    try:
        yield
    except Exception as exc:
        if hasattr(exc, "exit_code") and getattr(exc, "ctx", False) is None:
            exc.ctx, exc.cmd = ctx, ctx.command
        raise


def _usage(command, ctx, formatter) -> None:
    formatter.write_usage(ctx.command_path, " ".join(command.collect_usage_pieces(ctx)), prefix=USAGE)


# What every command and group of the tree overrides: the help option's text, the usage line's
# lead, the help's frame. Direct subclasses without state of their own (no mixin): `localize`
# swaps the class of the objects typer built, which Python allows only between such layouts.
class Command(TyperCommand):
    def parse_args(self, ctx, args):
        with _with_context(ctx):
            return super().parse_args(ctx, args)

    def get_help_option(self, ctx):
        return _help_option(super().get_help_option(ctx))

    def format_usage(self, ctx, formatter) -> None:
        _usage(self, ctx, formatter)

    def format_help(self, ctx, formatter) -> None:
        rich_words()
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    def parse_args(self, ctx, args):
        with _with_context(ctx):
            return super().parse_args(ctx, args)

    def get_help_option(self, ctx):
        return _help_option(super().get_help_option(ctx))

    def format_usage(self, ctx, formatter) -> None:
        _usage(self, ctx, formatter)

    def format_help(self, ctx, formatter) -> None:
        rich_words()
        super().format_help(ctx, formatter)


class _Argument(TyperArgument):
    def display_type_rich(self, ctx) -> str | None:
        # the name column already shows the argument's metavar (ENTRY, DIR, …); typer would add
        # the Python type (<str>, <path>) beside it
        return None


def localize(command: Any) -> None:
    """Make `command` and everything under it speak Japanese (see the module's docstring). The
    stock typer classes are swapped for the subclasses above, which only override methods."""
    kind = type(command)
    if kind is TyperCommand:
        command.__class__ = Command
    elif kind is TyperGroup:
        command.__class__ = Group
    for param in command.params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # --version, --kojin-bango: a flag takes no value
    for sub in (getattr(command, "commands", None) or {}).values():
        localize(sub)


class BulkGroup(Group):
    """The root of the tree: localizes it when typer builds it, and turns the usage errors that
    leave it (from any level of the tree) into Japanese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        localize(self)

    def make_context(self, *args: Any, **kwargs: Any):
        with japanese_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with japanese_usage_errors():
            return super().invoke(ctx)


# --- usage errors ---------------------------------------------------------------------------
# typer checks a value's type with pydantic: the kind of the first error says what was wanted
_WANTED = {"int_parsing": "整数", "int_from_float": "整数", "float_parsing": "数値", "bool_parsing": "真偽値"}


def _param_name(param: Any) -> str:
    if param is None:
        return "値"
    if getattr(param, "param_type_name", "") == "option":
        return max(param.opts, key=len)
    return param.metavar or param.name.upper()


def usage_message(exc: Any) -> str:
    """The Japanese of one of click's usage errors, from the exception's parts."""
    kind = type(exc).__name__
    message = getattr(exc, "message", "") or ""
    param = getattr(exc, "param", None)
    if kind == "NoSuchOption":
        text = f"オプション {exc.option_name} はありません。"
        if exc.possibilities:
            text += f"（もしかして: {', '.join(sorted(exc.possibilities))}）"
        return text
    if kind == "MissingParameter":
        name = _param_name(param)
        what = "オプション" if getattr(param, "param_type_name", "") == "option" else "引数"
        return f"{what} {name} を指定してください。"
    if kind == "BadOptionUsage":
        if "requires" in message:
            return f"オプション {exc.option_name} には値が必要です。"
        if "does not take" in message:
            return f"オプション {exc.option_name} は値をとりません。"
    if kind == "BadParameter":
        # the value itself is not repeated: it may be anything typed in the wrong place
        cause = exc.__cause__
        errors = cause.errors() if hasattr(cause, "errors") else []
        wanted = _WANTED.get(errors[0].get("type", "")) if errors else None
        if wanted:
            return f"{_param_name(param)} には{wanted}を指定してください。"
        return f"{_param_name(param)} の値が不正です（{message}）。"
    extra = re.match(r"Got unexpected extra argument(?:\(s\)|s)? \((.*)\)$", message)
    if extra:
        return f"余分な引数があります: {extra[1]}"
    found = re.match(r"No such command '(.*)'\.", message)
    if found:
        return f"コマンド {found[1]} はありません。"
    if message == "Missing command.":
        return "コマンドを指定してください。"
    return message


@contextmanager
def japanese_usage_errors() -> Iterator[None]:
    """Re-raise a usage error (exit 2) with its message in Japanese; the typer runner and
    `bulktool.cli.main` then show it with the Japanese frame (使い方, エラー, 詳しくは …)."""
    try:
        yield
    except Exception as exc:
        kind = type(exc)
        usage_error = next((c for c in kind.__mro__ if c.__name__ == "UsageError"), None)
        if usage_error is None or kind.__name__ == "NoArgsIsHelpError" or getattr(exc, "japanese", False):
            raise
        rich_words()
        plain = usage_error(usage_message(exc), getattr(exc, "ctx", None))
        plain.japanese = True
        raise plain from None


def show_usage_error(exc: Any) -> None:
    """`bulktool.cli.main`'s rendering of a usage error: as typer's runner renders it."""
    import typer.rich_utils

    rich_words()
    typer.rich_utils.rich_format_error(exc)
