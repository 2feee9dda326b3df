"""The 検索条件 table (SPEC §3): encodings, header, every row rule, xlsx."""
from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from bulktool.checkdigit import with_check_digit
from bulktool.conditions import read_conditions
from bulktool.containers.limits import Limits
from bulktool.messages import BulkError
from bulktool.model import RowError, SearchCondition

CODE = with_check_digit("1234567890")
KOJIN = with_check_digit("12345678901")
SECRET = "秘密太郎"  # a distinctive value that must never appear in a reason


def table(*rows: str, header: str = "連番,個人番号,住民票コード,氏名,氏名かな,生年月日,性別,住所,対象") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


def one(data: bytes, name: str = "t.csv"):
    t = read_conditions(name, data)
    assert len(t.items) == 1
    return t.items[0]


def refused(data: bytes, code: str, name: str = "t.csv"):
    with pytest.raises(BulkError) as exc:
        read_conditions(name, data)
    assert exc.value.code == code
    return exc.value


def test_utf8_with_and_without_bom_and_cp932_are_detected():
    body = table(f"1,,{CODE},,,,,,").decode()
    assert read_conditions("t.csv", body.encode("utf-8")).encoding == "utf-8"
    assert read_conditions("t.csv", b"\xef\xbb\xbf" + body.encode("utf-8")).encoding == "utf-8-sig"
    assert read_conditions("t.csv", body.encode("cp932")).encoding == "cp932"
    assert read_conditions("t.csv", body.encode("cp932")).items[0].jumin_code == CODE


def test_undetectable_encoding_is_refused():
    refused(b"\x81\x00\xff\xfe garbage \x80\x80", "E-REQ-001")


def test_header_any_order_and_unknown_or_duplicate_columns_refuse():
    item = one(table(f"{CODE},1", header="住民票コード,連番"))
    assert isinstance(item, SearchCondition) and item.renban == "1"
    refused(table("1,x", header="連番,電話番号"), "E-REQ-003")
    refused(table("1,2", header="連番,連番"), "E-REQ-004")
    refused(table(f"{CODE}", header="住民票コード"), "E-REQ-005")
    refused(b"", "E-REQ-002")
    refused(table(), "E-REQ-007")


def test_broken_csv_names_the_line():
    err = refused(table(f'1,,"{CODE},,,,,,,'), "E-REQ-009")
    assert "行目" in err.message


def test_row_limit():
    data = table(*(f"{i},,{CODE},,,,,," for i in range(1, 6)))
    with pytest.raises(BulkError) as exc:
        read_conditions("t.csv", data, limits=Limits(max_rows=3))
    assert exc.value.code == "E-REQ-006"


@pytest.mark.parametrize("row,field", [
    (f",,{CODE},,,,,,", "連番"),
    ("1,12345678901,,,,,,,", "個人番号"),
    ("1,123456789012,,,,,,,", "個人番号"),
    (f"1,,{CODE[:-1]}0,,,,,,", "住民票コード") if CODE[-1] != "0" else (f"1,,{CODE[:-1]}1,,,,,,", "住民票コード"),
    ("1,,1234,,,,,,", "住民票コード"),
    (f"1,,,{SECRET},,2023-02-29,,岐阜市本町1-1-1,", "生年月日"),
    (f"1,,,{SECRET},,平成31年5月1日,,岐阜市本町1-1-1,", "生年月日"),
    (f"1,,,{SECRET},,1980-01-01,,,", "住所"),
    (f"1,,,{SECRET},,1980-01-01,不明,岐阜市本町1-1-1,", "性別"),
    (f"1,,,,{SECRET},1980-01-01,,岐阜市本町1-1-1,", "氏名かな"),
    ("1,,,,,,,,", "検索キー"),
    (f"1,,{CODE},,,,,,住民票", "対象"),
    (f"1,{KOJIN},,,,,,,附票", "個人番号"),
])
def test_row_errors_name_the_field_never_the_value(row, field):
    item = one(table(row))
    assert isinstance(item, RowError)
    assert item.field == field
    assert SECRET not in item.message and "2023-02-29" not in item.message


def test_name_and_birth_date_alone_is_never_a_key():
    item = one(table(f"1,,,山田　太郎,やまだ　たろう,1980-01-01,1,,"))
    assert isinstance(item, RowError) and item.field == "住所"


def test_duplicate_renban_makes_the_second_row_90():
    t = read_conditions("t.csv", table(f"1,,{CODE},,,,,,", f"1,,{CODE},,,,,,"))
    assert isinstance(t.items[0], SearchCondition)
    assert isinstance(t.items[1], RowError) and t.items[1].field == "連番"


def test_keys_are_normalised():
    item = one(table(f"1,{KOJIN[:4]}-{KOJIN[4:8]}-{KOJIN[8:]},,,,,,,"))
    assert item.kojin_bango == KOJIN
    full = CODE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert one(table(f"1,,{full},,,,,,")).jumin_code == CODE


def test_four_basics_with_wareki_and_sex():
    item = one(table("7,,,山田 太郎,,S50.4.1,男,岐阜市本町2丁目1番2号,"))
    assert isinstance(item, SearchCondition)
    assert item.birth_date == date(1975, 4, 1) and item.sex == "1" and item.address


def test_fuhyo_row_with_kojin_and_code_uses_the_code():
    item = one(table(f"1,{KOJIN},{CODE},,,,,,附票"))
    assert isinstance(item, SearchCondition) and item.kojin_bango is None and item.jumin_code == CODE


def test_blank_trailing_lines_are_ignored_inner_ones_are_90():
    t = read_conditions("t.csv", table(f"1,,{CODE},,,,,,", ",,,,,,,,", f"3,,{CODE},,,,,,", ",,,,,,,,", ""))
    assert len(t.items) == 3 and isinstance(t.items[1], RowError)


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_first_sheet_dates_and_number_keys():
    data = _xlsx([["連番", "住民票コード", "氏名", "生年月日", "住所"],
                  [1, int(CODE), None, None, None],
                  [2, None, "山田 太郎", datetime(1975, 4, 1), "岐阜市本町1-1-1"],
                  [3, 1234567890, None, None, None]])
    t = read_conditions("t.xlsx", data)
    assert t.encoding == "xlsx"
    a, b, c = t.items
    assert isinstance(a, SearchCondition) and a.jumin_code == CODE and a.renban == "1"
    assert isinstance(b, SearchCondition) and b.birth_date == date(1975, 4, 1)
    assert isinstance(c, RowError) and c.field == "住民票コード"  # a dropped leading zero is never padded


def test_xlsx_under_the_container_limits():
    data = _xlsx([["連番", "住民票コード"], [1, CODE]])
    with pytest.raises(BulkError) as exc:
        read_conditions("t.xlsx", data, limits=Limits(max_entries=3))
    assert exc.value.code == "E-REQ-008"
    with pytest.raises(BulkError) as exc:
        read_conditions("t.xlsx", b"PK\x03\x04broken")
    assert exc.value.code == "E-REQ-008"
