"""Named container fixtures (tests/fixtures/containers, made by make_container_fixtures.py): each
good one opens, each fail_* one is refused with its code. Plus 7-Zip interoperability."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulktool.containers import aeszip, envelope
from bulktool.containers.limits import Limits
from bulktool.containers.open import open_request
from bulktool.keys import keypair_from_bytes
from bulktool.messages import BulkError

FIX = Path(__file__).parent / "fixtures" / "containers"
PASSWORD = b"fixture-password-1"
KEYS = {name: keypair_from_bytes(bytes.fromhex(h)) for name, h in json.loads((FIX / "test_keys.json").read_text()).items()}
TERMINAL, DEPT, OTHER = KEYS["test_terminal"], KEYS["test_dept"], KEYS["test_other"]


def open_fixture(name: str, password: bytes = PASSWORD, limits: Limits | None = None):
    kw = {"limits": limits} if limits else {}
    return open_request(name, (FIX / name).read_bytes(), password=password, terminal_x25519=TERMINAL.x25519,
                        department_ed25519=DEPT.public.ed25519, **kw)


@pytest.mark.parametrize("name,table", [
    ("good_utf8_csv.zip", "検索条件.csv"), ("good_with_irai.zip", "検索条件.csv"), ("good_xlsx.zip", "検索条件.xlsx"),
    ("good_folder_prefix.zip", "検索条件.csv"), ("good_cp932_name.zip", "検索条件一覧.csv"),
    ("good_simple.bte", "検索条件.csv"), ("good_multi_chunk.bte", "検索条件.csv"),
])
def test_good_fixtures_open(name, table):
    files = open_fixture(name)
    assert files.table_name == table
    assert files.table.startswith(b"\xe9\x80\xa3\xe7\x95\xaa") or name.endswith("xlsx.zip")  # 連番


def test_irai_is_returned():
    assert json.loads(open_fixture("good_with_irai.zip").irai)["照会元"] == "D01"


@pytest.mark.parametrize("name,code", [
    ("fail_zipcrypto.zip", "E-CON-002"), ("fail_unencrypted.zip", "E-CON-003"), ("fail_tampered.zip", "E-CON-004"),
    ("fail_truncated.zip", "E-CON-011"), ("fail_two_tables.zip", "E-CON-005"), ("fail_nested_zip.zip", "E-CON-006"),
    ("fail_abs_path.zip", "E-CON-007"), ("fail_dotdot.zip", "E-CON-007"), ("fail_symlink.zip", "E-CON-007"),
    ("fail_too_many_entries.zip", "E-CON-008"), ("fail_bomb_ratio.zip", "E-CON-010"),
    ("fail_unexpected_entry.zip", "E-CON-012"),
    ("fail_bad_tag.bte", "E-CON-013"), ("fail_truncated.bte", "E-CON-013"), ("fail_reordered_chunk.bte", "E-CON-013"),
    ("fail_appended.bte", "E-CON-013"), ("fail_header_changed.bte", "E-CON-013"),
    ("fail_bad_signature.bte", "E-CON-014"), ("fail_wrong_sender.bte", "E-CON-014"),
    ("fail_wrong_recipient.bte", "E-CON-015"), ("fail_bad_version.bte", "E-CON-016"),
])
def test_fail_fixtures_are_refused_with_their_code(name, code):
    with pytest.raises(BulkError) as exc:
        open_fixture(name)
    assert exc.value.code == code, exc.value.message


def test_wrong_password_and_tampering_share_one_code():
    with pytest.raises(BulkError) as exc:
        open_fixture("good_utf8_csv.zip", password=b"wrong-password")
    assert exc.value.code == "E-CON-004"


def test_header_that_lies_about_the_size_is_refused_while_streaming():
    # the stream is counted against the limit whatever the header says …
    with pytest.raises(BulkError) as exc:
        open_fixture("fail_header_lies.zip", limits=Limits(max_expanded_bytes=100_000))
    assert exc.value.code == "E-CON-009"
    # … and a stream longer than its header is refused, never silently cut to the declared size
    with pytest.raises(BulkError) as exc:
        open_fixture("fail_header_lies.zip", limits=Limits(max_ratio=10**6))
    assert exc.value.code == "E-CON-011"


def test_expanded_size_limit():
    with pytest.raises(BulkError) as exc:
        open_fixture("good_utf8_csv.zip", limits=Limits(max_expanded_bytes=10))
    assert exc.value.code == "E-CON-009"


def test_unknown_container_kind():
    with pytest.raises(BulkError) as exc:
        open_request("a.7z", b"x", password=None, terminal_x25519=None, department_ed25519=None)
    assert exc.value.code == "E-CON-001"


def test_result_password_alphabet_and_strength():
    import math

    pw = {aeszip.new_password() for _ in range(50)}
    assert len(pw) == 50
    for p in pw:
        assert len(p) >= 20 and not set(p) & set("0O1lI")
    assert 20 * math.log2(len(aeszip.ALPHABET)) >= 100


def seven_zip() -> str:
    for name in ("7zz", "7z", "7za"):
        if shutil.which(name):
            return name
    raise AssertionError("7-Zip (Debian package 7zip) is required for the interoperability tests")


def test_7zip_opens_our_result(tmp_path):
    pw = aeszip.new_password()
    data = aeszip.write_result([("照会結果.csv", b"a,b\r\n"), ("manifest.json", b"{}")], pw)
    (tmp_path / "r.zip").write_bytes(data)
    r = subprocess.run([seven_zip(), "x", f"-p{pw}", f"-o{tmp_path / 'out'}", str(tmp_path / "r.zip")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "out" / "照会結果.csv").read_bytes() == b"a,b\r\n"
    r = subprocess.run([seven_zip(), "l", "-slt", f"-p{pw}", str(tmp_path / "r.zip")], capture_output=True, text=True)
    assert "AES-256" in r.stdout


def test_we_read_a_request_7zip_made(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "検索条件.csv").write_bytes("連番,住民票コード\r\n1,12345678906\r\n".encode())
    r = subprocess.run([seven_zip(), "a", "-tzip", "-mem=AES256", "-pseven-pass", str(tmp_path / "r.zip"), "out"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    files = aeszip.read_request((tmp_path / "r.zip").read_bytes(), b"seven-pass")
    assert files.table_name == "検索条件.csv" and files.table.startswith("連番".encode())


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=0))
def test_envelope_round_trip_and_any_flip_fails(payload, where):
    sealed = envelope.seal([("a.csv", payload)], recipient=TERMINAL.public.x25519, sender=DEPT.ed25519)
    assert envelope.open_sealed(sealed, recipient=TERMINAL.x25519, sender=DEPT.public.ed25519) == [("a.csv", payload)]
    pos = where % len(sealed)
    bad = sealed[:pos] + bytes([sealed[pos] ^ 0x01]) + sealed[pos + 1:]
    with pytest.raises(BulkError):
        envelope.open_sealed(bad, recipient=TERMINAL.x25519, sender=DEPT.public.ed25519)
