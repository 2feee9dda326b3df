"""照会結果.xlsx (contract §5, issue 23): text cells for every code and number, date cells, the
header frozen, formula-looking text kept as text; made in memory, reproducible, named and hashed
by the manifest; opened and verified on the department's side and written out as it is."""
from __future__ import annotations

import glob
import hashlib
import io
import json
import tempfile
from datetime import datetime

import openpyxl
import pytest
from conftest import exchange_ok, put_zip_request

from bulktool import manifest as mf
from bulktool.messages import BulkError
from bulktool.model import MatchResult, Status
from bulktool.results import columns_for, table_kind, write_results_xlsx

FIELDS = ["住民票コード", "氏名", "生年月日", "個人番号", "異動年月日"]
RECORD = {"住民票コード": "04372392504", "氏名": "=HYPERLINK(\"http://x\",\"押して\")", "生年月日": "1975-04-01",
          "個人番号": "012345678901", "異動年月日": "2001-04-01", "住所": "見本市1-2-3"}


def results():
    return [MatchResult(1, "1", Status.HIT, 1, "該当", dict(RECORD), False),
            MatchResult(2, "2", Status.NOT_FOUND, 0, "該当なし"),
            MatchResult(3, "+3", Status.INPUT_ERROR, None, "入力エラー：住所（…）"),
            MatchResult(4, "4", Status.HIT_REMOVED, 1, "該当（消除者）", dict(RECORD), True)]


def sheet(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]


def test_codes_and_numbers_are_text_dates_are_dates_header_frozen_formulas_stay_text():
    out = write_results_xlsx(results(), fields=FIELDS)
    ws = sheet(out.data)
    assert ws.title == "照会結果" and ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == columns_for(FIELDS)
    row = {h: c for h, c in zip(header, ws[2])}
    for col, value in (("住民票コード", "04372392504"), ("個人番号", "012345678901"), ("処理結果コード", "00"),
                       ("該当件数", "1"), ("連番", "1")):
        assert row[col].value == value and row[col].data_type == "s", col  # leading zeros kept, never a number
        assert row[col].number_format == "@"  # 文字列: stays text when the clerk edits the cell
    for col, day in (("生年月日", datetime(1975, 4, 1)), ("異動年月日", datetime(2001, 4, 1))):
        assert row[col].value == day and row[col].is_date and row[col].number_format == "yyyy-mm-dd"
    # a name that looks like a formula is a text cell as it is: no leading ', nothing to run
    assert row["氏名"].value == RECORD["氏名"] and row["氏名"].data_type == "s"
    assert [c.value for c in ws[4]][:4] == ["+3", "90", "入力エラー：住所（…）", None]
    assert all(c.value is None for c in ws[3][4:])  # 20: no data
    assert [c.value for c in ws[5]][-1] == "1"  # 外字フラグ
    assert (out.rows, out.counts["00"], out.counts["10"], out.not_found) == (4, 1, 1, ["2"])
    assert mf.count_statuses(out.data, "xlsx", mf.RESULT_XLSX) == (4, {"00": 1, "20": 1, "90": 1, "10": 1})


def test_made_in_memory_and_reproducible():
    before = set(glob.glob(f"{tempfile.gettempdir()}/openpyxl*"))
    first, second = write_results_xlsx(results(), fields=FIELDS), write_results_xlsx(results(), fields=FIELDS)
    assert first.data == second.data  # the same rows give the same bytes (and the same SHA-256)
    assert set(glob.glob(f"{tempfile.gettempdir()}/openpyxl*")) == before  # no temporary file on the disk


def test_xlsx_refuses_a_cp932_encoding():
    assert table_kind(None, "xlsx") == "xlsx" and table_kind("csv", "xlsx") == "csv" and table_kind(None, None) == "csv"
    with pytest.raises(BulkError) as exc:
        table_kind(None, "xlsx", "cp932")
    assert exc.value.code == "E-USE-010"


def test_exchange_writes_xlsx_for_a_department_registered_so_and_decrypt_writes_it_as_is(cli, world):
    cli.ok("department", "update", "D01", "--table", "xlsx")
    drive = world["drives"][0]
    pw = put_zip_request(cli, world, drive)
    r = exchange_ok(cli, drive, pw)
    password = r.stdout.split("照会結果パスワード: ")[1].split()[0]
    (result,) = drive.glob("照会結果_*.zip")
    rp = world["tmp"] / "res.pw"
    rp.write_text(password + "\n")
    out = world["tmp"] / "out"
    r = cli.raw("decrypt", str(result), "--out", str(out), "--password-file", str(rp),
                "--terminal-key", str(world["term_pub"]))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "照会結果.xlsx"]
    data = (out / "照会結果.xlsx").read_bytes()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["result_file"] == "照会結果.xlsx" and manifest["result_encoding"] == "xlsx"
    assert manifest["result_sha256"] == hashlib.sha256(data).hexdigest()
    ws = sheet(data)
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    rows = {r[0].value: dict(zip(header, r)) for r in ws.iter_rows(min_row=2)}
    assert {k: v["処理結果コード"].value for k, v in rows.items()} == \
        {"1": "00", "2": "00", "3": "00", "4": "90", "5": "20", "6": "90"}
    code = rows["1"]["住民票コード"]
    assert code.data_type == "s" and len(code.value) == 11 and rows["2"]["個人番号"].data_type == "s"
    assert rows["1"]["生年月日"].is_date
    assert cli.raw("verify", str(result), "--terminal-key", str(world["term_pub"]), "--password-file",
                   str(rp)).exit_code == 0
    # --table csv for one exchange overrides the department's xlsx
    drive2 = world["drives"][1]
    pw2 = put_zip_request(cli, world, drive2, password="another-password-45")
    r = exchange_ok(cli, drive2, pw2, "--table", "csv")
    (result2,) = drive2.glob("照会結果_*.zip")
    rp.write_text(r.stdout.split("照会結果パスワード: ")[1].split()[0] + "\n")
    r = cli.raw("decrypt", str(result2), "--out", str(world["tmp"] / "out2"), "--password-file", str(rp))
    assert r.exit_code == 0 and (world["tmp"] / "out2" / "照会結果.csv").exists(), r.output
