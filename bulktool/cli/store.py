"""store load / generate / stats, disclosure."""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from bulktool.cli.common import (Home, Operator, PassFile, console, err_console, handles_errors, list_table,
                                 read_secret, session)
from bulktool.cli.root import app
from bulktool.messages import BulkError
from bulktool.services import records
from bulktool.services import store as store_service
from bulktool.services.store import LoadProgress
from bulktool.store.stats import render_rows

store_app = typer.Typer(help="都道府県知事保存本人確認情報ファイル・附票本人確認情報ファイル", no_args_is_help=True)
app.add_typer(store_app, name="store")


@contextmanager
def _load_progress() -> Iterator[LoadProgress]:
    """A rich progress bar for store loads: rows read, bytes, then index building."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TextColumn("{task.fields[rows]:,} 行"), TimeElapsedColumn(), TextColumn("残り"),
                  TimeRemainingColumn(), console=err_console, transient=True) as p:
        task = p.add_task("準備", total=None, rows=0)

        def shown(kind: str, rows: int, done: int, total: int) -> None:
            # all read: what is left is building the indexes and committing, which has no measure
            p.update(task, completed=done, total=total or None, rows=rows,
                     description=f"{kind} 索引作成・確定" if total and done >= total else f"{kind} 取込")

        yield shown


def _print_problems(err) -> None:
    for prob in getattr(err, "problems", [])[:50]:
        console.print(f"  {prob}")
    more = len(getattr(err, "problems", [])) - 50
    if more > 0:
        console.print(f"  …ほか {more} 件")


@store_app.command("load")
@handles_errors
def store_load(files: List[Path] = typer.Argument(..., metavar="FILE…", help="取り込む CSV ファイル（複数可）"),
               kind: str = typer.Option(..., "--kind", metavar="jumin|fuhyo",
                                        help="jumin（住民票）または fuhyo（戸籍の附票）"),
               operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """本人確認情報ファイル（CSV）を取り込む。不正な行が一つでもあれば何も取り込まない。"""
    with session(home, operator, passphrase_file, "store load") as s:
        try:
            with _load_progress() as progress:
                report = store_service.load(s.store, kind, files, progress)
        except BulkError as err:
            _print_problems(err)
            raise
        entry = store_service.record_load(s.writer, [(report, files)], note=f"本人確認情報ファイルの取込（{kind}）")
        s.log({"rows": report.rows, "inserted": report.inserted})
    console.print(f"取り込みました: {report}（管理簿 {entry['seq']} 番）")


@store_app.command("generate")
@handles_errors
def store_generate(people: int = typer.Option(..., "--people", metavar="N", help="生成する住民の人数"),
                   seed: int = typer.Option(1, "--seed", metavar="N", help="乱数の種（同じ種なら同じデータ）"),
                   out: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="生成した CSV を残すフォルダ"),
                   operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """合成（架空）の住民データを生成し、store load と同じ検証を通して取り込む。"""
    with session(home, operator, passphrase_file, "store generate") as s:
        with tempfile.TemporaryDirectory(dir=s.ws.path("tmp")) as tmp, _load_progress() as progress:
            directory = out or Path(tmp)
            stats, reports = store_service.generate_and_load(s.store, people=people, seed=seed, directory=directory,
                                                             today=s.clock.today(), progress=progress)
            store_service.record_load(s.writer, [(r, [directory / f"{r.kind}.csv"]) for r in reports],
                                      note=f"合成データの生成と取込（{people} 人、seed {seed}）")
        s.log({"people": people})
    console.print(f"合成データ {people:,} 人分を生成し取り込みました（seed {seed}）。")
    _stats_table(stats)


def _stats_table(stats) -> None:
    t = Table(title="本人確認情報ファイルの件数")
    t.add_column("項目")
    t.add_column("件数", justify="right")
    for label, value in render_rows(stats):
        t.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(t)


@store_app.command("stats")
@handles_errors
def store_stats(operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """本人確認情報ファイルの件数（個人情報は表示しない）。"""

    with session(home, operator, passphrase_file, "store stats") as s:
        stats = s.store.stats(s.clock.today().isoformat())
    _stats_table(stats)


@store_app.command("migrate")
@handles_errors
def store_migrate(to: str = typer.Option(..., "--to", metavar="URL", help="移行先 PostgreSQL の空のデータベース postgresql://…"),
                  operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """SQLite の本人確認情報ファイルを PostgreSQL へ移し、全行の件数とハッシュを照合してから切り替える。"""
    with session(home, operator, passphrase_file, "store migrate") as s:
        with _load_progress() as progress:
            report = store_service.migrate_to(s.ws, s.store, to,
                                              lambda table, rows: progress(table, rows, 0, 0))
        s.log({f"{table}_rows": n for table, n in report.rows.items()})
    console.print(f"移行し、全行の件数とハッシュが一致しました: {report}")
    for table, value in report.digests.items():
        console.print(f"  {table}: {value}")
    console.print("以後この作業領域は PostgreSQL の保存先を使います。store.sqlite は確認後に安全に消去してください。")


@app.command("disclosure")
@handles_errors
def disclosure(code_file: Optional[str] = typer.Option(None, "--code-file", metavar="FILE",
                                                        help="住民票コードを読むファイル（- は標準入力。省略時は入力を求める）"),
               request_no: Optional[str] = typer.Option(None, "--request-no", metavar="NO", help="開示請求番号"),
               operator: Operator = None, passphrase_file: PassFile = None, home: Home = None):
    """本人の提供状況記録を表示する（開示請求への回答用）。住民票コードはコマンド行に書かない。"""
    with session(home, operator, passphrase_file, "disclosure") as s:
        code = read_secret(code_file, "住民票コード", option="--code-file").decode("utf-8", "replace")
        rows = records.disclose(s.writer, s.store, code, request_no)
        s.log({"records": len(rows)})
    t = list_table("提供状況記録（一括提供・媒体）", ("提供日", "管理簿番号", "照会元", "事務", "提供項目", "利用方法"))
    for r in rows:
        t.add_row(*(str(r[k]) for k in records.PROVISION_COLUMNS))
    console.print(t)
    console.print(f"{len(rows)} 件")
