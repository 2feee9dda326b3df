"""End to end through the CLI: init → operators, department, drive → exchange → decrypt → verify,
for both containers; refusals leave the drive unchanged and are ledgered; no personal data leaks."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from conftest import drive_state, read_result, request_table

ZIP_TIME = (2026, 12, 3, 9, 0, 0)  # an entry's time stamp (the clock is passed in)


def test_zip_exchange_end_to_end(cli, world):
    drive = world["drives"][0]
    table, expected = request_table(world)
    tpath = world["tmp"] / "検索条件.csv"
    tpath.write_bytes(table)
    pw = world["tmp"] / "req.pw"
    pw.write_text("request-password-123\n")
    r = cli.raw("request", "zip", str(tpath), "--out", str(drive / "依頼.zip"), "--password-file", str(pw))
    assert r.exit_code == 0, r.output
    tpath.unlink()
    r = cli.ok("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-001",
               "--password-file", str(pw), as_="op01")
    m = re.search(r"^照会結果パスワード: (\S+)$", r.stdout, re.M)
    assert m, r.stdout
    # the only stdout line naming it, so that `grep 照会結果パスワード` finds the password and nothing else
    assert [ln for ln in r.stdout.splitlines() if "照会結果パスワード" in ln] == [m.group(0)]
    password = m.group(1)
    assert len(password) >= 20 and not set(password) & set("0O1lI")
    results = list(drive.glob("照会結果_*.zip"))
    assert len(results) == 1
    assert (drive / "依頼.zip").exists()
    rp = world["tmp"] / "result.pw"
    rp.write_text(password + "\n")
    out = world["tmp"] / "out"
    r = cli.raw("decrypt", str(results[0]), "--out", str(out), "--password-file", str(rp), "--terminal-key",
                str(world["term_pub"]))
    assert r.exit_code == 0, r.output
    got = read_result(out / "照会結果.csv")
    assert {k: v["処理結果コード"] for k, v in got.items()} == expected
    assert got["1"]["住民票コード"] and got["1"]["該当件数"] == "1"
    assert got["4"]["該当件数"] == "" and "住所" in got["4"]["処理結果"]
    assert got["5"]["該当件数"] == "0"
    r = cli.raw("verify", str(results[0]), "--terminal-key", str(world["term_pub"]), "--password-file", str(rp))
    assert r.exit_code == 0, r.output
    # a wrong password fails verification with exit 3
    bad = world["tmp"] / "bad.pw"
    bad.write_text("not-the-password-xx\n")
    r = cli.raw("verify", str(results[0]), "--terminal-key", str(world["term_pub"]), "--password-file", str(bad))
    assert r.exit_code == 3
    ledger = cli.ok("ledger", "export", as_="aud01").stdout
    assert "受付" in ledger and "出力" in ledger
    cli.ok("ledger", "verify", "--terminal-key", str(world["term_pub"]), as_="aud01")
    # the same request again is refused: use reissue instead
    before = drive_state(drive)
    r = cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-001",
            "--password-file", str(pw), "--request", "依頼.zip", as_="op01")
    assert r.exit_code == 1 and "E-MED-014" in r.output
    assert drive_state(drive) == before
    # the ledger list stays whole in an 80-column window: dates to the minute, values folded, never cut
    listing = cli.ok("ledger", "list", as_="aud01").stdout
    out_line = next(ln for ln in listing.splitlines() if " 出力 " in ln)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", out_line) and "決裁-001" in out_line
    assert "M001" in out_line and "D01 P01" in out_line and "…" not in listing
    assert re.search(r"^\s+E-MED-014\s*$", listing, re.M)  # the refusal's code whole on its line
    oplog = cli.ok("oplog", "list", as_="aud01").stdout
    assert "{" not in oplog and "'" not in oplog  # counts as text, not a Python dict's repr
    # PII scan: drive files, every output, the workspace except the store
    world["outputs"].append(r.output)
    exports = [cli.ok("ledger", "export", as_="aud01").stdout, cli.ok("oplog", "export", as_="aud01").stdout,
               cli.ok("ledger", "list", as_="aud01").stdout, cli.ok("oplog", "list", as_="aud01").stdout]
    assert_no_personal_data(world, extra_text=[r.stdout, r.stderr, *exports])


def test_sealed_exchange_end_to_end(cli, world):
    drive = world["drives"][1]
    table, expected = request_table(world)
    tpath = world["tmp"] / "list.csv"
    tpath.write_bytes(table)
    dept_pass = world["tmp"] / "dept.pass"
    r = cli.raw("request", "seal", str(tpath), "--department", "D01", "--key", str(world["keys"] / "d01.key"),
                "--to", str(world["term_pub"]), "--out", str(drive / "依頼.bte"), "--passphrase-file", str(dept_pass))
    assert r.exit_code == 0, r.output
    r = cli.ok("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-002",
               "--as-of", "2026-06-30", as_="op01")
    assert "照会結果パスワード" not in r.stdout
    results = list(drive.glob("照会結果_*.bte"))
    assert len(results) == 1
    out = world["tmp"] / "out2"
    r = cli.raw("decrypt", str(results[0]), "--out", str(out), "--key", str(world["keys"] / "d01.key"),
                "--passphrase-file", str(dept_pass), "--terminal-key", str(world["term_pub"]))
    assert r.exit_code == 0, r.output
    got = read_result(out / "照会結果.csv")
    assert {k: v["処理結果コード"] for k, v in got.items()} == expected


def test_refusals_leave_drive_unchanged_and_are_ledgered(cli, world):
    drive, _, foreign = world["drives"]
    table, _ = request_table(world)
    tpath = world["tmp"] / "t.csv"
    tpath.write_bytes(table)
    pw = world["tmp"] / "req.pw"
    pw.write_text("request-password-123\n")
    cli.raw("request", "zip", str(tpath), "--out", str(drive / "依頼.zip"), "--password-file", str(pw))
    cases = [
        (["--department", "D01", "--purpose", "P99"], drive, "E-DEP-002"),
        (["--department", "D02", "--purpose", "P02"], drive, "E-MED-002"),
        (["--department", "D01", "--purpose", "P01"], world["tmp"] / "gen", "E-MED-001"),
    ]
    for opts, d, code in cases:
        before = drive_state(d)
        r = cli("exchange", str(d), *opts, "--approval", "決裁-9", "--password-file", str(pw), as_="op01")
        assert r.exit_code == 1, r.output
        assert code in r.output
        assert drive_state(d) == before
    bad = world["tmp"] / "bad.pw"
    bad.write_text("wrong-password-xyz\n")
    before = drive_state(drive)
    r = cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-9",
            "--password-file", str(bad), as_="op01")
    assert r.exit_code == 1 and "E-CON-004" in r.output
    assert drive_state(drive) == before
    # plaintext on the drive is refused
    (drive / "名簿.csv").write_bytes(table)
    before = drive_state(drive)
    r = cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-9",
            "--password-file", str(pw), as_="op01")
    assert r.exit_code == 1 and "E-MED-003" in r.output
    assert drive_state(drive) == before
    # what the operator types must agree with the 依頼票
    (drive / "名簿.csv").unlink()
    from bulktool.containers import aeszip

    irai = '{"照会元": "D01", "事務": "P77"}'.encode()
    other = world["tmp"] / "other"
    other.mkdir()
    (drive / "依頼.zip").unlink()
    (drive / "依頼.zip").write_bytes(aeszip.write_request("t.csv", table, "request-password-123", irai, when=ZIP_TIME))
    before = drive_state(drive)
    r = cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-9",
            "--password-file", str(pw), as_="op01")
    assert r.exit_code == 1 and "E-DEP-007" in r.output
    assert drive_state(drive) == before
    # an administrator may not run exchange
    r = cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-9",
            "--password-file", str(pw))
    assert r.exit_code == 1 and "E-AUTH-007" in r.output
    ledger = cli.ok("ledger", "export", as_="aud01").stdout
    rows = list(csv.DictReader(io.StringIO(ledger.lstrip("\ufeff"))))
    refusals = [row for row in rows if row["事象"] == "拒否"]
    assert len(refusals) == 7
    codes = {row["エラーコード"] for row in refusals}
    assert codes == {"E-DEP-002", "E-MED-002", "E-MED-001", "E-CON-004", "E-MED-003", "E-DEP-007", "E-AUTH-007"}
    receipts = {row["番号"] for row in rows if row["事象"] == "受付"}
    assert {row["参照番号"] for row in refusals} <= receipts
    cli.ok("ledger", "verify", as_="aud01")


def assert_no_personal_data(world, extra_text=()):
    needles = set()
    for row in world["jumin"]:
        needles.add(row["漢字氏名"])
        needles.add(row["漢字氏名"].replace("　", ""))
        needles.add(row["住民票コード"])
        if row["個人番号"]:
            needles.add(row["個人番号"])
        needles.add(row["住所"])
    needles.discard("")
    haystacks: list[tuple[str, bytes]] = []
    for d in world["drives"]:
        for p in d.rglob("*"):
            if p.is_file():
                haystacks.append((str(p), p.read_bytes()))
    home = Path(world["tmp"]) / "ws"
    for p in home.rglob("*"):
        if p.is_file() and p.name != "store.sqlite" and not p.name.startswith("store.sqlite"):
            haystacks.append((str(p), p.read_bytes()))
    for text in list(world["outputs"]) + list(extra_text):
        haystacks.append(("output", text.encode("utf-8")))
    for where, data in haystacks:
        for n in needles:
            assert n.encode("utf-8") not in data, f"personal data found in {where}"
    assert not any((home / "tmp").iterdir()) or all(p.name == "active.lock" for p in (home / "tmp").iterdir())
