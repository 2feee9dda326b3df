"""exchange (the main job) and reissue."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bulktool import exchange as exmod
from bulktool.cli.common import (Approval, Department, Drive, Entry, Home, Operator, PassFile, console, err_console,
                                 handles_errors, parse_day, read_secret, session)
from bulktool.cli.root import app
from bulktool.messages import BulkError
from bulktool.model import STATUS_LABELS, Status
from bulktool.services.reissue import reissue as reissue_service


# a wrong request password typed at the prompt may be typed again 3 times before the 拒否 (issue 23);
# read from --password-file it is not retried
PROMPT_TRIES = 1 + 3


class RichProgress(exmod.Progress):
    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.task = progress.add_task("準備", total=None)

    def stage(self, name: str) -> None:
        self.p.update(self.task, description=name)

    def start(self, total: int) -> None:
        self.p.update(self.task, total=total or None, completed=0)

    def advance(self, n: int) -> None:
        self.p.advance(self.task, n)


def summary_table(out: exmod.ExchangeOutcome) -> Table:
    t = Table(title=f"照会結果（受付 {out.acceptance_no} 番 / 出力 {out.output_no} 番、基準日 {out.as_of}）")
    t.add_column("処理結果コード")
    t.add_column("処理結果")
    t.add_column("件数", justify="right")
    for st in Status:
        t.add_row(st.value, STATUS_LABELS[st], f"{out.counts.get(st.value, 0):,}")
    t.add_row("", "合計", f"{out.rows:,}", style="bold")
    return t


@app.command("exchange")
@handles_errors
def exchange(
    path: Drive,
    department: Department,
    purpose: str = typer.Option(..., "--purpose", metavar="CODE", help="事務コード"),
    approval: Approval = ...,
    request_no: Optional[str] = typer.Option(None, "--request-no", metavar="NO", help="依頼番号"),
    request: Optional[Path] = typer.Option(None, "--request", metavar="FILE", help="照会ファイル（省略時は媒体から自動検出）"),
    password_file: Optional[str] = typer.Option(None, "--password-file", metavar="FILE",
                                                help="照会ファイルのパスワードを読むファイル（- は標準入力。省略時は入力を求める）"),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DATE",
                                        help="基準日 YYYY-MM-DD（省略時は依頼票.json の基準日、なければ今日）"),
    encoding: str = typer.Option("utf-8", "--encoding", metavar="utf-8|cp932", help="照会結果の CSV の文字コード"),
    container: Optional[str] = typer.Option(None, "--container", metavar="zip|sealed",
                                            help="照会結果の形式（省略時は照会ファイルと同じ）"),
    table: Optional[str] = typer.Option(None, "--table", metavar="csv|xlsx",
                                        help="照会結果の表の形式（省略時は照会元の登録。未登録は csv）"),
    operator: Operator = None, passphrase_file: PassFile = None, home: Home = None,
):
    """照会ファイルを復号・検証・照合し、暗号化した照会結果を媒体に書き出す。"""
    if encoding not in ("utf-8", "cp932"):
        raise BulkError("E-USE-001", option="--encoding", value=encoding)
    if container not in (None, "zip", "sealed"):
        raise BulkError("E-USE-001", option="--container", value=container)
    if table not in (None, "csv", "xlsx"):
        raise BulkError("E-USE-001", option="--table", value=table)
    if table == "xlsx" and encoding != "utf-8":
        raise BulkError("E-USE-010")
    day = None
    if as_of is not None:
        day = parse_day(as_of, "--as-of")
    with session(home, operator, passphrase_file, "exchange", defer_role=True) as s:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as p:

            asked = []

            def password() -> bytes:
                # asked only once the request is known to be an AES ZIP; the live display stops
                # while the operator types, so that nothing redraws over the prompt. At the prompt a
                # wrong password is asked again (the exchange calls this again after E-CON-004)
                if password_file is not None:
                    return read_secret(password_file, "", option="--password-file")
                p.stop()
                try:
                    if asked:
                        left = PROMPT_TRIES - len(asked)
                        err_console.print(f"パスワードが違うか、ファイルが改ざん・破損しています。もう一度入力してください"
                                          f"（あと {left} 回）。")
                    asked.append(True)
                    return read_secret(None, "照会ファイルのパスワード")
                finally:
                    p.start()

            req = exmod.ExchangeRequest(
                drive=path, department=department, purpose=purpose, approval=approval, request_no=request_no,
                request_file=request, password=password, as_of=day, encoding=encoding, container=container,
                table=table, password_tries=1 if password_file is not None else PROMPT_TRIES)
            out = exmod.run(s.terminal(), req, RichProgress(p))
        s.log(out.log_counts, out.log_hashes)
    console.print(summary_table(out))
    console.print(f"照会結果ファイル: {out.result_path}")
    console.print(f"検索条件の文字コード: {out.table_encoding}　提供項目: {', '.join(out.fields) or '（なし）'}")
    if out.gaiji_substitutions:
        console.print(f"CP932 で表せない文字を〓に置き換えた件数: {out.gaiji_substitutions}")
    if out.not_found:
        shown = out.shown_not_found
        console.print(f"該当なし（全国サーバへの照会候補）{len(out.not_found)} 件の連番: {', '.join(shown[:200])}"
                      + ("（ほかは照会結果ファイルを参照）" if len(shown) < len(out.not_found) else ""))
    if out.password:
        # the one stdout line that starts with 照会結果パスワード (contract §5): scripts and the slip take it from here
        typer.echo(f"照会結果パスワード: {out.password}")
        console.print("上のパスワードを受渡票に記入し、画面は閉じてください（どこにも保存されません）。")


@app.command("reissue")
@handles_errors
def reissue(entry: Entry, path: Drive, operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """出力 ENTRY の保管コピーを同じ照会元の別の登録媒体へ再発行する。"""
    with session(home, operator, passphrase_file, "reissue") as s:
        e = reissue_service(s.writer, s.ledger, s.registry, s.keys.public.ed25519, s.copies, entry, path)
    name = e["files"][0]["name"]
    console.print(f"再発行しました（管理簿 {e['seq']} 番）: {path / name}")
    if name.lower().endswith(".zip"):
        console.print("パスワードは元の受渡票のものを使います。")
    else:
        console.print("封緘形式の照会結果です（パスワードはありません。照会元の鍵で開きます）。")
