"""The root of the command tree: every command group module adds itself to `app`; the root's own
option is `--version`."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer

import bulktool
from bulktool.cli.japanese import BulkGroup

app = typer.Typer(
    name="bulktool",
    cls=BulkGroup,  # the whole tree in Japanese: the --help option, the help's frame, usage errors
    help="住民基本台帳ネットワーク 一括提供方式（媒体連携）の一括照会ツール",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def package_version() -> str:
    """The installed distribution's version (package metadata), else the source tree's."""
    try:
        return version("bulktool")
    except PackageNotFoundError:
        return bulktool.__version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"bulktool {package_version()}")
        raise typer.Exit(0)


@app.callback()
def root(_version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="版を表示して終了する")) -> None:
    # no docstring: the root's help is the Typer's `help` above
    pass
