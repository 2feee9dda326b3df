"""The root of the command tree: every command group module adds itself to `app`."""
from __future__ import annotations

import typer

app = typer.Typer(
    name="bulktool",
    help="住民基本台帳ネットワーク 一括提供方式（媒体連携）の一括照会ツール",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
