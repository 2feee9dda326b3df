"""backup create / verify / restore: the workspace in one file sealed to an offline recovery key
(contract §9; bulktool/services/backup.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bulktool.cli.common import (HomeOpt, OperatorOpt, PassFileOpt, clock, console, handles_errors, read_input,
                                 read_secret, session)
from bulktool.cli.root import app
from bulktool.services import backup

backup_app = typer.Typer(help="バックアップ（セキュリティ責任者: 回復用の鍵宛てに暗号化した作業領域の控え）",
                         no_args_is_help=True)
app.add_typer(backup_app, name="backup")

KeyOpt = typer.Option(..., "--key", metavar="KEY", help="回復用の秘密鍵（keys generate で作った .key）")
KeyPassOpt = typer.Option(None, "--passphrase-file", metavar="F",
                          help="回復用の秘密鍵のパスフレーズを読むファイル（- は標準入力。省略時は入力を求める）")
FileArg = typer.Argument(..., metavar="FILE", help="バックアップファイル")


def _key_passphrase(file: Optional[str]) -> bytes:
    return read_secret(file, "回復用の秘密鍵のパスフレーズ", option="--passphrase-file")


@backup_app.command("create")
@handles_errors
def backup_create(out: Path = typer.Option(..., "--out", metavar="FILE", help="作るバックアップファイル（上書きしない）"),
                  to: str = typer.Option(..., "--to", metavar="RECOVERY_PUB",
                                         help="回復用の公開鍵（keys generate で作りオフラインで保管する鍵の .pub）"),
                  with_store: bool = typer.Option(False, "--with-store",
                                                  help="保管庫（SQLite のみ。提供状況記録を含む）も入れる"),
                  operator: Optional[str] = OperatorOpt, passphrase_file: Optional[str] = PassFileOpt,
                  home: Optional[str] = HomeOpt):
    """作業領域（管理簿・操作履歴・操作者と照会元の登録・端末の鍵・設定）を回復用の鍵宛てに暗号化して一つのファイルにする。

    管理簿に登録変更（備考「バックアップ作成」）として記録する。セキュリティ責任者のみ。"""
    recovery = read_input(to)
    with session(home, operator, passphrase_file, "backup create") as s:
        made = backup.create(s.ws, s.registry, s.keys, s.writer, out, recovery, with_store=with_store)
        s.log({"files": len(made.manifest["files"])}, [made.sha256])
    console.print(f"バックアップを作成しました: {made.path}（{made.store_note}）", markup=False)
    console.print(f"SHA-256: {made.sha256}")
    console.print(f"管理簿のチェックポイント: {made.manifest['ledger_checkpoint']}")
    console.print(f"回復用の鍵: {made.manifest['recovery_key']}")
    console.print(f"管理簿 {made.entry['seq']} 番に登録変更（バックアップ作成）として記録しました。")


@backup_app.command("verify")
@handles_errors
def backup_verify(file: Path = FileArg, key: str = KeyOpt, passphrase_file: Optional[str] = KeyPassOpt):
    """バックアップを回復用の秘密鍵で開き、目録のハッシュ・中の管理簿と操作履歴を検証する（何も書き込まない）。

    作業領域・操作者は不要。終了コード 0: 正常。3: 壊れている・改ざん・検証失敗。"""
    data = read_input(str(file), None)
    v = backup.verify(data, file.name, read_input(key), _key_passphrase(passphrase_file))
    _describe(v)
    console.print("バックアップを検証しました: すべて正常です。")


def _describe(v: backup.Verified) -> None:
    m = v.manifest
    console.print(f"作成日時 {m.get('created_at')}　端末ID {m.get('terminal_id')}　作成者 {m.get('operator_id')}",
                  markup=False)
    console.print(f"ファイル {len(v.files)} 件（目録の SHA-256 と一致）、保管庫: {'含む' if m.get('store') else '含まない'}")
    console.print(f"管理簿 {v.ledger.count} 件（署名・連鎖とも正常）チェックポイント {m.get('ledger_checkpoint')}")
    console.print(f"操作履歴 {v.oplog.count} 件（連鎖は正常）")
    console.print(f"端末の鍵のフィンガープリント: {m.get('terminal_key')}（控えと照合してください）")


@backup_app.command("restore")
@handles_errors
def backup_restore(file: Path = FileArg, key: str = KeyOpt, passphrase_file: Optional[str] = KeyPassOpt,
                   home: Path = typer.Option(..., "--home", metavar="DIR",
                                             help="復元先（存在しないか空のフォルダ。既存の作業領域は上書きしない）")):
    """バックアップを検証してから、新しい空のフォルダに作業領域として復元する。

    作業領域・操作者は不要（回復用の秘密鍵とそのパスフレーズで開く）。復元後は ledger verify で確認する。"""
    data = read_input(str(file), None)
    done = backup.restore(data, file.name, read_input(key), _key_passphrase(passphrase_file), home, clock())
    _describe(done.verified)
    console.print(f"作業領域 {done.home} に復元しました。{done.store_note}。", markup=False)
    console.print(f"確認: bulktool ledger verify --home {done.home}", markup=False)
