"""ledger list / export / verify / checkpoint: the 管理簿."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bulktool.cli.common import (FIXED, TEXT, WORDS, DepartmentFilter, ExportFormat, ExportOut, Home, MediaFilter,
                                 Operator, PassFile, Since, Until, console, counts_cell, export, handles_errors,
                                 parse_day, print_list, read_input, screen_time, session)
from bulktool.cli.root import app
from bulktool.ledger import format_checkpoint, parse_checkpoint
from bulktool.messages import BulkError
from bulktool.services import records

ledger_app = typer.Typer(help="管理簿（媒体の管理簿）", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


EventOpt = typer.Option(None, "--event", metavar="EVENT", help="事象（例: 出力）")


@ledger_app.command("list")
@handles_errors
def ledger_list(event: Optional[str] = EventOpt, since: Since = None, until: Until = None,
                media: MediaFilter = None, department: DepartmentFilter = None,
                operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """管理簿の記録の一覧（事象・期間・媒体・照会元で絞り込み）。"""
    since_day, until_day = parse_day(since, "--since"), parse_day(until, "--until")
    with session(home, operator, passphrase_file, "ledger list") as s:
        entries = list(records.filter_entries(s.ledger.entries(), event=event, since=since_day, until=until_day,
                                              media=media, department=department))
    # Six short columns that never fold, then 詳細 (依頼番号, 決裁番号, the entry cited, error code,
    # counts, 備考) as free text that folds: a table in an 80-column window, or one block per entry
    # when long IDs would not fit unbroken (print_list).
    rows = [(str(e["seq"]), screen_time(e["timestamp"]), e["event"], e.get("operator_id") or "",
             e.get("media_id") or "", " ".join(filter(None, (e.get("department"), e.get("purpose")))),
             _detail(e)) for e in entries]
    print_list("管理簿", (("番号", FIXED), ("日時", FIXED), ("事象", FIXED), ("操作者", FIXED), ("媒体", FIXED),
                        ("照会元・事務", WORDS), ("詳細", TEXT)), rows)


def _detail(e: dict) -> str:
    """「依頼 R-1　決裁 K-7　参照39　E-DEP-007　5行（00:2 20:1 90:2）　備考 …」: what else an entry carries."""
    parts = []
    if e.get("request_no"):
        parts.append(f"依頼 {e['request_no']}")
    if e.get("approval_no"):
        parts.append(f"決裁 {e['approval_no']}")
    if e.get("ref"):
        parts.append(f"参照{e['ref']}")
    if e.get("error_code"):
        parts.append(e["error_code"])
    counts = counts_cell(e.get("counts") if isinstance(e.get("counts"), dict) else {})
    if counts:
        parts.append(counts)
    if e.get("note") and e["note"] != f"拒否: {e.get('error_code')}":  # a refusal's note only repeats its code
        parts.append(f"備考 {e['note']}")
    return "　".join(parts)


@ledger_app.command("export")
@handles_errors
def ledger_export(fmt: ExportFormat = "csv", out: ExportOut = None,
                  operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """管理簿を CSV（既定は標準出力）または xlsx で書き出す。"""
    export(lambda s: s.ledger, "ledger export", fmt, out, operator=operator, passphrase_file=passphrase_file,
           home=home)


@ledger_app.command("verify")
@handles_errors
def ledger_verify(terminal_key: Optional[str] = typer.Option(None, "--terminal-key", metavar="PUB",
                                                             help="端末の公開鍵（.pub）"),
                  checkpoint: Optional[str] = typer.Option(None, "--checkpoint", metavar="N:HASH",
                                                           help="控えたチェックポイント"),
                  file: Optional[str] = typer.Option(None, "--file", metavar="EXPORT",
                                                     help="ledger export の CSV を検証する（作業領域・操作者は不要）"),
                  operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """管理簿の完全性（連番・ハッシュ連鎖・署名・チェックポイント）を検証する。"""
    cp = parse_checkpoint(checkpoint) if checkpoint else None
    if file is not None:
        # An auditor's own PC: the export and the terminal's public key suffice (contract §10).
        if not terminal_key:
            raise BulkError("E-USE-001", option="--terminal-key", value="（--file には端末の公開鍵が必要です）")
        report, key = records.verify_exported(read_input(file, None), Path(file).name, read_input(terminal_key), cp)
        what = f"管理簿の書き出し {file}"
    else:
        with session(home, operator, passphrase_file, "ledger verify") as s:
            report, key = records.verify_ledger(s.ledger, s.ws, read_input(terminal_key) if terminal_key else None, cp)
            s.log({"entries": report.count})
            if not report.ok:
                console.print(key.describe())
                raise report.error()
        what = "管理簿"
    console.print(key.describe())
    if not report.ok:
        raise report.error()
    console.print(f"{what}を検証しました: {report.count} 件、すべて正常です。")
    console.print(f"先頭ハッシュ: {report.head_hash}")
    if cp is not None:
        console.print(f"チェックポイント {cp[0]} 件目と一致しました。")


@ledger_app.command("checkpoint")
@handles_errors
def ledger_checkpoint(operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """監査者が控えるチェックポイント N:HASH を表示する（何も書き込まない）。"""
    with session(home, operator, passphrase_file, "ledger checkpoint") as s:
        n, head = s.ledger.head()
    typer.echo(format_checkpoint(n, head))
