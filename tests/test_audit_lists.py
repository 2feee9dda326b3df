"""The auditor's lists: `ledger list` and `oplog list` filtered by event, dates, media and
department, showing 依頼番号 and 備考, whole in an 80-column terminal; auditors read the operator
and department lists; an auditor's commands change nothing but `audit checkpoint`'s 点検."""
from __future__ import annotations

import pytest
from conftest import exchange_ok, ledger_rows, put_zip_request
from rich.cells import cell_len


@pytest.fixture
def narrow(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")


def widest(text: str) -> int:
    return max(cell_len(line) for line in text.splitlines())


def test_ledger_list_filters_and_shows_request_no_and_note(cli, world, narrow):
    cli.clock.set("2026-12-04T10:00:00")
    pw = put_zip_request(cli, world, world["drives"][0])
    exchange_ok(cli, world["drives"][0], pw, "--request-no", "R-2026-7")
    out = cli.ok("ledger", "list", "--event", "出力", as_="aud01").stdout
    assert widest(out) <= 80, out
    assert "R-2026-7" in out and "依頼" in out and "備考" in out and "基準日" in out
    assert "媒体登録" not in out
    by_media = cli.ok("ledger", "list", "--media", "M003", as_="aud01").stdout
    assert "M003" in by_media and "M001" not in by_media
    by_dep = cli.ok("ledger", "list", "--department", "D02", as_="aud01").stdout
    assert "M003" in by_dep and "出力" not in by_dep
    before = cli.ok("ledger", "list", "--until", "2026-12-03", as_="aud01").stdout
    after = cli.ok("ledger", "list", "--since", "2026-12-04", as_="aud01").stdout
    assert "受付" not in before and "受付" in after and "開設" in before and "開設" not in after
    assert cli("ledger", "list", "--since", "12/04", as_="aud01").exit_code == 2


def test_oplog_list_filters_through_the_ledger(cli, world, narrow):
    cli.clock.set("2026-12-04T10:00:00")
    pw = put_zip_request(cli, world, world["drives"][0])
    exchange_ok(cli, world["drives"][0], pw, "--request-no", "R-2026-8")
    out = cli.ok("oplog", "list", "--media", "M001", as_="aud01").stdout
    assert widest(out) <= 80, out
    assert "exchange" in out and "R-2026-8" in out and "依頼" in out and "media register" in out
    assert "M002" not in out
    exchanges = cli.ok("oplog", "list", "--event", "出力", as_="aud01").stdout
    assert "exchange" in exchanges and "media register" not in exchanges
    d02 = cli.ok("oplog", "list", "--department", "D02", as_="aud01").stdout
    assert "M003" in d02 and "exchange" not in d02
    assert "exchange" not in cli.ok("oplog", "list", "--until", "2026-12-03", as_="aud01").stdout
    assert "init" not in cli.ok("oplog", "list", "--since", "2026-12-04", as_="aud01").stdout


def test_auditor_reads_operator_and_department_lists(cli, world):
    for who in ("aud01", "sec01", "admin01"):
        assert "op01" in cli.ok("operator", "list", as_=who).stdout
        assert "D01" in cli.ok("department", "list", as_=who).stdout
    for cmd in (("operator", "list"), ("department", "list")):
        r = cli(*cmd, as_="op01")
        assert r.exit_code == 1 and "E-AUTH-007" in r.output


def test_auditor_changes_nothing_but_the_checkpoint(cli, world, tmp_path):
    """An expired kept copy waits for housekeeping: the ledger views and the audit commands leave
    it as it is (they do no housekeeping); only `audit checkpoint` appends, and only its 点検.
    Whatever else would change the workspace is refused to an auditor."""
    cli.clock.set("2026-12-04T10:00:00")
    pw = put_zip_request(cli, world, world["drives"][0])
    exchange_ok(cli, world["drives"][0], pw)
    cli.clock.set("2027-02-01T10:00:00")  # the kept copy is past its 30 days
    before = ledger_rows(cli)
    inv = tmp_path / "inv.csv"
    inv.write_text("媒体ID,状態,所在,確認者,確認日\nM001,保管中,金庫,aud01,2027-02-01\n", encoding="utf-8")
    runs = [("ledger", "list"), ("ledger", "verify"), ("ledger", "checkpoint"), ("ledger", "export"),
            ("audit", "reconcile", "--inventory", str(inv)),
            ("audit", "report", "--html", str(tmp_path / "r.html"), "--inventory", str(inv))]
    for args in runs:
        r = cli(*args, as_="aud01")
        assert r.exit_code in (0, 1), (args, r.output)
    assert ledger_rows(cli) == before
    refused = [("media", "register", str(tmp_path), "--media-id", "M9", "--department", "D01"),
               ("media", "handover", "1"), ("media", "lend", "M001", "--department", "D01"),
               ("media", "erase", str(world["drives"][0]), "--approval", "x"), ("operator", "revoke", "op01"),
               ("department", "add", "D09", "--name", "x", "--purpose", "P=x", "--fields", "氏名"),
               ("oplog", "purge", "--before", "2000-01-01"), ("disclosure", "--request-no", "1"),
               ("store", "generate", "--people", "1", "--out", str(tmp_path / "g"))]
    for args in refused:
        r = cli(*args, as_="aud01")
        assert r.exit_code == 1 and "E-AUTH-007" in r.output, (args, r.output)
    assert ledger_rows(cli) == before
    cli.ok("audit", "checkpoint", "--note", "年次監査", as_="aud01")
    after = ledger_rows(cli)
    assert after[:-1] == before and after[-1]["事象"] == "点検"
    # nobody else may write a 点検
    for who in ("admin01", "op01", "sec01"):
        assert cli("audit", "checkpoint", as_=who).exit_code == 1
    assert cli("audit", "checkpoint", "--note", "対象 123456789012", as_="aud01").exit_code == 1


def test_counts_read_in_japanese_on_screen():
    from bulktool.cli.common import counts_cell

    assert counts_cell({"rows": 5, "00": 2, "20": 0, "90": 3}) == "5行（00:2 90:3）"
    assert counts_cell({"jumin_rows": 620, "jumin_inserted": 620}) == "本人確認情報の行 620　本人確認情報の取込 620"
    assert counts_cell({"removed": 0}) == "削除 0"  # a purge of nothing says so
    assert counts_cell({"persons": 4, "results": 1}) == "提供人数 4　照会結果 1"
