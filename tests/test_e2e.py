"""End to end through the CLI: init → operators, department, drive → exchange → decrypt → verify,
for both containers; refusals leave the drive unchanged and are ledgered; no personal data leaks."""
from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import pytest

from bulktool.checkdigit import with_check_digit

FIELDS = "住民票コード,氏名,氏名かな,生年月日,性別,住所,個人番号,異動事由,異動年月日"


def drive_state(drive: Path) -> dict[str, str]:
    return {str(p.relative_to(drive)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(drive.rglob("*")) if p.is_file()}


@pytest.fixture
def world(cli, tmp_path):
    """A workspace with a generated store, department D01 with keys, and two registered drives."""
    outputs: list[str] = []
    keys_dir = tmp_path / "dept_keys"
    (tmp_path / "dept.pass").write_text("dept-key-pass\n")
    r = cli.raw("keys", "generate", "--name", "d01", "--out", str(keys_dir), "--passphrase-file",
                str(tmp_path / "dept.pass"))
    assert r.exit_code == 0, r.output
    outputs.append(r.output)
    outputs.append(cli.ok("department", "add", "D01", "--name", "税務課", "--purpose", "P01=住基法別表第五第一号",
                          "--fields", FIELDS, "--kojin-bango", "--public-key", str(keys_dir / "d01.pub")).output)
    outputs.append(cli.ok("department", "add", "D02", "--name", "福祉課", "--purpose", "P02=条例第3条",
                          "--fields", "住民票コード,氏名,住所").output)
    gen = tmp_path / "gen"
    outputs.append(cli.ok("store", "generate", "--people", "400", "--seed", "7", "--out", str(gen)).output)
    drives = []
    for i in (1, 2, 3):
        d = tmp_path / f"drive{i}"
        d.mkdir()
        dep = "D02" if i == 3 else "D01"
        outputs.append(cli.ok("media", "register", str(d), "--media-id", f"M00{i}", "--department", dep,
                              as_="op01").output)
        drives.append(d)
    term_pub = tmp_path / "terminal.pub"
    outputs.append(cli.ok("keys", "export", "--out", str(term_pub), as_="aud01").output)
    with open(gen / "jumin.csv", encoding="utf-8") as fh:
        jumin = list(csv.DictReader(fh))
    return {"gen": gen, "drives": drives, "keys": keys_dir, "term_pub": term_pub, "jumin": jumin,
            "outputs": outputs, "tmp": tmp_path}


def current_people(jumin):
    """Persons whose latest non-deleted version is not a removal, one row each (latest)."""
    latest: dict[str, dict] = {}
    for row in jumin:
        if row["削除フラグ"] == "1":
            continue
        cur = latest.get(row["住民票コード"])
        if cur is None or int(row["更新順番号"]) > int(cur["更新順番号"]):
            latest[row["住民票コード"]] = row
    return [r for r in latest.values() if r["異動事由"] not in ("死亡", "転出", "職権消除", "国外転出")
            and r["異動年月日"] <= "2026-01-01"]


def unique_four(people):
    seen: dict[tuple, int] = {}
    for p in people:
        k = (p["漢字氏名"].replace("　", ""), p["生年月日"])
        seen[k] = seen.get(k, 0) + 1
    return [p for p in people if seen[(p["漢字氏名"].replace("　", ""), p["生年月日"])] == 1]


def request_table(world) -> tuple[bytes, dict[str, str]]:
    people = unique_four(current_people(world["jumin"]))
    a, b, c, d = people[0], people[1], people[2], people[3]
    missing = with_check_digit("9999999999")
    rows = [
        ("1", "", "", a["住民票コード"], "", "", "", "", ""),
        ("2", "", b["個人番号"], "", "", "", "", "", ""),
        ("3", "", "", "", c["漢字氏名"], "", c["生年月日"], "", c["住所"]),
        ("4", "", "", "", d["漢字氏名"], "", d["生年月日"], "", ""),
        ("5", "", "", missing, "", "", "", "", ""),
        ("6", "", "12345678901", "", "", "", "", "", ""),
    ]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["連番", "対象", "個人番号", "住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所"])
    w.writerows(rows)
    expected = {"1": "00", "2": "00", "3": "00", "4": "90", "5": "20", "6": "90"}
    return out.getvalue().encode("utf-8"), expected


def read_result(csv_path: Path) -> dict[str, dict]:
    text = csv_path.read_bytes().decode("utf-8-sig")
    return {r["連番"]: r for r in csv.DictReader(io.StringIO(text))}


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
    # PII scan: drive files, every output, the workspace except the store
    world["outputs"].append(r.output)
    assert_no_personal_data(world, extra_text=[r.stdout, r.stderr])


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
    # an administrator may not run exchange
    r = cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-9",
            "--password-file", str(pw))
    assert r.exit_code == 1 and "E-AUTH-007" in r.output
    ledger = cli.ok("ledger", "export", as_="aud01").stdout
    rows = list(csv.DictReader(io.StringIO(ledger.lstrip("\ufeff"))))
    refusals = [row for row in rows if row["事象"] == "拒否"]
    assert len(refusals) == 5
    codes = {row["エラーコード"] for row in refusals}
    assert codes == {"E-DEP-002", "E-MED-002", "E-MED-001", "E-CON-004", "E-MED-003"}
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
