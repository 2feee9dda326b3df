"""Evidence of every provision (issue 19, contract §6, §6b, §8): which fields went out, whether
個人番号 was among them and from which store; 個人番号 per 事務; a lost drive's exposure."""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile  # noqa: F401  (the result is an AES ZIP: opened through bulktool decrypt below)

import pytest

from conftest import exchange_ok, ledger_rows, put_zip_request, request_table, unique_four, current_people

from bulktool.app import logged_in
from bulktool.messages import BulkError
from bulktool.containers import aeszip

ZIP_TIME = (2026, 12, 3, 9, 0, 0)
PW = "request-password-123"


def zip_request(world, drive, rows: list[tuple[str, str, str]], name="依頼.zip"):
    """A request of (連番, 対象, 住民票コード) rows on the drive; returns the password file."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["連番", "対象", "住民票コード"])
    w.writerows(rows)
    (drive / name).write_bytes(aeszip.write_request("t.csv", out.getvalue().encode(), PW, when=ZIP_TIME))
    pw = world["tmp"] / f"{drive.name}.pw"
    pw.write_text(PW + "\n")
    return pw


def decrypt(cli, world, drive, stdout: str) -> tuple[list[dict], dict]:
    password = re.search(r"^照会結果パスワード: (\S+)$", stdout, re.M).group(1)
    (world["tmp"] / "r.pw").write_text(password + "\n")
    result = sorted(drive.glob("照会結果_*.zip"))[-1]
    out = world["tmp"] / f"out-{result.stem}"
    r = cli.raw("decrypt", str(result), "--out", str(out), "--password-file", str(world["tmp"] / "r.pw"),
                "--terminal-key", str(world["term_pub"]))
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO((out / "照会結果.csv").read_text(encoding="utf-8-sig"))))
    return rows, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def last_output(cli) -> dict:
    e = [r for r in ledger_rows(cli) if r["事象"] == "出力"][-1]
    return dict(e, provided=json.loads(e["提供内容"]))


def test_output_and_manifest_record_fields_kojin_bango_and_store(cli, world):
    d1, d2, _ = world["drives"]
    code = unique_four(current_people(world["jumin"]))[0]["住民票コード"]
    load = [r for r in ledger_rows(cli) if r["事象"] == "取込"]
    for drive, target in ((d1, "本人確認情報"), (d2, "附票")):
        pw = zip_request(world, drive, [("1", target, code)])
        r = exchange_ok(cli, drive, pw)
        rows, manifest = decrypt(cli, world, drive, r.stdout)
        out = last_output(cli)
        assert out["provided"]["fields"] == manifest["fields"] == [c for c in rows[0] if c in manifest["fields"]]
        assert "個人番号" in manifest["fields"] and manifest["kojin_bango"] is True
        assert out["provided"]["kojin_bango"] is True
        assert rows[0]["処理結果コード"] == "00" and rows[0]["個人番号"]
        # the store that answered: the latest 取込 (None where no load was ledgered yet)
        expected = int(load[-1]["番号"]) if load else None
        assert out["provided"]["store_entry"] == manifest["store_entry"] == expected
    # D02 holds no 個人番号
    d3 = world["drives"][2]
    pw = zip_request(world, d3, [("1", "本人確認情報", code)])
    r = cli.ok("exchange", str(d3), "--department", "D02", "--purpose", "P02", "--approval", "決裁-2",
               "--password-file", str(pw), as_="op01")
    rows, manifest = decrypt(cli, world, d3, r.stdout)
    assert manifest["kojin_bango"] is False and "個人番号" not in rows[0]
    assert last_output(cli)["provided"] == {"fields": ["住民票コード", "氏名", "住所"], "kojin_bango": False,
                                            "store_entry": manifest["store_entry"],
                                            "store_loaded": manifest["store_loaded"]}


def test_kojin_bango_per_purpose(cli, world, tmp_path):
    cli.ok("department", "add", "D05", "--name", "国保年金課", "--purpose", "P51=番号法別表第一",
           "--purpose", "P52=条例第9条", "--fields", "住民票コード,氏名,個人番号", "--kojin-bango-purpose", "P51")
    listed = cli.ok("department", "list").stdout
    assert "P51 のみ" in listed
    code = unique_four(current_people(world["jumin"]))[1]["住民票コード"]
    columns = {}
    for purpose in ("P51", "P52"):
        d = tmp_path / f"d05-{purpose}"
        d.mkdir()
        cli.ok("media", "register", str(d), "--media-id", f"M5{purpose[-1]}", "--department", "D05", as_="op01")
        pw = zip_request(world, d, [("1", "本人確認情報", code), ("2", "附票", code)])
        r = cli.ok("exchange", str(d), "--department", "D05", "--purpose", purpose, "--approval", "決裁-5",
                   "--password-file", str(pw), as_="op01")
        rows, manifest = decrypt(cli, world, d, r.stdout)
        columns[purpose] = (list(rows[0]), manifest["kojin_bango"], last_output(cli)["provided"]["kojin_bango"])
    assert "個人番号" in columns["P51"][0] and columns["P51"][1:] == (True, True)
    assert "個人番号" not in columns["P52"][0] and columns["P52"][1:] == (False, False)
    # a purpose it does not hold cannot carry the permission
    r = cli("department", "update", "D05", "--kojin-bango-purpose", "P99")
    assert r.exit_code == 1 and "E-DEP-002" in r.output


def test_a_lost_drive_reports_what_it_held_counts_only(cli, world):
    d1 = world["drives"][0]
    r = exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    rows, _ = decrypt(cli, world, d1, r.stdout)
    out = last_output(cli)
    report = world["tmp"] / "loss.csv"
    r = cli("media", "lost", "M001", "--approval", "決裁-紛失", "--csv", str(report), as_="op01")
    assert r.exit_code == 1 and "E-AUTH-007" in r.output  # an operator may not
    r = cli.ok("media", "lost", "M001", "--approval", "決裁-紛失", "--csv", str(report), as_="sec01")
    table = list(csv.DictReader(io.StringIO(report.read_bytes().decode("utf-8-sig"))))
    assert len(table) == 1 and table[0]["管理簿番号"] == out["番号"] and table[0]["個人番号"] == "あり"
    # the persons counted are the provision records of that output
    codes = [row["住民票コード"] for row in rows if row["処理結果コード"] in ("00", "10")]
    with logged_in(cli.home, "admin01", b"admin-pass-0001", "disclosure", clock=cli.clock) as s:
        records = sum(1 for c in codes for rec in s.store.provisions_for(c) if rec["entry"] == int(out["参照番号"]))
    assert int(table[0]["提供人数"]) == records == len(codes) > 0
    for value in codes:
        assert value not in r.output and value not in report.read_text(encoding="utf-8-sig")
    lost = ledger_rows(cli)[-1]
    assert lost["事象"] == "紛失" and f"persons={records}" in lost["件数"]
    # a lost drive: no command names it again
    r = cli("media", "lend", "M001", "--department", "D01", as_="op01")
    assert r.exit_code == 1 and "E-MED-018" in r.output
    r = cli("media", "lost", "M001", "--approval", "x", as_="sec01")
    assert r.exit_code == 1 and "E-MED-018" in r.output
    assert request_table  # (the shared request maker stays importable for the fixtures)


def test_every_store_load_is_ledgered_and_cited_by_the_next_output(cli, world):
    import hashlib

    generated = [r for r in ledger_rows(cli) if r["事象"] == "取込"]
    assert len(generated) == 1 and "合成データ" in generated[0]["備考"]
    jumin = world["gen"] / "jumin.csv"
    cli.ok("store", "load", "--kind", "jumin", str(jumin))
    entry = ledger_rows(cli)[-1]
    assert entry["事象"] == "取込" and entry["ファイル"] == f"jumin.csv:{hashlib.sha256(jumin.read_bytes()).hexdigest()}"
    rows = len(jumin.read_text(encoding="utf-8").splitlines()) - 1
    assert f"jumin_rows={rows}" in entry["件数"] and "jumin_inserted=0" in entry["件数"]  # idempotent reload
    d1 = world["drives"][0]
    exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    assert last_output(cli)["provided"]["store_entry"] == int(entry["番号"])


@pytest.mark.parametrize("old, given, expected", [
    ((False, []), (True, None), (True, [])),
    ((False, ["P51"]), (True, None), (True, [])),          # every purpose replaces the list
    ((True, []), (False, None), (False, [])),
    ((False, ["P51"]), (False, None), (False, [])),        # --no-kojin-bango withdraws per-purpose ones too
    ((True, []), (None, ["P52"]), (False, ["P52"])),       # narrowed to one purpose
    ((False, ["P51"]), (None, ["P51", "P52", "P51"]), (False, ["P51", "P52"])),
    ((False, ["P51"]), (None, None), (False, ["P51"])),    # not mentioned: as it was
    (None, (None, None), (False, [])),                     # a new department: none
])
def test_kojin_permission_table_row_by_row(old, given, expected):
    from bulktool.registry import Department
    from bulktool.services.departments import kojin_permission

    dep = None if old is None else Department("D05", "課", {"P51": "x", "P52": "y"}, ["氏名"], old[0], None, old[1])
    assert kojin_permission(dep, *given) == expected


def test_kojin_permission_both_ways_at_once_is_a_usage_error():
    from bulktool.services.departments import kojin_permission

    with pytest.raises(BulkError) as err:
        kojin_permission(None, True, ["P51"])
    assert err.value.exit_code == 2


def test_withdrawing_a_per_purpose_permission_takes_effect(cli, world):
    cli.ok("department", "add", "D05", "--name", "国保年金課", "--purpose", "P51=番号法別表第一",
           "--fields", "住民票コード,氏名,個人番号", "--kojin-bango-purpose", "P51")
    n = len(ledger_rows(cli))
    refused = cli("department", "update", "D05", "--no-kojin-bango")  # 個人番号 still among the fields
    assert refused.exit_code == 2 and "E-DEP-008" in refused.output and len(ledger_rows(cli)) == n
    cli.ok("department", "update", "D05", "--no-kojin-bango", "--fields", "住民票コード,氏名")
    assert "不可" in cli.ok("department", "list").stdout
    same = cli("department", "update", "D05", "--fields", "住民票コード,氏名")
    assert same.exit_code == 1 and "E-DEP-009" in same.output
    assert len(ledger_rows(cli)) == n + 1  # one change, one entry; the refusals wrote none
