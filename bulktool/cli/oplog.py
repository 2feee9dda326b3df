"""oplog list / export / purge / verify: the 操作履歴."""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

import typer

from bulktool.cli.common import (FIXED, TEXT, DepartmentFilter, ExportFormat, ExportOut, Home, MediaFilter, Operator,
                                 PassFile, Since, Until, console, counts_cell, export, handles_errors, parse_day,
                                 print_list, screen_time, session)
from bulktool.cli.root import app
from bulktool.ledger import parse_checkpoint
from bulktool.oplog import verify_against_ledger
from bulktool.services import records

oplog_app = typer.Typer(help="操作履歴", no_args_is_help=True)
app.add_typer(oplog_app, name="oplog")


@oplog_app.command("list")
@handles_errors
def oplog_list(event: Optional[str] = typer.Option(None, "--event", metavar="EVENT",
                                                   help="コマンド（例: exchange）、結果（例: 拒否）または管理簿の事象"),
               since: Since = None, until: Until = None, media: MediaFilter = None, department: DepartmentFilter = None,
               operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """操作履歴の一覧（管理簿の媒体・照会元・依頼番号・備考とともに。絞り込み可）。"""
    since_day, until_day = parse_day(since, "--since"), parse_day(until, "--until")
    with session(home, operator, passphrase_file, "oplog list") as s:
        found = s.oplog.entries(since=since_day, until=until_day + timedelta(days=1) if until_day else None)
        lines = records.oplog_lines(found, list(s.ledger.entries()), event=event, media=media, department=department)
    # Four short columns that never fold, then 詳細 (terminal, code, counts, and from the ledger
    # the media, department, 依頼番号, entries and 備考) folding: whole in an 80-column window
    # (print_list: a block per record when long IDs would not fit unbroken).
    rows = []
    for line in lines:
        e = line.record
        detail = [str(e.get("terminal_id") or ""), str(e.get("code") or ""), counts_cell(e.get("counts") or {}),
                  line.detail()]
        rows.append((screen_time(str(e.get("timestamp", "")), seconds=True), str(e.get("operator_id") or ""),
                     str(e.get("command", "")), str(e.get("outcome", "")), "　".join(filter(None, detail))))
    print_list("操作履歴", (("日時", FIXED), ("操作者", FIXED), ("コマンド", FIXED), ("結果", FIXED), ("詳細", TEXT)),
               rows)


@oplog_app.command("export")
@handles_errors
def oplog_export(fmt: ExportFormat = "csv", out: ExportOut = None,
                 operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """操作履歴を CSV または xlsx で書き出す。"""
    export(lambda s: s.oplog, "oplog export", fmt, out, operator=operator, passphrase_file=passphrase_file,
           home=home)


@oplog_app.command("purge")
@handles_errors
def oplog_purge(before: str = typer.Option(..., "--before", metavar="DATE",
                                                 help="この日（YYYY-MM-DD）より前の操作履歴を削除する"),
                operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """保存期間を過ぎた操作履歴を削除する（管理簿に履歴削除として記録）。"""
    day = parse_day(before, "--before")
    with session(home, operator, passphrase_file, "oplog purge") as s:
        removed = records.purge_oplog(s.writer, s.oplog, s.ws.retention(), day)
        s.log({"removed": removed})
    console.print(f"操作履歴 {removed} 件を削除しました。")


@oplog_app.command("verify")
@handles_errors
def oplog_verify(checkpoint: Optional[str] = typer.Option(None, "--checkpoint", metavar="N:HASH",
                                                          help="控えた操作履歴のチェックポイント（切り詰めの検出）"),
                 operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """操作履歴のハッシュ連鎖を検証する（削除・書き換え・挿入・並べ替え、履歴削除の起点、チェックポイント）。

    終了コード 0: 正常。3: 検証に失敗（コード E-LOG-002〜004）。"""
    cp = parse_checkpoint(checkpoint) if checkpoint else None
    with session(home, operator, passphrase_file, "oplog verify") as s:
        report = verify_against_ledger(s.oplog, s.ledger.entries(), cp, timestamp=s.clock.timestamp(),
                                       terminal_id=s.ws.terminal_id)
        s.log({"records": report.count})
        if not report.ok:
            raise report.error()
    start = f"履歴削除の起点 {report.anchor[0]} 番から" if report.anchor else "最初の記録から"
    console.print(f"操作履歴を検証しました（{start}）: {report.count} 件、すべて正常です。")
    if report.checkpoints:
        console.print(f"チェックポイント {report.checkpoints} 件（管理簿の点検の記録と指定されたもの）と一致しました。")
    console.print("操作履歴のチェックポイント（控えて次回 --checkpoint に渡す）:")
    typer.echo(report.checkpoint)
