"""The department's side: make requests that the terminal opens, open and verify results the
terminal made (envelope sealed to the department, AES ZIP with a paper password), write them out.
Every failure to open or verify is exit code 3 (contract §9)."""
from __future__ import annotations

import hashlib
import json

import pytest

from bulktool import keys
from bulktool import manifest as mf
from bulktool.checkdigit import with_check_digit
from bulktool.containers import aeszip, envelope
from bulktool.containers.limits import Limits
from bulktool.containers.open import open_request
from bulktool.department import make_sealed_request, make_zip_request, open_result, write_opened
from bulktool.messages import BulkError

ZIP_TIME = (2026, 12, 3, 9, 0, 0)  # an entry's time stamp (the clock is passed in)

TABLE = ("連番,住民票コード\r\n" + "".join(f"{i},{with_check_digit(f'{i:010d}')}\r\n" for i in range(1, 4))).encode()
RESULT_CSV = ("\ufeff連番,処理結果コード,処理結果,該当件数,外字フラグ\r\n1,00,該当,1,\r\n2,20,該当なし,0,\r\n"
              "3,90,入力エラー（住民票コード）,,\r\n").encode("utf-8")


@pytest.fixture(scope="module")
def terminal() -> keys.KeyPair:
    return keys.generate("T-TEST-01")


@pytest.fixture(scope="module")
def dept() -> keys.KeyPair:
    return keys.generate("D01")


def manifest_for(csv: bytes, terminal_key, **overrides) -> bytes:
    m = mf.build(entry=12, request_name="検索条件.zip", request_sha256="0" * 64,
                 result_sha256=hashlib.sha256(csv).hexdigest(), counts={"00": 1, "20": 1, "90": 1}, rows=3,
                 terminal_id="T-TEST-01", operator_id="OP1", created_at="2026-04-01T10:00:00+09:00",
                 encoding="utf-8", department="D01", purpose="P01", as_of="2026-04-01")
    m.update(overrides)
    return mf.sign(m, terminal_key.ed25519)


def sealed_result(terminal, dept, csv=RESULT_CSV, manifest=None) -> bytes:
    manifest = manifest or manifest_for(csv, terminal)
    return envelope.seal([(mf.RESULT_CSV, csv), (mf.MANIFEST_JSON, manifest)], recipient=dept.public.x25519,
                         sender=terminal.ed25519)


def zip_result(terminal, password, csv=RESULT_CSV, manifest=None) -> bytes:
    manifest = manifest or manifest_for(csv, terminal)
    return aeszip.write_result([(mf.RESULT_CSV, csv), (mf.MANIFEST_JSON, manifest)], password, when=ZIP_TIME)


def failure(fn, *args, **kw) -> BulkError:
    with pytest.raises(BulkError) as exc:
        fn(*args, **kw)
    return exc.value


# --- requests --------------------------------------------------------------------------------

def test_zip_request_opens_on_the_terminal():
    data = make_zip_request("C:\\Users\\clerk\\検索条件.csv", TABLE, "paper-password-9", when=ZIP_TIME)
    files = open_request("検索条件.zip", data, password=b"paper-password-9", terminal_x25519=None,
                         department_ed25519=None)
    assert (files.table_name, files.table, files.irai) == ("検索条件.csv", TABLE, None)


def test_zip_request_refuses_a_non_table():
    assert failure(make_zip_request, "名簿.txt", TABLE, "pw-123456", when=ZIP_TIME).code == "E-CON-005"


def test_sealed_request_opens_on_the_terminal_and_checks_the_department(terminal, dept):
    irai = json.dumps({"照会元": "D01"}, ensure_ascii=False).encode()
    data = make_sealed_request("/home/clerk/検索条件.csv", TABLE, department_keys=dept, terminal=terminal.public,
                               irai=irai)
    files = open_request("検索条件.bte", data, password=None, terminal_x25519=terminal.x25519,
                         department_ed25519=dept.public.ed25519)
    assert (files.table_name, files.table, files.irai) == ("検索条件.csv", TABLE, irai)
    stranger = keys.generate("D99")
    err = failure(open_request, "検索条件.bte", data, password=None, terminal_x25519=terminal.x25519,
                  department_ed25519=stranger.public.ed25519)
    assert err.code == "E-CON-014"


def test_sealed_request_with_unsafe_or_extra_names_is_refused(terminal, dept):
    def sealed(files):
        return envelope.seal(files, recipient=terminal.public.x25519, sender=dept.ed25519)

    for files, code in (([("../検索条件.csv", TABLE)], "E-CON-007"),
                        ([("a.csv", TABLE), ("b.xlsx", TABLE)], "E-CON-005"),
                        ([("a.csv", TABLE), ("x.zip", b"PK")], "E-CON-006"),
                        ([("a.csv", TABLE), ("memo.txt", b"")], "E-CON-012")):
        err = failure(open_request, "r.bte", sealed(files), password=None, terminal_x25519=terminal.x25519,
                      department_ed25519=dept.public.ed25519)
        assert err.code == code


def test_unknown_container_kind():
    assert failure(open_request, "検索条件.csv", TABLE, password=b"x", terminal_x25519=None,
                   department_ed25519=None).code == "E-CON-001"


# --- results: round trips --------------------------------------------------------------------

def test_sealed_result_round_trip_with_signatures(terminal, dept):
    opened = open_result(sealed_result(terminal, dept), "照会結果_12.bte", password=None, keys=dept,
                         terminal=terminal.public)
    assert opened.files[mf.RESULT_CSV] == RESULT_CSV
    assert opened.manifest["ledger_entry"] == 12 and opened.manifest["counts"]["00"] == 1
    assert opened.signature_checked


def test_zip_result_round_trip(terminal):
    pw = aeszip.new_password()
    opened = open_result(zip_result(terminal, pw), "照会結果_12.zip", password=pw, keys=None, terminal=terminal.public)
    assert opened.files[mf.RESULT_CSV] == RESULT_CSV and opened.signature_checked
    unsigned = open_result(zip_result(terminal, pw), "照会結果_12.zip", password=pw, keys=None, terminal=None)
    assert not unsigned.signature_checked
    assert "該当" not in repr(unsigned) and "12" in repr(unsigned)  # repr names files, never content


def test_write_opened_refuses_to_overwrite(terminal, dept, tmp_path):
    opened = open_result(sealed_result(terminal, dept), "照会結果_12.bte", password=None, keys=dept,
                         terminal=terminal.public)
    paths = write_opened(opened, tmp_path / "out")
    assert [p.name for p in paths] == ["照会結果.csv", "manifest.json"]
    assert (tmp_path / "out" / "照会結果.csv").read_bytes() == RESULT_CSV
    before = (tmp_path / "out" / "manifest.json").read_bytes()
    err = failure(write_opened, opened, tmp_path / "out")
    assert err.code == "E-RES-002"
    assert (tmp_path / "out" / "manifest.json").read_bytes() == before
    # one file already there: nothing is written at all
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "manifest.json").write_bytes(b"mine")
    assert failure(write_opened, opened, tmp_path / "two").code == "E-RES-002"
    assert not (tmp_path / "two" / "照会結果.csv").exists()
    assert (tmp_path / "two" / "manifest.json").read_bytes() == b"mine"


# --- results: every failure is exit 3 --------------------------------------------------------

def _failures(terminal, dept):
    other = keys.generate("T-OTHER")
    pw = "right-password-12345"
    bad_csv = RESULT_CSV.replace(b"2,20,", b"2,00,")
    tampered = bytearray(sealed_result(terminal, dept))
    tampered[200] ^= 1
    yield "wrong zip password", zip_result(terminal, pw), "r.zip", dict(password="wrong", keys=None,
                                                                              terminal=terminal.public), "E-RES-003"
    yield "no password", zip_result(terminal, pw), "r.zip", dict(password=None, keys=None, terminal=None), "E-RES-003"
    yield "not a zip", b"garbage", "r.zip", dict(password=pw, keys=None, terminal=None), "E-RES-003"
    yield "envelope for someone else", sealed_result(terminal, other), "r.bte", dict(password=None, keys=dept,
                                                                                     terminal=None), "E-RES-003"
    yield "envelope from another terminal", sealed_result(other, dept), "r.bte", dict(password=None, keys=dept,
                                                                                      terminal=terminal.public), "E-RES-003"
    yield "tampered envelope", bytes(tampered), "r.bte", dict(password=None, keys=dept, terminal=None), "E-RES-003"
    yield "no key", sealed_result(terminal, dept), "r.bte", dict(password=None, keys=None, terminal=None), "E-RES-003"
    yield "unknown kind", b"x", "r.7z", dict(password="x", keys=dept, terminal=None), "E-RES-003"
    yield "csv changed after signing", zip_result(terminal, pw, manifest=manifest_for(RESULT_CSV, terminal),
                                                  csv=bad_csv), "r.zip", dict(password=pw, keys=None, terminal=None), "E-RES-001"
    yield "counts disagree", zip_result(terminal, pw, manifest=manifest_for(RESULT_CSV, terminal, rows=4)), "r.zip", \
        dict(password=pw, keys=None, terminal=None), "E-RES-001"
    yield "manifest signed by another terminal", zip_result(other, pw), "r.zip", dict(password=pw, keys=None,
                                                                                      terminal=terminal.public), "E-RES-001"
    yield "extra file", aeszip.write_result([(mf.RESULT_CSV, RESULT_CSV), (mf.MANIFEST_JSON, manifest_for(
        RESULT_CSV, terminal)), ("memo.txt", b"")], pw, when=ZIP_TIME), "r.zip", dict(password=pw, keys=None, terminal=None), "E-RES-001"
    yield "manifest missing", aeszip.write_result([(mf.RESULT_CSV, RESULT_CSV)], pw, when=ZIP_TIME), "r.zip", \
        dict(password=pw, keys=None, terminal=None), "E-RES-001"


@pytest.mark.parametrize("case", range(13))
def test_every_failure_to_open_or_verify_is_exit_3(terminal, dept, case):
    label, data, name, kw, code = list(_failures(terminal, dept))[case]
    err = failure(open_result, data, name, **kw)
    assert (err.code, err.exit_code) == (code, 3), label


def test_a_result_zip_is_read_by_the_request_reader_under_the_same_zip_guard(terminal):
    pw = "right-password-12345"
    data = zip_result(terminal, pw)
    for kw, inner, says in ((dict(password="wrong"), "E-CON-004", "パスワードが違うか"),
                            (dict(password=pw, limits=Limits(max_entries=1)), "E-CON-008", "項目数が上限"),
                            (dict(password=pw, limits=Limits(max_expanded_bytes=100)), "E-CON-009", "展開後の大きさ")):
        err = failure(open_result, data, "r.zip", keys=None, terminal=None, **kw)
        assert (err.code, err.cause) == ("E-RES-003", inner) and says in err.message, inner
        assert "E-CON" not in str(err) and str(err).count("E-") == 1  # one code on the clerk's screen


def test_a_wrong_result_password_at_decrypt_shows_one_code_and_what_to_check(terminal, tmp_path):
    from typer.testing import CliRunner

    from bulktool.cli import app

    result = tmp_path / "照会結果_12.zip"
    result.write_bytes(zip_result(terminal, "right-password-12345"))
    (tmp_path / "pw").write_text("wrong-password-12345\n")
    (tmp_path / "t.pub").write_bytes(keys.format_public(terminal.public))
    for command in (["decrypt", str(result), "--out", str(tmp_path / "out")],
                    ["verify", str(result), "--terminal-key", str(tmp_path / "t.pub")]):
        r = CliRunner().invoke(app, [*command, "--password-file", str(tmp_path / "pw")])
        text = r.stdout + r.stderr
        assert r.exit_code == 3 and "E-RES-003" in text and "E-CON" not in text, text
        assert "受渡票に手書きされたパスワード" in text and text.count("E-") == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("renban, shown", [("1", "1"), ("E-07", "E-07"), ("abc_12", "abc_12"),
                                           ("41617718330", None), ("347800710774", None),  # shaped like numbers
                                           ("1234567890", "1234567890"), ("大塚", None), ("", None), (None, None),
                                           ("1234567890123", None)])
def test_which_renban_a_screen_may_show(renban, shown):
    from bulktool import untrusted
    from bulktool.department import shown_renban

    assert untrusted.shown_renban(renban) == shown == shown_renban(renban)


def test_request_check_names_an_unknown_column_unless_it_looks_like_a_number():
    from bulktool.department import check_table

    with pytest.raises(BulkError) as err:
        check_table("t.csv", "連番,住民票コード,メモ\r\n1,12345678906,x\r\n".encode())
    assert err.value.code == "E-REQ-003" and "3列目「メモ」" in err.value.message
    with pytest.raises(BulkError) as err:
        check_table("t.csv", "連番,住民票コード,41617718330\r\n1,12345678906,x\r\n".encode())
    assert "3列目" in err.value.message and "41617718330" not in err.value.message


def test_a_mistyped_result_password_at_the_prompt_may_be_typed_again(terminal, tmp_path):
    from typer.testing import CliRunner

    from bulktool.cli import app

    result = tmp_path / "照会結果_12.zip"
    result.write_bytes(zip_result(terminal, "right-password-12345"))
    r = CliRunner().invoke(app, ["decrypt", str(result), "--out", str(tmp_path / "a")],
                           input="wrong-password-1\nright-password-12345\n")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "（1/3 回目）" in r.stderr and (tmp_path / "a" / "照会結果.csv").exists()
    r = CliRunner().invoke(app, ["decrypt", str(result), "--out", str(tmp_path / "b")], input="x1\nx2\nx3\nx4\n")
    assert r.exit_code == 3 and "E-RES-003" in r.stderr and "（2/3 回目）" in r.stderr and "3/3" not in r.stderr
    assert not (tmp_path / "b").exists()


def test_a_file_given_by_mistake_is_not_read_whole(tmp_path):
    """decrypt / request check stat a file before reading it: a 3 GiB file costs nothing."""
    from typer.testing import CliRunner

    from bulktool.cli import app

    huge = tmp_path / "huge.zip"
    with open(huge, "wb") as fh:
        fh.truncate(3 * 1024 ** 3)  # sparse
    for args in (["decrypt", str(huge), "--out", str(tmp_path / "o"), "--password-file", str(huge)],
                 ["request", "check", str(huge)]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and "E-USE-005" in r.stderr, r.stderr
