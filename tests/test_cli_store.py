"""store generate / load / stats through the CLI (issue: foundation)."""
from __future__ import annotations

import csv
import io


def stats_value(output: str, label: str) -> int:
    for line in output.splitlines():
        if label in line:
            return int(line.split("│")[-2].strip().replace(",", ""))
    raise AssertionError(f"{label} not in {output}")


def test_generate_then_stats_shows_the_counts(cli, tmp_path):
    r = cli.ok("store", "generate", "--people", "300", "--seed", "3", "--out", str(tmp_path / "g"))
    out = cli.ok("store", "stats", as_="aud01").stdout
    assert stats_value(out, "本人確認情報 人数") == 300
    with open(tmp_path / "g" / "jumin.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert stats_value(out, "本人確認情報 行数") == len(rows)
    assert stats_value(out, "消除者") > 0
    assert "住民票コード" not in r.stdout  # counts only


def test_one_bad_row_refuses_the_file_with_its_line_and_changes_nothing(cli, tmp_path):
    cli.ok("store", "generate", "--people", "50", "--seed", "4", "--out", str(tmp_path / "g"))
    before = cli.ok("store", "stats", as_="aud01").stdout
    text = (tmp_path / "g" / "jumin.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    cells = next(csv.reader(io.StringIO(lines[5])))
    cells[4] = "2023-02-30"  # 生年月日 that does not exist
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    lines[5] = buf.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = cli("store", "load", "--kind", "jumin", str(bad))
    assert r.exit_code == 1
    assert "6 行目" in r.output and "生年月日" in r.output and "E-STO" in r.output
    assert "2023-02-30" not in r.output
    assert cli.ok("store", "stats", as_="aud01").stdout == before


def test_loading_the_same_file_twice_changes_nothing(cli, tmp_path):
    cli.ok("store", "generate", "--people", "40", "--seed", "5", "--out", str(tmp_path / "g"))
    before = cli.ok("store", "stats", as_="aud01").stdout
    cli.ok("store", "load", "--kind", "jumin", str(tmp_path / "g" / "jumin.csv"))
    cli.ok("store", "load", "--kind", "fuhyo", str(tmp_path / "g" / "fuhyo.csv"))
    assert cli.ok("store", "stats", as_="aud01").stdout == before
