"""samples/住基ダンプ_見本/: a store dump of 300 synthetic residents (本人確認情報 and 附票), for
trying `store load` and the operator's manual. It is exactly what the generator writes for those
parameters (so it is synthetic through and through, and stays in step with the generator), and it
loads whole into a new workspace."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from conftest import make_cli
from test_cli_store import stats_value

from bulktool.store.generate.dumps import generate

DUMP = Path(__file__).resolve().parent.parent / "samples" / "住基ダンプ_見本"
PEOPLE, SEED, TODAY = 300, 2026, date(2026, 12, 3)  # samples/README.md names the same


def test_the_sample_dump_is_what_the_generator_writes(tmp_path):
    generate(PEOPLE, SEED, tmp_path, today=TODAY, workers=1)
    for name in ("jumin.csv", "fuhyo.csv"):
        assert (DUMP / name).read_bytes() == (tmp_path / name).read_bytes(), \
            f"{name}: regenerate samples/住基ダンプ_見本 (samples/README.md)"


def test_the_sample_dump_loads_whole(tmp_path):
    cli = make_cli(tmp_path / "ws", tmp_path)
    for kind, name in (("jumin", "jumin.csv"), ("fuhyo", "fuhyo.csv")):
        cli.ok("store", "load", "--kind", kind, str(DUMP / name))
    stats = cli.ok("store", "stats", as_="aud01").stdout
    assert stats_value(stats, "本人確認情報 人数") == PEOPLE
    rows = sum(1 for _ in (DUMP / "jumin.csv").open(encoding="utf-8")) - 1
    assert stats_value(stats, "本人確認情報 行数（全履歴）") == rows
    assert 0 < stats_value(stats, "附票 人数") <= PEOPLE
