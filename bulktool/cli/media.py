"""media register / list / handover / receipt / lend / return / erase / dispose: the drive's life."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bulktool.cli.common import (FIXED, WORDS, Approval, Department, Drive, Entry, Home, MediaId, Operator, PassFile,
                                 console, handles_errors, list_table, print_list, read_input, session)
from bulktool.cli.root import app
from bulktool.services import media, slip
from bulktool.tables import rows_to_csv

media_app = typer.Typer(help="媒体（USBメモリ）の登録・受渡・貸与・消去・廃棄", no_args_is_help=True)
app.add_typer(media_app, name="media")


@media_app.command("register")
@handles_errors
def media_register(path: Drive,
                   media_id: str = typer.Option(..., "--media-id", metavar="ID", help="登録する媒体ID（ラベルの表記）"),
                   department: Department = ..., operator: Operator = None, passphrase_file: PassFile = None,
                   home: Home = None):
    """媒体を登録し、媒体IDファイルを書き込む。"""
    with session(home, operator, passphrase_file, "media register") as s:
        m = media.register(s.writer, s.registry, s.keys, path, media_id, department)
    console.print(f"媒体 {m.media_id} を照会元 {m.department} に登録しました（製品名 {m.product or '不明'}、"
                  f"製造番号 {m.serial or '不明'}）。")


@media_app.command("list")
@handles_errors
def media_list(operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """登録媒体の一覧（貸与の返却期限切れを表示）。"""

    with session(home, operator, passphrase_file, "media list") as s:
        lines = media.overview(s.registry, s.ledger, s.clock.today())
    rows = [(line.media.media_id, line.media.department, line.media.status + ("（期限切れ）" if line.overdue else ""),
             line.media.lent_until or "", " ".join(str(n) for n in line.held) or "なし",
             line.media.serial or "なし（照合不可）") for line in lines]
    print_list("登録媒体", (("媒体ID", FIXED), ("照会元", FIXED), ("状態", FIXED), ("返却期限", FIXED),
                            ("未消去の結果", WORDS), ("製造番号", FIXED)),
               rows, ["red" if line.overdue else None for line in lines])


def _ledgered(command: str, call, *, operator, passphrase_file, home, done: str):
    """Log in for `command`, run `call(command_parts)` (one service call), print its entry."""
    with session(home, operator, passphrase_file, command) as s:
        e = call(s)
    console.print(f"{done}（管理簿 {e['seq']} 番）")


@media_app.command("handover")
@handles_errors
def media_handover(entry: Entry, operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """出力 ENTRY の媒体を照会元へ受け渡したことを記録する。"""
    _ledgered("media handover", lambda s: media.handover(s.writer, s.ledger, entry),
              operator=operator, passphrase_file=passphrase_file, home=home, done="受渡を記録しました")


@media_app.command("receipt")
@handles_errors
def media_receipt(entry: Entry,
                  proof: Optional[Path] = typer.Option(None, "--proof", metavar="FILE",
                                                       help="照会元が bulktool receipt で作った受領証"),
                  operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """照会元の受領確認を記録する（受領証があれば署名とハッシュを確認。再発行用の保管コピーを消去）。"""
    given = (str(proof), read_input(str(proof))) if proof is not None else None
    _ledgered("media receipt", lambda s: media.receipt(s.writer, s.ledger, s.registry, s.copies, entry, given),
              operator=operator, passphrase_file=passphrase_file, home=home, done="受領確認を記録しました")


@media_app.command("lend")
@handles_errors
def media_lend(media_id: MediaId, department: Department, operator: Operator = None, passphrase_file: PassFile = None,
               home: Home = None):
    """媒体を照会元に貸与する（年度内）。"""
    _ledgered("media lend", lambda s: media.lend(s.writer, s.registry, media_id, department),
              operator=operator, passphrase_file=passphrase_file, home=home, done="貸与を記録しました")


@media_app.command("return")
@handles_errors
def media_return(media_id: MediaId, operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """貸与した媒体の返却を記録する。"""
    _ledgered("media return", lambda s: media.give_back(s.writer, s.registry, media_id),
              operator=operator, passphrase_file=passphrase_file, home=home, done="返却を記録しました")


@media_app.command("erase")
@handles_errors
def media_erase(path: Drive, approval: Approval, operator: Operator = None, passphrase_file: PassFile = None,
                home: Home = None):
    """媒体内のファイルを消去する（セキュリティ責任者）。"""
    _ledgered("media erase", lambda s: media.erase(s.writer, s.registry, s.keys.public.ed25519, path, approval),
              operator=operator, passphrase_file=passphrase_file, home=home, done="媒体を消去しました")


@media_app.command("dispose")
@handles_errors
def media_dispose(media_id: MediaId, approval: Approval,
                  method: str = typer.Option("物理破壊", "--method", metavar="METHOD", help="廃棄方法（物理破壊、磁気消去 など）"),
                  operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """媒体の廃棄を記録する（セキュリティ責任者）。貸与中・未消去の結果がある媒体は廃棄できない。"""
    _ledgered("media dispose", lambda s: media.dispose(s.writer, s.registry, s.ledger, media_id, approval, method),
              operator=operator, passphrase_file=passphrase_file, home=home, done="廃棄を記録しました")


@media_app.command("slip")
@handles_errors
def media_slip(entry: Entry, html: Path = typer.Option(..., "--html", metavar="OUT", help="書き出す受渡票（HTML、A4）"),
               operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """受渡票（A4、印刷用 HTML）を書き出す。パスワードは含めず、手書き欄を設ける。"""
    with session(home, operator, passphrase_file, "media slip") as s:
        page = slip.render(slip.slip_for(s.ledger, s.registry, s.keys.public.fingerprint, entry))
    html.write_text(page, encoding="utf-8")
    console.print(f"受渡票を書き出しました: {html}（印刷して受渡・受領の署名欄に記入してください）")



@media_app.command("lost")
@handles_errors
def media_lost(media_id: MediaId, approval: Approval,
               csv_out: Optional[Path] = typer.Option(None, "--csv", metavar="FILE", help="影響の一覧を CSV でも書き出す"),
               operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """媒体の紛失を届け出る（管理者・セキュリティ責任者）。未消去の照会結果の件数を表示する（個人情報なし）。"""
    with session(home, operator, passphrase_file, "media lost") as s:
        entry, exposed = media.lost(s.writer, s.registry, s.ledger, media_id, approval)
        s.log(entry["counts"])
    rows = [(str(x.entry), x.event, x.department, x.purpose, str(x.persons),
             ",".join(x.fields) if x.fields is not None else "（記録なし）",
             {True: "あり", False: "なし", None: "（記録なし）"}[x.kojin_bango]) for x in exposed]
    t = list_table(f"紛失した媒体 {media_id} の未消去の照会結果", media.LOSS_COLUMNS)
    for row in rows:
        t.add_row(*row)
    console.print(t)
    console.print(f"紛失を記録しました（管理簿 {entry['seq']} 番）。照会結果 {len(exposed)} 件、"
                  f"提供人数 計 {sum(x.persons for x in exposed):,} 人。漏えい等報告に用いてください。")
    if csv_out is not None:
        csv_out.write_bytes(rows_to_csv(media.LOSS_COLUMNS, rows))
        console.print(f"{csv_out} に書き出しました。")
