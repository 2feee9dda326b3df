"""bulktool demo"""
from __future__ import annotations

import typer
from rich.panel import Panel
from rich.table import Table

from bulktool.cli.common import clock, console, handles_errors
from bulktool.cli.root import app
from bulktool.demo import run_demo
from bulktool.model import STATUS_LABELS, Status



@app.command("demo")
@handles_errors
def demo(people: int = typer.Option(20_000, "--people", metavar="N", help="合成住民の人数"),
         seed: int = typer.Option(2026, "--seed", metavar="N", help="乱数の種（同じ種なら同じデータ）")):
    """合成データで一連の流れ（登録→照会→復号・検証→管理簿検証）を一時作業領域で実演する。"""
    console.print(Panel("bulktool デモ\n架空の住民データで一括提供の流れを実演します（入力は不要です）",
                        style="bold", expand=False), soft_wrap=False)  # whole in 80 columns, never cut

    def say(cmd: str, what: str) -> None:
        console.print(f"[cyan]$ {cmd}[/]\n  → {what}")

    with console.status("実行中…"):
        report = run_demo(people=people, seed=seed, say=say, clock=clock())
    t = Table(title="照会結果の内訳（正解ラベルとの照合）")
    t.add_column("処理結果")
    for ex in report.exchanges:
        t.add_column(ex["kind"], justify="right")
    for st in Status:
        code, label = st.value, STATUS_LABELS[st]
        t.add_row(f"{code} {label}", *(f"{ex['counts'].get(code, 0):,}" for ex in report.exchanges))
    t.add_row("正解と一致", *(f"{ex['agree']}/{ex['rows']}" for ex in report.exchanges), style="bold")
    t.add_row("別人への該当", *(str(ex["wrong_person"]) for ex in report.exchanges),
              style="bold red" if any(ex["wrong_person"] for ex in report.exchanges) else "bold green")
    console.print(t)
    console.print(f"管理簿: {report.ledger_entries} 件、連鎖と署名を検証済み（先頭ハッシュ {report.ledger_head[:16]}…）")
    console.print("デモの作業領域・媒体・合成データは削除しました。"
                  "実際の運用は docs/manual.md の手順（init → operator add → department add → store load → "
                  "media register → exchange）で行います。")
    if any(ex["wrong_person"] for ex in report.exchanges):
        raise typer.Exit(3)
