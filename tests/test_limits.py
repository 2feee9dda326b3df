"""The limits table (containers/limits.py), each limit at its edge, in process and small: the CSV
line and record bound (E-REQ-011) in the table reader and as a request's entry expands, the
xlsx XML counts (E-REQ-008, E-REQ-006), the request's size by stat (E-CON-021), and the media
codes of a drive that is gone or read-only (E-MED-029, E-MED-030). The big inputs, through the
real exchange with their memory measured, are in test_hostile_sizes.py."""
from __future__ import annotations

import base64
import errno
import io
import os
import zipfile
from pathlib import Path

import pytest

from bulktool import drive
from bulktool.conditions import iter_conditions, read_conditions
from bulktool.containers import aeszip
from bulktool.containers.limits import LineGuard, Limits
from bulktool.containers.open import open_request
from bulktool.messages import MESSAGES, BulkError
from bulktool.xlsxread import check_xlsx

HEADER = "連番,住民票コード"
PASSWORD = "limits-password-1"


def refused(code: str, fn, *args, **kwargs) -> BulkError:
    with pytest.raises(BulkError) as exc:
        fn(*args, **kwargs)
    assert exc.value.code == code, exc.value.message
    return exc.value


def test_every_limit_has_a_code_and_the_new_codes_name_the_limit_never_a_value():
    for code in ("E-CON-021", "E-REQ-011"):
        assert MESSAGES[code][0] == 1 and "{limit}" in MESSAGES[code][1]
    assert MESSAGES["E-MED-029"][0] == MESSAGES["E-MED-030"][0] == 4
    assert set(Limits.__dataclass_fields__) >= {"max_request_bytes", "max_line_bytes", "max_shared_strings",
                                                "max_shared_strings_bytes", "max_xlsx_cells", "max_row_cells"}


# --- CSV lines ---------------------------------------------------------------------------
def csv_with_line(length: int, *, end: str = "\r\n", char: str = "x") -> bytes:
    """A table whose second data line's 住民票コード cell makes that line `length` bytes long."""
    fill = length - len("2,")
    return f"{HEADER}{end}1,a{end}2,{char * (fill // len(char.encode()))}{end}3,b{end}".encode()


@pytest.mark.parametrize("end", ["\r\n", "\n", "\r"])
def test_a_line_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(end):
    limits = Limits(max_line_bytes=200)
    assert read_conditions("t.csv", csv_with_line(200, end=end), limits=limits).rows == 3
    err = refused("E-REQ-011", read_conditions, "t.csv", csv_with_line(201, end=end), limits=limits)
    assert err.params == {"line": 3, "limit": 200} and "3 行目" in err.message and "200" in err.message


def test_the_line_limit_counts_bytes_not_characters():
    limits = Limits(max_line_bytes=200)
    # 66 kanji are 198 bytes in UTF-8 (+ "2," = 200), 132 in CP932
    assert read_conditions("t.csv", csv_with_line(200, char="漢"), limits=limits).rows == 3
    refused("E-REQ-011", read_conditions, "t.csv", csv_with_line(203, char="漢"), limits=limits)
    cp932 = csv_with_line(203, char="漢").decode().encode("cp932")  # 136 bytes: within the limit
    assert read_conditions("t.csv", cp932, limits=limits).encoding == "cp932"


def test_a_record_across_quoted_line_ends_is_bounded_by_its_first_line():
    limits = Limits(max_line_bytes=200)
    many = "\r\n".join(["y" * 50] * 5)  # 5 short lines inside one quoted cell: 250 bytes in all
    data = f'{HEADER}\r\n1,a\r\n2,"{many}"\r\n'.encode()
    assert refused("E-REQ-011", read_conditions, "t.csv", data, limits=limits).params["line"] == 3
    fits = "\r\n".join(["y" * 30] * 5)
    assert read_conditions("t.csv", f'{HEADER}\r\n1,a\r\n2,"{fits}"\r\n'.encode(), limits=limits).rows == 2


def test_a_huge_first_line_is_refused_as_the_header_is_read():
    data = (HEADER + ",").encode() + b"1," * (2 << 20)  # 4 MiB, one line
    assert refused("E-REQ-011", read_conditions, "t.csv", data).params == {"line": 1, "limit": 64 * 1024}


def test_the_encoding_rules_hold_as_the_table_is_decoded_piece_by_piece():
    kanji = ("連番,氏名\r\n" + "".join(f"{i},山田{i}\r\n" for i in range(120_000))).encode()  # > 1 MiB
    assert iter_conditions("t.csv", kanji).encoding == "utf-8"  # the whole table sniffed, the header read
    assert iter_conditions("t.csv", b"\xef\xbb\xbf" + kanji).encoding == "utf-8-sig"
    assert iter_conditions("t.csv", kanji.decode().encode("cp932")).encoding == "cp932"
    refused("E-REQ-001", iter_conditions, "t.csv", kanji + b"\x00")
    refused("E-REQ-001", iter_conditions, "t.csv", kanji + b"\x81")  # a lead byte cut at the end: no encoding
    refused("E-REQ-001", read_conditions, "t.csv", "連番,氏名\r\n1,山田\r\n".encode("euc_jp"))
    # a multi-byte character cut by a 1 MiB piece boundary still decodes
    cut = ("連番,氏名\r\n1," + "あ," * 300_000 + "\r\n").encode()  # 1.2 MB: one line of short cells
    assert read_conditions("t.csv", cut, limits=Limits(max_line_bytes=2 << 20)).rows == 1


@pytest.mark.parametrize("pieces", [[b"ab\ncd\r\nef"], [b"ab", b"cd\r", b"\nef"], [b"a"] * 4])
def test_line_guard_follows_lines_across_chunks(pieces):
    guard = LineGuard(4)
    for p in pieces:
        guard(p)


@pytest.mark.parametrize("pieces,line", [([b"abcde"], 1), ([b"ab", b"cde"], 1), ([b"ab\nc", b"d\r\nabcde"], 3),
                                         ([b"ab\n", b"abcdefgh\nab"], 2), ([b"\n" * 3 + b"x" * 9], 4)])
def test_line_guard_refuses_a_long_line_with_its_number(pieces, line):
    guard = LineGuard(4)
    with pytest.raises(BulkError) as exc:
        for p in pieces:
            guard(p)
    assert exc.value.code == "E-REQ-011" and exc.value.params["line"] == line


def test_a_request_zip_stops_expanding_its_table_at_the_long_line():
    table = (HEADER + ",").encode() + base64.b64encode(os.urandom(6 << 20))  # one 8 MiB line, not a bomb
    data = aeszip.write_request("検索条件.csv", table, PASSWORD, when=(2026, 1, 1, 0, 0, 0))
    seen = []

    def counting(base):
        guard = aeszip.csv_lines(Limits())(base)
        return lambda chunk: (seen.append(len(chunk)), guard(chunk))

    refused("E-REQ-011", aeszip.read_entries, data, PASSWORD.encode(), Limits(), watch=counting)
    assert sum(seen) <= 1 << 20  # refused in the first chunk, not after expanding 8 MiB
    refused("E-REQ-011", aeszip.read_request, data, PASSWORD.encode())


def test_a_request_zip_with_normal_lines_opens_as_before():
    table = (HEADER + "\r\n" + "".join(f"{i},x\r\n" for i in range(200_000))).encode()
    data = aeszip.write_request("検索条件.csv", table, PASSWORD, when=(2026, 1, 1, 0, 0, 0))
    assert aeszip.read_request(data, PASSWORD.encode()).table == table


# --- the request's size -----------------------------------------------------------------
def test_a_request_over_the_size_limit_is_refused_by_stat_before_it_is_opened(tmp_path, monkeypatch):
    big = tmp_path / "依頼.zip"
    with open(big, "wb") as fh:
        fh.truncate(1 << 30)  # sparse
    monkeypatch.setattr("builtins.open", lambda *a, **k: pytest.fail("opened"))
    err = refused("E-CON-021", drive.read_request, big, 1 << 20)
    assert err.params == {"name": "依頼.zip", "limit": 1 << 20}
    monkeypatch.undo()
    small = tmp_path / "small.zip"
    small.write_bytes(b"x" * 100)
    assert drive.read_request(small, 100) == b"x" * 100
    refused("E-CON-021", drive.read_request, small, 99)


def test_open_request_refuses_bytes_over_the_size_limit():
    refused("E-CON-021", open_request, "依頼.zip", b"x" * 101, password=b"p", terminal_x25519=None,
            department_ed25519=None, limits=Limits(max_request_bytes=100))


# --- xlsx ------------------------------------------------------------------------------
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def xlsx(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def sst(n: int, *, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns{":" + prefix if prefix else ""}="{MAIN}"'
    return (f"<{p}sst {ns}>" + "".join(f"<{p}si><{p}t>s{i}</{p}t></{p}si>" for i in range(n)) + f"</{p}sst>").encode()


def sheet(rows: int, cells: int) -> bytes:
    row = "".join(f"<c><v>{i}</v></c>" for i in range(cells))
    return (f'<worksheet xmlns="{MAIN}"><sheetData>' + f"<row>{row}</row>" * rows + "</sheetData></worksheet>").encode()


@pytest.mark.parametrize("prefix", ["", "x"])
def test_xlsx_shared_strings_are_counted_whatever_the_part_is_named(prefix):
    limits = Limits(max_shared_strings=10)
    check_xlsx(xlsx({"xl/sharedStrings.xml": sst(10, prefix=prefix)}), limits)
    err = refused("E-REQ-008", check_xlsx, xlsx({"xl/strings/other.dat": sst(11, prefix=prefix)}), limits)
    assert "共有文字列の数が上限 10 個" in err.message


def test_xlsx_shared_strings_bytes_are_bounded():
    data = xlsx({"xl/sharedStrings.xml": sst(50_000)})  # ~1.2 MB of XML
    check_xlsx(data, Limits(max_shared_strings_bytes=2 << 20))
    assert "共有文字列の大きさ" in refused("E-REQ-008", check_xlsx, data, Limits(max_shared_strings_bytes=1 << 20)).message


def test_xlsx_cells_rows_and_cells_in_a_row_are_bounded():
    data = xlsx({"xl/worksheets/sheet1.xml": sheet(rows=5, cells=4)})
    check_xlsx(data, Limits(max_xlsx_cells=20, max_row_cells=4, max_rows=4))
    assert "セルの数が上限 19 個" in refused("E-REQ-008", check_xlsx, data, Limits(max_xlsx_cells=19)).message
    assert "一行のセルの数が上限 3 個" in refused("E-REQ-008", check_xlsx, data, Limits(max_row_cells=3)).message
    assert refused("E-REQ-006", check_xlsx, data, Limits(max_rows=3)).params == {"limit": 3}


def test_xlsx_an_element_that_never_ends_is_bounded():
    huge = f'<worksheet xmlns="{MAIN}"><sheetData><row><c r="'.encode() + b"A" * (3 << 20) + b'"/></row>'
    data = xlsx({"xl/worksheets/sheet1.xml": huge + b"</sheetData></worksheet>"})
    check_xlsx(data, Limits(max_ratio=10**6))
    err = refused("E-REQ-008", check_xlsx, data, Limits(max_ratio=10**6, max_xml_token_bytes=1 << 20))
    assert "XML の一つの要素" in err.message


def test_xlsx_entity_declarations_are_refused_and_parts_that_are_not_xml_are_not_counted():
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><sst xmlns="%s"/>' % MAIN.encode()
    assert "エンティティ" in refused("E-REQ-008", check_xlsx, xlsx({"xl/sharedStrings.xml": evil})).message
    check_xlsx(xlsx({"xl/media/image1.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40,
                     "xl/sharedStrings.xml": sst(3)}), Limits(max_shared_strings=3))


# --- the drive --------------------------------------------------------------------------
def test_a_drive_path_that_is_not_there_is_e_med_029_and_a_file_is_e_med_009(tmp_path):
    assert refused("E-MED-029", drive.check_drive, tmp_path / "unplugged").exit_code == 4
    (tmp_path / "file").write_bytes(b"")
    assert refused("E-MED-009", drive.check_drive, tmp_path / "file").params["detail"] == "フォルダではありません"


@pytest.mark.parametrize("number,code", [(errno.EROFS, "E-MED-030"), (errno.ENOENT, "E-MED-029"),
                                         (errno.ENODEV, "E-MED-029"), (errno.EIO, "E-MED-009"),
                                         (errno.EACCES, "E-MED-009")])
def test_media_error_maps_each_os_error_to_its_media_code(number, code):
    err = drive.media_error(Path("/media/usb"), OSError(number, "x"))
    assert err.code == code and err.exit_code == 4


def test_write_atomic_on_a_read_only_drive_reports_read_only_and_not_its_cleanup(tmp_path, monkeypatch):
    real_open = drive.os.open

    def erofs(path, flags, *a, **k):
        if flags & drive.os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *a, **k)

    def unlink(self, missing_ok=False):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(drive.os, "open", erofs)
    monkeypatch.setattr(Path, "unlink", unlink)
    refused("E-MED-030", drive.write_atomic, tmp_path, "r.zip", b"data")


def test_check_writable_passes_a_writable_drive(tmp_path):
    drive.check_writable(tmp_path)  # the read-only mount itself: test_hostile_sizes.py
