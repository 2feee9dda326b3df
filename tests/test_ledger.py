"""管理簿: the pure hash chain, and tampering with a real ledger file as a tamperer would
(sqlite3, triggers dropped first). Every kind of tampering must be caught, naming the first bad
entry; the concurrent-append test runs 4 processes × 50 appends."""
from __future__ import annotations

import base64
import csv
import io
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PrivateFormat, NoEncryption

from bulktool.ledger import (ENTRY_FIELDS, EXPORT_COLUMNS, GENESIS_PREV, JSON_FIELDS, Ledger, _to_json,
                             canonical, entry_hash, format_checkpoint, parse_checkpoint, sign_entry,
                             verify_chain, verify_signature)
from bulktool.messages import BulkError

TS = "2025-06-01T10:00:00+09:00"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
PUB = KEY.public_key()
N = 12


def _fill(ledger: Ledger, n: int = N) -> None:
    ledger.append({"event": "開設", "operator_id": "adm01", "terminal_id": "T1", "note": "作業領域の開設"},
                  key=KEY, timestamp=TS)
    for i in range(2, n + 1):
        if i % 3 == 2:
            ledger.append({"event": "受付", "operator_id": "op01", "terminal_id": "T1", "media_id": f"M{i}",
                           "department": "D01", "purpose": "P01", "approval_no": f"決裁-{i}",
                           "request_no": f"依頼-{i}", "files": [{"name": f"req{i}.zip", "sha256": f"{i:064x}"}]},
                          key=KEY, timestamp=TS)
        elif i % 3 == 0:
            ledger.append({"event": "出力", "operator_id": "op01", "terminal_id": "T1", "ref": i - 1,
                           "files": [{"name": f"req{i - 1}.zip", "sha256": f"{i - 1:064x}"},
                                     {"name": f"照会結果_{i - 1}.zip", "sha256": f"{i + 1000:064x}"}],
                           "counts": {"rows": i, "該当": i - 1}}, key=KEY, timestamp=TS)
        else:
            ledger.append({"event": "受領確認", "operator_id": "op01", "terminal_id": "T1", "ref": i - 1},
                          key=KEY, timestamp=TS)


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        _fill(ledger)
    return path


def tamper(path: Path, *statements: tuple) -> None:
    """What a tamperer with file access does: drop the triggers, then change rows."""
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER IF EXISTS entries_no_update")
    con.execute("DROP TRIGGER IF EXISTS entries_no_delete")
    for sql, *params in statements:
        con.execute(sql, params)
    con.commit()
    con.close()


def rows(path: Path) -> list[dict]:
    with Ledger(path) as ledger:
        return list(ledger.entries())


def verify(path: Path, public_key=PUB, checkpoint=None, workers=None):
    with Ledger(path) as ledger:
        return verify_chain(ledger.entries(), public_key, checkpoint, workers=workers)


def hash_of(path: Path, seq: int) -> str:
    with Ledger(path) as ledger:
        return ledger.get(seq)["hash"]


def renumber(path: Path, from_seq: int, delta: int) -> None:
    """Shift the numbers of entries ≥ from_seq by delta (in two steps, the primary key is unique)."""
    tamper(path, ("UPDATE entries SET seq = -(seq + ?) WHERE seq >= ?", delta, from_seq),
           ("UPDATE entries SET seq = -seq WHERE seq < 0",))


def insert_row(path: Path, e: dict) -> None:
    values = [_to_json(e.get(k)) if k in JSON_FIELDS else e.get(k) for k in ENTRY_FIELDS]
    tamper(path, (f"INSERT INTO entries ({','.join(ENTRY_FIELDS)}) VALUES ({','.join('?' * len(ENTRY_FIELDS))})",
                  *values))


# --- the pure part ---------------------------------------------------------------------------
def test_canonical_form_is_sorted_compact_utf8_with_prev_hash_from_the_argument():
    fields = {"seq": 2, "timestamp": TS, "event": "出力", "counts": {"b": 2, "a": 1},
              "files": [{"sha256": "ab" * 32, "name": "照会結果_1.zip"}], "hash": "x", "signature": "y",
              "prev_hash": "ignored"}
    text = canonical(fields, "11" * 32).decode("utf-8")
    assert text == (
        '{"approval_no":null,"counts":{"a":1,"b":2},"department":null,"error_code":null,"event":"出力",'
        f'"files":[{{"name":"照会結果_1.zip","sha256":"{"ab" * 32}"}}],"media_id":null,"note":null,'
        f'"operator_id":null,"prev_hash":"{"11" * 32}","purpose":null,"ref":null,"request_no":null,"seq":2,'
        f'"terminal_id":null,"timestamp":"{TS}"}}')
    assert entry_hash(fields, "11" * 32) != entry_hash(fields, "22" * 32)
    assert entry_hash(fields, "11" * 32) == entry_hash(dict(reversed(fields.items())), "11" * 32)
    assert entry_hash(fields, "11" * 32) == entry_hash({**fields, "hash": "other", "signature": "z"}, "11" * 32)


def test_signature_is_over_the_hash_and_bound_to_the_key():
    h = entry_hash({"seq": 1, "event": "開設"}, GENESIS_PREV)
    sig = sign_entry(h, KEY)
    assert len(base64.b64decode(sig)) == 64
    assert verify_signature(h, sig, PUB)
    assert not verify_signature(h, sig, OTHER_KEY.public_key())
    assert not verify_signature(GENESIS_PREV, sig, PUB)
    assert not verify_signature(h, "not base64!", PUB)


def test_checkpoint_round_trip_and_bad_forms():
    h = "ab" * 32
    assert parse_checkpoint(format_checkpoint(130000, h)) == (130000, h)
    assert parse_checkpoint(f" 7:{h.upper()}\n") == (7, h)
    for bad in ("", "7", f"0:{h}", f"-1:{h}", f"x:{h}", "7:abc", f"7:{h}0", f"7:{'g' * 64}", f"７:{h}"):
        with pytest.raises(BulkError) as err:
            parse_checkpoint(bad)
        assert err.value.code == "E-LED-002" and err.value.exit_code == 2


def test_untouched_ledger_verifies_with_key_and_checkpoint(db):
    report = verify(db, checkpoint=(N, hash_of(db, N)))
    assert report.ok and report.count == N and report.head_hash == hash_of(db, N)
    assert report.signatures_checked == N and report.error() is None
    assert verify(db, checkpoint=(5, hash_of(db, 5))).ok
    assert verify(db, public_key=None).ok


def test_empty_ledger_verifies_but_not_against_a_checkpoint(tmp_path):
    path = tmp_path / "empty.sqlite"
    Ledger(path).close()
    assert verify(path).ok
    report = verify(path, checkpoint=(1, "ab" * 32))
    assert not report.ok and report.first_bad == 1 and report.code == "E-LED-003"


# --- tampering with the real file ------------------------------------------------------------
def test_triggers_refuse_update_and_delete(db):
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("UPDATE entries SET note = 'x' WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("DELETE FROM entries WHERE seq = 3")
    con.close()
    assert verify(db).ok


@pytest.mark.parametrize("column, value", [("note", "書き換え"), ("counts", '{"rows":999}'),
                                           ("timestamp", "2025-06-02T10:00:00+09:00"), ("event", "点検"),
                                           ("ref", 1), ("files", "not json")])
def test_changed_field_is_caught_at_that_entry(db, column, value):
    tamper(db, (f"UPDATE entries SET {column} = ? WHERE seq = 6", value))
    report = verify(db)
    assert not report.ok and report.first_bad == 6 and report.code == "E-LED-001"
    assert "ハッシュ" in report.reason or "形式" in report.reason
    err = report.error()
    assert err.code == "E-LED-001" and err.exit_code == 3 and "6 番目" in err.message


def test_deleted_entry_is_caught(db):
    tamper(db, ("DELETE FROM entries WHERE seq = 5",))
    report = verify(db)
    assert not report.ok and report.first_bad == 5 and "番号" in report.reason


def test_deleted_entry_with_renumbering_is_caught(db):
    tamper(db, ("DELETE FROM entries WHERE seq = 5",))
    renumber(db, 6, -1)
    assert [e["seq"] for e in rows(db)] == list(range(1, N))
    report = verify(db)
    assert not report.ok and report.first_bad == 5 and "前ハッシュ" in report.reason


def test_inserted_forged_entry_is_caught_even_with_a_consistent_hash(db):
    renumber(db, 5, +1)
    forged = {"seq": 5, "timestamp": TS, "event": "受領確認", "operator_id": "op01", "terminal_id": "T1",
              "media_id": None, "department": None, "purpose": None, "approval_no": None, "request_no": None,
              "ref": 3, "error_code": None, "files": None, "counts": None, "note": None,
              "prev_hash": hash_of(db, 4)}
    forged["hash"] = entry_hash(forged, forged["prev_hash"])
    forged["signature"] = sign_entry(forged["hash"], OTHER_KEY)  # the tamperer has no terminal key
    insert_row(db, forged)
    report = verify(db)
    assert not report.ok and report.first_bad == 5 and "署名" in report.reason
    # without the key the chain still breaks at the entry after the forgery
    report = verify(db, public_key=None)
    assert not report.ok and report.first_bad == 6 and "前ハッシュ" in report.reason


def test_appended_forgery_at_the_end_is_caught_by_its_signature(db):
    forged = {k: None for k in ENTRY_FIELDS}
    forged.update(seq=N + 1, timestamp=TS, event="消去", prev_hash=hash_of(db, N))
    forged["hash"] = entry_hash(forged, forged["prev_hash"])
    forged["signature"] = sign_entry(forged["hash"], OTHER_KEY)
    insert_row(db, forged)
    report = verify(db)
    assert not report.ok and report.first_bad == N + 1 and "署名" in report.reason


def test_swapped_entries_are_caught(db):
    before = rows(db)
    a, b = before[3], before[6]  # entries 4 and 7
    cols = [c for c in ENTRY_FIELDS if c != "seq"]
    statements = []
    for target, src in ((4, b), (7, a)):
        statements.append((f"UPDATE entries SET {', '.join(f'{c} = ?' for c in cols)} WHERE seq = ?",
                           *[_to_json(src[c]) if c in JSON_FIELDS else src[c] for c in cols], target))
    tamper(db, *statements)
    assert rows(db)[3]["hash"] == b["hash"]
    report = verify(db)
    assert not report.ok and report.first_bad == 4


def test_swapped_numbers_are_caught(db):
    tamper(db, ("UPDATE entries SET seq = -4 WHERE seq = 7",), ("UPDATE entries SET seq = 7 WHERE seq = 4",),
           ("UPDATE entries SET seq = 4 WHERE seq = -4",))
    report = verify(db)
    assert not report.ok and report.first_bad == 4


@pytest.mark.parametrize("how", ["other entry's", "other key", "garbage", "empty", "null"])
def test_changed_signature_is_caught(db, how):
    k = 8
    h = hash_of(db, k)
    sig = {"other entry's": rows(db)[2]["signature"], "other key": sign_entry(h, OTHER_KEY),
           "garbage": "A" * 88, "empty": "", "null": None}[how]
    if sig is None:
        # the column is NOT NULL: a tamperer rebuilds the table without the constraint
        con = sqlite3.connect(db)
        con.executescript("DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;"
                          "CREATE TABLE t AS SELECT * FROM entries; DROP TABLE entries;"
                          "ALTER TABLE t RENAME TO entries;")
        con.execute("UPDATE entries SET signature = NULL WHERE seq = ?", (k,))
        con.commit()
        con.close()
    else:
        tamper(db, ("UPDATE entries SET signature = ? WHERE seq = ?", sig, k))
    report = verify(db)
    assert not report.ok and report.first_bad == k and "署名" in report.reason
    assert verify(db, public_key=None).ok  # the chain alone cannot see it


def test_truncated_tail_is_caught_only_with_a_checkpoint(db):
    cp = (N, hash_of(db, N))
    tamper(db, ("DELETE FROM entries WHERE seq > 8",))
    assert verify(db).ok  # nothing else can tell
    report = verify(db, checkpoint=cp)
    assert not report.ok and report.first_bad == 9 and report.code == "E-LED-003"
    err = report.error()
    assert err.exit_code == 3 and f"{N} 件" in err.message and "8 件" in err.message


def test_rehashed_tail_without_the_key_fails_on_the_signature(db):
    cp = (N, hash_of(db, N))
    entries = rows(db)
    entries[4]["note"] = "書き換え"  # entry 5
    prev = entries[3]["hash"]
    statements = []
    for e in entries[4:]:
        e["prev_hash"] = prev
        e["hash"] = entry_hash(e, prev)
        prev = e["hash"]
        statements.append(("UPDATE entries SET note = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           e["note"], e["prev_hash"], e["hash"], e["seq"]))
    tamper(db, *statements)
    report = verify(db)
    assert not report.ok and report.first_bad == 5 and "署名" in report.reason
    assert verify(db, public_key=None).ok  # a consistent chain ...
    report = verify(db, public_key=None, checkpoint=cp)  # ... that an auditor's checkpoint exposes
    assert not report.ok and report.first_bad == N and report.code == "E-LED-004"


def test_history_rewritten_with_the_key_is_caught_by_a_checkpoint(db):
    cp = (6, hash_of(db, 6))
    entries = rows(db)
    prev = entries[1]["hash"]
    entries[2]["counts"] = {"rows": 0}  # entry 3, re-signed with the real key
    statements = []
    for e in entries[2:]:
        e["hash"] = entry_hash(e, prev)
        statements.append(("UPDATE entries SET counts = ?, prev_hash = ?, hash = ?, signature = ? WHERE seq = ?",
                           _to_json(e["counts"]), prev, e["hash"], sign_entry(e["hash"], KEY), e["seq"]))
        prev = e["hash"]
    tamper(db, *statements)
    assert verify(db).ok
    report = verify(db, checkpoint=cp)
    assert not report.ok and report.first_bad == 6 and report.code == "E-LED-004"
    assert report.error().message.startswith("管理簿の 6 番目")


def test_first_bad_is_the_earliest_whatever_the_kind(db):
    tamper(db, ("UPDATE entries SET signature = ? WHERE seq = 3", sign_entry(hash_of(db, 3), OTHER_KEY)),
           ("UPDATE entries SET note = 'x' WHERE seq = 9",))
    assert verify(db).first_bad == 3
    tamper(db, ("UPDATE entries SET note = 'x' WHERE seq = 2",))
    assert verify(db).first_bad == 2


# --- many signatures, checked in worker processes -------------------------------------------
def _bulk_ledger(path: Path, n: int, bad_signatures: dict[int, str] = {}) -> list[str]:
    ledger = Ledger(path)
    prev, hashes, values = GENESIS_PREV, [], []
    for seq in range(1, n + 1):
        e = {k: None for k in ENTRY_FIELDS}
        e.update(seq=seq, timestamp=TS, event="受付" if seq > 1 else "開設", media_id=f"M{seq % 50}",
                 prev_hash=prev)
        e["hash"] = entry_hash(e, prev)
        e["signature"] = bad_signatures.get(seq) or sign_entry(e["hash"], KEY)
        values.append([e[k] for k in ENTRY_FIELDS])
        hashes.append(e["hash"])
        prev = e["hash"]
    ledger.db.execute("BEGIN")
    ledger.db.executemany(f"INSERT INTO entries ({','.join(ENTRY_FIELDS)}) VALUES ({','.join('?' * len(ENTRY_FIELDS))})",
                          values)
    ledger.db.execute("COMMIT")
    ledger.close()
    return hashes


def test_parallel_signature_check_names_the_first_bad_one(tmp_path):
    path = tmp_path / "big.sqlite"
    n = 20_000
    hashes = _bulk_ledger(path, n, {17_000: sign_entry(GENESIS_PREV, KEY), 9_001: "A" * 88})
    for workers in (1, 2):
        report = verify(path, workers=workers)
        assert not report.ok and report.first_bad == 9_001 and report.signatures_checked == n
    # a chain break after the bad signature does not hide it; one before it wins
    tamper(path, ("UPDATE entries SET note = 'x' WHERE seq = 12000",))
    assert verify(path, workers=2).first_bad == 9_001
    tamper(path, ("UPDATE entries SET note = 'x' WHERE seq = 8000",))
    report = verify(path, workers=2)
    assert report.first_bad == 8_000 and "ハッシュ" in report.reason
    report = verify(path, public_key=None, checkpoint=(7_999, hashes[7_998]))
    assert report.first_bad == 8_000 and report.code == "E-LED-001" and report.count == 7_999


def test_parallel_signature_check_passes_a_good_ledger(tmp_path):
    path = tmp_path / "big.sqlite"
    hashes = _bulk_ledger(path, 12_000)
    report = verify(path, workers=2, checkpoint=(12_000, hashes[-1]))
    assert report.ok and report.count == 12_000 and report.signatures_checked == 12_000


# --- appends ---------------------------------------------------------------------------------
def _append_worker(path: str, key_bytes: bytes, worker: int, count: int, start) -> None:
    key = Ed25519PrivateKey.from_private_bytes(key_bytes)
    start.wait()
    with Ledger(path) as ledger:
        for i in range(count):
            ledger.append({"event": "受付", "terminal_id": f"T{worker}", "note": f"w{worker}-{i}"},
                          key=key, timestamp=TS)


def test_concurrent_appends_from_four_processes_never_fork_or_gap(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    ctx = multiprocessing.get_context()
    start = ctx.Event()
    raw = KEY.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    procs = [ctx.Process(target=_append_worker, args=(str(path), raw, w, 50, start)) for w in range(4)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    entries = rows(path)
    assert [e["seq"] for e in entries] == list(range(1, 201))
    assert len({e["prev_hash"] for e in entries}) == 200  # no two entries share a parent: no fork
    for w in range(4):  # each process's appends are all there, in its own order
        mine = [e["note"] for e in entries if e["terminal_id"] == f"T{w}"]
        assert mine == [f"w{w}-{i}" for i in range(50)]
    report = verify(path)
    assert report.ok and report.count == 200


def test_append_returns_the_stored_entry(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        first = ledger.append({"event": "開設", "terminal_id": "T1"}, key=KEY, timestamp=TS)
        second = ledger.append({"event": "媒体登録", "media_id": "M1", "department": "D01",
                                "files": [{"name": "媒体ID.txt", "sha256": "ab" * 32}]}, key=KEY, timestamp=TS)
        assert first["seq"] == 1 and first["prev_hash"] == GENESIS_PREV
        assert second["seq"] == 2 and second["prev_hash"] == first["hash"]
        assert ledger.get(2) == second and ledger.head() == (2, second["hash"])
        assert set(second) == set(ENTRY_FIELDS)
        assert verify_signature(second["hash"], second["signature"], PUB)
        assert ledger.get(3) is None
        with pytest.raises(BulkError) as err:
            ledger.require(3)
        assert err.value.code == "E-LED-005"


@pytest.mark.parametrize("fields, timestamp", [
    ({"event": "不明"}, TS),
    ({"event": "受付", "colour": "red"}, TS),
    ({"event": "受付", "seq": 5}, TS),
    ({"event": "受付", "hash": "00"}, TS),
    ({"event": "出力", "ref": "3"}, TS),
    ({"event": "出力", "counts": {"rows": 1.5}}, TS),
    ({"event": "出力", "counts": {1: 2}}, TS),
    ({"event": "出力", "files": [{"name": "a", "sha256": "XYZ"}]}, TS),
    ({"event": "出力", "files": [{"name": "a"}]}, TS),
    ({"event": "受付", "note": 5}, TS),
    ({"event": "受付"}, "2025-06-01T10:00:00"),
    ({"event": "受付"}, "yesterday"),
])
def test_append_refuses_malformed_fields(tmp_path, fields, timestamp):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        with pytest.raises(ValueError):
            ledger.append(fields, key=KEY, timestamp=timestamp)
        assert ledger.head() == (0, GENESIS_PREV)


# --- queries the exchange needs --------------------------------------------------------------
def test_find_output_for_request_and_open_acceptances(db):
    with Ledger(db) as ledger:
        # _fill: 受付 at 2, 5, 8, 11; 出力 citing them at 3, 6, 9, 12
        assert [e["seq"] for e in ledger.find(event="受付")] == [2, 5, 8, 11]
        assert [e["seq"] for e in ledger.find(ref=5)] == [6]
        assert [e["seq"] for e in ledger.find(event="受領確認", ref=3)] == [4]
        assert ledger.output_for_request(f"{5:064x}")["seq"] == 6
        assert ledger.output_for_request(f"{99:064x}") is None
        assert [e["seq"] for e in ledger.find(file_sha256=f"{8:064x}")] == [8, 9]
        assert ledger.open_acceptances() == []
        r = ledger.append({"event": "受付", "media_id": "M9"}, key=KEY, timestamp=TS)
        r2 = ledger.append({"event": "受付", "media_id": "M9"}, key=KEY, timestamp=TS)
        ledger.append({"event": "拒否", "ref": r2["seq"], "error_code": "E-MED-001"}, key=KEY, timestamp=TS)
        assert [e["seq"] for e in ledger.open_acceptances()] == [r["seq"]]
        ledger.append({"event": "受領確認", "ref": r["seq"]}, key=KEY, timestamp=TS)  # does not close it
        assert [e["seq"] for e in ledger.open_acceptances()] == [r["seq"]]
        ledger.append({"event": "失敗", "ref": r["seq"], "error_code": "E-EXC-001"}, key=KEY, timestamp=TS)
        assert ledger.open_acceptances() == []


# --- export ----------------------------------------------------------------------------------
def test_export_csv_is_bom_crlf_japanese_and_neutralises_formulas(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        _fill(ledger, 4)
        ledger.append({"event": "点検", "note": "=HYPERLINK(\"x\")"}, key=KEY, timestamp=TS)
        data = ledger.export_csv()
        rows_ = list(ledger.export_rows())
    assert data.startswith("\ufeff".encode("utf-8"))
    text = data.decode("utf-8")[1:]
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(table[0]) == EXPORT_COLUMNS
    assert [r["番号"] for r in table] == ["1", "2", "3", "4", "5"]
    assert table[2]["事象"] == "出力" and table[2]["参照番号"] == "2" and "rows=3" in table[2]["件数"]
    assert table[1]["ファイル"] == f"req2.zip:{2:064x}"
    assert table[4]["備考"] == "'=HYPERLINK(\"x\")"
    assert table[4]["ハッシュ"] == rows_[4]["ハッシュ"] and table[0]["前ハッシュ"] == GENESIS_PREV


def test_export_xlsx_keeps_text_as_text(tmp_path):
    from openpyxl import load_workbook

    with Ledger(tmp_path / "l.sqlite") as ledger:
        _fill(ledger, 3)
        ledger.append({"event": "点検", "note": "=1+1\x01"}, key=KEY, timestamp=TS)
        data = ledger.export_xlsx()
        head = ledger.head()
    wb = load_workbook(io.BytesIO(data))
    ws = wb["管理簿"]
    values = list(ws.values)
    assert values[0] == EXPORT_COLUMNS
    assert [r[0] for r in values[1:]] == [1, 2, 3, 4]
    assert values[4][14] == "=1+1" and ws.cell(row=5, column=15).data_type == "s"
    assert values[4][16] == head[1]
