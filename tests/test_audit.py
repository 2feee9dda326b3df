"""`audit reconcile` over two workspace histories built through the real commands: one holding
every finding AUD-01 … AUD-15 exactly once, one clean. Direct edits only where tampering alone
produces the finding (AUD-01: a ledger row; AUD-12: the registry's role of an operator); the
drives' files are changed by hand where the finding is about what lies on a drive (AUD-09/10/11);
AUD-13 and AUD-14 come from exchanges that crashed (one killed outright in a subprocess, one
stopped in process)."""
from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import exchange_ok, ledger_rows, put_zip_request
from rich.cells import cell_len

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2027-04-10"


def last(cli, event: str, media: str | None = None) -> int:
    rows = [r for r in ledger_rows(cli) if r["事象"] == event and (media is None or r["媒体ID"] == media)]
    return int(rows[-1]["番号"])


def inventory(path: Path, rows: list[tuple[str, str]], encoding: str = "utf-8-sig") -> Path:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["確認日", "媒体ID", "状態", "所在", "確認者"])  # any column order
    for mid, state in rows:
        w.writerow(["2027-04-08", mid, state, "市町村課金庫" if state == "保管中" else "D01", "aud01"])
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def findings_csv(path: Path) -> list[dict]:
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert rows and list(rows[0]) == ["コード", "重要度", "媒体ID", "管理簿番号", "内容"]
    return rows


def crash_killed(cli, drive: Path, pw: Path) -> None:
    """An exchange killed after its 受付 (power cut): no end in the ledger, nothing in the
    operation log. A subprocess whose exchange step exits the process at once."""
    script = ("import os, sys\nimport bulktool.exchange as x\nx._exchange = lambda *a, **k: os._exit(9)\n"
              "from bulktool.cli import app\nfrom bulktool.cli.common import using_clock\n"
              "from bulktool.clock import FixedClock\n"
              f"with using_clock(FixedClock({cli.clock.timestamp()!r})):\n    app(sys.argv[1:])\n")
    r = subprocess.run([sys.executable, "-c", script, "exchange", str(drive), "--department", "D01", "--purpose",
                        "P01", "--approval", "決裁-200", "--password-file", str(pw), "--home", str(cli.home),
                        "--operator", "op01", "--passphrase-file", cli.passfile("op01")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 9, r.stderr


def crash_stopped(cli, drive: Path, pw: Path, monkeypatch) -> None:
    """An exchange stopped after its 受付 by the system (SIGTERM at shutdown, unwound as SystemExit):
    the operation log records the failure, but nothing closes the 受付 until the next command of a
    logged-in operator. (Ctrl-C, KeyboardInterrupt, is closed as 失敗 by the exchange itself.)"""
    import bulktool.exchange as x

    def stopped(*a, **k):
        raise SystemExit(143)

    monkeypatch.setattr(x, "_exchange", stopped)
    r = cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-300",
            "--password-file", str(pw), as_="op01")
    assert r.exit_code == 143, r.output
    monkeypatch.undo()


def tamper_registry_role(cli, operator_id: str, role: str) -> None:
    db = sqlite3.connect(cli.home / "registry.sqlite")
    db.execute("UPDATE operators SET role = ? WHERE operator_id = ?", (role, operator_id))
    db.commit()
    db.close()


def tamper_ledger_note(cli, seq: int) -> None:
    db = sqlite3.connect(cli.home / "ledger.sqlite")
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("UPDATE entries SET note = '書き換えた備考' WHERE seq = ?", (seq,))
    db.commit()
    db.close()


@pytest.fixture
def every_finding(cli, world, monkeypatch):
    """A year of work with every finding in it once; returns what the audit needs."""
    tmp, c = world["tmp"], cli.clock
    drives = {f"M00{i}": world["drives"][i - 1] for i in (1, 2, 3)}
    for i in range(4, 10):
        d = tmp / f"drive{i}"
        d.mkdir()
        cli.ok("media", "register", str(d), "--media-id", f"M00{i}", "--department", "D01", as_="op01")
        drives[f"M00{i}"] = d

    def exchange_on(mid: str, *extra: str) -> int:
        pw = put_zip_request(cli, world, drives[mid])
        exchange_ok(cli, drives[mid], pw, *extra)
        return last(cli, "出力", mid)

    # A (M001): handed over, received, erased — then the erased result is back on the drive (AUD-09)
    # next to a file nothing in the ledger explains (AUD-10).
    c.set("2026-12-04T10:00:00")
    out_a = exchange_on("M001")
    result_a = next(drives["M001"].glob("照会結果_*"))
    kept = tmp / result_a.name
    shutil.copy(result_a, kept)
    cli.ok("media", "handover", str(out_a), as_="op01")
    handover_a = last(cli, "受渡")
    cli.ok("media", "receipt", str(out_a), as_="op01")
    c.set("2026-12-05T10:00:00")
    cli.ok("media", "erase", str(drives["M001"]), "--approval", "決裁-消去-1", as_="sec01")
    shutil.copy(kept, drives["M001"] / kept.name)
    (drives["M001"] / "memo.txt").write_text("覚え書き", encoding="utf-8")
    # B (M002): never handed over (AUD-06; not also AUD-07).
    c.set("2027-01-10T10:00:00")
    exchange_on("M002")
    # C (M004): handed over, never received (AUD-07); its request changed on the drive (AUD-11).
    c.set("2027-01-20T10:00:00")
    out_c = exchange_on("M004")
    cli.ok("media", "handover", str(out_c), as_="op01")
    with open(drives["M004"] / "依頼.zip", "ab") as fh:
        fh.write(b"\0")
    # D (M005): received, never erased (AUD-08).
    c.set("2027-02-01T10:00:00")
    out_d = exchange_on("M005")
    cli.ok("media", "handover", str(out_d), as_="op01")
    cli.ok("media", "receipt", str(out_d), as_="op01")
    # E (M003, department D02): no 決裁番号 (AUD-15); otherwise complete.
    c.set("2027-02-10T10:00:00")
    pw = put_zip_request(cli, world, drives["M003"])
    cli.ok("exchange", str(drives["M003"]), "--department", "D02", "--purpose", "P02", "--approval", "",
           "--password-file", str(pw), as_="op01")
    out_e = last(cli, "出力", "M003")
    cli.ok("media", "handover", str(out_e), as_="op01")
    cli.ok("media", "receipt", str(out_e), as_="op01")
    cli.ok("media", "erase", str(drives["M003"]), "--approval", "決裁-消去-2", as_="sec01")
    # An exchange killed after its 受付 (M006): closed as 失敗 by the next command, but the
    # operation log never heard of it (AUD-14).
    c.set("2027-02-20T10:00:00")
    crash_killed(cli, drives["M006"], put_zip_request(cli, world, drives["M006"]))
    # op02, an auditor, whose registry row someone edited to operator; op02 then registers a drive
    # (AUD-12: the ledger says op02 is an auditor).
    c.set("2027-03-01T10:00:00")
    cli.ok("operator", "add", "op02", "--name", "職員op02", "--role", "auditor", "--trained-on", cli.trained_on,
           "--new-passphrase-file", cli.passfile("op02"))
    tamper_registry_role(cli, "op02", "operator")
    m010 = tmp / "drive10"
    m010.mkdir()
    cli.ok("media", "register", str(m010), "--media-id", "M010", "--department", "D01", as_="op02")
    # M007 lent and not back by 31 March (AUD-05); M009 disposed (and so listed).
    c.set("2027-03-25T10:00:00")
    cli.ok("media", "lend", "M007", "--department", "D01", as_="op01")
    cli.ok("media", "dispose", "M009", "--approval", "決裁-廃棄-1", as_="sec01")
    # M011 reported lost (紛失 ledgered): listed as 紛失 in the inventory, it is no finding.
    m011 = tmp / "drive11"
    m011.mkdir()
    cli.ok("media", "register", str(m011), "--media-id", "M011", "--department", "D01", as_="op01")
    cli.ok("media", "lost", "M011", "--approval", "決裁-紛失-1", as_="admin01")
    # An exchange stopped after its 受付 (M008): the last write, so nothing closes it (AUD-13).
    c.set("2027-04-01T10:00:00")
    crash_stopped(cli, drives["M008"], put_zip_request(cli, world, drives["M008"]), monkeypatch)
    # AUD-01: someone rewrote the note of A's 受渡 in the ledger file.
    tamper_ledger_note(cli, handover_a)
    c.set(f"{AS_OF}T09:00:00")
    # The inventory: M002 said destroyed (AUD-04), M008 missing from it (AUD-02), M999 unknown (AUD-03).
    inv = inventory(tmp / "棚卸表.csv", [("M001", "保管中"), ("M002", "廃棄済"), ("M003", "保管中"), ("M004", "保管中"),
                                          ("M005", "保管中"), ("M006", "保管中"), ("M007", "貸与中"), ("M009", "廃棄済"),
                                          ("M010", "保管中"), ("M011", "紛失"), ("M999", "保管中")])
    return {"inventory": inv, "drives": drives, "tmp": tmp, "handover_a": handover_a, "out_b": None}


ALL_CODES = [f"AUD-{n:02d}" for n in range(1, 16)]


def test_every_finding_reported_exactly_once(cli, every_finding, monkeypatch):
    f = every_finding
    monkeypatch.setenv("COLUMNS", "80")
    before = ledger_rows(cli)
    r = cli("audit", "reconcile", "--inventory", str(f["inventory"]), "--media", str(f["drives"]["M001"]),
            "--media", str(f["drives"]["M004"]), "--csv", str(f["tmp"] / "所見.csv"),
            "--xlsx", str(f["tmp"] / "所見.xlsx"), as_="aud01")
    assert r.exit_code == 3, r.output  # the ledger failed verification (AUD-01)
    rows = findings_csv(f["tmp"] / "所見.csv")
    codes = [row["コード"] for row in rows]
    assert sorted(codes) == ALL_CODES, rows
    by_code = {row["コード"]: row for row in rows}
    assert by_code["AUD-01"]["管理簿番号"] == str(f["handover_a"])
    assert by_code["AUD-02"]["媒体ID"] == "M008"
    assert by_code["AUD-03"]["媒体ID"] == "M999"
    assert by_code["AUD-04"]["媒体ID"] == "M002"
    assert by_code["AUD-05"]["媒体ID"] == "M007"
    assert by_code["AUD-06"]["媒体ID"] == "M002"
    assert by_code["AUD-07"]["媒体ID"] == "M004"
    assert by_code["AUD-08"]["媒体ID"] == "M005"
    assert by_code["AUD-09"]["媒体ID"] == "M001" and "照会結果_" in by_code["AUD-09"]["内容"]
    assert by_code["AUD-10"]["媒体ID"] == "M001" and "memo.txt" in by_code["AUD-10"]["内容"]
    assert by_code["AUD-11"]["媒体ID"] == "M004" and "依頼.zip" in by_code["AUD-11"]["内容"]
    assert by_code["AUD-12"]["媒体ID"] == "M010" and "op02" in by_code["AUD-12"]["内容"]
    assert by_code["AUD-13"]["媒体ID"] == "M008"
    assert by_code["AUD-14"]["媒体ID"] == "M006"
    assert by_code["AUD-15"]["媒体ID"] == "M003"
    for row in rows:
        assert row["重要度"] in ("高", "中", "低")
        assert all(n.isdigit() for n in row["管理簿番号"].split())
    # 高 first, on screen and in the file
    order = [row["重要度"] for row in rows]
    assert order == sorted(order, key="高中低".index)
    for code in ALL_CODES:
        assert code in r.stdout  # whole, on screen, in an 80-column window
    assert max(cell_len(line) for line in r.stdout.splitlines()) <= 80, r.stdout
    # the xlsx holds the same rows
    from openpyxl import load_workbook
    ws = load_workbook(f["tmp"] / "所見.xlsx").active
    assert [c.value for c in ws[1]] == ["コード", "重要度", "媒体ID", "管理簿番号", "内容"]
    assert sorted(row[0].value for row in ws.iter_rows(min_row=2)) == ALL_CODES
    # the audit wrote nothing to the ledger
    assert ledger_rows(cli) == before


def test_since_leaves_out_older_findings(cli, every_finding):
    f = every_finding
    r = cli("audit", "reconcile", "--inventory", str(f["inventory"]), "--since", "2027-03-01",
            "--csv", str(f["tmp"] / "後.csv"), as_="aud01")
    codes = {row["コード"] for row in findings_csv(f["tmp"] / "後.csv")}
    assert r.exit_code == 3
    # M008's absence (AUD-02) cites its registration in December: it predates --since, as do
    # the exchanges of the winter; a drive the ledger never registered (AUD-03) cites no entry.
    assert codes == {"AUD-03", "AUD-05", "AUD-12", "AUD-13"}


def test_clean_history_has_no_finding(cli, world):
    c = cli.clock
    c.set("2026-12-04T10:00:00")
    drive = world["drives"][0]
    pw = put_zip_request(cli, world, drive)
    exchange_ok(cli, drive, pw, "--request-no", "R-1")
    out = last(cli, "出力", "M001")
    cli.ok("media", "handover", str(out), as_="op01")
    c.set("2026-12-08T10:00:00")
    cli.ok("media", "receipt", str(out), as_="op01")
    c.set("2026-12-10T10:00:00")
    cli.ok("media", "erase", str(drive), "--approval", "決裁-消去-1", as_="sec01")
    cli.ok("media", "lend", "M002", "--department", "D01", as_="op01")
    c.set("2027-01-15T10:00:00")
    cli.ok("media", "return", "M002", as_="op01")
    c.set("2027-02-01T10:00:00")
    inv = inventory(world["tmp"] / "棚卸表.csv", [("M001", "保管中"), ("M002", "保管中"), ("M003", "保管中")], "cp932")
    r = cli("audit", "reconcile", "--inventory", str(inv), "--media", str(drive), "--csv",
            str(world["tmp"] / "所見.csv"), as_="aud01")
    assert r.exit_code == 0, r.output
    assert "所見はありません" in r.stdout
    text = (world["tmp"] / "所見.csv").read_bytes().decode("utf-8")
    assert text == "\ufeffコード,重要度,媒体ID,管理簿番号,内容\r\n"
    # a year later the same history still has no finding (nothing is left open)
    r = cli("audit", "reconcile", "--inventory", str(inv), "--as-of", "2028-01-01", as_="aud01")
    assert r.exit_code == 0, r.output


def test_checkpoint_given_to_reconcile_detects_truncation(cli, world):
    cp = cli.ok("audit", "checkpoint", "--note", "令和8年度 自己点検", as_="aud01").stdout.strip().splitlines()[-1]
    n = cp.split(":")[0]
    rows = ledger_rows(cli)
    assert rows[-1]["事象"] == "点検" and cp in rows[-1]["備考"] and rows[-1]["操作者ID"] == "aud01"
    assert int(n) == len(rows) - 1
    inv = inventory(world["tmp"] / "inv.csv", [("M001", "保管中"), ("M002", "保管中"), ("M003", "保管中")])
    ok = cli("audit", "reconcile", "--inventory", str(inv), "--checkpoint", cp, as_="aud01")
    assert ok.exit_code == 0, ok.output
    # drop the last entries: the chain alone still holds, the checkpoint does not
    db = sqlite3.connect(cli.home / "ledger.sqlite")
    db.execute("DROP TRIGGER entries_no_delete")
    db.execute("DELETE FROM entries WHERE seq >= ?", (int(n),))
    db.commit()
    db.close()
    bad = cli("audit", "reconcile", "--inventory", str(inv), "--checkpoint", cp, "--csv",
              str(world["tmp"] / "f.csv"), as_="aud01")
    assert bad.exit_code == 3
    codes = [r["コード"] for r in findings_csv(world["tmp"] / "f.csv")]
    # truncation (AUD-01), and what it took away shows too: the operation log's successful
    # media register has no ledger entry any more (AUD-14), M003 looks never registered (AUD-03)
    assert codes[0] == "AUD-01" and {"AUD-03", "AUD-14"} <= set(codes)
    # and audit checkpoint refuses to write over a broken ledger
    db = sqlite3.connect(cli.home / "ledger.sqlite")
    db.execute("DROP TRIGGER IF EXISTS entries_no_update")
    db.execute("UPDATE entries SET note = 'x' WHERE seq = 2")
    db.commit()
    db.close()
    count = len(ledger_rows(cli))
    r = cli("audit", "checkpoint", as_="aud01")
    assert r.exit_code == 3 and "E-LED-001" in r.output
    assert len(ledger_rows(cli)) == count
