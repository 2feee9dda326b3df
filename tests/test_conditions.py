"""検索条件 table reading (contract §3): header, encoding, every row rule, xlsx and its limits."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from bulktool.checkdigit import with_check_digit
from bulktool.conditions import COLUMNS, iter_conditions, read_conditions
from bulktool.containers.limits import Limits
from bulktool.messages import MESSAGES, BulkError
from bulktool.model import TARGET_FUHYO, TARGET_JUMIN, RowError, SearchCondition

TABLES = Path(__file__).parent / "fixtures" / "tables"
KOJIN = with_check_digit("12345678901")
KOJIN_BAD_CD = KOJIN[:-1] + str((int(KOJIN[-1]) + 1) % 10)
CODE = with_check_digit("1234567890")
CODE_BAD_CD = CODE[:-1] + str((int(CODE[-1]) + 1) % 10)
FULL = "連番,対象,個人番号,住民票コード,氏名,氏名かな,生年月日,性別,住所"
FOUR = "試験 太郎,しけん たろう,1975-04-01,男,架空県見本市1-2-3"
SECRET = "秘密値ZQX"  # a distinctive value put into bad cells: it must never appear in a reason


def test_the_one_column_list_is_the_contract_and_the_refusal_names_it():
    """conditions.COLUMNS is the 検索条件 column list (contract §3); E-REQ-003 states it in prose."""
    assert COLUMNS == tuple(FULL.split(","))
    assert "使える列: " + ", ".join(COLUMNS) + "。" in MESSAGES["E-REQ-003"][1]


def read(text: str, encoding: str = "utf-8", **kw):
    return read_conditions("検索条件.csv", text.encode(encoding), **kw)


def one(row: str, header: str = FULL):
    """The single item of a table with `header` and one data row."""
    table = read(f"{header}\n{row}\n")
    assert table.rows == 1
    return table.items[0]


def refused(code: str, data: bytes, name: str = "検索条件.csv", **kw) -> BulkError:
    with pytest.raises(BulkError) as exc:
        read_conditions(name, data, **kw)
    assert exc.value.code == code
    return exc.value


def error(item, field: str) -> RowError:
    assert isinstance(item, RowError), f"expected a 90 on {field}, got {item!r}"
    assert item.field == field
    return item


def ok(item) -> SearchCondition:
    assert isinstance(item, SearchCondition), f"expected a condition, got {item!r}"
    return item


# --- encoding -----------------------------------------------------------------------------
@pytest.mark.parametrize("fixture, expected", [("ok_utf8.csv", "utf-8"), ("ok_utf8_bom.csv", "utf-8-sig"),
                                               ("ok_cp932.csv", "cp932")])
def test_encoding_is_detected_and_reported(fixture, expected):
    table = read_conditions(fixture, (TABLES / fixture).read_bytes())
    assert table.encoding == expected
    assert table.header[0] == "連番"  # BOM stripped
    assert table.rows == 4
    assert ok(table.items[2]).name == "試験 太郎"  # the same text in every encoding
    assert table.items[2].address == "架空県見本市一丁目2番3号"


@pytest.mark.parametrize("fixture", ["garbage.csv", "ok_eucjp.csv"])
def test_undecidable_encoding_is_refused(fixture):
    refused("E-REQ-001", (TABLES / fixture).read_bytes(), fixture)


def test_utf16_and_control_characters_are_refused():
    refused("E-REQ-001", f"{FULL}\n1,,{KOJIN}\n".encode("utf-16"))
    refused("E-REQ-001", f"{FULL}\n1,,{KOJIN}\x00\n".encode("utf-8"))
    refused("E-REQ-001", b"\xef\xbb\xbf" + "連番".encode("cp932"))  # a BOM over non-UTF-8


def test_unknown_extension_is_refused():
    refused("E-REQ-010", b"a,b\n", "検索条件.txt")


# --- header -------------------------------------------------------------------------------
def test_columns_in_any_order_and_names_trimmed():
    table = read(f" 住所 ,個人番号,\u3000連番\u3000\n架空県,{KOJIN},7\n")
    assert table.header == ["住所", "個人番号", "連番"]
    c = ok(table.items[0])
    assert (c.renban, c.kojin_bango, c.address) == ("7", KOJIN, "架空県")


def test_trailing_empty_header_cells_are_ignored():
    table = read(f"連番,個人番号,,\n1,{KOJIN},,\n")
    assert table.header == ["連番", "個人番号"]
    ok(table.items[0])


def test_unknown_column_refuses_the_file_naming_its_position():
    err = refused("E-REQ-003", f"連番,個人番号,{SECRET}\n1,{KOJIN},x\n".encode())
    assert "3列目" in err.message and SECRET not in err.message


def test_an_unknown_column_like_a_known_one_is_pointed_to_it():
    err = refused("E-REQ-003", f"連番,氏名カナ\n1,ア\n".encode())
    assert "2列目" in err.message and "「氏名かな」の誤りでは" in err.message and "氏名カナ" not in err.message


def test_forgotten_header_row_is_no_header_and_is_not_echoed():
    err = refused("E-REQ-002", f"1,{KOJIN},試験 太郎\n2,{KOJIN},見本 花子\n".encode())
    assert KOJIN not in err.message and "試験" not in err.message


def test_empty_column_name_between_columns_refuses_the_file():
    refused("E-REQ-003", f"連番,,個人番号\n1,,{KOJIN}\n".encode())


def test_duplicated_column_refuses_the_file():
    err = refused("E-REQ-004", f"連番,個人番号, 個人番号\n1,{KOJIN},{KOJIN}\n".encode())
    assert "個人番号" in err.message


def test_missing_renban_column_refuses_the_file():
    refused("E-REQ-005", f"個人番号\n{KOJIN}\n".encode())


def test_empty_file_has_no_header():
    refused("E-REQ-002", b"")


@pytest.mark.parametrize("body", ["", "\n", "\r\n\r\n", ",,,\n"])
def test_header_only_is_an_empty_table(body):
    refused("E-REQ-007", f"{FULL}\n{body}".encode())


def test_too_many_rows_refuses_the_file():
    rows = "".join(f"{i},,{KOJIN}\n" for i in range(1, 4))
    refused("E-REQ-006", f"{FULL}\n{rows}".encode(), limits=Limits(max_rows=2))
    assert read(f"{FULL}\n{rows}", limits=Limits(max_rows=3)).rows == 3


def test_broken_csv_names_the_line_never_the_value():
    err = refused("E-REQ-009", (TABLES / "unterminated_quote.csv").read_bytes())
    assert err.params["line"] == 3  # the line where the broken record starts
    assert "見本" not in err.message and "架空" not in err.message
    err = refused("E-REQ-009", f'連番,氏名\n1,"{SECRET}"x\n'.encode())
    assert err.params["line"] == 2 and SECRET not in err.message


# --- rows: layout ---------------------------------------------------------------------------
def test_items_keep_input_order_and_line_numbers():
    table = read(f'{FULL}\n1,,{KOJIN}\n2,,,,"試験\n太郎",,1975-04-01,,架空県\n3,,,{CODE}\n')
    assert [i.renban for i in table.items] == ["1", "2", "3"]
    assert [i.row_no for i in table.items] == [1, 2, 3]
    assert [i.line for i in table.items] == [2, 3, 5]  # a quoted line break spans two lines


def test_empty_lines_at_the_end_are_ignored_inside_they_are_90():
    table = read(f"{FULL}\n1,,{KOJIN}\n\n,,,,,,,,\n2,,{KOJIN}\n\n\n,,\n")
    assert table.rows == 4
    assert [type(i).__name__ for i in table.items] == ["SearchCondition", "RowError", "RowError", "SearchCondition"]
    assert error(table.items[1], "連番").reason == "空の行です" and table.items[2].line == 4
    assert table.items[3].row_no == 4 and table.items[3].line == 5


def test_row_with_more_cells_than_the_header_is_90():
    item = one(f"1,{KOJIN},{SECRET}", header="連番,個人番号")
    assert isinstance(item, RowError) and item.renban == "1" and SECRET not in item.message


def test_row_with_fewer_cells_than_the_header_is_read():
    assert ok(one(f"1,,{KOJIN}")).kojin_bango == KOJIN


# --- rows: 連番 ------------------------------------------------------------------------------
def test_renban_required():
    item = error(one(f",,{KOJIN}"), "連番")
    assert item.renban is None


def test_duplicate_renban_makes_the_later_row_90():
    table = read(f"{FULL}\n5,,{KOJIN}\n 5 ,,,{CODE}\n6,,,{CODE}\n")
    ok(table.items[0])
    dup = error(table.items[1], "連番")
    assert dup.renban == "5" and dup.reason == "連番が重複しています"
    ok(table.items[2])


# --- rows: 対象 ------------------------------------------------------------------------------
def test_target_defaults_to_jumin_and_accepts_fuhyo():
    assert ok(one(f"1,,{KOJIN}")).target == TARGET_JUMIN
    assert ok(one(f"1,本人確認情報,{KOJIN}")).target == TARGET_JUMIN
    assert ok(one(f"1,附票,,{CODE}")).target == TARGET_FUHYO


@pytest.mark.parametrize("target", ["住民票", "本人", "ふひょう", SECRET])
def test_target_is_strict(target):
    item = error(one(f"1,{target},{KOJIN}"), "対象")
    assert item.reason == "「本人確認情報」または「附票」を指定してください"


# --- rows: 個人番号, 住民票コード ----------------------------------------------------------------
@pytest.mark.parametrize("written", [KOJIN, KOJIN.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                                     f"{KOJIN[:4]}-{KOJIN[4:8]}-{KOJIN[8:]}", f"{KOJIN[:4]} {KOJIN[4:8]}　{KOJIN[8:]}"])
def test_kojin_bango_forms(written):
    assert ok(one(f"1,,{written}")).kojin_bango == KOJIN


@pytest.mark.parametrize("written, reason", [(KOJIN[:-1], "桁数不正"), (KOJIN + "0", "桁数不正"),
                                             (KOJIN_BAD_CD, "チェックデジット不正"), (KOJIN[:-1] + "X", "数字以外")])
def test_kojin_bango_errors(written, reason):
    item = error(one(f"1,,{written}"), "個人番号")
    assert reason in item.reason
    assert written not in item.message


@pytest.mark.parametrize("written", [CODE, f"{CODE[:5]}-{CODE[5:]}", CODE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))])
def test_jumin_code_forms(written):
    assert ok(one(f"1,,,{written}")).jumin_code == CODE


@pytest.mark.parametrize("written, reason", [(CODE[:-1], "桁数不正"), (CODE_BAD_CD, "チェックデジット不正"),
                                             (KOJIN, "桁数不正")])
def test_jumin_code_errors(written, reason):
    item = error(one(f"1,,,{written}"), "住民票コード")
    assert reason in item.reason and written not in item.message


# --- rows: names ------------------------------------------------------------------------------
def test_name_is_kept_as_given():
    c = ok(one(f"1,,,,髙橋\u3000 𠮷子,,1975-04-01,,架空県"))
    assert c.name == "髙橋\u3000 𠮷子"


@pytest.mark.parametrize("kana", ["しけん たろう", "シケン　タロウ", "ｼｹﾝ ﾀﾛｳ", "ゆーこ"])
def test_kana_forms(kana):
    c = ok(one(f"1,,,,,{kana},1975-04-01,,架空県"))
    assert c.name_kana == kana and c.name is None


@pytest.mark.parametrize("kana", ["試験たろう", "shiken", f"しけん{SECRET}"])
def test_kana_with_other_characters_is_90(kana):
    item = error(one(f"1,,,,,{kana},1975-04-01,,架空県"), "氏名かな")
    assert kana not in item.message


# --- rows: 生年月日 ---------------------------------------------------------------------------
@pytest.mark.parametrize("written, expected", [
    ("1975-04-01", date(1975, 4, 1)), ("1975/4/1", date(1975, 4, 1)), ("19750401", date(1975, 4, 1)),
    ("１９７５－０４－０１", date(1975, 4, 1)), ("1975年4月1日", date(1975, 4, 1)),
    ("昭和50年4月1日", date(1975, 4, 1)), ("S50.4.1", date(1975, 4, 1)), ("平成元年1月8日", date(1989, 1, 8)),
    ("R3.8.10", date(2021, 8, 10)), ("昭和５０年４月１日", date(1975, 4, 1)), ("平成31年4月30日", date(2019, 4, 30)),
])
def test_birth_date_forms(written, expected):
    assert ok(one(f"1,,,,試験 太郎,,{written},,架空県")).birth_date == expected


@pytest.mark.parametrize("written", ["2023-02-30", "1975-13-01", "平成31年5月1日", "昭和64年1月8日", "きのう", SECRET])
def test_bad_birth_date_is_90(written):
    item = error(one(f"1,,,,試験 太郎,,{written},,架空県"), "生年月日")
    assert item.reason and written not in item.message


# --- rows: 性別, 住所 --------------------------------------------------------------------------
@pytest.mark.parametrize("written, expected", [("男", "1"), ("女", "2"), ("1", "1"), ("2", "2"), ("１", "1"), ("２", "2")])
def test_sex_forms(written, expected):
    assert ok(one(f"1,,,,試験 太郎,,1975-04-01,{written},架空県")).sex == expected


@pytest.mark.parametrize("written", ["3", "男性", "M", SECRET])
def test_bad_sex_is_90(written):
    item = error(one(f"1,,,,試験 太郎,,1975-04-01,{written},架空県"), "性別")
    assert written not in item.message


def test_address_is_kept_as_given():
    assert ok(one("1,,,,試験 太郎,,1975-04-01,,架空県見本市二丁目１番地２号")).address == "架空県見本市二丁目１番地２号"


def test_sex_is_optional_in_four_basics():
    c = ok(one("1,,,,試験 太郎,,1975-04-01,,架空県"))
    assert c.sex is None and c.kojin_bango is None and c.jumin_code is None


# --- rows: keys ------------------------------------------------------------------------------
def test_four_basics_with_kanji_or_kana_name():
    c = ok(one(f"1,,,,{FOUR}"))
    assert (c.name, c.name_kana, c.birth_date, c.sex) == ("試験 太郎", "しけん たろう", date(1975, 4, 1), "1")
    assert ok(one("1,,,,,しけん,1975-04-01,,架空県")).name is None


def test_name_and_birth_date_without_address_is_90_naming_address():
    item = error(one("1,,,,試験 太郎,しけん,1975-04-01,男,"), "住所")
    assert "住所" in item.message


@pytest.mark.parametrize("row, field", [("1,,,,試験 太郎,,,,架空県", "生年月日"), ("1,,,,,,1975-04-01,,架空県", "氏名"),
                                        ("1,,,,,,,男,", "検索キー"), ("1", "検索キー")])
def test_incomplete_or_missing_key_is_90(row, field):
    error(one(row), field)


def test_all_keys_kept_for_jumin_priority_is_matchings():
    c = ok(one(f"1,,{KOJIN},{CODE},{FOUR}"))
    assert (c.kojin_bango, c.jumin_code, c.name) == (KOJIN, CODE, "試験 太郎")


def test_invalid_kojin_bango_is_90_even_with_a_valid_other_key():
    error(one(f"1,,{KOJIN_BAD_CD},{CODE},{FOUR}"), "個人番号")
    error(one(f"1,,{KOJIN},{CODE_BAD_CD}"), "住民票コード")


def test_fuhyo_with_only_kojin_bango_is_90():
    item = error(one(f"1,附票,{KOJIN}"), "個人番号")
    assert "附票" in item.reason


def test_fuhyo_ignores_kojin_bango_beside_another_key():
    c = ok(one(f"1,附票,{KOJIN},{CODE}"))
    assert c.kojin_bango is None and c.jumin_code == CODE
    c = ok(one(f"1,附票,{KOJIN},,{FOUR}"))
    assert c.kojin_bango is None and c.name == "試験 太郎"


def test_fuhyo_with_invalid_kojin_bango_is_still_90():
    error(one(f"1,附票,{KOJIN_BAD_CD},{CODE}"), "個人番号")


def test_row_breaking_several_rules_names_one():
    item = one(f"1,住民票,{KOJIN_BAD_CD},{CODE_BAD_CD},,漢字,2023-02-30,9,")
    assert isinstance(item, RowError) and item.field in ("対象", "個人番号", "住民票コード", "氏名かな", "生年月日", "性別")


def test_no_reason_ever_holds_a_cell_value():
    rows = [f"{SECRET}1,{SECRET}", f"{SECRET}2,,{SECRET}", f"{SECRET}3,,,{SECRET}", f"{SECRET}4,,,,,{SECRET},1975-04-01,,x",
            f"{SECRET}5,,,,{SECRET},,{SECRET},,x", f"{SECRET}6,,,,{SECRET},,1975-04-01,{SECRET},x",
            f"{SECRET}7,,,,{SECRET},,1975-04-01,,", f"{SECRET}8,,{KOJIN},,,,,,,{SECRET}"]
    table = read(FULL + "\n" + "\n".join(rows) + "\n")
    assert table.rows == len(rows)
    for item in table.items:
        assert isinstance(item, RowError)
        assert SECRET not in item.reason and SECRET not in item.message and SECRET not in item.field


# --- xlsx ------------------------------------------------------------------------------------
def xlsx_bytes(rows: list[list]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_fixture_dates_numbers_and_dropped_zeros():
    table = read_conditions("検索条件.xlsx", (TABLES / "ok.xlsx").read_bytes())
    assert table.encoding == "xlsx" and table.rows == 6  # trailing empty rows ignored, 2nd sheet unread
    assert table.header == ["連番", "個人番号", "住民票コード", "氏名", "生年月日", "住所", "対象"]
    first = ok(table.items[0])
    assert first.renban == "1" and len(first.kojin_bango) == 12  # number cell read as its digits
    for i, field in ((1, "個人番号"), (4, "住民票コード")):  # leading zero lost in a number cell: 90, never padded
        item = error(table.items[i], field)
        assert "桁数不正" in item.reason and "0" in item.reason
    assert ok(table.items[2]).birth_date == date(1975, 4, 1)  # a date cell is that date
    assert ok(table.items[3]).jumin_code.startswith("0")  # a text cell keeps its zero
    assert ok(table.items[5]).birth_date == date(1980, 2, 29)


def test_xlsx_float_and_number_birth_date_cells():
    data = xlsx_bytes([["連番", "個人番号", "氏名", "生年月日", "住所"], [1.0, float(KOJIN), None, None, None],
                       [2, None, "試験", 19750401, "架空県"], [3, 12.5, None, None, None]])
    items = read_conditions("t.xlsx", data).items
    assert ok(items[0]).renban == "1" and items[0].kojin_bango == KOJIN
    assert ok(items[1]).birth_date == date(1975, 4, 1)
    assert "数字以外" in error(items[2], "個人番号").reason


def test_xlsx_header_errors_refuse_the_file():
    refused("E-REQ-004", xlsx_bytes([["連番", "氏名", "氏名"], [1, "a", "b"]]), "t.xlsx")
    refused("E-REQ-005", xlsx_bytes([["氏名"], ["a"]]), "t.xlsx")
    refused("E-REQ-007", xlsx_bytes([["連番", "個人番号"]]), "t.xlsx")


def _rezip(data: bytes, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)))
    return out.getvalue()


def test_xlsx_sheet_dimension_cannot_hide_rows():
    data = xlsx_bytes([["連番", "個人番号"], *[[i, KOJIN] for i in range(1, 6)]])
    lying = _rezip(data, lambda n, b: re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:B2"/>', b)
                   if n.endswith("sheet1.xml") else b)
    assert b'ref="A1:B2"' in zipfile.ZipFile(io.BytesIO(lying)).read("xl/worksheets/sheet1.xml")
    assert read_conditions("t.xlsx", lying).rows == 5


def test_xlsx_entry_count_and_size_limits():
    data = (TABLES / "ok.xlsx").read_bytes()
    assert "項目数" in refused("E-REQ-008", data, "t.xlsx", limits=Limits(max_entries=5)).message
    assert "展開後" in refused("E-REQ-008", data, "t.xlsx", limits=Limits(max_expanded_bytes=4096)).message


def test_xlsx_compression_bomb_is_refused_before_openpyxl():
    bomb = _rezip((TABLES / "ok.xlsx").read_bytes(),
                  lambda n, b: b + b"<!--" + b" " * (8 << 20) + b"-->" if n.endswith("sheet1.xml") else b)
    assert "圧縮率" in refused("E-REQ-008", bomb, "t.xlsx").message


def _understated(data: bytes, entry: str, size: int) -> bytes:
    """The .xlsx with `entry`'s central-directory size set to `size` (a header that lies)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
            if info.filename == entry:
                dst.filelist[-1].file_size = size
    return out.getvalue()


def test_xlsx_header_that_lies_is_refused_by_the_zip_guard_as_a_container_is():
    data = (TABLES / "ok.xlsx").read_bytes()
    lying = _understated(data, "xl/theme/theme1.xml", 10)  # 10,140 bytes, the largest entry
    # the stream is longer than its header says: never cut to the declared size and accepted
    assert "壊れ" in refused("E-REQ-008", lying, "t.xlsx", limits=Limits(max_ratio=10**9)).message


def test_xlsx_nested_archive_is_refused():
    data = _rezip((TABLES / "ok.xlsx").read_bytes(), lambda n, b: b)
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as z:
        z.writestr("xl/embeddings/oleObject1.bin", b"PK\x03\x04 nested")
    refused("E-REQ-008", out.getvalue(), "t.xlsx")


def test_xlsx_xml_entity_bomb_is_refused():
    evil = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>')
    data = _rezip((TABLES / "ok.xlsx").read_bytes(), lambda n, b: evil if n.endswith("sheet1.xml") else b)
    refused("E-REQ-008", data, "t.xlsx")


@pytest.mark.parametrize("data", [b"not a zip at all", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, b""])
def test_xlsx_that_is_not_one_is_refused(data):
    refused("E-REQ-008", data, "t.xlsx")


def test_xlsx_truncated_is_refused():
    data = (TABLES / "ok.xlsx").read_bytes()
    refused("E-REQ-008", data[: len(data) // 2], "t.xlsx")


# --- streaming -------------------------------------------------------------------------------
def test_iter_conditions_yields_what_read_conditions_returns():
    data = (TABLES / "ok_cp932.csv").read_bytes()
    stream = iter_conditions("t.csv", data)
    assert stream.encoding == "cp932" and stream.header[0] == "連番"
    streamed = list(stream)
    table = read_conditions("t.csv", data)
    assert [(type(i), i.row_no, i.renban) for i in streamed] == [(type(i), i.row_no, i.renban) for i in table.items]


def test_iter_conditions_raises_empty_table_at_the_end():
    stream = iter_conditions("t.csv", f"{FULL}\n\n".encode())
    with pytest.raises(BulkError) as exc:
        list(stream)
    assert exc.value.code == "E-REQ-007"
