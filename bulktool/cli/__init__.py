"""The bulktool command line (typer): one module per command group, no business rules here —
each command parses its options, calls one service, and renders what it returns."""
from __future__ import annotations

import typer

app = typer.Typer(
    name="bulktool",
    help="住民基本台帳ネットワーク 一括提供方式（媒体連携）の一括照会ツール",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    app()


# Command modules register themselves on `app` when imported (they import `app` from here,
# so these imports come after it).
from bulktool.cli import clerk as _clerk  # noqa: E402,F401
from bulktool.cli import demo as _demo  # noqa: E402,F401
from bulktool.cli import department as _department  # noqa: E402,F401
from bulktool.cli import exchange as _exchange  # noqa: E402,F401
from bulktool.cli import keys as _keys  # noqa: E402,F401
from bulktool.cli import ledger as _ledger  # noqa: E402,F401
from bulktool.cli import media as _media  # noqa: E402,F401
from bulktool.cli import operator as _operator  # noqa: E402,F401
from bulktool.cli import oplog as _oplog  # noqa: E402,F401
from bulktool.cli import store as _store  # noqa: E402,F401
