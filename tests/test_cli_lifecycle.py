"""Media lifecycle, re-issue, disclosure, operation-log purge, crash recovery and concurrency,
all through the CLI (contract §6, §6b, §7, §9)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import exchange_ok, ledger_rows, put_zip_request

from bulktool.session import active_lock
from bulktool.workspace import Workspace


def output_entry(cli) -> dict:
    return [r for r in ledger_rows(cli) if r["事象"] == "出力"][-1]


def test_handover_receipt_and_reissue(cli, world):
    d1, d2, _ = world["drives"]
    pw = put_zip_request(cli, world, d1)
    exchange_ok(cli, d1, pw)
    out = output_entry(cli)
    result = next(d1.glob("照会結果_*.zip"))
    assert result.name == f"照会結果_{out['参照番号']}.zip"
    cli.ok("media", "handover", out["番号"], as_="op01")
    # the drive failed: re-issue the kept copy onto another drive of the same department
    r = cli.ok("reissue", out["番号"], str(d2), as_="op01")
    assert (d2 / result.name).read_bytes() == result.read_bytes()
    rows = ledger_rows(cli)
    assert [r["事象"] for r in rows][-2:] == ["受渡", "再発行"]
    assert rows[-1]["参照番号"] == out["番号"] and rows[-1]["媒体ID"] == "M002"
    cli.ok("media", "receipt", out["番号"], as_="op01")
    r = cli("reissue", out["番号"], str(d2), as_="op01")
    assert r.exit_code == 1 and "E-MED-016" in r.output
    # a drive of another department is refused
    r = cli("reissue", out["番号"], str(world["drives"][2]), as_="op01")
    assert r.exit_code == 1



def test_receipt_of_a_reissue_drops_the_kept_copy(cli, world):
    """受領確認 of the re-issued result ends the copy's keeping, as that of the 出力 would: copies
    are kept under the 受付 number, and a 再発行 leads back to it through its 出力."""
    d1, d2, _ = world["drives"]
    pw = put_zip_request(cli, world, d1)
    exchange_ok(cli, d1, pw)
    out = output_entry(cli)
    copy = cli.home / "reissue" / f"{out['参照番号']}.bin"
    assert copy.exists()
    cli.ok("reissue", out["番号"], str(d2), as_="op01")
    again = ledger_rows(cli)[-1]
    assert again["事象"] == "再発行"
    cli.ok("media", "handover", again["番号"], as_="op01")
    cli.ok("media", "receipt", again["番号"], as_="op01")
    assert not copy.exists()
    assert "保管コピーを消去" in ledger_rows(cli)[-1]["備考"]
    r = cli("reissue", out["番号"], str(d2), as_="op01")
    assert r.exit_code == 1 and "E-MED-016" in r.output

def test_expired_reissue_copies_are_erased_and_ledgered(cli, world):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)
    exchange_ok(cli, d1, pw)
    assert list((cli.home / "reissue").glob("*.bin"))
    cfg = cli.home / "config.json"
    conf = json.loads(cfg.read_text())
    conf["reissue_retention_days"] = 0
    cfg.write_text(json.dumps(conf))
    cli.ok("store", "stats", as_="op01")
    assert not list((cli.home / "reissue").glob("*.bin"))
    assert ledger_rows(cli)[-1]["事象"] == "消去"


def test_lend_return_erase_dispose(cli, world):
    d1 = world["drives"][0]
    cli.ok("media", "lend", "M001", "--department", "D01", as_="op01")
    r = cli("media", "lend", "M001", "--department", "D01", as_="op01")
    assert "E-MED-013" in r.output
    cli.ok("media", "return", "M001", as_="op01")
    r = cli("media", "return", "M001", as_="op01")
    assert "E-MED-012" in r.output
    (d1 / "old.zip").write_bytes(b"old")
    r = cli("media", "erase", str(d1), "--approval", "決裁-E1", as_="op01")
    assert r.exit_code == 1 and "E-AUTH-007" in r.output
    cli.ok("media", "erase", str(d1), "--approval", "決裁-E1", as_="sec01")
    assert [p.name for p in d1.iterdir()] == [".bulktool-media.json"]
    cli.ok("media", "dispose", "M001", "--approval", "決裁-D1", as_="sec01")
    events = [r["事象"] for r in ledger_rows(cli)]
    assert events[-4:] == ["貸与", "返却", "消去", "廃棄"]
    pw = put_zip_request(cli, world, d1)
    r = cli("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", "x",
            "--password-file", str(pw), as_="op01")
    assert r.exit_code == 1 and "E-MED-011" in r.output
    listing = cli.ok("media", "list", as_="aud01").stdout
    assert "廃棄" in listing


def test_disclosure_lists_provisions_without_ledgering_personal_data(cli, world):
    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)
    exchange_ok(cli, d1, pw)
    from conftest import current_people, unique_four

    person = unique_four(current_people(world["jumin"]))[0]  # row 1 of request_table: a 該当
    code_file = world["tmp"] / "code.txt"
    code_file.write_text(person["住民票コード"] + "\n")
    r = cli.ok("disclosure", "--code-file", str(code_file), "--request-no", "開示-7")
    assert "D01" in r.stdout and "P01" in r.stdout and "1 件" in r.stdout
    # every provided field is shown whole (folded, never cut with "…"), whatever the width
    column = [ln.split("│") for ln in r.stdout.splitlines() if ln.startswith("│")]
    assert "…" not in r.stdout
    assert "".join(c[5].strip() for c in column).startswith("住民票コード,氏名,")
    assert "".join(c[6].strip() for c in column) == "一括提供（媒体）"
    last = ledger_rows(cli)[-1]
    assert last["事象"] == "開示" and last["依頼番号"] == "開示-7"
    assert person["住民票コード"] not in json.dumps(ledger_rows(cli), ensure_ascii=False)
    r = cli("disclosure", "--code-file", str(code_file), as_="op01")
    assert "E-AUTH-007" in r.output


def test_oplog_purge_is_ledgered_and_guarded(cli):
    r = cli("oplog", "purge", "--before", "2025-01-01")
    assert r.exit_code == 1 and "E-LOG-001" in r.output
    cli.ok("oplog", "purge", "--before", "2018-01-01")
    last = ledger_rows(cli)[-1]
    assert last["事象"] == "履歴削除"


def test_a_receipt_left_open_by_a_crash_is_closed_as_failure(cli, world):
    from bulktool.app import logged_in

    with logged_in(cli.home, "op01", b"op-pass-00001", "exchange", clock=cli.clock) as s:
        with active_lock(s.ws, exclusive=False):
            receipt = s.writer.record("受付", department="D01", purpose="P01", approval_no="決裁-C")
            # while the exchange that owns it runs, nobody closes it
            cli.ok("store", "stats", as_="aud01")
            assert not [r for r in ledger_rows(cli) if r["事象"] == "失敗"]
    # the process "crashed". The auditor's views write nothing, not even this housekeeping …
    checkpoint = cli.ok("ledger", "checkpoint", as_="aud01").stdout.strip()
    assert checkpoint.startswith(f"{receipt['seq']}:")
    # … and the next other logged-in command closes it
    cli.ok("store", "stats", as_="aud01")
    failures = [r for r in ledger_rows(cli) if r["事象"] == "失敗"]
    assert len(failures) == 1 and failures[0]["参照番号"] == str(receipt["seq"])
    cli.ok("ledger", "verify", as_="aud01")


@pytest.mark.system_clock
def test_four_exchanges_at_once_keep_the_ledger_gapless(cli, world, tmp_path):
    drives = []
    for i in range(4, 8):
        d = tmp_path / f"drive{i}"
        d.mkdir()
        cli.ok("media", "register", str(d), "--media-id", f"M00{i}", "--department", "D01", as_="op01")
        drives.append((d, put_zip_request(cli, world, d)))
    env = dict(os.environ, BULKTOOL_HOME=str(cli.home))
    procs = [subprocess.Popen([sys.executable, "-m", "bulktool", "exchange", str(d), "--department", "D01",
                               "--purpose", "P01", "--approval", f"決裁-{i}", "--password-file", str(pw),
                               "--operator", "op01", "--passphrase-file", cli.passfile("op01")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i, (d, pw) in enumerate(drives)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    rows = ledger_rows(cli)
    assert [int(r["番号"]) for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r["事象"] == "出力" for r in rows) == 4
    assert not [r for r in rows if r["事象"] == "失敗"]
    cli.ok("ledger", "verify", as_="aud01")
    for d, _ in drives:
        assert len(list(d.glob("照会結果_*.zip"))) == 1


def test_checkpoint_prints_and_writes_nothing(cli):
    n_before = len(ledger_rows(cli))
    r = cli.ok("ledger", "checkpoint", as_="aud01")
    n, _, head = r.stdout.strip().partition(":")
    assert int(n) == n_before and len(head) == 64
    assert len(ledger_rows(cli)) == n_before
    cli.ok("ledger", "verify", "--checkpoint", r.stdout.strip(), as_="aud01")
    assert Workspace.open(cli.home).terminal_id == "T001"


def test_a_table_refused_mid_stream_writes_nothing(cli, world):
    from conftest import drive_state

    d1 = world["drives"][0]
    pw = put_zip_request(cli, world, d1)  # 6 data rows
    cfg = cli.home / "config.json"
    conf = json.loads(cfg.read_text())
    conf["limits"]["max_rows"] = 3
    cfg.write_text(json.dumps(conf))
    before = drive_state(d1)
    r = cli("exchange", str(d1), "--department", "D01", "--purpose", "P01", "--approval", "x",
            "--password-file", str(pw), as_="op01")
    assert r.exit_code == 1 and "E-REQ-006" in r.output
    assert drive_state(d1) == before
    last = ledger_rows(cli)[-1]
    assert last["事象"] == "拒否" and last["エラーコード"] == "E-REQ-006"
    assert not list((cli.home / "reissue").glob("*.bin"))


def test_fingerprints_print_whole_on_one_line_for_the_paper_comparison(world):
    """keys generate, department add and keys export print the fingerprint (contract §9): all of it
    on one line, never broken by the console's wrapping, even in captured 80-column output."""
    from bulktool import keys

    dept = keys.read_public((world["keys"] / "d01.pub").read_bytes()).fingerprint
    term = keys.read_public(world["term_pub"].read_bytes()).fingerprint
    generate, add, export = world["outputs"][0], world["outputs"][1], world["outputs"][-1]
    for output, fp in ((generate, dept), (add, dept), (export, term)):
        assert any(fp in line for line in output.splitlines()), output


def test_a_training_date_in_the_future_is_said_at_renew(cli):
    """Allowed (the operator counts as untrained until that day), but the administrator is told."""
    r = cli.ok("operator", "renew", "op01", "--trained-on", "2027-11-01")
    assert "注意: 研修受講日 2027-11-01" in r.stdout and "操作できません" in r.stdout
    refused = cli("store", "stats", as_="op01")
    assert refused.exit_code == 1 and "E-AUTH-005" in refused.output
    r = cli.ok("operator", "renew", "op01", "--trained-on", cli.trained_on)
    assert "注意" not in r.stdout
