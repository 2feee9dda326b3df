"""操作履歴: recording, listing, export, the retention-guarded purge, and the personal-number guard."""
from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date

import pytest

from bulktool.messages import BulkError
from bulktool.oplog import COLUMNS, OperationLog, looks_personal, purge_limit, years_before

SHA = "ab" * 32


@pytest.fixture
def log(tmp_path):
    with OperationLog(tmp_path / "oplog.sqlite") as log:
        yield log


def rec(log: OperationLog, timestamp: str, **kw) -> int:
    args = dict(operator_id="op01", terminal_id="T1", command="exchange", outcome="成功", code=None,
                counts=None, hashes=None, detail=None)
    args.update(kw)
    return log.record(timestamp=timestamp, **args)


def test_record_and_list_in_order_with_bounds(log):
    a = rec(log, "2018-05-31T23:59:59+09:00", command="ledger verify", counts={"entries": 12})
    b = rec(log, "2018-06-01T00:00:00+09:00", operator_id="ghost", outcome="ログイン失敗", code="E-AUTH-001")
    c = rec(log, "2025-06-01T10:00:00+09:00", outcome="拒否", code="E-MED-001", hashes=[SHA],
            counts={"rows": 3, "該当": 2}, detail="照会ファイル 1 件")
    assert (a, b, c) == (1, 2, 3) and log.count() == 3
    entries = list(log.entries())
    assert [e["id"] for e in entries] == [1, 2, 3]
    assert entries[2]["counts"] == {"rows": 3, "該当": 2} and entries[2]["hashes"] == [SHA]
    assert entries[1]["outcome"] == "ログイン失敗" and entries[1]["code"] == "E-AUTH-001"
    assert [e["id"] for e in log.entries(since=date(2018, 6, 1))] == [2, 3]
    assert [e["id"] for e in log.entries(until=date(2018, 6, 1))] == [1]
    assert [e["id"] for e in log.entries(since="2018-06-01", until="2025-01-01")] == [2]


@pytest.mark.parametrize("detail", [
    "123456789012", "対象 12345678901 件目", "１２３４５６７８９０１２", "1234-5678-9012", "1234 5678 9012",
])
def test_record_refuses_text_that_looks_like_a_personal_number(log, detail):
    with pytest.raises(ValueError):
        rec(log, "2025-06-01T10:00:00+09:00", detail=detail)
    with pytest.raises(ValueError):
        rec(log, "2025-06-01T10:00:00+09:00", counts={detail: 1})
    assert log.count() == 0


@pytest.mark.parametrize("detail", ["1234567890", "1234567890123", "20250601T101010", "決裁第12345号", SHA])
def test_record_accepts_other_numbers(log, detail):
    rec(log, "2025-06-01T10:00:00+09:00", detail=detail)
    assert list(log.entries())[0]["detail"] == detail


def test_looks_personal():
    assert looks_personal("x123456789012y") and looks_personal("12345678901")
    assert not looks_personal("1234567890") and not looks_personal("1234567890123")


@pytest.mark.parametrize("kw", [
    {"timestamp": "2025-06-01T10:00:00"}, {"timestamp": "today"},
    {"counts": {"rows": "3"}}, {"counts": {"rows": True}}, {"hashes": ["xyz"]}, {"hashes": [SHA.upper()]},
    {"detail": 5}, {"operator_id": 5},
])
def test_record_refuses_malformed_values(log, kw):
    ts = kw.pop("timestamp", "2025-06-01T10:00:00+09:00")
    with pytest.raises(ValueError):
        rec(log, ts, **kw)
    assert log.count() == 0


def test_records_cannot_be_rewritten(log):
    rec(log, "2025-06-01T10:00:00+09:00")
    con = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("UPDATE oplog SET outcome = '成功'")
    con.close()


def test_years_before_handles_leap_day():
    assert years_before(date(2025, 6, 1), 7) == date(2018, 6, 1)
    assert years_before(date(2024, 2, 29), 7) == date(2017, 2, 28)
    assert purge_limit(date(2025, 6, 1), 5) == date(2020, 6, 1)


def test_purge_removes_only_older_entries_and_ids_are_not_reused(log):
    for ts in ("2017-01-01T09:00:00+09:00", "2018-05-31T23:59:59+09:00", "2018-06-01T00:00:00+09:00",
               "2025-06-01T10:00:00+09:00"):
        rec(log, ts)
    removed = log.purge(date(2018, 6, 1), today=date(2025, 6, 1), retention_years=7)
    assert removed == 2
    assert [e["timestamp"][:10] for e in log.entries()] == ["2018-06-01", "2025-06-01"]
    assert log.purge(date(2018, 6, 1), today=date(2025, 6, 1)) == 0
    assert rec(log, "2025-06-02T10:00:00+09:00") == 5


@pytest.mark.parametrize("before, years", [(date(2018, 6, 2), 7), (date(2025, 6, 1), 7), (date(2020, 6, 2), 5)])
def test_purge_refuses_to_cut_into_the_retention_period(log, before, years):
    rec(log, "2017-01-01T09:00:00+09:00")
    with pytest.raises(BulkError) as err:
        log.purge(before, today=date(2025, 6, 1), retention_years=years)
    assert err.value.code == "E-LOG-001" and err.value.exit_code == 1
    assert before.isoformat() in err.value.message and f"{years} 年" in err.value.message
    assert log.count() == 1


def test_purge_with_a_shorter_retention_for_cities(log):
    rec(log, "2019-01-01T09:00:00+09:00")
    assert log.purge(date(2020, 6, 1), today=date(2025, 6, 1), retention_years=5) == 1


def test_export_csv_and_xlsx_have_japanese_columns(log):
    from openpyxl import load_workbook

    rec(log, "2025-06-01T10:00:00+09:00", outcome="拒否", code="E-CON-004", counts={"rows": 3}, hashes=[SHA],
        detail="-x")
    data = log.export_csv()
    assert data.startswith("\ufeff".encode("utf-8")) and b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8")[1:], newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["結果"] == "拒否" and rows[0]["コード"] == "E-CON-004" and rows[0]["件数"] == "rows=3"
    assert rows[0]["ハッシュ"] == SHA and rows[0]["詳細"] == "'-x"
    values = list(load_workbook(io.BytesIO(log.export_xlsx()))["操作履歴"].values)
    assert values[0] == COLUMNS and values[1][0] == 1 and values[1][9] == "-x"
