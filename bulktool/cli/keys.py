"""keys generate (the department's key pair, no workspace) / keys export (the terminal's public key)."""
from __future__ import annotations

from pathlib import Path

import typer

from bulktool.cli.common import Home, KeyPassFile, Operator, PassFile, console, handles_errors, read_secret, session
from bulktool.cli.root import app
from bulktool.services import keyfiles

keys_app = typer.Typer(help="鍵（端末の公開鍵の書き出し、部署の鍵の生成）", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
@handles_errors
def keys_generate(name: str = typer.Option(..., "--name", metavar="NAME", help="鍵の名前（NAME.key と NAME.pub を作る）"),
                  out: Path = typer.Option(..., "--out", metavar="DIR", help="鍵を書き出すフォルダ"),
                  passphrase_file: KeyPassFile = None):
    """照会元: 封緘形式のための鍵ペア NAME.key（秘密鍵・パスフレーズで暗号化）と NAME.pub を作る。"""
    key_path, pub_path, fingerprint = keyfiles.write_key_pair(
        out, name, lambda: read_secret(passphrase_file, "秘密鍵のパスフレーズ", confirm=True, option="--passphrase-file"))
    console.print(f"鍵を作成しました: {key_path}（秘密鍵）, {pub_path}（公開鍵）")
    console.print(f"フィンガープリント: [bold]{fingerprint}[/]（依頼書に記載してください）")


@keys_app.command("export")
@handles_errors
def keys_export(out: str = typer.Option(..., "--out", metavar="FILE", help="書き出す公開鍵ファイル（.pub）"), operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """端末の公開鍵を書き出す（照会元・監査者に渡す）。"""
    with session(home, operator, passphrase_file, "keys export") as s:
        fp = keyfiles.export_terminal_key(s.ws, out)
    console.print(f"端末の公開鍵を {out} に書き出しました。フィンガープリント: [bold]{fp}[/]")
