"""init, operator …, department …, keys export."""
from __future__ import annotations

from typing import List, Optional

import typer

from bulktool import admin
from bulktool.cli import app
from bulktool.cli.common import (HomeOpt, OperatorOpt, PassFileOpt, clock, console, handles_errors, list_table,
                                 parse_day, read_input, read_secret, session)
from bulktool.registry import ROLE_LABELS

operator_app = typer.Typer(help="操作者の登録・失効・ロック解除・更新", no_args_is_help=True)
department_app = typer.Typer(help="照会元（部署）と事務・提供項目の登録", no_args_is_help=True)
keys_app = typer.Typer(help="鍵（端末の公開鍵の書き出し、部署の鍵の生成）", no_args_is_help=True)
app.add_typer(operator_app, name="operator")
app.add_typer(department_app, name="department")
app.add_typer(keys_app, name="keys")


@app.command("init")
@handles_errors
def init(
    terminal_id: str = typer.Option(..., "--terminal-id", help="操作端末ID"),
    admin_id: str = typer.Option(..., "--admin", help="最初の管理者の操作者ID"),
    name: Optional[str] = typer.Option(None, "--name", help="管理者の氏名（省略時は操作者ID）"),
    trained_on: Optional[str] = typer.Option(None, "--trained-on", help="研修受講日 YYYY-MM-DD（省略時は今日）"),
    passphrase_file: Optional[str] = PassFileOpt,
    home: Optional[str] = HomeOpt,
):
    """新しい作業領域を作成する（設定・本人確認情報ファイル・管理簿・端末鍵・最初の管理者）。"""
    secret = read_secret(passphrase_file, "管理者のパスフレーズ", confirm=True, option="--passphrase-file")
    ws, fingerprint = admin.init_workspace(home, terminal_id=terminal_id, admin_id=admin_id, name=name,
                                           trained_on=parse_day(trained_on, "--trained-on"), passphrase=secret,
                                           clock=clock())
    console.print(f"作業領域を作成しました: {ws.home}")
    console.print(f"操作端末ID: {terminal_id}　管理者: {admin_id}")
    console.print(f"端末公開鍵のフィンガープリント: [bold]{fingerprint}[/]")


@operator_app.command("add")
@handles_errors
def operator_add(
    new_id: str = typer.Argument(..., metavar="OPID"),
    name: str = typer.Option(..., "--name"),
    role: str = typer.Option(..., "--role", help="operator, administrator, security, auditor"),
    trained_on: str = typer.Option(..., "--trained-on", help="研修受講日 YYYY-MM-DD"),
    valid_until: Optional[str] = typer.Option(None, "--valid-until"),
    new_passphrase_file: Optional[str] = typer.Option(None, "--new-passphrase-file"),
    operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt,
):
    """操作者を登録する（管理者）。"""
    with session(home, operator, passphrase_file, "operator add") as s:
        secret = read_secret(new_passphrase_file, f"{new_id} のパスフレーズ", confirm=True, option="--new-passphrase-file")
        op = admin.add_operator(s, new_id, name=name, role=role, trained_on=parse_day(trained_on, "--trained-on"),
                                valid_until=parse_day(valid_until, "--valid-until"), passphrase=secret)
    console.print(f"操作者 {op.operator_id}（{ROLE_LABELS[op.role]}）を登録しました。有効期限 {op.valid_until}")


@operator_app.command("revoke")
@handles_errors
def operator_revoke(target: str = typer.Argument(..., metavar="OPID"), operator: Optional[str] = OperatorOpt,
                    passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt):
    """操作者を失効させる（管理者）。"""
    with session(home, operator, passphrase_file, "operator revoke") as s:
        admin.revoke_operator(s, target)
    console.print(f"操作者 {target} を失効させました。")


@operator_app.command("unlock")
@handles_errors
def operator_unlock(target: str = typer.Argument(..., metavar="OPID"), operator: Optional[str] = OperatorOpt,
                    passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt):
    """ロックされた操作者を解除する（管理者、または管理者についてセキュリティ責任者）。"""
    with session(home, operator, passphrase_file, "operator unlock") as s:
        admin.unlock_operator(s, target)
    console.print(f"操作者 {target} のロックを解除しました。")


@operator_app.command("renew")
@handles_errors
def operator_renew(target: str = typer.Argument(..., metavar="OPID"),
                   trained_on: str = typer.Option(..., "--trained-on"),
                   valid_until: Optional[str] = typer.Option(None, "--valid-until"),
                   operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                   home: Optional[str] = HomeOpt):
    """研修受講による有効期限の更新。"""
    with session(home, operator, passphrase_file, "operator renew") as s:
        op = admin.renew_operator(s, target, trained_on=parse_day(trained_on, "--trained-on"),
                                  valid_until=parse_day(valid_until, "--valid-until"))
    console.print(f"操作者 {target} の有効期限を {op.valid_until} に更新しました。")


@operator_app.command("passwd")
@handles_errors
def operator_passwd(new_passphrase_file: Optional[str] = typer.Option(None, "--new-passphrase-file"),
                    operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                    home: Optional[str] = HomeOpt):
    """自分のパスフレーズを変更する。"""
    with session(home, operator, passphrase_file, "operator passwd") as s:
        secret = read_secret(new_passphrase_file, "新しいパスフレーズ", confirm=True, option="--new-passphrase-file")
        admin.change_passphrase(s, secret)
    console.print("パスフレーズを変更しました。")


@operator_app.command("list")
@handles_errors
def operator_list(operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                  home: Optional[str] = HomeOpt):
    """操作者の一覧。"""

    with session(home, operator, passphrase_file, "operator list") as s:
        ops = s.registry.operators()
    t = list_table("操作者", ("操作者ID", "氏名", "役割", "研修受講日", "有効期限", "状態"))
    for o in ops:
        refusal = o.refusal(s.clock.today())
        state = "有効" if refusal is None else {"E-AUTH-004": "失効", "E-AUTH-003": "ロック",
                                              "E-AUTH-005": "研修前", "E-AUTH-006": "期限切れ"}[refusal.code]
        t.add_row(o.operator_id, o.name, ROLE_LABELS[o.role], str(o.trained_on), str(o.valid_until), state)
    console.print(t)


def _department(new: bool, code, name, purpose, fields, kojin_bango, public_key, operator, passphrase_file, home):
    with session(home, operator, passphrase_file, "department add" if new else "department update") as s:
        pub = read_input(public_key) if public_key else None
        field_list = [f.strip() for f in fields.split(",") if f.strip()] if fields is not None else None
        dep, fp = admin.put_department(s, code, name=name, purposes=purpose or [], fields=field_list,
                                       kojin_bango=kojin_bango, public_key=pub, new=new)
    console.print(f"照会元 {dep.code}（{dep.name}）を{'登録' if new else '更新'}しました。")
    console.print(f"事務: {', '.join(f'{k}（{v}）' for k, v in dep.purposes.items())}")
    console.print(f"提供項目: {', '.join(dep.provided_fields())}")
    if fp:
        console.print(f"公開鍵のフィンガープリント: [bold]{fp}[/]（依頼書の記載と照合してください）")


@department_app.command("add")
@handles_errors
def department_add(
    code: str = typer.Argument(..., metavar="CODE"),
    name: str = typer.Option(..., "--name"),
    purpose: List[str] = typer.Option(..., "--purpose", help="事務 CODE=根拠（複数可）"),
    fields: str = typer.Option(..., "--fields", help="提供項目 F,F…"),
    kojin_bango: bool = typer.Option(False, "--kojin-bango", help="番号法により個人番号の提供を受けられる"),
    public_key: Optional[str] = typer.Option(None, "--public-key", help="照会元の公開鍵ファイル（.pub）"),
    operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt,
):
    """照会元を登録する（管理者）。"""
    _department(True, code, name, purpose, fields, kojin_bango, public_key, operator, passphrase_file, home)


@department_app.command("update")
@handles_errors
def department_update(
    code: str = typer.Argument(..., metavar="CODE"),
    name: Optional[str] = typer.Option(None, "--name"),
    purpose: Optional[List[str]] = typer.Option(None, "--purpose"),
    fields: Optional[str] = typer.Option(None, "--fields"),
    kojin_bango: Optional[bool] = typer.Option(None, "--kojin-bango/--no-kojin-bango"),
    public_key: Optional[str] = typer.Option(None, "--public-key"),
    operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt,
):
    """照会元の登録を更新する（管理者）。"""
    _department(False, code, name, purpose, fields, kojin_bango, public_key, operator, passphrase_file, home)


@department_app.command("list")
@handles_errors
def department_list(operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                    home: Optional[str] = HomeOpt):
    """照会元の一覧。"""
    with session(home, operator, passphrase_file, "department list") as s:
        deps = s.registry.departments()
    t = list_table("照会元", ("コード", "名称", "事務（根拠）", "提供項目", "個人番号", "公開鍵"))
    for d in deps:
        t.add_row(d.code, d.name, "\n".join(f"{k}（{v}）" for k, v in d.purposes.items()), ",".join(d.fields),
                  "可" if d.kojin_bango else "不可", "登録済" if d.public_key else "—")
    console.print(t)


@keys_app.command("export")
@handles_errors
def keys_export(out: str = typer.Option(..., "--out"), operator: Optional[str] = OperatorOpt,
                passphrase_file: Optional[str] = PassFileOpt, home: Optional[str] = HomeOpt):
    """端末の公開鍵を書き出す（照会元・監査者に渡す）。"""
    with session(home, operator, passphrase_file, "keys export") as s:
        fp = admin.copy_public_key(s.ws, out)
    console.print(f"端末の公開鍵を {out} に書き出しました。フィンガープリント: [bold]{fp}[/]")
