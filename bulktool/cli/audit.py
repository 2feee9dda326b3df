"""audit reconcile / report / checkpoint: the auditor's view (contract §10)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.cells import cell_len
from rich.table import Table

from bulktool import keys
from bulktool import workspace as wsmod
from bulktool.audit import gather, report
from bulktool.audit.inventory import read_inventory
from bulktool.audit.reconcile import Options
from bulktool.cli.common import (Home, Operator, PassFile, console, handles_errors, parse_day,
                                 read_input, session)
from bulktool.cli.root import app
from bulktool.ledger import parse_checkpoint
from bulktool.messages import BulkError
from bulktool.tables import rows_to_csv, rows_to_xlsx

FINDING_COLUMNS = ("コード", "重要度", "媒体ID", "管理簿番号", "内容")

audit_app = typer.Typer(help="監査（突合・報告書・点検）", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

InventoryOpt = typer.Option(None, "--inventory", metavar="CSV", help="媒体棚卸表（UTF-8 または CP932 の CSV）")
MediaOpt = typer.Option(None, "--media", metavar="DIR", help="中身を確認する媒体のパス（繰り返し指定可）")


def _inventory(path: Optional[str]):
    return read_inventory(read_input(path), Path(path).name) if path else None


def _days(value: int, option: str) -> int:
    if value < 0:
        raise BulkError("E-USE-001", option=option, value=str(value))
    return value


@audit_app.command("reconcile")
@handles_errors
def audit_reconcile(inventory: str = typer.Option(..., "--inventory", metavar="CSV", help="媒体棚卸表（CSV）"),
                    media: Optional[list[Path]] = MediaOpt,
                    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DATE", help="監査基準日 YYYY-MM-DD（既定は今日）"),
                    since: Optional[str] = typer.Option(None, "--since", metavar="DATE", help="この日（YYYY-MM-DD）より前だけの所見を除く"),
                    receipt_days: int = typer.Option(14, "--receipt-days", metavar="N", help="受渡・受領確認の期限（日）"),
                    erase_days: int = typer.Option(30, "--erase-days", metavar="N", help="受領確認後の消去の期限（日）"),
                    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", metavar="N:HASH", help="控えたチェックポイント"),
                    csv_out: Optional[str] = typer.Option(None, "--csv", metavar="FILE", help="所見を CSV で書き出す"),
                    xlsx_out: Optional[str] = typer.Option(None, "--xlsx", metavar="FILE", help="所見を xlsx で書き出す"),
                    operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """管理簿・操作履歴・操作者・棚卸表・媒体の中身を突き合わせ、所見 AUD-01〜15 を示す。"""
    cp = parse_checkpoint(checkpoint) if checkpoint else None
    since_day = parse_day(since, "--since")
    rows = _inventory(inventory)
    with session(home, operator, passphrase_file, "audit reconcile") as s:
        opts = Options(as_of=parse_day(as_of, "--as-of") or s.clock.today(), since=since_day,
                       receipt_days=_days(receipt_days, "--receipt-days"), erase_days=_days(erase_days, "--erase-days"))
        pub = keys.read_public(s.ws.path(wsmod.TERMINAL_PUB).read_bytes())
        result = gather.run(s.ledger, s.oplog, s.registry, pub, inventory=rows, drives=list(media or []), opts=opts,
                            checkpoint=cp, timestamp=s.clock.timestamp(), terminal_id=s.ws.terminal_id)
        s.log({"findings": len(result.findings), "entries": len(result.entries)})
    table = [f.row() for f in result.findings]
    if csv_out:
        Path(csv_out).write_bytes(rows_to_csv(FINDING_COLUMNS, table))
    if xlsx_out:
        Path(xlsx_out).write_bytes(rows_to_xlsx("所見", FINDING_COLUMNS, table))
    _show(result, opts)
    if not result.verification.ok or (result.oplog is not None and not result.oplog.ok):
        raise typer.Exit(3)  # the ledger (AUD-01) or the operation log's own chain failed verification
    if result.findings:
        raise typer.Exit(1)


def _show(result: gather.Audit, opts: Options) -> None:
    v = result.verification
    console.print(f"監査基準日 {opts.as_of.isoformat()}　管理簿 {len(result.entries)} 件　"
                  + ("検証: 正常" if v.ok else f"検証: 不正（{v.first_bad} 番目の記録）"))
    _show_oplog(result.oplog)
    if not result.findings:
        console.print("所見はありません。")
        return
    # Four short columns that never fold, then 内容 folding: whole in an 80-column window.
    rows = [f.row() for f in result.findings]
    t = Table(title="所見（重要度の高い順）", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for i, col in enumerate(FINDING_COLUMNS):
        fixed = col != "内容"
        width = max([cell_len(col), *(cell_len(r[i]) for r in rows)]) if fixed and i != 3 else None
        t.add_column(col, no_wrap=fixed and i != 3, min_width=width, overflow="fold")
    for row in rows:
        t.add_row(*row, style="red" if row[1] == "高" else None)
    console.print(t)
    counts = {sev: sum(1 for f in result.findings if f.severity == sev) for sev in ("高", "中", "低")}
    console.print(f"所見 {len(result.findings)} 件（高 {counts['高']}、中 {counts['中']}、低 {counts['低']}）。"
                  "対処は docs/監査手順書.md を参照してください。")


def _show_oplog(o) -> None:
    """The operation log's own chain, on its own line: not a finding (AUD-01 … 15 are fixed by the
    contract), but like the ledger's verification a precondition of what is read from it."""
    if o is None:
        return
    if o.ok:
        console.print(f"操作履歴 {o.count} 件　検証: 正常")
        return
    console.print(f"[red]操作履歴　検証: 不正（{o.code}、{o.bad} 番の記録）[/]")
    console.print(f"  {o.reason}", markup=False)
    console.print("  操作履歴が改ざんされている可能性があります。AUD-14 の所見は参考として扱い、"
                  "docs/監査手順書.md の手順で確認してください。")


@audit_app.command("report")
@handles_errors
def audit_report(html: str = typer.Option(..., "--html", metavar="OUT", help="書き出す HTML ファイル"),
                 inventory: Optional[str] = InventoryOpt, media: Optional[list[Path]] = MediaOpt,
                 since: Optional[str] = typer.Option(None, "--since", metavar="DATE", help="期間の初日 YYYY-MM-DD"),
                 until: Optional[str] = typer.Option(None, "--until", metavar="DATE", help="期間の末日 YYYY-MM-DD"),
                 operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """監査報告書（印刷できる一つの HTML ファイル、A4）を書き出す。"""
    since_day, until_day = parse_day(since, "--since"), parse_day(until, "--until")
    rows = _inventory(inventory)
    with session(home, operator, passphrase_file, "audit report") as s:
        pub = keys.read_public(s.ws.path(wsmod.TERMINAL_PUB).read_bytes())
        today = s.clock.today()
        result = gather.run(s.ledger, s.oplog, s.registry, pub, inventory=rows, drives=list(media or []),
                            opts=Options(as_of=today, since=since_day), timestamp=s.clock.timestamp(),
                            terminal_id=s.ws.terminal_id)
        page = report.render(report.ReportInput(
            entries=result.entries, verification=result.verification, checkpoint=result.checkpoint,
            oplog=result.oplog,
            findings=result.findings if rows is not None else None, since=since_day, until=until_day,
            made_on=s.clock.timestamp(), terminal_id=s.ws.terminal_id, fingerprint=pub.fingerprint,
            made_by=s.operator.operator_id))
        s.log({"entries": len(result.entries), "findings": len(result.findings)})
    Path(html).write_text(page, encoding="utf-8")
    console.print(f"{html} に監査報告書を書き出しました（管理簿 {len(result.entries)} 件）。")


@audit_app.command("checkpoint")
@handles_errors
def audit_checkpoint(note: Optional[str] = typer.Option(None, "--note", metavar="NOTE",
                                                            help="点検の備考（個人情報は書かない）"),
                     operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """管理簿全体を検証し、正常なら点検の記録を追記してチェックポイント N:HASH を表示する。"""
    with session(home, operator, passphrase_file, "audit checkpoint") as s:
        pub = keys.read_public(s.ws.path(wsmod.TERMINAL_PUB).read_bytes())
        cp, entry = gather.checkpoint(s.writer, s.ledger, pub, note, s.oplog, s.ws.terminal_id)
        s.log({"entries": int(cp.split(":")[0])})
    console.print(f"管理簿を検証し、点検を記録しました（管理簿 {entry['seq']} 番）。チェックポイント:")
    typer.echo(cp)
