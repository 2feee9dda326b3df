"""Property tests of the 管理簿 verifiers (issue #21): a real ledger of a few entries, written by
the real writer (Ledger.append), then changed at random — in memory (the entries verify_chain
reads), in its SQLite file (triggers dropped, rows updated, deleted, renumbered, duplicated) and
in its CSV export (`ledger verify --file`: bytes flipped, cut and spliced, cells changed, rows
dropped, duplicated and swapped, entries forged and re-hashed by a tamperer without the key).

Properties: verification never raises anything but the product's refusal (BulkError E-LED-006
for a file that is no export at all); it never reports intact a chain that differs from the one
written (against a checkpoint of its head: any difference; without one: only an untouched prefix
may verify); the untouched ledger verifies. Example counts scale with the hypothesis profile
(tests/conftest.py).
"""
from __future__ import annotations

import copy
import csv
import io
import json
import shutil
import sqlite3
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from damage import byte_edits, mutate
from bulktool.ledger import ENTRY_FIELDS, HASHED_FIELDS, Ledger, entry_hash, sign_entry, verify_chain
from bulktool.ledger.chain import GENESIS_PREV
from bulktool.ledger.storage import EXPORT_COLUMNS, export_row, verify_export
from bulktool.messages import BulkError
from bulktool.tables import rows_to_csv

BASE = settings().max_examples  # the loaded profile's (100 under "ci", 2000 under "fuzz")


def fuzz(percent: int) -> settings:
    return settings(max_examples=max(5, BASE * percent // 100), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
PUB = KEY.public_key()
SHA = "ab" * 32
APPENDS = [  # what the product appends, with the awkward text a CSV export must carry
    {"event": "開設", "operator_id": "admin01", "terminal_id": "T001", "note": "作業領域の開設"},
    {"event": "媒体登録", "operator_id": "op01", "terminal_id": "T001", "media_id": "M001", "department": "D01"},
    {"event": "受付", "operator_id": "op01", "terminal_id": "T001", "media_id": "M001", "department": "D01",
     "purpose": "P01", "approval_no": "決裁-100", "request_no": "R-1", "files": [{"name": "依頼.zip", "sha256": SHA}]},
    {"event": "出力", "operator_id": "op01", "terminal_id": "T001", "media_id": "M001", "department": "D01",
     "purpose": "P01", "ref": 3, "files": [{"name": "照会結果_3.zip", "sha256": SHA}], "counts": {"rows": 6, "該当": 4},
     "provided": {"fields": ["住民票コード", "氏名"], "kojin_bango": False, "store_entry": 1,
                  "store_loaded": "2026-04-01"}},
    {"event": "拒否", "operator_id": "op01", "terminal_id": "T001", "ref": 3, "error_code": "E-CON-004",
     "note": "=1+1"},
    {"event": "点検", "operator_id": "aud01", "terminal_id": "T001", "media_id": "+M",
     "note": '-x, "引用" \r\n改行のある備考\t'},
]
N = len(APPENDS)
TIMES = [f"2026-12-0{i}T10:00:00+09:00" for i in range(1, N + 1)]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The ledger file, its entries as read back, its CSV export and a checkpoint of its head."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    with Ledger(path) as ledger:
        for fields, ts in zip(APPENDS, TIMES):
            ledger.append(fields, key=KEY, timestamp=ts)
        entries = list(ledger.entries())
        export = ledger.export_csv()
        head = ledger.head()
    return Written(path=path, entries=entries, csv=export, head=head, rows=csv_rows(export))


class Written(dict):
    """The written ledger's forms (shown by name only in a failing example)."""

    def __repr__(self) -> str:
        return "<the written ledger>"


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def strict(value: object) -> object:
    """A value compared with its type (1, 1.0 and True differ; key order does not)."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), strict(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(strict(v) for v in value))
    return (type(value).__name__, value)


def same_entries(a: list[dict], b: list[dict]) -> bool:
    try:
        return [strict({k: e.get(k) for k in ENTRY_FIELDS}) for e in a] == \
            [strict({k: e.get(k) for k in ENTRY_FIELDS}) for e in b]
    except RecursionError:  # a value nested past the interpreter's limit is no entry we wrote
        return False


def test_the_untouched_ledger_verifies_in_every_form(written):
    assert verify_chain(copy.deepcopy(written["entries"]), PUB, written["head"]).ok
    with Ledger(written["path"]) as ledger:
        report = ledger.verify(PUB, written["head"])
        assert report.ok and report.count == N
    report = verify_export(written["csv"], PUB, written["head"])
    assert report.ok and report.count == N
    assert written["rows"][0] == list(EXPORT_COLUMNS) and len(written["rows"]) == N + 1


# --- values a tamperer writes ----------------------------------------------------------------
LIMIT = sys.getrecursionlimit()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10)


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def nested_text(depth: int) -> str:
    return "[" * depth + "]" * depth


deep_depths = st.integers(LIMIT - 120, LIMIT + 40) | st.sampled_from([5000, 100_000])


def field_values(entries: list[dict]):
    """A new value for a field: another entry's value, a near miss of the kind, any JSON value,
    a value nested near or past the recursion limit."""
    others = [e[k] for e in entries for k in HASHED_FIELDS if e.get(k) is not None]
    return st.one_of(st.sampled_from(others), json_values, st.sampled_from([1.0, True, 0, -1, "", " ", "1", SHA, None]),
                     deep_depths.filter(lambda d: d < 20_000).map(nested))


# --- 4a. the chain of entries, in memory ------------------------------------------------------
def rehash_from(entries: list[dict], k: int, key: Ed25519PrivateKey | None) -> None:
    """A tamperer's repair after a change at entry k (1-based): hashes and prev_hashes made
    consistent again; signatures forged with another key, or (key None) left as they were."""
    prev = entries[k - 2]["hash"] if k > 1 else GENESIS_PREV
    for e in entries[k - 1:]:
        e["prev_hash"] = prev
        try:
            e["hash"] = entry_hash(e, prev)
        except (TypeError, ValueError, RecursionError):
            return
        if key is not None:
            e["signature"] = sign_entry(e["hash"], key)
        prev = e["hash"]


@st.composite
def chain_edits(draw, entries: list[dict]) -> list[dict]:
    out = copy.deepcopy(entries)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["set", "set", "drop", "dup", "swap", "truncate", "renumber", "rehash"]))
        if not out:
            break
        k = draw(st.integers(1, len(out)))
        if op == "set":
            out[k - 1][draw(st.sampled_from(ENTRY_FIELDS))] = draw(field_values(entries))
        elif op == "drop":
            del out[k - 1]
        elif op == "dup":
            out.insert(k, dict(out[k - 1]))
        elif op == "swap":
            j = draw(st.integers(1, len(out)))
            out[k - 1], out[j - 1] = out[j - 1], out[k - 1]
        elif op == "truncate":
            del out[k - 1:]
        elif op == "renumber":
            for pos, e in enumerate(out, 1):
                e["seq"] = pos
        elif op == "rehash":
            rehash_from(out, k, draw(st.sampled_from([OTHER_KEY, None])))
    return out


@fuzz(200)
@given(st.data())
def test_a_changed_chain_never_verifies(written, data):
    original = written["entries"]
    changed = data.draw(chain_edits(original))
    report = verify_chain(changed, PUB, written["head"])  # verification reads, never changes, the entries
    assert report.ok is (report.first_bad is None)
    assert report.ok is same_entries(changed, original), report
    if not report.ok:
        assert report.error().code in ("E-LED-001", "E-LED-003", "E-LED-004")
    loose = verify_chain(changed, PUB)  # without a checkpoint: an untouched prefix only
    if loose.ok:
        assert same_entries(changed, original[:len(changed)]), loose


# --- 4b. the SQLite file ---------------------------------------------------------------------
COLUMNS = ENTRY_FIELDS
sql_values = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=20),
                       st.binary(max_size=20), json_values.map(lambda v: json.dumps(v)),
                       deep_depths.map(nested_text))
sql_edits = st.lists(st.one_of(
    st.tuples(st.just("update"), st.integers(1, N), st.sampled_from(COLUMNS), sql_values),
    st.tuples(st.just("delete"), st.integers(1, N), st.none(), st.none()),
    st.tuples(st.just("move"), st.integers(1, N), st.none(), st.integers(-1, N + 2)),
    st.tuples(st.just("copy"), st.integers(1, N), st.none(), st.integers(N + 1, N + 3)),
), min_size=1, max_size=3)


def _apply_sql(path, edits) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("DROP TRIGGER IF EXISTS entries_no_update")
        db.execute("DROP TRIGGER IF EXISTS entries_no_delete")
        for op, seq, column, value in edits:
            try:
                if op == "update":
                    db.execute(f"UPDATE entries SET {column} = ? WHERE seq = ?", (value, seq))
                elif op == "delete":
                    db.execute("DELETE FROM entries WHERE seq = ?", (seq,))
                elif op == "move":
                    db.execute("UPDATE entries SET seq = ? WHERE seq = ?", (value, seq))
                elif op == "copy":
                    cols = ",".join(c for c in COLUMNS if c != "seq")
                    db.execute(f"INSERT INTO entries (seq,{cols}) SELECT ?,{cols} FROM entries WHERE seq = ?",
                               (value, seq))
            except sqlite3.Error:  # a type or constraint the table refuses: that edit is not made
                pass
    finally:
        db.close()


@fuzz(100)
@given(sql_edits)
def test_a_changed_ledger_file_never_verifies(written, tmp_path_factory, edits):
    path = tmp_path_factory.mktemp("edited") / "ledger.sqlite"
    shutil.copy(written["path"], path)
    _apply_sql(path, edits)
    with Ledger(path) as ledger:
        read_back = list(ledger.entries())
        report = ledger.verify(PUB, written["head"])
    assert report.ok is same_entries(read_back, written["entries"]), (report, edits)
    path.unlink()


# --- 4c. the CSV export (`ledger verify --file`) ----------------------------------------------
def write_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


@st.composite
def export_edits(draw, written: dict) -> bytes:
    """A changed export: bytes, cells, rows, or entries forged through the real export writer."""
    kind = draw(st.sampled_from(["bytes", "cells", "forge"]))
    if kind == "bytes":
        return mutate(written["csv"], draw(byte_edits))
    if kind == "forge":  # a tamperer without the key: change an entry, re-hash, re-export
        entries = copy.deepcopy(written["entries"])
        k = draw(st.integers(1, N))
        entries[k - 1][draw(st.sampled_from(HASHED_FIELDS))] = draw(field_values(written["entries"]))
        rehash_from(entries, k, draw(st.sampled_from([OTHER_KEY, None])))
        try:
            return rows_to_csv(EXPORT_COLUMNS, [list(export_row(e).values()) for e in entries])
        except RecursionError:  # nested too deep for the writer: the reader's side is tested by "cells"
            assume(False)
    rows = copy.deepcopy(written["rows"])
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["cell", "cell", "canonical", "drop", "dup", "swap", "blank", "short"]))
        r = draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else 0
        if op == "cell" and rows[r]:
            c = draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = draw(st.one_of(st.text(max_size=20), st.sampled_from(
                [rows[r][c] + "x", "'" + rows[r][c], rows[r][c].strip(), rows[r][c].upper(), ""]),
                st.sampled_from([row[c] for row in rows if len(row) > c])))
        elif op == "canonical" and len(rows[r]) == len(EXPORT_COLUMNS):
            c = EXPORT_COLUMNS.index("正準形")
            rows[r][c] = draw(st.one_of(json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
                                        deep_depths.map(nested_text),
                                        deep_depths.map(lambda d: rows[r][c].replace('"note":', '"note":' + "[" * d, 1)
                                                        .replace(',"operator_id"', "]" * d + ',"operator_id"', 1))))
        elif op == "drop" and r:
            del rows[r]
        elif op == "dup" and r:
            rows.insert(r, list(rows[r]))
        elif op == "swap" and r:
            j = draw(st.integers(1, len(rows) - 1))
            rows[r], rows[j] = rows[j], rows[r]
        elif op == "blank":
            rows.insert(r + 1, [""] * draw(st.integers(0, 3)))
        elif op == "short":
            rows[r] = rows[r][:draw(st.integers(0, len(rows[r])))]
    return write_csv(rows)


def verify_file(data: bytes, checkpoint):
    """(report, None) or (None, BulkError); anything else propagates."""
    try:
        return verify_export(data, PUB, checkpoint), None
    except BulkError as err:
        return None, err


def _entry_rows(data: bytes) -> list[list[str]]:
    return [r for r in csv_rows(data) if any(r)]


@fuzz(250)
@given(st.data())
def test_a_changed_export_never_verifies(written, data):
    changed = data.draw(export_edits(written))
    report, err = verify_file(changed, written["head"])
    if err is not None:
        assert err.code == "E-LED-006", err
        return
    if report.ok:  # the same rows (blank lines aside): the same ledger
        assert _entry_rows(changed) == written["rows"], report
    else:
        assert report.error().code in ("E-LED-001", "E-LED-003", "E-LED-004")
    loose, err = verify_file(changed, None)
    if loose is not None and loose.ok:  # without a checkpoint: an untouched prefix only
        rows = _entry_rows(changed)
        assert rows == written["rows"][:len(rows)], loose


@fuzz(60)
@given(st.binary(max_size=2000) | st.text(max_size=300).map(lambda t: ("\ufeff" + ",".join(EXPORT_COLUMNS) + "\r\n"
                                                                        + t).encode("utf-8")))
def test_any_bytes_as_an_export_are_refused_or_fail(written, data):
    report, err = verify_file(data, written["head"])
    assert (err is not None and err.code == "E-LED-006") or not report.ok


# --- regressions found by the properties above ------------------------------------------------

def test_regression_a_ledger_file_with_json_nested_past_the_limit_fails_verification(written, tmp_path):
    """storage._from_json let RecursionError out of Ledger.entries (a traceback from `ledger
    verify`) for a files/counts/provided column holding JSON nested deeper than the limit."""
    for column in ("files", "counts", "provided"):
        path = tmp_path / f"{column}.sqlite"
        shutil.copy(written["path"], path)
        _apply_sql(path, [("update", 3, column, nested_text(100_000))])
        with Ledger(path) as ledger:
            report = ledger.verify(PUB, written["head"])
        assert not report.ok and report.first_bad == 3, (column, report)


def test_regression_an_export_with_a_canonical_form_nested_past_the_limit_fails(written):
    """read_export_csv let RecursionError out (json.loads of the 正準形 cell); and at depths that
    parse but cannot be hashed or written back (a few levels below the limit), entry_hash and
    export_row did too. Every depth around the limit, and far past it, fails verification."""
    c = EXPORT_COLUMNS.index("正準形")
    for depth in [*range(LIMIT - 120, LIMIT + 10), 60_000]:  # 60_000: still within the CSV field limit
        rows = copy.deepcopy(written["rows"])
        rows[2][c] = rows[2][c].replace('"note":null', '"note":' + nested_text(depth), 1)
        report, err = verify_file(write_csv(rows), written["head"])
        assert err is None and not report.ok and report.first_bad == 2, (depth, report)


def test_regression_a_chain_entry_nested_or_huge_fails_verification(written):
    """chain._link_fault let RecursionError out of entry_hash for a value nested past the limit,
    and _short (the reason's seq) RecursionError or ValueError (an int of over 4300 digits)."""
    for field, value in (("note", nested(5000)), ("seq", nested(5000)), ("seq", 10**5000)):
        entries = [dict(e) for e in written["entries"]]
        entries[1][field] = value
        report = verify_chain(entries, PUB, written["head"])
        assert not report.ok and report.first_bad == 2, (field, report)
