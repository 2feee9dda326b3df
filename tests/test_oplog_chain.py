"""The operation log's hash chain (contract §7, bulktool/oplog.py): a record deleted, changed,
inserted or reordered with sqlite3 is found; records cut off at the end are found against a
checkpoint (given, or recorded by `audit checkpoint`'s 点検); a ledgered purge is told from a
deletion by the anchor its 履歴削除 records; a log written before the chain existed is chained
once and still read. Through the library and through `bulktool oplog verify` and the audit."""
from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from conftest import ledger_rows, make_cli

from bulktool.clock import FixedClock
from bulktool.ledger.chain import GENESIS_PREV
from bulktool.oplog import (MIGRATION_COMMAND, OperationLog, anchor_note, head_note, ledgered_marks, record_hash,
                            verify_against_ledger)

TS = "2026-12-03T10:{:02d}:00+09:00"


def fill(log: OperationLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.record(timestamp=TS.format(i), operator_id="op01", terminal_id="T001", command="media list",
                   outcome="成功", counts={"rows": i})


def sql(path: Path, *statements: str, params: tuple = ()) -> None:
    """Edit the log file as a tamperer would: sqlite3 itself, the update trigger dropped."""
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER IF EXISTS oplog_no_update")
    for s in statements:
        db.execute(s, params if "?" in s else ())
    db.commit()
    db.close()


@pytest.fixture
def log(tmp_path):
    with OperationLog(tmp_path / "oplog.sqlite") as log:
        fill(log, 6)
        yield log


def test_an_untouched_log_verifies_and_each_record_follows_the_last(log):
    rows = list(log.chain_rows())
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["prev_hash"] == GENESIS_PREV
    assert all(b["prev_hash"] == a["hash"] == record_hash(a) for a, b in zip(rows, rows[1:]))
    report = log.verify()
    assert report.ok and report.count == 6 and report.head == (6, rows[-1]["hash"])
    assert report.checkpoint == f"6:{rows[-1]['hash']}"


@pytest.mark.parametrize("tamper, bad, words", [
    ("DELETE FROM oplog WHERE id = 3", 4, "番号が連続していません"),
    ("UPDATE oplog SET outcome = '拒否' WHERE id = 3", 3, "内容がハッシュと一致しません"),
    ("UPDATE oplog SET counts = '{\"rows\": 99}' WHERE id = 5", 5, "内容がハッシュと一致しません"),
    ("DELETE FROM oplog WHERE id = 1", 2, "先頭の記録の前ハッシュ"),
])
def test_a_deleted_or_changed_record_is_found(log, tamper, bad, words):
    sql(log.path, tamper)
    report = log.verify()
    assert not report.ok and report.code == "E-LOG-002" and report.bad == bad and words in report.reason
    err = report.error()
    assert err.exit_code == 3 and f"{bad} 番の記録" in err.message


def test_reordered_records_are_found(log):
    # swap the contents of records 2 and 4, hashes and all: each keeps a valid own hash
    sql(log.path, "UPDATE oplog SET id = 100 WHERE id = 2", "UPDATE oplog SET id = 2 WHERE id = 4",
        "UPDATE oplog SET id = 4 WHERE id = 100")
    report = log.verify()
    assert not report.ok and report.bad == 2 and report.code == "E-LOG-002"


def test_an_inserted_record_is_found_even_with_a_well_formed_hash(log):
    rows = list(log.chain_rows())
    cols = list(rows[0])
    insert = f"INSERT INTO oplog ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})"
    # in the middle: the records from 4 on moved up one, a record 4 made to follow record 3
    forged = dict(rows[2], id=4, command="exchange", prev_hash=rows[2]["hash"])
    forged["hash"] = record_hash(forged)
    sql(log.path, "UPDATE oplog SET id = id + 100 WHERE id >= 4", "UPDATE oplog SET id = id - 99 WHERE id >= 100")
    sql(log.path, insert, params=tuple(forged[c] for c in cols))
    report = log.verify()
    assert not report.ok and report.bad == 5 and "前ハッシュが直前の記録" in report.reason


def test_a_record_appended_outside_the_chain_is_found_and_never_chained_later(log):
    rows = list(log.chain_rows())
    cols = list(rows[0])
    forged = dict(rows[2], id=7, command="exchange", prev_hash="ab" * 32)  # its own hash right, its link not
    forged["hash"] = record_hash(forged)
    sql(log.path, f"INSERT INTO oplog ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
        params=tuple(forged[c] for c in cols))
    report = log.verify()
    assert not report.ok and report.bad == 7 and "前ハッシュが直前の記録" in report.reason
    # an insertion with no hash at all, as an older bulktool would write it: a later write
    # does not chain it (the log is chained already)
    sql(log.path, "DELETE FROM oplog WHERE id = 7",
        "INSERT INTO oplog (id, timestamp, terminal_id, command, outcome) "
        "VALUES (7, '2026-12-03T11:00:00+09:00', 'T001', 'exchange', '成功')")
    fill(log, 1, start=30)
    report = log.verify()
    assert not report.ok and report.bad == 7 and "連鎖の外から挿入" in report.reason


def test_records_cut_off_at_the_end_are_found_against_a_checkpoint(log):
    cp = log.verify().head
    sql(log.path, "DELETE FROM oplog WHERE id >= 5")
    assert log.verify().ok  # the chain alone cannot tell
    report = log.verify(checkpoints=[cp])
    assert not report.ok and report.code == "E-LOG-003" and report.params == {"n": 6, "last": 4}
    # a checkpoint over a rewritten (rehashed) log
    assert log.verify(checkpoints=[(3, "0" * 64)]).code == "E-LOG-004"


def test_purge_keeps_the_chain_verifiable_from_its_anchor(tmp_path):
    with OperationLog(tmp_path / "oplog.sqlite") as log:
        for i, ts in enumerate(("2017-01-01", "2018-05-31", "2018-06-01", "2025-06-01")):
            log.record(timestamp=f"{ts}T09:00:00+09:00", operator_id="op01", terminal_id="T001",
                       command="media list", outcome="成功", counts={"i": i})
        third = list(log.chain_rows())[2]
        assert log.purge(date(2018, 6, 1), today=date(2025, 6, 1), retention_years=7) == 2
        anchor = log.anchor()
        assert anchor == (3, third["prev_hash"])
        # the purge as the 管理簿 records it is what verification starts from
        entries = [{"event": "履歴削除", "note": f"2018-06-01 より前の操作履歴を削除　{anchor_note(anchor)}"}]
        got_anchor, _ = ledgered_marks(entries)
        assert got_anchor == anchor
        assert log.verify(anchor=got_anchor).ok
        # without the ledgered anchor, the same cut reads as a deletion
        no_anchor = log.verify()
        assert not no_anchor.ok and "管理簿に記録されていない削除" in no_anchor.reason
        # after the purge, the first kept record deleted as well: found
        sql(log.path, "DELETE FROM oplog WHERE id = 3")
        report = log.verify(anchor=got_anchor)
        assert not report.ok and "起点 3 番と一致しません" in report.reason


def test_a_purge_of_everything_anchors_the_next_record(tmp_path):
    with OperationLog(tmp_path / "oplog.sqlite") as log:
        log.record(timestamp="2017-01-01T09:00:00+09:00", operator_id="op01", terminal_id="T001",
                   command="media list", outcome="成功")
        last = log.head()
        assert log.purge(date(2018, 6, 1), today=date(2025, 6, 1)) == 1
        assert log.anchor() == (2, last[1])
        assert log.verify(anchor=log.anchor()).ok  # empty: nothing to contradict
        fill(log, 2)
        assert [r["id"] for r in log.chain_rows()] == [2, 3]
        assert log.verify(anchor=(2, last[1])).ok


def _legacy_log(path: Path, n: int) -> None:
    """An operation log as bulktool wrote it before the chain: no hash columns, no meta table."""
    db = sqlite3.connect(path)
    db.executescript("""
CREATE TABLE oplog (
  id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, operator_id TEXT, terminal_id TEXT NOT NULL,
  command TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT, counts TEXT, hashes TEXT, detail TEXT);
CREATE INDEX oplog_ts ON oplog(timestamp);
CREATE TRIGGER oplog_no_update BEFORE UPDATE ON oplog BEGIN SELECT RAISE(ABORT, 'x'); END;""")
    for i in range(n):
        db.execute("INSERT INTO oplog (timestamp, operator_id, terminal_id, command, outcome, counts) "
                   "VALUES (?, 'op01', 'T001', 'media list', '成功', ?)", (TS.format(i), f'{{"rows": {i}}}'))
    db.commit()
    db.close()


def test_a_log_from_before_the_chain_is_read_and_chained_once(tmp_path):
    path = tmp_path / "oplog.sqlite"
    _legacy_log(path, 3)
    with OperationLog(path) as log:
        # readable as it is
        assert [e["counts"] for e in log.entries()] == [{"rows": 0}, {"rows": 1}, {"rows": 2}]
        assert not log.verify().ok  # not chained yet: nothing vouches for it
        fill(log, 1, start=10)      # the first write chains it, then records that it did
        rows = list(log.chain_rows())
    assert [r["command"] for r in rows] == ["media list"] * 3 + [MIGRATION_COMMAND, "media list"]
    assert rows[3]["counts"] == '{"chained": 3}' and rows[3]["operator_id"] is None
    with OperationLog(path) as log:
        assert log.verify().ok and log.verify().count == 5
        assert [e["counts"] for e in log.entries()][:3] == [{"rows": 0}, {"rows": 1}, {"rows": 2}]
        # chained once: a later write does not chain again, and an old record changed since is found
        sql(path, "UPDATE oplog SET outcome = '拒否' WHERE id = 2")
        fill(log, 1, start=20)
        assert [r["command"] for r in log.chain_rows()].count(MIGRATION_COMMAND) == 1
        report = log.verify()
        assert not report.ok and report.bad == 2
    # the migration also runs from `migrate` (oplog verify, the audit) when nothing was written
    other = tmp_path / "other.sqlite"
    _legacy_log(other, 2)
    with OperationLog(other) as log:
        assert log.migrate(timestamp=TS.format(30), terminal_id="T001") == 2
        assert log.migrate(timestamp=TS.format(31), terminal_id="T001") == 0
        assert log.verify().ok and log.verify().count == 3


# --- through the command line ----------------------------------------------------------------------
@pytest.fixture
def ws(tmp_path):
    return make_cli(tmp_path / "ws", tmp_path)


def oplog_path(cli) -> Path:
    return cli.home / "oplog.sqlite"


@pytest.mark.parametrize("role_user", ["op01", "admin01", "sec01", "aud01"])
def test_oplog_verify_for_every_role(ws, role_user):
    r = ws.ok("oplog", "verify", as_=role_user)
    assert "すべて正常です" in r.stdout
    cp = r.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", cp)
    r = ws.ok("oplog", "verify", "--checkpoint", cp, as_=role_user)
    assert "チェックポイント 1 件" in r.stdout


def test_oplog_verify_exits_3_with_its_code_when_a_record_is_gone(ws):
    ws.ok("media", "list", as_="op01")
    sql(oplog_path(ws), "DELETE FROM oplog WHERE id = 3")
    r = ws("oplog", "verify", as_="aud01")
    assert r.exit_code == 3 and "E-LOG-002" in r.stderr and "2 番の次が 4 番" in r.stderr, r.output
    assert "Traceback" not in r.output


def test_oplog_verify_finds_truncation_against_the_checkpoint_given(ws):
    cp = ws.ok("oplog", "verify", as_="aud01").stdout.strip().splitlines()[-1]
    n = int(cp.split(":")[0])
    sql(oplog_path(ws), f"DELETE FROM oplog WHERE id >= {n}")
    r = ws("oplog", "verify", "--checkpoint", cp, as_="aud01")
    assert r.exit_code == 3 and "E-LOG-003" in r.stderr and f"チェックポイント {n} 番" in r.stderr
    # once anything is written after the cut, the numbers (never reused) show a gap by themselves
    r = ws("oplog", "verify", as_="aud01")
    assert r.exit_code == 3 and "E-LOG-002" in r.stderr and "番号が連続していません" in r.stderr
    # a tamperer who also resets the numbering and lets the log go on: the checkpoint differs
    sql(oplog_path(ws), f"DELETE FROM oplog WHERE id >= {n - 1}",
        f"UPDATE sqlite_sequence SET seq = {n - 2} WHERE name = 'oplog'")
    ws.ok("media", "list", as_="op01")
    ws.ok("media", "list", as_="op01")
    assert ws.ok("oplog", "verify", as_="aud01")  # the chain alone cannot tell
    r = ws("oplog", "verify", "--checkpoint", cp, as_="aud01")
    assert r.exit_code == 3 and "E-LOG-004" in r.stderr
    r = ws("oplog", "verify", "--checkpoint", "12:xyz", as_="aud01")
    assert r.exit_code == 2 and "E-LED-002" in r.stderr


def test_audit_checkpoint_records_the_oplog_head_and_later_verification_holds_it(ws):
    ws.ok("audit", "checkpoint", as_="aud01")
    note = ledger_rows(ws)[-1]["備考"]
    m = re.search(r"操作履歴 (\d+):([0-9a-f]{64})", note)
    assert m, note
    ws.ok("media", "list", as_="op01")
    assert "チェックポイント 1 件" in ws.ok("oplog", "verify", as_="aud01").stdout
    # cut the log back to before that head: found with no checkpoint typed
    sql(oplog_path(ws), f"DELETE FROM oplog WHERE id >= {m.group(1)}")
    r = ws("oplog", "verify", as_="aud01")
    assert r.exit_code == 3 and "E-LOG-003" in r.stderr
    # and an audit checkpoint over a broken log writes nothing
    before = ledger_rows(ws)
    r = ws("audit", "checkpoint", as_="aud01")
    assert r.exit_code == 3 and re.search(r"E-LOG-00[23]", r.stderr), r.output
    assert ledger_rows(ws) == before


def test_a_ledgered_purge_verifies_and_a_deletion_after_it_does_not(tmp_path):
    cli = make_cli(tmp_path / "ws", tmp_path, FixedClock("2018-06-01T10:00:00+09:00"))
    for oid in ("admin01", "aud01"):
        cli.ok("operator", "renew", oid, "--trained-on", "2018-04-01", "--valid-until", "2030-03-31")
    cli.clock.set("2026-12-03T10:00:00")
    cli.ok("media", "list", as_="aud01")
    before = len(list(OperationLog(oplog_path(cli)).chain_rows()))
    cli.ok("oplog", "purge", "--before", "2019-06-01")
    last = ledger_rows(cli)[-1]
    assert last["事象"] == "履歴削除" and "操作履歴の起点 " in last["備考"]
    rows = list(OperationLog(oplog_path(cli)).chain_rows())
    assert len(rows) < before and rows[0]["timestamp"].startswith("2026")
    assert f"操作履歴の起点 {rows[0]['id']}:{rows[0]['prev_hash']}" in last["備考"]
    r = cli.ok("oplog", "verify", as_="aud01")
    assert f"履歴削除の起点 {rows[0]['id']} 番から" in r.stdout
    # the first record kept, deleted by hand afterwards: not a purge the ledger knows
    sql(oplog_path(cli), f"DELETE FROM oplog WHERE id = {rows[0]['id']}")
    r = cli("oplog", "verify", as_="aud01")
    assert r.exit_code == 3 and "E-LOG-002" in r.stderr


def test_a_workspace_from_before_the_chain_verifies_after_the_upgrade(ws):
    # make the workspace's log look as an older bulktool left it: hash columns empty, no meta
    db = sqlite3.connect(oplog_path(ws))
    db.execute("DROP TRIGGER oplog_no_update")
    db.execute("UPDATE oplog SET prev_hash = NULL, hash = NULL")
    db.execute("DROP TABLE oplog_meta")
    db.commit()
    db.close()
    count = len(list(OperationLog(oplog_path(ws)).entries()))
    r = ws.ok("oplog", "verify", as_="aud01")
    assert f"{count + 1} 件" in r.stdout  # the old records, then the record of their chaining
    rows = list(OperationLog(oplog_path(ws)).entries())
    assert rows[count]["command"] == MIGRATION_COMMAND and rows[count]["counts"] == {"chained": count}


def test_audit_shows_a_broken_oplog_chain_on_its_own_line_and_exits_3(ws, tmp_path):
    inv = tmp_path / "棚卸表.csv"
    inv.write_text("媒体ID,状態,所在,確認者,確認日\n", encoding="utf-8")
    r = ws("audit", "reconcile", "--inventory", str(inv), as_="aud01")
    assert r.exit_code == 0 and "操作履歴" in r.stdout and "検証: 正常" in r.stdout, r.output
    sql(oplog_path(ws), "UPDATE oplog SET detail = 'x' WHERE id = 2")
    csv_out = tmp_path / "所見.csv"
    r = ws("audit", "reconcile", "--inventory", str(inv), "--csv", str(csv_out), as_="aud01")
    assert r.exit_code == 3, r.output
    assert "操作履歴　検証: 不正（E-LOG-002、2 番の記録）" in r.stdout
    # not a finding: the findings file holds findings only (none here)
    assert csv_out.read_bytes().decode("utf-8-sig").strip() == "コード,重要度,媒体ID,管理簿番号,内容"
    html = tmp_path / "r.html"
    ws.ok("audit", "report", "--html", str(html), as_="aud01")
    page = html.read_text(encoding="utf-8")
    assert "操作履歴の検証" in page and "E-LOG-002" in page


def test_notes_round_trip():
    anchor, heads = ledgered_marks([
        {"event": "点検", "note": f"チェックポイント 3:{'a' * 64}　{head_note((9, 'b' * 64))}　自己点検"},
        {"event": "履歴削除", "note": "2018-01-01 より前の操作履歴を削除"},  # before the chain: no anchor
        {"event": "履歴削除", "note": f"2019-01-01 より前の操作履歴を削除　{anchor_note((4, 'c' * 64))}"},
        {"event": "登録変更", "note": f"{head_note((1, 'd' * 64))}"},  # only 点検 records a head
    ])
    assert anchor == (4, "c" * 64) and heads == [(9, "b" * 64)]


def test_verify_against_ledger_uses_the_latest_ledgered_anchor(tmp_path):
    with OperationLog(tmp_path / "oplog.sqlite") as log:
        fill(log, 3)
        entries = [{"event": "履歴削除", "note": anchor_note((1, GENESIS_PREV))}]
        assert verify_against_ledger(log, entries, timestamp=TS.format(50), terminal_id="T001").ok
        entries.append({"event": "履歴削除", "note": anchor_note((2, "e" * 64))})
        report = verify_against_ledger(log, entries, timestamp=TS.format(51), terminal_id="T001")
        assert not report.ok and report.anchor == (2, "e" * 64)
