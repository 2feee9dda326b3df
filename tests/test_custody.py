"""Custody of the drives (issue 18, contract §8): the media lifecycle as one table, enforced.

Each row of the state table is tested allowed and refused through the real commands; a refused
command names its code, changes nothing — the ledger's length, the drive's bytes, the registry's
row — and leaves its 拒否 in the operation log."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import drive_state, exchange_ok, ledger_rows, put_zip_request, request_table

from bulktool import custody
from bulktool.containers import aeszip
from bulktool.messages import BulkError

ZIP_TIME = (2026, 12, 3, 9, 0, 0)


def registry_row(cli, media_id: str) -> tuple | None:
    db = sqlite3.connect(cli.home / "registry.sqlite")
    try:
        return db.execute("SELECT * FROM media WHERE media_id = ?", (media_id,)).fetchone()
    finally:
        db.close()


def oplog_rows(cli) -> list[dict]:
    text = cli.ok("oplog", "export", as_="aud01").stdout
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def refused(cli, args: list[str], code: str, *, as_: str, drive: Path | None = None, media_id: str | None = None):
    """Run a command that must be refused with `code` and change nothing."""
    n = len(ledger_rows(cli))
    before_drive = drive_state(drive) if drive else None
    before_row = registry_row(cli, media_id) if media_id else None
    r = cli(*args, as_=as_)
    assert r.exit_code == 1 and code in r.output, r.output
    if args[0] != "exchange":  # an exchange's refusal is ledgered as 受付 + 拒否 (contract §6)
        assert len(ledger_rows(cli)) == n
    else:
        rows = ledger_rows(cli)
        assert [e["事象"] for e in rows[n:]] == ["受付", "拒否"] and rows[-1]["エラーコード"] == code
    if drive:
        assert drive_state(drive) == before_drive
    if media_id:
        assert registry_row(cli, media_id) == before_row
    command = " ".join(args[:2]) if args[0] in ("media", "department", "operator") else args[0]
    last = [row for row in oplog_rows(cli) if row["コマンド"] == command][-1]
    assert last["結果"] == "拒否" and last["コード"] == code, last


def exchange_args(drive: Path, pw: Path, department="D01", purpose="P01", *extra: str) -> list[str]:
    return ["exchange", str(drive), "--department", department, "--purpose", purpose, "--approval", "決裁-1",
            "--password-file", str(pw), *extra]


def output_of(cli) -> dict:
    return [e for e in ledger_rows(cli) if e["事象"] == "出力"][-1]


# --- the table itself, pure -------------------------------------------------------------
@pytest.mark.parametrize("command", sorted(custody.RULES))
@pytest.mark.parametrize("state", list(custody.State))
def test_every_cell_of_the_state_table(command, state):
    rule = custody.RULES[command]
    args = dict(media_id="M9", status=state.value, registered_to="D01", department="D01")
    if state in rule.allowed:
        assert custody.check(command, **args) == rule.then
    else:
        with pytest.raises(BulkError) as exc:
            custody.check(command, **args)
        expected = {custody.State.DISPOSED: "E-MED-011", custody.State.LOST: "E-MED-018"}.get(state)
        assert exc.value.code == (expected or {"media return": "E-MED-012", "media lend": "E-MED-013"}
                                  .get(command, "E-MED-019"))


def test_unerased_results_are_those_after_the_last_erasure():
    entries = [{"seq": 1, "event": "出力"}, {"seq": 2, "event": "消去"}, {"seq": 3, "event": "出力"},
               {"seq": 4, "event": "受渡"}, {"seq": 5, "event": "再発行"}]
    assert [e["seq"] for e in custody.unerased(entries)] == [3, 5]
    assert custody.unerased(entries + [{"seq": 6, "event": "消去"}]) == []


# --- each row through the commands -------------------------------------------------------
def test_register_refuses_a_drive_that_is_already_registered(cli, world):
    d1 = world["drives"][0]
    refused(cli, ["media", "register", str(d1), "--media-id", "M099", "--department", "D02"], "E-MED-021",
            as_="op01", drive=d1, media_id="M001")
    assert registry_row(cli, "M099") is None
    fresh = world["tmp"] / "fresh"
    fresh.mkdir()
    cli.ok("media", "register", str(fresh), "--media-id", "M099", "--department", "D02", as_="op01")


def test_exchange_and_reissue_only_onto_a_drive_of_the_department(cli, world):
    d1, d2, d3 = world["drives"]
    pw = put_zip_request(cli, world, d1)
    refused(cli, exchange_args(d1, pw, "D02", "P02"), "E-MED-002", as_="op01", drive=d1)
    exchange_ok(cli, d1, pw)
    out = output_of(cli)
    refused(cli, ["reissue", out["番号"], str(d3)], "E-MED-002", as_="op01", drive=d3, media_id="M003")
    r = cli.ok("reissue", out["番号"], str(d2), as_="op01")
    assert "元の受渡票" in r.stdout


def test_handover_once_and_receipt_after_it_once(cli, world):
    d1 = world["drives"][0]
    exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    out = output_of(cli)
    refused(cli, ["media", "receipt", out["番号"]], "E-MED-025", as_="op01")
    # ENTRY may be the 受付 number the result's file name carries: the same exchange
    cli.ok("media", "handover", out["参照番号"], as_="op01")
    assert ledger_rows(cli)[-1]["参照番号"] == out["番号"]
    refused(cli, ["media", "handover", out["番号"]], "E-MED-024", as_="op01")
    cli.ok("media", "receipt", out["番号"], as_="op01")
    refused(cli, ["media", "receipt", out["参照番号"]], "E-MED-026", as_="op01")
    refused(cli, ["media", "handover", "1"], "E-MED-015", as_="op01")


def test_lend_return_and_their_refusals(cli, world):
    refused(cli, ["media", "lend", "M001", "--department", "D02"], "E-MED-002", as_="op01", media_id="M001")
    refused(cli, ["media", "return", "M001"], "E-MED-012", as_="op01", media_id="M001")
    cli.ok("media", "lend", "M001", "--department", "D01", as_="op01")
    refused(cli, ["media", "lend", "M001", "--department", "D01"], "E-MED-013", as_="op01", media_id="M001")
    refused(cli, ["media", "dispose", "M001", "--approval", "A"], "E-MED-019", as_="sec01", media_id="M001")
    cli.ok("media", "return", "M001", as_="op01")
    assert registry_row(cli, "M001")[5] == "登録"


def test_erase_proves_the_drive_empty_and_dispose_needs_it(cli, world):
    d1 = world["drives"][0]
    exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    out = output_of(cli)
    (d1 / "sub").mkdir()
    (d1 / "sub" / "memo.bin").write_bytes(b"x" * 10)
    refused(cli, ["media", "dispose", "M001", "--approval", "A"], "E-MED-020", as_="sec01", media_id="M001")
    assert out["番号"] in cli.ok("media", "list", as_="op01").stdout
    cli.ok("media", "erase", str(d1), "--approval", "決裁-消去", as_="sec01")
    assert sorted(os.listdir(d1)) == [".bulktool-media.json"]
    erased = ledger_rows(cli)[-1]
    assert erased["事象"] == "消去" and "sub/memo.bin" in erased["ファイル"]
    cli.ok("media", "dispose", "M001", "--approval", "決裁-廃棄", "--method", "磁気消去", as_="sec01")
    assert "磁気消去" in ledger_rows(cli)[-1]["備考"]
    # after disposal no command names the drive
    pw = put_zip_request(cli, world, d1, name="再.zip")
    refused(cli, exchange_args(d1, pw), "E-MED-011", as_="op01", drive=d1)
    refused(cli, ["media", "erase", str(d1), "--approval", "A"], "E-MED-011", as_="sec01", drive=d1)
    refused(cli, ["media", "lend", "M001", "--department", "D01"], "E-MED-011", as_="op01", media_id="M001")
    refused(cli, ["media", "dispose", "M001", "--approval", "A"], "E-MED-011", as_="sec01", media_id="M001")
    refused(cli, ["reissue", out["番号"], str(d1)], "E-MED-011", as_="op01", drive=d1)


# --- the drive and the request -----------------------------------------------------------
def test_a_plaintext_table_in_a_subfolder_refuses_and_is_named(cli, world):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)
    (d1 / "sub" / "deeper").mkdir(parents=True)
    (d1 / "sub" / "deeper" / "名簿.csv").write_text("連番\n1\n", encoding="utf-8")
    refused(cli, exchange_args(d1, pw), "E-MED-003", as_="op01", drive=d1)
    r = cli(*exchange_args(d1, pw), as_="op01")
    assert "sub/deeper/名簿.csv" in r.output


def test_a_request_off_the_drive_is_refused(cli, world, tmp_path):
    d1 = world["drives"][0]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pw = put_zip_request(cli, world, elsewhere, name="q.zip")
    refused(cli, exchange_args(d1, pw, "D01", "P01", "--request", str(elsewhere / "q.zip")), "E-MED-027",
            as_="op01", drive=d1)
    # a link on the drive whose target lies off it is not on the drive either
    (d1 / "q.zip").symlink_to(elsewhere / "q.zip")
    refused(cli, exchange_args(d1, pw, "D01", "P01", "--request", "q.zip"), "E-MED-027", as_="op01", drive=d1)
    assert not [e for e in ledger_rows(cli) if e["事象"] == "出力"]


def test_the_as_of_date_must_agree_with_the_request_form(cli, world):
    d1 = world["drives"][0]
    table, _ = request_table(world)
    irai = json.dumps({"照会元": "D01", "事務": "P01", "基準日": "2026-06-30"}).encode()
    (d1 / "依頼.zip").write_bytes(aeszip.write_request("t.csv", table, "request-password-123", irai, when=ZIP_TIME))
    pw = world["tmp"] / "pw"
    pw.write_text("request-password-123\n")
    refused(cli, exchange_args(d1, pw, "D01", "P01", "--as-of", "2026-07-01"), "E-DEP-007", as_="op01", drive=d1)
    r = cli.ok(*exchange_args(d1, pw, "D01", "P01", "--as-of", "2026-06-30"), as_="op01")
    assert "基準日 2026-06-30" in r.stdout


def test_a_tampered_media_id_file_is_reported_as_tampered(cli, world):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)
    f = d1 / ".bulktool-media.json"
    doc = json.loads(f.read_text(encoding="utf-8"))
    doc["department"] = "D02"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    refused(cli, exchange_args(d1, pw), "E-MED-022", as_="op01", drive=d1)


def test_a_media_id_file_that_is_a_link_does_not_identify_the_drive(cli, world, tmp_path):
    d1 = world["drives"][0]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".bulktool-media.json").symlink_to(d1 / ".bulktool-media.json")
    pw = put_zip_request(cli, world, empty)
    refused(cli, exchange_args(empty, pw), "E-MED-001", as_="op01", drive=empty)


def test_a_sealed_reissue_says_it_has_no_password(cli, world):
    d1, d2, _ = world["drives"]
    table, _ = request_table(world)
    (world["tmp"] / "t.csv").write_bytes(table)
    (world["tmp"] / "k.pass").write_text("dept-key-pass\n")
    r = cli.raw("request", "seal", str(world["tmp"] / "t.csv"), "--department", "D01", "--key",
                str(world["keys"] / "d01.key"), "--to", str(world["term_pub"]), "--out", str(d1 / "依頼.bte"),
                "--passphrase-file", str(world["tmp"] / "k.pass"))
    assert r.exit_code == 0, r.output
    cli.ok("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", "決裁-1", as_="op01")
    r = cli.ok("reissue", output_of(cli)["番号"], str(d2), as_="op01")
    assert "パスワードはありません" in r.stdout and "元の受渡票" not in r.stdout


def test_department_add_refuses_kojin_bango_without_the_permission(cli):
    r = cli("department", "add", "D09", "--name", "企画課", "--purpose", "P09=条例第1条",
            "--fields", "住民票コード,氏名,個人番号")
    assert r.exit_code == 2 and "E-DEP-008" in r.output
    assert "D09" not in cli.ok("department", "list").stdout
    cli.ok("department", "add", "D09", "--name", "企画課", "--purpose", "P09=条例第1条",
           "--fields", "住民票コード,氏名,個人番号", "--kojin-bango")


def test_media_list_shows_state_holdings_and_missing_serials(cli, world):
    d1 = world["drives"][0]
    exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    cli.ok("media", "lend", "M002", "--department", "D01", as_="op01")
    out = cli.ok("media", "list", as_="op01").stdout
    assert "貸与中" in out and "なし（照合不可）" in out and output_of(cli)["番号"] in out


def test_a_copied_media_id_file_is_refused_where_the_device_has_a_serial(cli, world, tmp_path):
    """The device lookup injected: the drive registered on a device with serial SER-1; the same
    ID file copied to another device (SER-2), or to a folder (no serial), is refused."""
    from bulktool.app import logged_in
    from bulktool.services import media

    stick = tmp_path / "stick"
    stick.mkdir()
    with logged_in(cli.home, "op01", b"op-pass-00001", "media register", clock=cli.clock) as s:
        m = media.register(s.writer, s.registry, s.keys, stick, "M050", "D01", device=lambda p: ("USB DISK", "SER-1"))
    assert m.serial == "SER-1"
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy2(stick / ".bulktool-media.json", copy / ".bulktool-media.json")
    with logged_in(cli.home, "op01", b"op-pass-00001", "exchange", clock=cli.clock) as s:
        pub = s.keys.public.ed25519
        assert media.identify(s.registry, pub, stick, "D01", device=lambda p: ("USB DISK", "SER-1")).media_id == "M050"
        for found in (("USB DISK", "SER-2"), ("", "")):
            with pytest.raises(BulkError) as exc:
                media.identify(s.registry, pub, copy, "D01", device=lambda p, f=found: f)
            assert exc.value.code == "E-MED-023"


@pytest.mark.parametrize("approval", ["決裁41617718330", "決裁\x1b[2J", "決" * 65])
def test_an_approval_number_the_ledger_may_not_hold_stops_the_command_before_any_entry(cli, world, approval):
    """A 決裁番号 is typed by the operator, yet it reaches the signed ledger: the same rule as the
    department's strings (untrusted.py), E-USE-004, nothing written (probe finding 2)."""
    d1 = world["drives"][0]
    before = ledger_rows(cli)
    r = cli("media", "dispose", "M002", "--approval", approval, as_="sec01")
    assert r.exit_code == 2 and "E-USE-004" in r.output and "41617718330" not in r.output
    pw = put_zip_request(cli, world, d1)
    r = cli("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", approval,
            "--password-file", str(pw), as_="op01")
    assert r.exit_code == 2 and "E-USE-004" in r.output
    assert ledger_rows(cli) == before


@pytest.mark.parametrize("media_id", ["USB 1", "媒体１", "M-41617718330", "x" * 33, "M001;rm", ""])
def test_a_media_id_that_is_not_a_label_is_refused_before_anything_is_written(cli, world, tmp_path, media_id):
    d = tmp_path / "new-drive"
    d.mkdir()
    before = ledger_rows(cli)
    r = cli("media", "register", str(d), "--media-id", media_id, "--department", "D01", as_="op01")
    assert r.exit_code == 2 and "E-MED-031" in r.output and not any(d.iterdir())
    assert ledger_rows(cli) == before
