"""ledger list / export / verify / checkpoint: the 管理簿."""
from __future__ import annotations

from typing import Optional

import typer
from rich import box
from rich.cells import cell_len
from rich.table import Table

from bulktool.cli.common import (HomeOpt, OperatorOpt, PassFileOpt, console, counts_cell, export, handles_errors, read_input, screen_time,
                                 session)
from bulktool.cli.root import app
from bulktool.ledger import format_checkpoint, parse_checkpoint
from bulktool.services import records

ledger_app = typer.Typer(help="管理簿（媒体の管理簿）", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("list")
@handles_errors
def ledger_list(operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                home: Optional[str] = HomeOpt):
    """管理簿の記録の一覧。"""
    with session(home, operator, passphrase_file, "ledger list") as s:
        entries = list(s.ledger.entries())
    t = Table(title="管理簿", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    # Six short columns that never fold, then 詳細 (決裁番号, the entry cited, error code, counts)
    # as free text that folds: the list stays whole and readable in an 80-column window.
    rows = [(str(e["seq"]), screen_time(e["timestamp"]), e["event"], e.get("operator_id") or "",
             e.get("media_id") or "", " ".join(filter(None, (e.get("department"), e.get("purpose")))),
             _detail(e)) for e in entries]
    for i, col in enumerate(("番号", "日時", "事象", "操作者", "媒体", "照会元・事務", "詳細")):
        fixed = col != "詳細"
        width = max([cell_len(col), *(cell_len(r[i]) for r in rows)]) if fixed else None
        t.add_column(col, no_wrap=fixed, min_width=width, overflow="fold", justify="right" if i == 0 else "left")
    for r in rows:
        t.add_row(*r)
    console.print(t)


def _detail(e: dict) -> str:
    """「決裁 K-7　参照39　E-DEP-007　5行（00:2 20:1 90:2）」: what else an entry carries."""
    parts = []
    if e.get("approval_no"):
        parts.append(f"決裁 {e['approval_no']}")
    if e.get("ref"):
        parts.append(f"参照{e['ref']}")
    if e.get("error_code"):
        parts.append(e["error_code"])
    counts = counts_cell(e.get("counts") or {})
    if counts:
        parts.append(counts)
    return "　".join(parts)


@ledger_app.command("export")
@handles_errors
def ledger_export(fmt: str = typer.Option("csv", "--format"), out: Optional[str] = typer.Option(None, "--out"),
                  operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                  home: Optional[str] = HomeOpt):
    """管理簿を CSV（既定は標準出力）または xlsx で書き出す。"""
    export(lambda s: s.ledger, "ledger export", fmt, out, operator=operator, passphrase_file=passphrase_file,
           home=home)


@ledger_app.command("verify")
@handles_errors
def ledger_verify(terminal_key: Optional[str] = typer.Option(None, "--terminal-key", help="端末の公開鍵（.pub）"),
                  checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="N:HASH"),
                  operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                  home: Optional[str] = HomeOpt):
    """管理簿の完全性（連番・ハッシュ連鎖・署名・チェックポイント）を検証する。"""
    cp = parse_checkpoint(checkpoint) if checkpoint else None
    with session(home, operator, passphrase_file, "ledger verify") as s:
        report = records.verify_ledger(s.ledger, s.ws, read_input(terminal_key) if terminal_key else None, cp)
        s.log({"entries": report.count})
        if not report.ok:
            raise report.error()
    console.print(f"管理簿を検証しました: {report.count} 件、すべて正常です。")
    console.print(f"先頭ハッシュ: {report.head_hash}")


@ledger_app.command("checkpoint")
@handles_errors
def ledger_checkpoint(operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                      home: Optional[str] = HomeOpt):
    """監査者が控えるチェックポイント N:HASH を表示する（何も書き込まない）。"""
    with session(home, operator, passphrase_file, "ledger checkpoint") as s:
        n, head = s.ledger.head()
    typer.echo(format_checkpoint(n, head))
