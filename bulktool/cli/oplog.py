"""oplog list / export / purge: the 操作履歴."""
from __future__ import annotations

from typing import Optional

import typer

from bulktool.cli.common import (HomeOpt, OperatorOpt, PassFileOpt, console, counts_cell, export, handles_errors, list_table, parse_day,
                                 screen_time, session)
from bulktool.cli.root import app
from bulktool.services import records

oplog_app = typer.Typer(help="操作履歴", no_args_is_help=True)
app.add_typer(oplog_app, name="oplog")


@oplog_app.command("list")
@handles_errors
def oplog_list(operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
               home: Optional[str] = HomeOpt):
    """操作履歴の一覧。"""
    with session(home, operator, passphrase_file, "oplog list") as s:
        entries = list(s.oplog.entries())
    t = list_table("操作履歴", ("日時", "操作者", "端末", "コマンド", "結果", "コード", "件数"))
    for e in entries:
        t.add_row(screen_time(str(e.get("timestamp", "")), seconds=True), str(e.get("operator_id") or ""),
                  str(e.get("terminal_id") or ""), str(e.get("command", "")), str(e.get("outcome", "")),
                  str(e.get("code") or ""), counts_cell(e.get("counts") or {}))
    console.print(t)


@oplog_app.command("export")
@handles_errors
def oplog_export(fmt: str = typer.Option("csv", "--format"), out: Optional[str] = typer.Option(None, "--out"),
                 operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                 home: Optional[str] = HomeOpt):
    """操作履歴を CSV または xlsx で書き出す。"""
    export(lambda s: s.oplog, "oplog export", fmt, out, operator=operator, passphrase_file=passphrase_file,
           home=home)


@oplog_app.command("purge")
@handles_errors
def oplog_purge(before: str = typer.Option(..., "--before", help="この日より前の操作履歴を削除"),
                operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                home: Optional[str] = HomeOpt):
    """保存期間を過ぎた操作履歴を削除する（管理簿に履歴削除として記録）。"""
    day = parse_day(before, "--before")
    with session(home, operator, passphrase_file, "oplog purge") as s:
        removed = records.purge_oplog(s.writer, s.oplog, s.ws.retention(), day)
        s.log({"removed": removed})
    console.print(f"操作履歴 {removed} 件を削除しました。")
