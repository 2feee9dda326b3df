"""AES-256 ZIP requests and results (bulktool.containers.aeszip).

Named fixtures in tests/fixtures/containers (made by make_container_fixtures.py, synthetic data
only): each good_*.zip opens, each fail_*.zip is refused with its code. Plus 7-Zip interop in
both directions (7-Zip must be installed: these tests fail, never skip, without it).
"""
from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import pyzipper

from bulktool.checkdigit import with_check_digit
from bulktool.containers import aeszip
from bulktool.containers.limits import DEFAULT_LIMITS, Limits
from bulktool.messages import MESSAGES, BulkError

ZIP_TIME = (2026, 12, 3, 9, 0, 0)  # an entry's time stamp (the clock is passed in)

FIX = Path(__file__).parent / "fixtures" / "containers"
PASSWORD = b"fixture-password-1"  # the fixtures' password: test data
TABLE = ("連番,住民票コード\r\n" + "".join(f"{i},{with_check_digit(f'{i:010d}')}\r\n" for i in range(1, 6))).encode()


def read(name: str, password: bytes = PASSWORD, limits: Limits = DEFAULT_LIMITS) -> aeszip.RequestFiles:
    return aeszip.read_request((FIX / name).read_bytes(), password, limits)


def code_of(fn, *args, **kw) -> str:
    with pytest.raises(BulkError) as exc:
        fn(*args, **kw)
    return exc.value.code


# --- the fixture table ----------------------------------------------------------------------

@pytest.mark.parametrize("name,table_name,irai", [
    ("good_utf8_csv.zip", "検索条件.csv", False),
    ("good_with_irai.zip", "検索条件.csv", True),
    ("good_xlsx.zip", "検索条件.xlsx", False),
    ("good_cp932_name.zip", "検索条件一覧.csv", False),  # no UTF-8 flag: cp437 → CP932
    ("good_folder_prefix.zip", "検索条件.csv", False),  # "out/検索条件.csv" as 7-Zip keeps it
])
def test_good_fixture_opens(name, table_name, irai):
    files = read(name)
    assert files.table_name == table_name
    if name.endswith("xlsx.zip"):
        assert files.table[:2] == b"PK"  # the xlsx itself, not opened here
    else:
        assert files.table == TABLE
    assert (files.irai is not None) is irai
    if irai:
        assert json.loads(files.irai) == {"照会元": "D01", "事務": "P01", "依頼番号": "R-1"}


LIES = Limits(max_expanded_bytes=100_000)  # header says 1,000 bytes, the stream is ~4 MB

FAIL_FIXTURES = [
    ("fail_zipcrypto.zip", DEFAULT_LIMITS, "E-CON-002"),
    ("fail_aes128.zip", DEFAULT_LIMITS, "E-CON-018"),
    ("fail_unencrypted.zip", DEFAULT_LIMITS, "E-CON-003"),
    ("fail_tampered.zip", DEFAULT_LIMITS, "E-CON-004"),
    ("fail_truncated.zip", DEFAULT_LIMITS, "E-CON-011"),
    ("fail_two_tables.zip", DEFAULT_LIMITS, "E-CON-005"),
    ("fail_nested_zip.zip", DEFAULT_LIMITS, "E-CON-006"),
    ("fail_abs_path.zip", DEFAULT_LIMITS, "E-CON-007"),
    ("fail_dotdot.zip", DEFAULT_LIMITS, "E-CON-007"),
    ("fail_symlink.zip", DEFAULT_LIMITS, "E-CON-007"),
    ("fail_too_many_entries.zip", DEFAULT_LIMITS, "E-CON-008"),
    ("fail_header_lies.zip", LIES, "E-CON-009"),
    ("fail_bomb_ratio.zip", DEFAULT_LIMITS, "E-CON-010"),
    ("fail_unexpected_entry.zip", DEFAULT_LIMITS, "E-CON-012"),
]


@pytest.mark.parametrize("name,limits,code", FAIL_FIXTURES, ids=[f[0] for f in FAIL_FIXTURES])
def test_fail_fixture_is_refused_with_its_code(name, limits, code):
    assert code_of(read, name, limits=limits) == code


def test_every_zip_fixture_is_in_a_table():
    listed = {f[0] for f in FAIL_FIXTURES} | {"good_utf8_csv.zip", "good_with_irai.zip", "good_xlsx.zip",
                                              "good_cp932_name.zip", "good_folder_prefix.zip"}
    assert {p.name for p in FIX.glob("*.zip")} == listed


def test_fail_wrong_password_shares_the_tampered_code():
    assert code_of(read, "good_utf8_csv.zip", password=b"not-the-password") == "E-CON-004"
    assert code_of(read, "good_with_irai.zip", password=b"") == "E-CON-004"


def test_zipcrypto_refusal_says_how_to_make_an_aes_archive():
    with pytest.raises(BulkError) as exc:
        read("fail_zipcrypto.zip")
    assert "AES-256" in exc.value.message and "7-Zip" in exc.value.message
    assert "request zip" in exc.value.message


def test_header_that_lies_is_never_cut_to_its_declared_size():
    # at the default limits the streamed ratio trips first …
    assert code_of(read, "fail_header_lies.zip") == "E-CON-010"
    # … and with no ratio limit the stream longer than its header is refused, not silently cut
    assert code_of(read, "fail_header_lies.zip", limits=Limits(max_ratio=10**9)) == "E-CON-011"


def test_declared_sizes_are_checked_before_reading():
    # wrong password: had anything been decrypted, the answer would be E-CON-004
    assert code_of(read, "good_utf8_csv.zip", password=b"wrong", limits=Limits(max_expanded_bytes=10)) == "E-CON-009"


def test_names_are_refused_before_anything_is_decrypted():
    assert code_of(read, "fail_nested_zip.zip", password=b"wrong") == "E-CON-006"
    assert code_of(read, "fail_unexpected_entry.zip", password=b"wrong") == "E-CON-012"
    assert code_of(read, "fail_two_tables.zip", password=b"wrong") == "E-CON-005"


def test_entry_limit_counts_files_not_folders():
    assert read("good_folder_prefix.zip", limits=Limits(max_entries=1)).table == TABLE
    assert code_of(read, "good_with_irai.zip", limits=Limits(max_entries=1)) == "E-CON-008"


@pytest.mark.parametrize("name", ["/etc/a.csv", "../a.csv", "x/../../a.csv", "..\\..\\a.csv", "x\\..\\a.csv",
                                  "C:/a.csv", "c:a.csv", "\\\\server\\share\\a.csv", "a\0.csv"])
def test_unsafe_names_are_refused(name):
    assert code_of(aeszip._check_name, name) == "E-CON-007"


def test_unsafe_name_inside_a_real_archive():
    for name in ("..\\..\\a.csv", "C:/Windows/a.csv"):
        data = aeszip.write_result([(name, TABLE)], "pw-123456", when=ZIP_TIME)
        assert code_of(aeszip.read_request, data, b"pw-123456") == "E-CON-007"


def test_second_irai_is_unexpected():
    data = aeszip.write_result([("a.csv", TABLE), ("依頼票.json", b"{}"), ("x/依頼票.json", b"{}")], "pw-123456", when=ZIP_TIME)
    assert code_of(aeszip.read_request, data, b"pw-123456") == "E-CON-012"


@pytest.mark.parametrize("inner", ["a.7z", "a.gz", "a.LZH", "a.rar", "a.tar", "a.bte"])
def test_nested_archives_of_every_kind(inner):
    data = aeszip.write_result([("a.csv", TABLE), (inner, b"x")], "pw-123456", when=ZIP_TIME)
    assert code_of(aeszip.read_request, data, b"pw-123456") == "E-CON-006"


def test_not_a_zip():
    assert code_of(aeszip.read_request, b"", PASSWORD) == "E-CON-011"
    assert code_of(aeszip.read_request, "連番\r\n".encode(), PASSWORD) == "E-CON-011"


def test_messages_carry_no_content():
    # a refused entry name may appear; the table's bytes never do
    with pytest.raises(BulkError) as exc:
        read("fail_tampered.zip")
    assert "12345" not in str(exc.value) and exc.value.params == {}


# --- writing ---------------------------------------------------------------------------------

def test_write_result_is_aes256_ae2_with_utf8_names():
    data = aeszip.write_result([("照会結果.csv", TABLE), ("manifest.json", b"{}")], "pw-123456", when=ZIP_TIME)
    infos = pyzipper.AESZipFile(io.BytesIO(data)).infolist()
    assert [i.filename for i in infos] == ["照会結果.csv", "manifest.json"]
    for info in infos:
        assert info.flag_bits & 0x1 and info.flag_bits & 0x800
        assert (info.wz_aes_version, info.wz_aes_strength) == (2, 3)  # AE-2, AES-256
        assert info.CRC == 0  # AE-2 keeps no plaintext CRC in clear
        assert info.compress_type == pyzipper.ZIP_DEFLATED
    zf = pyzipper.AESZipFile(io.BytesIO(data))
    zf.setpassword(b"pw-123456")
    assert zf.read("照会結果.csv") == TABLE


def test_the_deflate_level_is_applied():
    import random

    rnd = random.Random(7)
    data = "".join(f"{i},{rnd.randrange(10**10)},{rnd.choice(['山田', '佐藤', '鈴木'])}\r\n" for i in range(20000)).encode()
    fast, small = aeszip._write([("a.csv", data)], "pw-123456", 1, ZIP_TIME), aeszip._write([("a.csv", data)], "pw-123456", 9, ZIP_TIME)
    assert len(fast) > len(small) * 1.02
    assert aeszip.read_request(fast, b"pw-123456").table == data


def test_write_request_round_trips_through_read_request():
    irai = json.dumps({"照会元": "D01"}, ensure_ascii=False).encode()
    data = aeszip.write_request("検索条件.csv", TABLE, "パス-123456", irai, when=ZIP_TIME)
    files = aeszip.read_request(data, "パス-123456".encode())
    assert (files.table_name, files.table, files.irai) == ("検索条件.csv", TABLE, irai)


def test_empty_password_is_refused():
    assert code_of(aeszip.write_result, [("a.csv", b"x")], "", when=ZIP_TIME) == "E-CON-019"


def test_new_password_alphabet_length_and_entropy():
    assert not set(aeszip.ALPHABET) & set("0O1lI")
    assert len(set(aeszip.ALPHABET)) == len(aeszip.ALPHABET) == 57
    passwords = [aeszip.new_password() for _ in range(200)]
    assert len(set(passwords)) == 200
    for pw in passwords:
        assert len(pw) >= 20 and set(pw) <= set(aeszip.ALPHABET)
        assert len(pw) * math.log2(len(aeszip.ALPHABET)) >= 100
    # every character of the alphabet turns up: the choice is not stuck on a subset
    assert set("".join(passwords)) == set(aeszip.ALPHABET)


def test_messages_exist_for_every_code_used():
    for code in ("E-CON-002", "E-CON-018", "E-CON-019"):
        assert code in MESSAGES


# --- 7-Zip interop ---------------------------------------------------------------------------

def seven_zip() -> str:
    for name in ("7zz", "7z"):
        if shutil.which(name):
            return name
    raise AssertionError("7-Zip is required for the interop tests (Debian: apt-get install 7zip)")


def test_7zip_opens_a_result_we_wrote(tmp_path):
    pw = aeszip.new_password()
    manifest = json.dumps({"ledger_entry": 7}).encode()
    (tmp_path / "照会結果_7.zip").write_bytes(aeszip.write_result([("照会結果.csv", TABLE), ("manifest.json", manifest)], pw, when=ZIP_TIME))
    r = subprocess.run([seven_zip(), "x", f"-p{pw}", f"-o{tmp_path / 'out'}", str(tmp_path / "照会結果_7.zip")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "out" / "照会結果.csv").read_bytes() == TABLE
    assert (tmp_path / "out" / "manifest.json").read_bytes() == manifest
    r = subprocess.run([seven_zip(), "l", "-slt", f"-p{pw}", str(tmp_path / "照会結果_7.zip")],
                       capture_output=True, text=True)
    assert r.stdout.count("Method = AES-256 Deflate") == 2, r.stdout


def test_7zip_refuses_a_result_with_a_wrong_password(tmp_path):
    (tmp_path / "r.zip").write_bytes(aeszip.write_result([("照会結果.csv", TABLE)], "right-password-123", when=ZIP_TIME))
    r = subprocess.run([seven_zip(), "x", "-pwrong", f"-o{tmp_path / 'out'}", str(tmp_path / "r.zip")],
                       capture_output=True, text=True)
    assert r.returncode != 0


def test_we_read_a_request_7zip_made_with_folder_prefix_and_japanese_names(tmp_path):
    folder = tmp_path / "依頼"
    folder.mkdir()
    (folder / "検索条件.csv").write_bytes(TABLE)
    (folder / "依頼票.json").write_bytes('{"照会元": "D01"}'.encode())
    r = subprocess.run([seven_zip(), "a", "-tzip", "-mem=AES256", "-pseven-pass", str(tmp_path / "r.zip"), "依頼"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    data = (tmp_path / "r.zip").read_bytes()
    names = [i.filename for i in pyzipper.AESZipFile(io.BytesIO(data)).infolist()]
    assert "依頼/検索条件.csv" in names  # 7-Zip kept the folder prefix
    files = aeszip.read_request(data, b"seven-pass")
    assert (files.table_name, files.table) == ("検索条件.csv", TABLE)
    assert json.loads(files.irai) == {"照会元": "D01"}
    assert code_of(aeszip.read_request, data, b"seven-wrong") == "E-CON-004"


def test_7zip_zipcrypto_and_aes128_are_refused(tmp_path):
    (tmp_path / "検索条件.csv").write_bytes(TABLE)
    for method, code in (("ZipCrypto", "E-CON-002"), ("AES128", "E-CON-018")):
        out = tmp_path / f"{method}.zip"
        r = subprocess.run([seven_zip(), "a", "-tzip", f"-mem={method}", "-ppw", str(out), "検索条件.csv"],
                           cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert code_of(aeszip.read_request, out.read_bytes(), b"pw") == code
