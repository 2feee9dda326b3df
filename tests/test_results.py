"""照会結果.csv writing (contract §5): columns, order, permitted fields, encodings, 外字, formulas."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulktool.manifest import count_statuses
from bulktool.model import FUHYO_FIELDS, JUMIN_FIELDS, MatchResult, Status
from bulktool.results import RESULT_COLUMNS_FIXED, neutralise, write_results

RECORD = {"住民票コード": "01234567890", "氏名": "試験 太郎", "氏名かな": "しけん たろう", "生年月日": "1975-04-01",
          "性別": "1", "住所": "架空県見本市1-2-3", "個人番号": "012345678901", "異動事由": "転入",
          "異動年月日": "2001-04-01"}
FUHYO_RECORD = {k: v for k, v in RECORD.items() if k in FUHYO_FIELDS}


def hit(n: int, record: dict | None = None, *, status: Status = Status.HIT, gaiji: bool = False, count: int | None = 1):
    return MatchResult(n, str(n), status, count, status.label, dict(record if record is not None else RECORD), gaiji)


def other(n: int, status: Status, count: int | None, message: str | None = None):
    return MatchResult(n, str(n), status, count, message or status.label)


def parse(data: bytes, encoding: str = "utf-8") -> list[list[str]]:
    text = data.decode("utf-8-sig" if encoding == "utf-8" else "cp932")
    return list(csv.reader(io.StringIO(text, newline="")))


def as_dicts(data: bytes, encoding: str = "utf-8") -> list[dict[str, str]]:
    rows = parse(data, encoding)
    return [dict(zip(rows[0], r)) for r in rows[1:]]


# --- columns ---------------------------------------------------------------------------------
def test_columns_fixed_then_permitted_fields_in_the_laws_order_then_gaiji():
    table = write_results([hit(1)], fields=["住所", "氏名", "生年月日"])
    header = parse(table.data)[0]
    assert RESULT_COLUMNS_FIXED == ("連番", "処理結果コード", "処理結果", "該当件数")
    assert header == [*RESULT_COLUMNS_FIXED, "氏名", "生年月日", "住所", "外字フラグ"]


def test_all_fields_follow_jumin_fields_order():
    header = parse(write_results([], fields=list(reversed(JUMIN_FIELDS))).data)[0]
    assert header == [*RESULT_COLUMNS_FIXED, *JUMIN_FIELDS, "外字フラグ"]


def test_only_permitted_fields_are_written():
    table = write_results([hit(1)], fields=["氏名"])
    assert b"012345678901" not in table.data and "架空県".encode() not in table.data
    assert as_dicts(table.data)[0]["氏名"] == "試験 太郎"


def test_unknown_field_names_are_ignored():
    header = parse(write_results([], fields=["氏名", "電話番号"]).data)[0]
    assert "電話番号" not in header and "氏名" in header


# --- rows ------------------------------------------------------------------------------------
def test_one_row_per_input_in_input_order_with_counts():
    results = [hit(1), other(2, Status.NOT_FOUND, 0), other(3, Status.MULTIPLE, 3),
               other(4, Status.INPUT_ERROR, None, "入力エラー：住所（4情報の照会には住所が必要です）"),
               hit(5, status=Status.HIT_REMOVED), other(6, Status.NOT_FOUND, 0)]
    table = write_results(results, fields=JUMIN_FIELDS)
    rows = as_dicts(table.data)
    assert [r["連番"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [r["処理結果コード"] for r in rows] == ["00", "20", "30", "90", "10", "20"]
    assert [r["処理結果"] for r in rows] == ["該当", "該当なし", "複数該当",
                                            "入力エラー：住所（4情報の照会には住所が必要です）", "該当（消除者）", "該当なし"]
    assert [r["該当件数"] for r in rows] == ["1", "0", "3", "", "1", "0"]
    assert table.rows == 6
    assert table.counts == {"00": 1, "10": 1, "20": 2, "30": 1, "90": 1}
    assert table.not_found == ["2", "6"]


def test_count_column_follows_the_status_not_the_caller():
    results = [hit(1, count=None), other(2, Status.NOT_FOUND, None), other(3, Status.INPUT_ERROR, 7)]
    assert [r["該当件数"] for r in as_dicts(write_results(results, fields=[]).data)] == ["1", "0", ""]


def test_data_cells_only_for_00_and_10():
    results = [hit(1), hit(2, status=Status.HIT_REMOVED),
               MatchResult(3, "3", Status.MULTIPLE, 2, "複数該当", dict(RECORD), True),
               MatchResult(4, "4", Status.NOT_FOUND, 0, "該当なし", dict(RECORD), True),
               MatchResult(5, "5", Status.INPUT_ERROR, None, "入力エラー", dict(RECORD), True)]
    rows = as_dicts(write_results(results, fields=JUMIN_FIELDS).data)
    for r in rows[:2]:
        assert [r[f] for f in JUMIN_FIELDS] == [RECORD[f] for f in JUMIN_FIELDS]
    for r in rows[2:]:
        assert all(r[f] == "" for f in JUMIN_FIELDS) and r["外字フラグ"] == ""


def test_fuhyo_row_leaves_the_fields_a_fuhyo_lacks_empty():
    row = as_dicts(write_results([hit(1, FUHYO_RECORD)], fields=JUMIN_FIELDS).data)[0]
    assert row["異動事由"] == "" and row["異動年月日"] == "" and row["住所"] == RECORD["住所"]


def test_dates_iso_and_sex_digit():
    rec = dict(RECORD, 生年月日=date(1975, 4, 1), 異動年月日=date(2001, 4, 1))
    row = as_dicts(write_results([hit(1, rec)], fields=JUMIN_FIELDS).data)[0]
    assert (row["生年月日"], row["異動年月日"], row["性別"]) == ("1975-04-01", "2001-04-01", "1")


def test_gaiji_flag_from_the_result():
    rows = as_dicts(write_results([hit(1, gaiji=True), hit(2)], fields=["氏名"]).data)
    assert [r["外字フラグ"] for r in rows] == ["1", ""]


# --- bytes -----------------------------------------------------------------------------------
def test_utf8_with_bom_and_crlf():
    data = write_results([hit(1), other(2, Status.NOT_FOUND, 0)], fields=["氏名"]).data
    assert data.startswith(b"\xef\xbb\xbf" + "連番,".encode())
    body = data[3:]
    assert body.count(b"\r\n") == 3 and body.replace(b"\r\n", b"").count(b"\n") == 0
    assert data.endswith(b"\r\n")


def test_cp932_has_no_bom_and_crlf():
    data = write_results([hit(1)], fields=["氏名"], encoding="cp932").data
    assert data.startswith("連番,".encode("cp932")) and data.endswith(b"\r\n")
    assert as_dicts(data, "cp932")[0]["氏名"] == "試験 太郎"


def test_cp932_substitutes_geta_counts_and_flags_the_row():
    rec = dict(RECORD, 氏名="𠮷田 太郎", 住所="架空県𠮷野町1-2")
    table = write_results([hit(1, rec), hit(2)], fields=["氏名", "住所"], encoding="cp932")
    rows = as_dicts(table.data, "cp932")
    assert rows[0]["氏名"] == "〓田 太郎" and rows[0]["住所"] == "架空県〓野町1-2"
    assert [r["外字フラグ"] for r in rows] == ["1", ""]
    assert table.gaiji_substitutions == 2


def test_utf8_keeps_characters_cp932_cannot_hold():
    rec = dict(RECORD, 氏名="𠮷田 太郎")
    table = write_results([hit(1, rec)], fields=["氏名"])
    row = as_dicts(table.data)[0]
    assert row["氏名"] == "𠮷田 太郎" and row["外字フラグ"] == "" and table.gaiji_substitutions == 0


def test_cp932_lookalikes_are_mapped_not_substituted():
    rec = dict(RECORD, 住所="架空県〜見本−1‖—")
    table = write_results([hit(1, rec)], fields=["住所"], encoding="cp932")
    assert "架空県～見本－1∥―".encode("cp932") in table.data
    assert b"\x81\x60" in table.data  # the WAVE DASH / FULLWIDTH TILDE byte pair Windows shows as 〜
    assert table.gaiji_substitutions == 0 and as_dicts(table.data, "cp932")[0]["外字フラグ"] == ""


def test_cp932_wave_dash_alone_takes_the_windows_bytes():
    table = write_results([hit(1, dict(RECORD, 住所="架空県〜見本−1"))], fields=["住所"], encoding="cp932")
    assert "架空県～見本－1".encode("cp932") in table.data and table.gaiji_substitutions == 0


def test_unknown_encoding_is_a_programming_error():
    with pytest.raises(ValueError):
        write_results([], fields=[], encoding="euc-jp")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised(start):
    rec = dict(RECORD, 住所=f"{start}SUM(A1)", 氏名=f"{start}cmd|' /C calc'!A0")
    results = [hit(1, rec), MatchResult(2, f"{start}2", Status.NOT_FOUND, 0, "該当なし")]
    rows = as_dicts(write_results(results, fields=["氏名", "住所"]).data)
    assert rows[0]["住所"] == f"'{start}SUM(A1)" and rows[0]["氏名"].startswith(f"'{start}")
    assert rows[1]["連番"] == f"'{start}2"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="=+-@\t\r a1漢,\"", max_size=6), min_size=3, max_size=3))
def test_every_cell_is_neutralised_exactly_as_the_one_rule_says(texts):
    """write_results tests a whole row at once before looking at cells: it must agree with
    neutralise() on every cell, wherever in the row a formula-like cell sits."""
    renban, name, address = texts
    rec = dict(RECORD, 氏名=name, 住所=address)
    row = parse(write_results([hit(1, rec)], fields=["氏名", "住所"]).data)[1]
    assert row[0] == neutralise(str(1)) and row[4:6] == [neutralise(name), neutralise(address)]
    miss = parse(write_results([MatchResult(1, renban, Status.NOT_FOUND, 0, "該当なし")], fields=["氏名"]).data)[1]
    assert miss[0] == neutralise(renban)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet='",\r\n=- a漢\'', max_size=5), min_size=3, max_size=3))
def test_rows_are_byte_for_byte_what_csv_writer_writes(texts):
    """write_results writes a row that needs no quotes itself: it must be the bytes csv.writer
    (QUOTE_MINIMAL, CRLF) writes for the same cells."""
    renban, name, address = texts
    table = write_results([hit(1, dict(RECORD, 氏名=name, 住所=address)),
                           MatchResult(2, renban, Status.NOT_FOUND, 0, "該当なし")], fields=["氏名", "住所"])
    expected = io.StringIO()
    w = csv.writer(expected, lineterminator="\r\n")
    w.writerow(["連番", "処理結果コード", "処理結果", "該当件数", "氏名", "住所", "外字フラグ"])
    w.writerow(["1", "00", "該当", "1", neutralise(name), neutralise(address), ""])
    w.writerow([neutralise(renban), "20", "該当なし", "0", "", "", ""])
    assert table.data == b"\xef\xbb\xbf" + expected.getvalue().encode("utf-8")


def test_ordinary_cells_are_not_touched():
    rec = dict(RECORD, 住所="架空県見本市1-2-3", 氏名="試験=太郎")
    row = as_dicts(write_results([hit(1, rec)], fields=["氏名", "住所"]).data)[0]
    assert row["住所"] == "架空県見本市1-2-3" and row["氏名"] == "試験=太郎"


def test_quoting_is_minimal_and_round_trips():
    rec = dict(RECORD, 住所='架空県,見本"市"\r\n1-2')
    table = write_results([hit(1, rec)], fields=["氏名", "住所"])
    assert as_dicts(table.data)[0]["住所"] == '架空県,見本"市"\r\n1-2'
    assert b'"' not in table.data.split(b"\r\n")[0]  # the header is not quoted


def test_manifest_counts_agree_with_the_written_table():
    results = [hit(1), other(2, Status.NOT_FOUND, 0), other(3, Status.MULTIPLE, 2), other(4, Status.INPUT_ERROR, None)]
    for enc in ("utf-8", "cp932"):
        table = write_results(results, fields=JUMIN_FIELDS, encoding=enc)
        rows, counts = count_statuses(table.data, enc)
        assert rows == table.rows == 4
        assert {k: v for k, v in table.counts.items() if v} == counts


def test_large_tables_are_written_whole():
    results = [hit(i) if i % 2 else other(i, Status.NOT_FOUND, 0) for i in range(1, 25_002)]
    table = write_results(results, fields=["氏名"])
    rows = parse(table.data)
    assert len(rows) == 25_002 and rows[-1][0] == "25001" and table.counts["20"] == 12_500
