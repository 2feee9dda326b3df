"""The department clerk's commands (no workspace, no operator): request check / zip / seal,
decrypt, verify, receipt (keys generate is in cli/keys.py). They run on a department's Windows PC
as well."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from bulktool import keys
from bulktool import receipt as receipt_proof
from bulktool.cli.common import (BIG_FILE, KeyFile, KeyPassFile, PasswordFile, clock, console, err_console,
                                 handles_errors, parse_day, read_input, read_secret)
from bulktool.cli.root import app
from bulktool.department import (
    check_request_password,
    check_outgoing,
    check_table,
    irai_json,
    make_sealed_request,
    make_zip_request,
    open_result,
    shown_renban,
    write_opened,
)
from bulktool.messages import BulkError

Table = Annotated[Path, typer.Argument(metavar="TABLE", help="検索条件の表（.csv または .xlsx）")]
Result = Annotated[Path, typer.Argument(metavar="RESULT", help="受け取った照会結果（.zip または .bte）")]
TerminalKey = Annotated[Optional[str], typer.Option(
    "--terminal-key", metavar="PUB", help="端末の公開鍵（.pub。指定すると manifest の署名も検証する）")]
request_app = typer.Typer(help="照会元: 検索条件ファイル（照会ファイル）を作る", no_args_is_help=True)
app.add_typer(request_app, name="request")


def _write_new(path: Path, data: bytes) -> None:
    if path.exists():
        raise BulkError("E-RES-002", path=str(path))
    path.write_bytes(data)


def _row_problems(result) -> None:
    """Each row that would be 90: its line, its 連番 when it looks like one (never a value), why."""
    for e in result.errors:
        renban = shown_renban(e.renban)
        who = f"連番 {renban}" if renban else "連番（表示しません）"
        console.print(f"  {e.line} 行目（{who}）: {e.field} — {e.reason}", markup=False)


@request_app.command("check")
@handles_errors
def request_check(table: Table):
    """照会元: 検索条件の表を、端末の exchange と同じ規則で点検する（照会はしない）。

    終了コード 0: すべての行が照会される。1: 入力エラー（90）になる行がある、または表全体が受け付けられない。"""
    result = check_table(table.name, read_input(str(table), BIG_FILE))
    console.print(f"{result.rows} 行を点検しました（文字コード: {result.encoding}）。")
    if not result.errors:
        console.print("すべての行が照会されます（入力エラーになる行はありません）。")
        return
    console.print(f"入力エラー（処理結果コード 90）になる行が {len(result.errors)} 行あります:")
    _row_problems(result)
    raise typer.Exit(1)


@request_app.command("zip")
@handles_errors
def request_zip(table: Table, out: Path = typer.Option(..., "--out", metavar="FILE", help="作る照会ファイル（.zip）"),
                password_file: Optional[str] = typer.Option(None, "--password-file", metavar="FILE",
                                                            help="パスワードを読むファイル（- は標準入力。省略時は入力を求める）"),
                department: Optional[str] = typer.Option(None, "--department", metavar="CODE",
                                                         help="依頼票.json に書く照会元コード"),
                purpose: Optional[str] = typer.Option(None, "--purpose", metavar="CODE", help="依頼票.json に書く事務コード"),
                request_no: Optional[str] = typer.Option(None, "--request-no", metavar="NO",
                                                         help="依頼票.json に書く依頼番号"),
                as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DATE",
                                                    help="依頼票.json に書く基準日 YYYY-MM-DD")):
    """照会元: 検索条件の表を点検し、AES-256 ZIP にする（7-Zip の AES-256 と同じ形式）。

    表全体が受け付けられない場合は端末と同じコードで止まる。パスワードは 12 文字以上。
    --department/--purpose/--request-no/--as-of を指定すると 依頼票.json を同じ ZIP に入れる。"""
    day = parse_day(as_of, "--as-of")
    if out.exists():
        raise BulkError("E-RES-002", path=str(out))
    check_outgoing(out.name, request_no)
    data = read_input(str(table), BIG_FILE)
    result = check_table(table.name, data)  # refused whole: the terminal's own code, before any password
    irai = irai_json(department=department, purpose=purpose, request_no=request_no, as_of=day)
    password = read_secret(password_file, "照会ファイルのパスワード（12 文字以上）", confirm=True,
                           option="--password-file").decode("utf-8")
    check_request_password(password)
    _write_new(out, make_zip_request(table.name, data, password, irai, when=clock().zip_time()))
    console.print(f"照会ファイルを作成しました: {out}（{result.rows} 行"
                  + ("、依頼票.json 入り" if irai else "") + "。パスワードは紙で市町村課に渡してください）")
    if result.errors:
        console.print(f"注意: 入力エラー（90）になる行が {len(result.errors)} 行あります（照会はされますが、その行は回答されません）:")
        _row_problems(result)


@request_app.command("seal")
@handles_errors
def request_seal(table: Table,
                 department: str = typer.Option(..., "--department", metavar="CODE", help="自分の照会元コード"),
                 key: Path = typer.Option(..., "--key", metavar="FILE", help="署名する照会元の秘密鍵（.key）"),
                 to: Path = typer.Option(..., "--to", metavar="PUB", help="端末の公開鍵（.pub）"),
                 out: Path = typer.Option(..., "--out", metavar="FILE", help="作る照会ファイル（.bte）"),
                 passphrase_file: KeyPassFile = None):
    """照会元: 検索条件の表を端末あてに封緘する（照会元の鍵で署名）。"""
    check_outgoing(out.name)
    data = read_input(str(table), BIG_FILE)
    kp = keys.open_private(read_input(str(key)), read_secret(passphrase_file, "秘密鍵のパスフレーズ",
                                                             option="--passphrase-file"))
    terminal = keys.read_public(read_input(str(to)))
    irai = json.dumps({"照会元": department}, ensure_ascii=False).encode("utf-8")
    _write_new(out, make_sealed_request(table.name, data, department_keys=kp, terminal=terminal, irai=irai))
    console.print(f"封緘した照会ファイルを作成しました: {out}（端末鍵 {terminal.fingerprint}）")


PASSWORD_TRIES = 3


def _key_passphrase(passphrase_file):
    """The passphrase of the department's private key files, asked (or read) once per command."""
    return functools.cache(lambda: read_secret(passphrase_file, "秘密鍵のパスフレーズ", option="--passphrase-file"))


def _open(file: Path, password_file, key, passphrase_file, terminal_key, secret=None):
    data = read_input(str(file), BIG_FILE)
    terminal = keys.read_public(read_input(terminal_key)) if terminal_key else None
    secret = secret or _key_passphrase(passphrase_file)
    if key is not None:
        kp = keys.open_private(read_input(str(key)), secret())
        return open_result(data, file.name, password=None, keys=kp, terminal=terminal), terminal, data
    if file.suffix.lower() == ".zip" or password_file is not None:
        # typed at the prompt, a mistyped password may be typed again (3 tries, as at the terminal)
        tries = 1 if password_file is not None else PASSWORD_TRIES
        for attempt in range(1, tries + 1):
            password = read_secret(password_file, "照会結果パスワード", option="--password-file").decode("utf-8")
            try:
                return open_result(data, file.name, password=password, keys=None, terminal=terminal), terminal, data
            except BulkError as err:
                if getattr(err, "cause", None) != "E-CON-004" or attempt == tries:
                    raise
                err_console.print(f"パスワードが違います（{attempt}/{PASSWORD_TRIES} 回目）。受渡票の手書きのパスワードを"
                                  "もう一度入力してください。", style="yellow")
    raise BulkError("E-USE-001", option="--key", value="（封緘ファイルには --key が必要です）")


def _report(opened, terminal) -> None:
    m = opened.manifest
    console.print(f"管理簿番号 {m['ledger_entry']}、{m['rows']} 行、処理結果別件数 "
                  + "、".join(f"{k}: {v}" for k, v in m["counts"].items()))
    console.print(f"照会結果の表: {opened.table_name}")
    console.print("署名: " + ("端末の公開鍵で検証済み" if terminal else "未検証（--terminal-key を指定すると検証します）"))


@app.command("decrypt")
@handles_errors
def decrypt(file: Result, out: Path = typer.Option(..., "--out", metavar="DIR", help="復号した照会結果を書き出すフォルダ"),
            password_file: PasswordFile = None, key: KeyFile = None, passphrase_file: KeyPassFile = None,
            terminal_key: TerminalKey = None):
    """照会元: 照会結果を復号し、manifest のハッシュ・件数（と署名）を検証して書き出す。"""

    opened, terminal, _ = _open(file, password_file, key, passphrase_file, terminal_key)
    written = write_opened(opened, out)
    _report(opened, terminal)
    console.print(f"書き出しました: {', '.join(str(p) for p in written)}")


@app.command("verify")
@handles_errors
def verify(file: Result,
           terminal_key: str = typer.Option(..., "--terminal-key", metavar="PUB", help="端末の公開鍵（.pub）"),
           password_file: PasswordFile = None, key: KeyFile = None, passphrase_file: KeyPassFile = None):
    """照会元: 照会結果を書き出さずに検証する。"""
    opened, terminal, _ = _open(file, password_file, key, passphrase_file, terminal_key)
    _report(opened, terminal)
    console.print("[green]検証に成功しました。[/]")


@app.command("receipt")
@handles_errors
def receipt(file: Result,
            out: Path = typer.Option(..., "--out", metavar="FILE", help="書き出す受領証（JSON）"),
            key_sign: Path = typer.Option(..., "--key-sign", metavar="FILE", help="署名する照会元の秘密鍵（.key）"),
            password_file: PasswordFile = None, key: KeyFile = None, passphrase_file: KeyPassFile = None,
            terminal_key: TerminalKey = None):
    """照会元: 照会結果を検証し、照会元の鍵で署名した受領証を作る（市町村課の media receipt --proof 用）。"""
    secret = _key_passphrase(passphrase_file)
    opened, terminal, data = _open(file, password_file, key, passphrase_file, terminal_key, secret)
    signer = keys.open_private(read_input(str(key_sign)), secret())
    m = opened.manifest
    doc = receipt_proof.make(entry=int(m["ledger_entry"]), result_file=file.name, container=data,
                             department=str(m["department"]), day=clock().today(), keys=signer)
    _report(opened, terminal)
    _write_new(out, doc)
    console.print(f"受領証を書き出しました: {out}（媒体とともに市町村課へ渡してください）")
