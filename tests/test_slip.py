"""The printable 受渡票 (contract §9 `media slip`): what it carries, what it never carries (the
password), and that it renders in a real headless Chromium as a non-blank A4 page."""
from __future__ import annotations

import re

from chromium import console_errors, not_blank, render
from conftest import exchange_ok, ledger_rows, put_zip_request

from bulktool.services.slip import groups_of_four


def test_the_slip_carries_the_exchange_and_no_password(cli, world, tmp_path):
    d1 = world["drives"][0]
    r = exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    password = re.search(r"^照会結果パスワード: (\S+)$", r.stdout, re.M).group(1)
    out = [e for e in ledger_rows(cli) if e["事象"] == "出力"][-1]
    html = tmp_path / "受渡票.html"
    cli.ok("media", "slip", out["参照番号"], "--html", str(html), as_="op01")
    page = html.read_text(encoding="utf-8")
    result = next(d1.glob("照会結果_*.zip"))
    import hashlib

    digest = hashlib.sha256(result.read_bytes()).hexdigest()
    for text in (f"{out['参照番号']} / {out['番号']}", "D01", "税務課", "P01", "決裁-100", "M001", result.name,
                 groups_of_four(digest), "受渡（市町村課）", "受領（照会元）", "照会結果パスワード"):
        assert text in page, text
    assert password not in page
    assert "<script" not in page.lower() and "http" not in page
    exported = cli.ok("keys", "export", "--out", str(tmp_path / "t.pub"), as_="aud01").stdout
    fingerprint = re.search(r"[0-9a-f]{4}(?:[ -][0-9a-f]{4}){7}", exported).group(0)
    assert fingerprint in page
    png = tmp_path / "slip.png"
    log = render(html, png)
    assert console_errors(log) == []
    assert not_blank(png, tmp_path)


def test_groups_of_four():
    assert groups_of_four("0123456789ab") == "0123 4567 89ab"
