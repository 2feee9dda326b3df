"""exchange, reissue, media …"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bulktool import exchange as exmod
from bulktool import media as mediamod
from bulktool.cli import app
from bulktool.cli.common import (HomeOpt, OperatorOpt, PassFileOpt, console, err_console, handles_errors,
                                 list_table, parse_day, read_secret, screen_time, session)
from bulktool.messages import BulkError
from bulktool.model import STATUS_LABELS, Status

SIMPLE_RENBAN = re.compile(r"[A-Za-z0-9_\-]{1,12}")
media_app = typer.Typer(help="媒体（USBメモリ）の登録・受渡・貸与・消去・廃棄", no_args_is_help=True)
app.add_typer(media_app, name="media")


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
    t = Table(title=f"照会結果（受付 {out.receipt_no} 番 / 出力 {out.output_no} 番、基準日 {out.as_of}）")
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
    path: Path = typer.Argument(..., help="媒体（マウントしたドライブ）のパス"),
    department: str = typer.Option(..., "--department"),
    purpose: str = typer.Option(..., "--purpose"),
    approval: str = typer.Option(..., "--approval", help="決裁番号"),
    request_no: Optional[str] = typer.Option(None, "--request-no", help="依頼番号"),
    request: Optional[Path] = typer.Option(None, "--request", help="照会ファイル（省略時は媒体から自動検出）"),
    password_file: Optional[str] = typer.Option(None, "--password-file", help="照会ファイルのパスワード（- は標準入力）"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="基準日 YYYY-MM-DD"),
    encoding: str = typer.Option("utf-8", "--encoding", help="utf-8 または cp932"),
    container: Optional[str] = typer.Option(None, "--container", help="zip または sealed（省略時は照会と同じ）"),
    operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt,
):
    """照会ファイルを復号・検証・照合し、暗号化した照会結果を媒体に書き出す。"""
    if encoding not in ("utf-8", "cp932"):
        raise BulkError("E-USE-001", option="--encoding", value=encoding)
    if container not in (None, "zip", "sealed"):
        raise BulkError("E-USE-001", option="--container", value=container)
    day = None
    if as_of is not None:
        day = parse_day(as_of, "--as-of")
    with session(home, operator, passphrase_file, "exchange", defer_role=True) as s:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as p:

            def password() -> bytes:
                # asked only once the request is known to be an AES ZIP; the live display stops
                # while the operator types, so that nothing redraws over the prompt
                if password_file is not None:
                    return read_secret(password_file, "", option="--password-file")
                p.stop()
                try:
                    return read_secret(None, "照会ファイルのパスワード")
                finally:
                    p.start()

            req = exmod.ExchangeRequest(
                drive=path, department=department, purpose=purpose, approval=approval, request_no=request_no,
                request_file=request, password=password, as_of=day, encoding=encoding, container=container)
            out = exmod.run(s, req, RichProgress(p))
    console.print(summary_table(out))
    console.print(f"照会結果ファイル: {out.result_path}")
    console.print(f"検索条件の文字コード: {out.table_encoding}　提供項目: {', '.join(out.fields) or '（なし）'}")
    if out.gaiji_substitutions:
        console.print(f"CP932 で表せない文字を〓に置き換えた件数: {out.gaiji_substitutions}")
    if out.not_found:
        # 連番 are the department's row numbers; anything that does not look like one stays off the screen
        shown = [r for r in out.not_found if SIMPLE_RENBAN.fullmatch(r)]
        console.print(f"該当なし（全国サーバへの照会候補）{len(out.not_found)} 件の連番: {', '.join(shown[:200])}"
                      + ("（ほかは照会結果ファイルを参照）" if len(shown) < len(out.not_found) else ""))
    if out.password:
        # the one stdout line that starts with 照会結果パスワード (SPEC §5): scripts and the slip take it from here
        typer.echo(f"照会結果パスワード: {out.password}")
        console.print("上のパスワードを受渡票に記入し、画面は閉じてください（どこにも保存されません）。")


@app.command("reissue")
@handles_errors
def reissue(entry: int = typer.Argument(..., metavar="ENTRY"), path: Path = typer.Argument(...),
            operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
            home: Optional[str] = HomeOpt):
    """出力 ENTRY の保管コピーを同じ照会元の別の登録媒体へ再発行する。"""
    from bulktool.reissue import reissue as do

    with session(home, operator, passphrase_file, "reissue") as s:
        e = do(s, entry, path)
    console.print(f"再発行しました（管理簿 {e['seq']} 番）: {path / e['files'][0]['name']}")
    console.print("パスワードは元の受渡票のものを使います。")


@media_app.command("register")
@handles_errors
def media_register(path: Path = typer.Argument(...), media_id: str = typer.Option(..., "--media-id"),
                   department: str = typer.Option(..., "--department"), operator: Optional[str] = OperatorOpt,
                   passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt):
    """媒体を登録し、媒体IDファイルを書き込む。"""
    with session(home, operator, passphrase_file, "media register") as s:
        m = mediamod.register(s, path, media_id, department)
    console.print(f"媒体 {m.media_id} を照会元 {m.department} に登録しました（製品名 {m.product or '不明'}、"
                  f"製造番号 {m.serial or '不明'}）。")


@media_app.command("list")
@handles_errors
def media_list(operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
               home: Optional[str] = HomeOpt):
    """登録媒体の一覧（貸与の返却期限切れを表示）。"""

    with session(home, operator, passphrase_file, "media list") as s:
        items = s.registry.media_all()
    t = list_table("登録媒体", ("媒体ID", "照会元", "製品名", "製造番号", "登録日時", "状態", "貸与先", "返却期限"))
    for m in items:
        overdue = m.lent_until and m.lent_until < s.clock.today().isoformat()
        t.add_row(m.media_id, m.department, m.product or "—", m.serial or "—", screen_time(m.registered_at),
                  m.status + ("（返却期限切れ）" if overdue else ""), m.lent_to or "", m.lent_until or "",
                  style="red" if overdue else None)
    console.print(t)


def _ledgered(command: str, fn, *args, operator, passphrase_file, home, done: str):
    with session(home, operator, passphrase_file, command) as s:
        e = fn(s, *args)
    console.print(f"{done}（管理簿 {e['seq']} 番）")


@media_app.command("handover")
@handles_errors
def media_handover(entry: int = typer.Argument(..., metavar="ENTRY"), operator: Optional[str] = OperatorOpt,
                   passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt):
    """出力 ENTRY の媒体を照会元へ受け渡したことを記録する。"""
    _ledgered("media handover", mediamod.handover, entry, operator=operator, passphrase_file=passphrase_file,
              home=home, done="受渡を記録しました")


@media_app.command("receipt")
@handles_errors
def media_receipt(entry: int = typer.Argument(..., metavar="ENTRY"), operator: Optional[str] = OperatorOpt,
                  passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt):
    """照会元の受領確認を記録する（再発行用の保管コピーを消去）。"""
    _ledgered("media receipt", mediamod.receipt, entry, operator=operator, passphrase_file=passphrase_file,
              home=home, done="受領確認を記録しました")


@media_app.command("lend")
@handles_errors
def media_lend(media_id: str = typer.Argument(..., metavar="ID"), department: str = typer.Option(..., "--department"),
               operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
               home: Optional[str] = HomeOpt):
    """媒体を照会元に貸与する（年度内）。"""
    _ledgered("media lend", mediamod.lend, media_id, department, operator=operator, passphrase_file=passphrase_file,
              home=home, done="貸与を記録しました")


@media_app.command("return")
@handles_errors
def media_return(media_id: str = typer.Argument(..., metavar="ID"), operator: Optional[str] = OperatorOpt,
                 passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt):
    """貸与した媒体の返却を記録する。"""
    _ledgered("media return", mediamod.give_back, media_id, operator=operator, passphrase_file=passphrase_file,
              home=home, done="返却を記録しました")


@media_app.command("erase")
@handles_errors
def media_erase(path: Path = typer.Argument(...), approval: str = typer.Option(..., "--approval"),
                operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                home: Optional[str] = HomeOpt):
    """媒体内のファイルを消去する（セキュリティ責任者）。"""
    _ledgered("media erase", mediamod.erase, path, approval, operator=operator, passphrase_file=passphrase_file,
              home=home, done="媒体を消去しました")


@media_app.command("dispose")
@handles_errors
def media_dispose(media_id: str = typer.Argument(..., metavar="ID"), approval: str = typer.Option(..., "--approval"),
                  operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                  home: Optional[str] = HomeOpt):
    """媒体の廃棄を記録する（セキュリティ責任者）。"""
    _ledgered("media dispose", mediamod.dispose, media_id, approval, operator=operator,
              passphrase_file=passphrase_file, home=home, done="廃棄を記録しました")
