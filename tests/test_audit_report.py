"""`audit report --html`: one self-contained, printable file, rendered in headless Chromium."""
from __future__ import annotations

import re
import shutil

import pytest

from chromium import console_errors, not_blank, render
from conftest import exchange_ok, ledger_rows, put_zip_request


def history(cli, world):
    """Three months of exchanges, a refusal, a loan, an open item or two."""
    drives = world["drives"]
    for month, drive in (("2026-12-04", drives[0]), ("2027-01-12", drives[1]), ("2027-02-03", drives[0])):
        cli.clock.set(f"{month}T10:00:00")
        for p in list(drive.iterdir()):
            if not p.name.startswith("."):
                p.unlink()
        pw = put_zip_request(cli, world, drive)
        exchange_ok(cli, drive, pw, "--request-no", f"R-{month}")
        out = max(int(r["番号"]) for r in ledger_rows(cli) if r["事象"] == "出力")
        cli.ok("media", "handover", str(out), as_="op01")
        if month != "2027-02-03":
            cli.ok("media", "receipt", str(out), as_="op01")
    cli.clock.set("2027-02-10T10:00:00")
    pw = put_zip_request(cli, world, drives[2])
    r = cli("exchange", str(drives[2]), "--department", "D02", "--purpose", "P01", "--approval", "決裁-9",
            "--password-file", str(pw), as_="op01")
    assert r.exit_code == 1  # D02 holds no P01: 拒否 E-DEP-002
    cli.ok("media", "lend", "M002", "--department", "D01", as_="op01")
    cli.clock.set("2027-03-01T10:00:00")


def test_report_is_self_contained_and_renders_in_chromium(cli, world, tmp_path, request):
    assert shutil.which("chromium"), "Debian's chromium is not installed (.ci/run installs it)"
    history(cli, world)
    inv = tmp_path / "棚卸表.csv"
    inv.write_text("媒体ID,状態,所在,確認者,確認日\nM001,保管中,金庫,aud01,2027-03-01\nM002,貸与中,D01,aud01,2027-03-01\n"
                   "M003,保管中,金庫,aud01,2027-03-01\n", encoding="utf-8")
    html = tmp_path / "監査報告書.html"
    r = cli.ok("audit", "report", "--html", str(html), "--inventory", str(inv), "--since", "2026-12-01", as_="aud01")
    assert "監査報告書" in r.stdout
    page = html.read_text(encoding="utf-8")
    # self-contained: no script, no external resource of any kind
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=|url\(|@import|@font-face""", page, re.IGNORECASE)
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg")
    assert page.count("<svg") >= 5
    for label in ("管理簿の検証", "正常", "月別", "照会元別", "拒否の理由", "E-DEP-002", "媒体と状態", "未了の事項",
                  "受領確認なし", "貸与中", "突合の所見", "AUD-07", "2027-01", "D01", "D02"):
        assert label in page, label
    checkpoint = cli.ok("ledger", "checkpoint", as_="aud01").stdout.strip()
    assert checkpoint in page
    png = tmp_path / "監査報告書.png"
    log = render(html, png)
    assert console_errors(log) == [], log
    assert not_blank(png, tmp_path)
    keep = request.config.rootpath / ".pytest_cache" / "audit-report.png"
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(png, keep)  # for a person to look at


def test_report_without_inventory_says_so(cli, world, tmp_path):
    html = tmp_path / "r.html"
    cli.ok("audit", "report", "--html", str(html), as_="aud01")
    page = html.read_text(encoding="utf-8")
    assert "突合は行っていません" in page and "<script" not in page
    assert "<td>作成日時</td><td>2026-12-03 10:00:00（aud01）" in page  # the suite's clock, in Japan's time
    assert cli("audit", "report", "--html", str(html), "--since", "yesterday", as_="aud01").exit_code == 2


@pytest.mark.parametrize("stamp, shown", [("2026-12-03T19:09:51+09:00", "2026-12-03 19:09:51"),
                                          ("2026-12-03T10:09:51+00:00", "2026-12-03 10:09:51（UTC+00:00）")])
def test_the_reports_time_is_plain_and_names_a_zone_other_than_japans(stamp, shown):
    from bulktool.audit.report import _shown_time

    assert _shown_time(stamp) == shown
