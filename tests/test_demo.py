"""`bulktool demo` and the matching accuracy over a labelled, noisy request (issue: correctness)."""
from __future__ import annotations

from rich.cells import cell_len
from typer.testing import CliRunner

from bulktool.cli import app
from bulktool.clock import FixedClock
from bulktool.demo import run_demo


def test_demo_runs_without_prompts_and_explains_itself():
    r = CliRunner().invoke(app, ["demo", "--people", "1500", "--seed", "11"])
    assert r.exit_code == 0, r.output
    assert "別人への該当" in r.stdout and "管理簿" in r.stdout
    banner = r.stdout.split("$ bulktool init")[0]
    assert "（入力は不要です）" in banner  # whole, not cut at the window's edge
    assert max(cell_len(line) for line in banner.splitlines()) <= 80


def test_every_hit_is_the_right_person_on_a_noisy_labelled_request(tmp_path):
    report = run_demo(people=4000, seed=5, base=tmp_path, clock=FixedClock("2026-12-03"))
    for ex in report.exchanges:
        assert ex["wrong_person"] == 0
        assert ex["agree"] == ex["rows"], ex
        assert ex["counts"].get("30", 0) > 0  # near-duplicates come out 複数該当
        assert ex["counts"].get("90", 0) > 0  # name + birth date alone is never a hit
    assert report.ledger_entries == 10  # 開設, 2 登録変更, 取込, 2 媒体登録, 2 × (受付, 出力)
    assert not list(tmp_path.iterdir())  # the temporary workspace and drives are gone
