"""The bulktool command line (typer): one module per command group, no business rules here —
each command parses its options, calls one service, and renders what it returns."""
from __future__ import annotations

# Each command group module registers its commands on the root `app` when imported.
from bulktool.cli import audit as _audit  # noqa: F401
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
from bulktool.cli.root import app

__all__ = ["app", "main"]


def main() -> None:
    app()
