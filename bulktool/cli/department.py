"""department add / update / list: the 照会元 registry."""
from __future__ import annotations

from typing import List, Optional

import typer

from bulktool.cli.common import (FIXED, TEXT, WORDS, Home, Operator, PassFile, console, handles_errors, print_list,
                                 read_input, session)
from bulktool.cli.root import app
from bulktool.services import departments

KojinPurposeOpt = typer.Option(None, "--kojin-bango-purpose", metavar="CODE",
                               help="番号法により個人番号の提供を受けられる事務（複数可）")
TableOpt = typer.Option(None, "--table", metavar="csv|xlsx",
                        help="照会結果の表の既定の形式（csv: 照会結果.csv、xlsx: 照会結果.xlsx。未登録は csv）")
CodeArg = typer.Argument(..., metavar="CODE", help="照会元コード")
PublicKeyOpt = typer.Option(None, "--public-key", metavar="FILE", help="照会元の公開鍵ファイル（.pub、封緘形式）")
department_app = typer.Typer(help="照会元（部署）と事務・提供項目の登録", no_args_is_help=True)
app.add_typer(department_app, name="department")


def _department(new: bool, code, name, purpose, fields, kojin_bango, kojin_purposes, public_key, operator,
                passphrase_file, home, table=None):
    with session(home, operator, passphrase_file, "department add" if new else "department update") as s:
        pub = read_input(public_key) if public_key else None
        field_list = [f.strip() for f in fields.split(",") if f.strip()] if fields is not None else None
        dep, fp = departments.put_department(s.writer, s.registry, code, name=name, purposes=purpose or [],
                                             fields=field_list, kojin_bango=kojin_bango, public_key=pub, new=new,
                                             kojin_purposes=kojin_purposes or None, result_table=table)
    console.print(f"照会元 {dep.code}（{dep.name}）を{'登録' if new else '更新'}しました。")
    console.print(f"事務: {', '.join(f'{k}（{v}）' for k, v in dep.purposes.items())}")
    console.print(f"提供項目: {', '.join(dep.fields)}（個人番号: {departments.kojin_label(dep)}）")
    console.print(f"照会結果の形式: {dep.result_table}")
    if fp:
        console.print(f"公開鍵のフィンガープリント: [bold]{fp}[/]（依頼書の記載と照合してください）")


@department_app.command("add")
@handles_errors
def department_add(
    code: str = CodeArg,
    name: str = typer.Option(..., "--name", metavar="NAME", help="照会元の名称（部署名）"),
    purpose: List[str] = typer.Option(..., "--purpose", metavar="CODE=BASIS", help="事務コード=根拠法令（複数可）"),
    fields: str = typer.Option(..., "--fields", metavar="FIELDS", help="提供項目（項目名をコンマで区切る）"),
    kojin_bango: bool = typer.Option(False, "--kojin-bango", help="番号法によりすべての事務で個人番号の提供を受けられる"),
    kojin_purpose: Optional[List[str]] = KojinPurposeOpt,
    public_key: Optional[str] = PublicKeyOpt,
    table: Optional[str] = TableOpt,
    operator: Operator = None, passphrase_file: PassFile = None, home: Home = None,
):
    """照会元を登録する（管理者）。"""
    # add has no --no-kojin-bango: a flag not given is "not said", not a withdrawal
    _department(True, code, name, purpose, fields, kojin_bango or None, kojin_purpose, public_key, operator,
                passphrase_file, home, table)


@department_app.command("update")
@handles_errors
def department_update(
    code: str = CodeArg,
    name: Optional[str] = typer.Option(None, "--name", metavar="NAME", help="新しい名称"),
    purpose: Optional[List[str]] = typer.Option(None, "--purpose", metavar="CODE=BASIS",
                                                help="事務コード=根拠法令（複数可。指定するとすべて置き換える）"),
    fields: Optional[str] = typer.Option(None, "--fields", metavar="FIELDS",
                                         help="提供項目（コンマ区切り。指定するとすべて置き換える）"),
    kojin_bango: Optional[bool] = typer.Option(None, "--kojin-bango/--no-kojin-bango",
                                               help="すべての事務で個人番号の提供を受けられる／受けられない"),
    kojin_purpose: Optional[List[str]] = KojinPurposeOpt,
    public_key: Optional[str] = PublicKeyOpt,
    table: Optional[str] = TableOpt,
    operator: Operator = None, passphrase_file: PassFile = None, home: Home = None,
):
    """照会元の登録を更新する（管理者）。"""
    _department(False, code, name, purpose, fields, kojin_bango, kojin_purpose, public_key, operator,
                passphrase_file, home, table)


@department_app.command("list")
@handles_errors
def department_list(operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """照会元の一覧。"""
    with session(home, operator, passphrase_file, "department list") as s:
        deps = s.registry.departments()
    rows = [(d.code, d.name, "\n".join(f"{k}（{v}）" for k, v in d.purposes.items()), " ".join(d.fields),
             departments.kojin_label(d), "登録済" if d.public_key else "—") for d in deps]
    print_list("照会元", (("コード", FIXED), ("名称", TEXT), ("事務（根拠）", TEXT), ("提供項目", WORDS),
                          ("個人番号", WORDS), ("公開鍵", FIXED)), rows)
