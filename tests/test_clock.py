"""The product has no expiry date: one clock, passed in from the CLI edge, drives every rule about
dates. Here the whole flow runs in 2031 (issue 16): a full exchange and the media lifecycle."""
from __future__ import annotations

import re
from datetime import date

from conftest import NOW, drive_state, ledger_rows, make_cli, make_world, read_result, request_table

from bulktool.clock import FixedClock, SystemClock


def test_fixed_clock_is_what_it_is_set_to():
    c = FixedClock("2031-06-15")
    assert c.today() == date(2031, 6, 15) and c.timestamp() == "2031-06-15T09:00:00+09:00"
    c.advance(days=31)
    assert c.today() == date(2031, 7, 16) and c.zip_time() == (2031, 7, 16, 9, 0, 0)
    assert SystemClock().now().tzinfo is not None


def test_a_full_exchange_and_the_media_lifecycle_in_2031(tmp_path):
    clock = FixedClock("2031-06-15T10:00:00+09:00")
    cli = make_cli(tmp_path / "ws", tmp_path, clock)
    world = make_world(cli, tmp_path)
    d1, d2, _ = world["drives"]
    table, expected = request_table(world)
    (tmp_path / "t.csv").write_bytes(table)
    pw = tmp_path / "req.pw"
    pw.write_text("request-password-2031\n")
    r = cli.raw("request", "zip", str(tmp_path / "t.csv"), "--out", str(d1 / "依頼.zip"), "--password-file", str(pw))
    assert r.exit_code == 0, r.output
    (tmp_path / "t.csv").unlink()
    r = cli.ok("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", "決裁-2031",
               "--password-file", str(pw), as_="op01")
    assert "基準日 2031-06-15" in r.stdout
    password = re.search(r"^照会結果パスワード: (\S+)$", r.stdout, re.M).group(1)
    result = next(d1.glob("照会結果_*.zip"))
    (tmp_path / "r.pw").write_text(password + "\n")
    r = cli.raw("decrypt", str(result), "--out", str(tmp_path / "out"), "--password-file", str(tmp_path / "r.pw"),
                "--terminal-key", str(world["term_pub"]))
    assert r.exit_code == 0, r.output
    got = read_result(tmp_path / "out" / "照会結果.csv")
    assert {k: v["処理結果コード"] for k, v in got.items()} == expected
    out = [e for e in ledger_rows(cli) if e["事象"] == "出力"][-1]
    # the media lifecycle, a month later and at the end of the fiscal year
    clock.advance(days=2)
    cli.ok("media", "handover", out["番号"], as_="op01")
    cli.ok("media", "receipt", out["番号"], as_="op01")
    cli.ok("media", "lend", "M002", "--department", "D01", as_="op01")
    lent = ledger_rows(cli)[-1]
    assert lent["事象"] == "貸与" and "2032-03-31" in lent["備考"]
    clock.set("2032-03-30")
    cli.ok("media", "return", "M002", as_="op01")
    cli.ok("media", "erase", str(d1), "--approval", "決裁-消去", as_="sec01")
    assert list(drive_state(d1)) == [".bulktool-media.json"]
    cli.ok("media", "dispose", "M001", "--approval", "決裁-廃棄", as_="sec01")
    rows = ledger_rows(cli)
    assert rows[0]["日時"].startswith("2031-06-15T10:00:00")
    assert rows[-1]["事象"] == "廃棄" and rows[-1]["日時"].startswith("2032-03-30")
    cli.ok("ledger", "verify", "--terminal-key", str(world["term_pub"]), as_="aud01")


def test_training_validity_follows_the_clock(tmp_path):
    """Operators trained in FY2031 are valid until 2033-03-31 and refused from 2033-04-01 (E-AUTH-006)."""
    clock = FixedClock("2031-06-15T10:00:00+09:00")
    cli = make_cli(tmp_path / "ws", tmp_path, clock)
    assert cli.trained_on == "2031-04-01"
    clock.set("2033-03-31")
    cli.ok("operator", "list")
    clock.set("2033-04-01")
    r = cli("operator", "list")
    assert r.exit_code == 1 and "E-AUTH-006" in r.output


def test_the_suite_clock_is_fixed():
    assert FixedClock(NOW).today() == date(2026, 12, 3)
