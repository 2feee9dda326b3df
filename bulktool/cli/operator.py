"""init, operator add / revoke / unlock / renew / passwd / list."""
from __future__ import annotations

from typing import Optional

import typer

from bulktool.cli.common import (FIXED, TEXT, Home, NewPassFile, Operator, OperatorId, PassFile, clock, console,
                                 handles_errors, parse_day, print_list, read_secret, session)
from bulktool.cli.root import app
from bulktool.registry import ROLE_LABELS
from bulktool.services import operators

operator_app = typer.Typer(help="操作者の登録・失効・ロック解除・更新", no_args_is_help=True)
app.add_typer(operator_app, name="operator")

_VALID_UNTIL = typer.Option(None, "--valid-until", metavar="DATE",
                            help="有効期限 YYYY-MM-DD（省略時は研修受講日の年度の翌年度末）")


@app.command("init")
@handles_errors
def init(
    terminal_id: str = typer.Option(..., "--terminal-id", metavar="ID", help="操作端末ID"),
    admin_id: str = typer.Option(..., "--admin", metavar="OPID", help="最初の管理者の操作者ID"),
    name: Optional[str] = typer.Option(None, "--name", metavar="NAME", help="管理者の氏名（省略時は操作者ID）"),
    trained_on: Optional[str] = typer.Option(None, "--trained-on", metavar="DATE",
                                             help="研修受講日 YYYY-MM-DD（省略時は今日）"),
    store: Optional[str] = typer.Option(None, "--store", metavar="URL",
                                        help="本人確認情報ファイルを置く PostgreSQL の空のデータベース "
                                             "postgresql://…（省略時は作業領域内の SQLite ファイル）"),
    passphrase_file: Optional[str] = typer.Option(
        None, "--passphrase-file", metavar="FILE",
        help="管理者のパスフレーズを読むファイル（- は標準入力。省略時は入力を求める）"),
    home: Home = None,
):
    """新しい作業領域を作成する（設定・本人確認情報ファイル・管理簿・端末鍵・最初の管理者）。"""
    secret = read_secret(passphrase_file, "管理者のパスフレーズ", confirm=True, option="--passphrase-file")
    ws, fingerprint = operators.init_workspace(home, terminal_id=terminal_id, admin_id=admin_id, name=name,
                                               trained_on=parse_day(trained_on, "--trained-on"), passphrase=secret,
                                               clock=clock(), store=store)
    console.print(f"作業領域を作成しました: {ws.home}")
    console.print(f"操作端末ID: {terminal_id}　管理者: {admin_id}")
    console.print(f"端末公開鍵のフィンガープリント: [bold]{fingerprint}[/]")


@operator_app.command("add")
@handles_errors
def operator_add(
    new_id: str = typer.Argument(..., metavar="OPID", help="登録する操作者ID（英数字と _ . -、32 文字まで）"),
    name: str = typer.Option(..., "--name", metavar="NAME", help="氏名"),
    role: str = typer.Option(..., "--role", metavar="ROLE",
                             help="役割（operator 操作者、administrator 管理者、security セキュリティ責任者、"
                                  "auditor 監査者）"),
    trained_on: str = typer.Option(..., "--trained-on", metavar="DATE", help="研修受講日 YYYY-MM-DD"),
    valid_until: Optional[str] = _VALID_UNTIL,
    new_passphrase_file: NewPassFile = None,
    operator: Operator = None, passphrase_file: PassFile = None, home: Home = None,
):
    """操作者を登録する（管理者）。"""
    with session(home, operator, passphrase_file, "operator add") as s:
        secret = read_secret(new_passphrase_file, f"{new_id} のパスフレーズ", confirm=True, option="--new-passphrase-file")
        op = operators.add(s.writer, s.registry, s.kek, new_id, name=name, role=role,
                           trained_on=parse_day(trained_on, "--trained-on"),
                           valid_until=parse_day(valid_until, "--valid-until"), passphrase=secret)
        today = s.clock.today()
    console.print(f"操作者 {op.operator_id}（{ROLE_LABELS[op.role]}）を登録しました。有効期限 {op.valid_until}")
    _not_yet_trained(op, today)


@operator_app.command("revoke")
@handles_errors
def operator_revoke(target: OperatorId, operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """操作者を失効させる（管理者）。"""
    with session(home, operator, passphrase_file, "operator revoke") as s:
        operators.revoke(s.writer, s.registry, target)
    console.print(f"操作者 {target} を失効させました。")


@operator_app.command("unlock")
@handles_errors
def operator_unlock(target: OperatorId, operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """ロックされた操作者を解除する（管理者、または管理者についてセキュリティ責任者）。"""
    with session(home, operator, passphrase_file, "operator unlock") as s:
        operators.unlock(s.writer, s.registry, s.operator, target)
    console.print(f"操作者 {target} のロックを解除しました。")


@operator_app.command("renew")
@handles_errors
def operator_renew(target: OperatorId,
                   trained_on: str = typer.Option(..., "--trained-on", metavar="DATE", help="研修受講日 YYYY-MM-DD"),
                   valid_until: Optional[str] = _VALID_UNTIL,
                   operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """研修受講による有効期限の更新。"""
    with session(home, operator, passphrase_file, "operator renew") as s:
        op = operators.renew(s.writer, s.registry, s.operator, target,
                             trained_on=parse_day(trained_on, "--trained-on"),
                             valid_until=parse_day(valid_until, "--valid-until"))
        today = s.clock.today()
    console.print(f"操作者 {target} の有効期限を {op.valid_until} に更新しました。")
    _not_yet_trained(op, today)


def _not_yet_trained(op, today) -> None:
    """A training date after today is allowed (contract §8: untrained until that day), but said."""
    if op.trained_on > today:
        console.print(f"注意: 研修受講日 {op.trained_on} が今日（{today}）より後です。{op.operator_id} はその日まで"
                      "研修前として操作できません。受講済みなら受講した日で operator renew し直してください。")


@operator_app.command("passwd")
@handles_errors
def operator_passwd(new_passphrase_file: NewPassFile = None, operator: Operator = None,
                    passphrase_file: PassFile = None, home: Home = None):
    """自分のパスフレーズを変更する。"""
    with session(home, operator, passphrase_file, "operator passwd") as s:
        secret = read_secret(new_passphrase_file, "新しいパスフレーズ", confirm=True, option="--new-passphrase-file")
        operators.change_passphrase(s.writer, s.registry, s.kek, secret)
    console.print("パスフレーズを変更しました。")


@operator_app.command("list")
@handles_errors
def operator_list(operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """操作者の一覧。"""

    with session(home, operator, passphrase_file, "operator list") as s:
        lines = operators.listing(s.registry, s.clock.today())
    rows = [(o.operator_id, o.name, ROLE_LABELS[o.role], str(o.trained_on), str(o.valid_until), line.state)
            for line in lines for o in (line.operator,)]
    print_list("操作者", (("操作者ID", FIXED), ("氏名", TEXT), ("役割", FIXED), ("研修受講日", FIXED),
                          ("有効期限", FIXED), ("状態", FIXED)), rows)
