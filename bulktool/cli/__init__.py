"""The bulktool command line (typer): one module per command group, no business rules here —
each command parses its options, calls one service, and renders what it returns."""
from __future__ import annotations

import sys

import typer

# Each command group module registers its commands on the root `app` when imported.
from bulktool.cli import audit as _audit  # noqa: F401
from bulktool.cli import backup as _backup  # noqa: F401
from bulktool.cli import clerk as _clerk  # noqa: F401
from bulktool.cli import demo as _demo  # noqa: F401
from bulktool.cli import department as _department  # noqa: F401
from bulktool.cli import exchange as _exchange  # noqa: F401
from bulktool.cli import keys as _keys  # noqa: F401
from bulktool.cli import ledger as _ledger  # noqa: F401
from bulktool.cli import media as _media  # noqa: F401
from bulktool.cli import operator as _operator  # noqa: F401
from bulktool.cli import oplog as _oplog  # noqa: F401
from bulktool.cli import store as _store  # noqa: F401
from bulktool.cli.common import err_console
from bulktool.cli.japanese import show_usage_error
from bulktool.cli.root import app
from bulktool.hardening import harden

__all__ = ["app", "main"]


def main() -> None:
    harden()  # no core dumps, not dumpable: before any secret or resident is in memory
    try:
        code = app(standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C outside a command's own handling (parsing, a prompt)
        err_console.print("中断しました。")
        sys.exit(130)
    except Exception as exc:  # typer's usage errors: in Japanese as typer's runner shows them, exit code 2
        if getattr(exc, "japanese", False):
            show_usage_error(exc)
            sys.exit(exc.exit_code)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # no arguments: the help
            exc.show()
            sys.exit(exc.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
