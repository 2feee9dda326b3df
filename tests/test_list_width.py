"""`media list`, `operator list` and `department list` in an 80-column terminal (as
tests/test_audit_lists.py does for `ledger list` and `oplog list`), on a workspace whose IDs are
as long as they come: no line wider than 80, and no identifier, date or code folded across lines.

The operator ID is at its validator's limit (32, bulktool/session.py); media IDs and department
codes have no length rule, so they are given the same 32 characters."""
from __future__ import annotations

import re

import pytest
from conftest import make_cli, make_world, put_zip_request
from rich.cells import cell_len

from bulktool.app import logged_in
from bulktool.cli import common
from bulktool.services import media

LONG_OPERATOR = "kenmin.seikatsu-soumu_0123456789"  # 32: the longest operator ID allowed
LONG_MEDIA = "USB-2026-KENMIN-SEIKATSU-0000001"
LONG_DEPARTMENT = "KENMIN-SEIKATSU-BU-SOUMU-KA-0001"
LONG_SERIAL = "4C530001230419115442-0123456789"
PURPOSES = ["P01=住民基本台帳法別表第五第一号", "P02=住民基本台帳法別表第五第六号の二",
            "P03=県個人情報保護条例第8条第1項第3号", "P04=条例第3条"]
assert len(LONG_OPERATOR) == len(LONG_MEDIA) == len(LONG_DEPARTMENT) == 32


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """One SQLite workspace for the three lists (rendering does not depend on the store)."""
    tmp = tmp_path_factory.mktemp("lists")
    cli = make_cli(tmp / "ws", tmp)
    world = make_world(cli, tmp)
    cli.ok("operator", "add", LONG_OPERATOR, "--name", "県民生活部総務課 山田花子", "--role", "security",
           "--trained-on", cli.trained_on, "--new-passphrase-file", cli.passfile(LONG_OPERATOR))
    cli.ok("department", "add", LONG_DEPARTMENT, "--name", "県民生活部総務課（消費生活センター分室）",
           *(x for p in PURPOSES for x in ("--purpose", p)), "--fields",
           "住民票コード,氏名,氏名かな,生年月日,性別,住所,個人番号,異動事由,異動年月日",
           "--kojin-bango-purpose", "P01", "--kojin-bango-purpose", "P03",
           "--public-key", str(world["keys"] / "d01.pub"))
    # a drive with two results not yet erased, lent and overdue
    drive = tmp / "long-drive"
    drive.mkdir()
    cli.ok("media", "register", str(drive), "--media-id", LONG_MEDIA, "--department", LONG_DEPARTMENT, as_="op01")
    for name in ("依頼1.zip", "依頼2.zip"):
        pw = put_zip_request(cli, world, drive, name=name)
        for leftover in drive.glob("*.zip"):
            if leftover.name != name:
                leftover.unlink()
        exchange_ok_for(cli, drive, pw, LONG_DEPARTMENT)
    cli.ok("media", "lend", LONG_MEDIA, "--department", LONG_DEPARTMENT, as_="op01")
    # a drive whose device reports a long serial number (the lookup injected, as test_custody does)
    stick = tmp / "stick"
    stick.mkdir()
    with logged_in(cli.home, "op01", b"op-pass-00001", "media register", clock=cli.clock) as s:
        media.register(s.writer, s.registry, s.keys, stick, "M-SERIAL-00000000-00000000-00002", LONG_DEPARTMENT,
                       device=lambda p: ("USB DISK 3.2", LONG_SERIAL))
    cli.clock.set("2027-04-02T09:00:00+09:00")  # the loan's fiscal year is over: overdue
    return cli


def exchange_ok_for(cli, drive, pw, department):
    r = cli.ok("exchange", str(drive), "--department", department, "--purpose", "P01", "--approval", "決裁-100",
               "--password-file", str(pw), as_="op01")
    return r


def _whole(out: str, value: str) -> bool:
    """`value` appears unbroken on one line."""
    return any(value in line for line in out.splitlines())


def window(monkeypatch, columns: int) -> None:
    """A terminal of `columns`: COLUMNS, and the console's width itself in case the console read
    COLUMNS when it was made (rich keeps a width it found in the environment then)."""
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(common.console, "_width", columns)


@pytest.fixture
def narrow(monkeypatch):
    window(monkeypatch, 80)


def check(out: str, values: list[str]) -> None:
    widest = max(cell_len(line) for line in out.splitlines())
    assert widest <= 80, f"{widest} columns:\n{out}"
    folded = [v for v in values if not _whole(out, v)]
    assert not folded, f"folded across lines: {folded}\n{out}"
    dates = re.findall(r"\d{4}-\d{2}-\d{2}", out)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)
    assert not re.search(r"\d{4}-\d{0,1}$|^\d{0,1}-\d{2}", out, re.MULTILINE), out  # no date cut at a line end


def test_media_list_in_80_columns(workspace, narrow):
    out = workspace.ok("media", "list", as_="op01").stdout
    entries = re.findall(r"\b(\d+)\b", out)
    assert entries, out
    check(out, [LONG_MEDIA, LONG_DEPARTMENT, LONG_SERIAL, "M-SERIAL-00000000-00000000-00002", "M001", "D01",
                "2027-03-31", "期限切れ"])
    lines = [line for line in out.splitlines() if LONG_MEDIA in line]
    assert lines, out


def test_operator_list_in_80_columns(workspace, narrow):
    out = workspace.ok("operator", "list", as_="admin01").stdout
    check(out, [LONG_OPERATOR, "セキュリティ責任者", "admin01", "op01", "aud01", "2026-04-01", "2028-03-31"])


def test_department_list_in_80_columns(workspace, narrow):
    out = workspace.ok("department", "list", as_="admin01").stdout
    codes = [p.split("=", 1)[0] for p in PURPOSES]
    check(out, [LONG_DEPARTMENT, "D01", "D02", *codes, "P01,P03", "住民票コード", "異動年月日"])


def test_short_lists_stay_tables(workspace, monkeypatch):
    """In a wide window the lists are tables: one line per record, its ID first."""
    window(monkeypatch, 120)
    out = workspace.ok("operator", "list", as_="admin01").stdout
    assert any(LONG_OPERATOR in line and "セキュリティ責任者" in line and "有効" in line for line in out.splitlines()), out


def test_ledger_and_oplog_lists_in_80_columns_with_the_longest_ids(workspace, narrow):
    """The 管理簿 and the 操作履歴 with 32-character media, department and operator IDs: whole, one
    block per record when a table would break them."""
    workspace.ok("store", "stats", as_=LONG_OPERATOR)
    out = workspace.ok("ledger", "list", as_="aud01").stdout
    check(out, [LONG_MEDIA, LONG_DEPARTMENT, "M-SERIAL-00000000-00000000-00002", "媒体登録", "出力"])
    out = workspace.ok("oplog", "list", as_="aud01").stdout
    check(out, [LONG_OPERATOR, "store stats", "media register"])
