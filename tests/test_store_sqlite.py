"""store/sqlite.py: file mode, in-memory temp storage, batch lookups, provisions, stats."""
from __future__ import annotations

import stat
from datetime import date

import pytest

from bulktool.store.backend import StoreBackend
from bulktool.store.load import load_files
from bulktool.store.schema import KIND_FUHYO, KIND_JUMIN
from bulktool.store.sqlite import SqliteStore
from bulktool.store.stats import render_rows, store_stats
from test_store_load import code, fuhyo_row, jumin_row, kojin, write_csv


@pytest.fixture
def store(tmp_path):
    s = SqliteStore.create(tmp_path / "store.sqlite")
    jumin = [
        jumin_row(**{"住民票コード": code(1), "個人番号": kojin(1)}),
        jumin_row(**{"住民票コード": code(1), "個人番号": kojin(1), "更新順番号": "2", "異動年月日": "2016-01-01",
                     "異動事由": "転居", "住所": "岐阜県岐阜市栄町1-1-1"}),
        jumin_row(**{"住民票コード": code(1), "個人番号": kojin(1), "更新順番号": "3", "異動年月日": "2017-01-01",
                     "異動事由": "転居", "住所": "岐阜県岐阜市東町1-1-1", "削除フラグ": "1"}),
        jumin_row(**{"住民票コード": code(2), "個人番号": kojin(2), "外字フラグ": "1"}),
        jumin_row(**{"住民票コード": code(2), "個人番号": kojin(2), "更新順番号": "2", "異動年月日": "2020-01-01",
                     "異動事由": "職権消除", "外字フラグ": "1"}),
        jumin_row(**{"住民票コード": code(3), "個人番号": kojin(3), "異動年月日": "2030-01-01"}),  # future
    ]
    fuhyo = [
        fuhyo_row(**{"住民票コード": code(1)}),
        fuhyo_row(**{"住民票コード": code(1), "異動年月日": "2016-01-01", "住所漢字": "", "住所市町村コード": "",
                     "最終住所漢字": "岐阜県岐阜市栄町1-1-1"}),
        fuhyo_row(**{"住民票コード": code(2), "附票本人確認情報状態区分": "2", "外字フラグ": "1"}),
    ]
    load_files(s, KIND_JUMIN, [write_csv(tmp_path / "j.csv", KIND_JUMIN, jumin)])
    load_files(s, KIND_FUHYO, [write_csv(tmp_path / "f.csv", KIND_FUHYO, fuhyo)])
    yield s
    s.close()


def test_store_file_is_private_and_temp_storage_is_memory(tmp_path, store):
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.db.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    reopened = SqliteStore.open(store.path)
    assert reopened.db.execute("PRAGMA temp_store").fetchone()[0] == 2
    reopened.close()


def test_sqlite_store_satisfies_the_protocol(store):
    backend: StoreBackend = store
    for name in ("begin_load", "load_batch", "commit_load", "rollback_load", "lookup_jumin_by_codes",
                 "lookup_jumin_by_kojin_bango", "lookup_jumin_by_four", "lookup_fuhyo_by_codes",
                 "lookup_fuhyo_by_four", "record_provisions", "provisions_for", "stats", "close"):
        assert callable(getattr(backend, name))


def test_indexes_are_rebuilt_after_a_bulk_load(store):
    names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"jumin_kojin", "jumin_four", "fuhyo_four", "fuhyo_four_last", "provisions_code"} <= names


def test_lookups_return_every_version_of_the_persons_found(store):
    by_code = store.lookup_jumin_by_codes([code(1), code(9)])
    assert set(by_code) == {code(1)} and sorted(r["update_seq"] for r in by_code[code(1)]) == [1, 2, 3]
    by_kojin = store.lookup_jumin_by_kojin_bango([kojin(2)])
    assert set(by_kojin) == {code(2)} and len(by_kojin[code(2)]) == 2
    row = by_code[code(1)][0]
    four = store.lookup_jumin_by_four([(row["birth_date"], row["k_addr"])])
    assert set(four) == {code(1), code(2), code(3)}  # all three lived at this address once
    assert store.lookup_jumin_by_codes([]) == {} and store.lookup_jumin_by_four([]) == {}


def test_fuhyo_four_lookup_also_finds_the_last_address(store):
    last = store.lookup_fuhyo_by_codes([code(1)])[code(1)]
    abroad = next(r for r in last if r["change_date"] == "2016-01-01")
    assert abroad["k_addr"] is None
    found = store.lookup_fuhyo_by_four([(abroad["birth_date"], abroad["k_last_addr"])])
    assert set(found) == {code(1)} and len(found[code(1)]) == 2


def test_provision_record_round_trip_and_since(store):
    rows = [{"jumin_code": code(1), "provided_on": day, "entry": n, "department": "D01", "purpose": "P01",
             "fields": "住民票コード,氏名", "use": "一括提供（媒体）"} for n, day in
            ((3, "2025-03-01"), (1, "2024-01-10"), (2, "2024-06-01"))]
    rows.append(dict(rows[0], jumin_code=code(2)))
    assert store.record_provisions(rows) == 4
    got = store.provisions_for(code(1))
    assert [r["entry"] for r in got] == [1, 2, 3]
    assert set(got[0]) == {"jumin_code", "provided_on", "entry", "department", "purpose", "fields", "use"}
    assert [r["entry"] for r in store.provisions_for(code(1), since=date(2024, 6, 1))] == [2, 3]
    assert store.provisions_for(code(3)) == []
    assert store.record_provisions([]) == 0


def test_stats_count_without_personal_data(store):
    s = store_stats(store, date(2025, 1, 1))
    assert s["jumin_rows"] == 6 and s["jumin_people"] == 3
    assert s["jumin_current"] == 1 and s["jumin_removed"] == 1  # person 3's only row lies in the future
    assert s["jumin_historic"] == 4 and s["jumin_deleted_rows"] == 1 and s["jumin_gaiji"] == 1
    assert (s["fuhyo_rows"], s["fuhyo_people"], s["fuhyo_current"], s["fuhyo_removed"]) == (3, 2, 1, 1)
    assert (s["fuhyo_abroad"], s["fuhyo_historic"], s["fuhyo_gaiji"]) == (1, 1, 1)
    assert s["provisions"] == 0
    assert all(isinstance(v, int) for v in s.values())
    earlier = store_stats(store, "2015-01-01")
    assert earlier["jumin_current"] == 2 and earlier["jumin_removed"] == 0
    labels = dict(render_rows(s))
    assert labels["消除者（死亡・転出・職権消除など）"] == 1


def test_a_store_of_another_layout_is_refused_at_open_not_misread(tmp_path):
    import sqlite3

    from bulktool.messages import BulkError
    from bulktool.store.sqlite import LAYOUT

    path = tmp_path / "store.sqlite"
    SqliteStore.create(path).close()
    SqliteStore.open(path).close()  # this version's layout opens
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=1")  # e.g. the unpacked layout of an earlier version
    db.commit()
    db.close()
    with pytest.raises(BulkError) as err:
        SqliteStore.open(path)
    assert err.value.code == "E-STO-006" and err.value.exit_code == 3
    assert f"版 1" in err.value.message and f"版 {LAYOUT}" in err.value.message


def test_lookup_rows_unpack_on_first_use_and_behave_as_full_mappings(store):
    from bulktool.store.backend import PackedRow

    versions = store.lookup_jumin_by_codes([code(1)])[code(1)]
    row = versions[0]
    assert isinstance(row, PackedRow)
    assert dict.__len__(row) < 12  # only the real columns and address key so far
    assert row["jumin_code"] == code(1) and dict.__len__(row) < 12  # a real column does not unpack
    real = dict.__len__(row)
    assert row["name"] and dict.__len__(row) == real + 1  # a packed cell converts that cell only
    assert len(row) > 30 and dict.__len__(row) == len(row)  # a view unpacks the whole row
    one_by_one = store.lookup_jumin_by_codes([code(1)])[code(1)][0]
    for name in row:  # each cell read alone is the value the whole-row unpack gives (ints, None, flags)
        assert one_by_one[name] == row[name] and type(one_by_one[name]) is type(row[name]), name
    with pytest.raises(KeyError):
        one_by_one["no_such_column"]
    other = store.lookup_jumin_by_codes([code(1)])[code(1)][0]
    assert other == row and dict(other) == dict(row)  # == and dict() see every column
    fresh = store.lookup_jumin_by_codes([code(1)])[code(1)][0]
    assert "k_name" in fresh and fresh.get("name") == row["name"] and fresh.get("absent", 7) == 7
    assert row["name"] not in repr(row)  # no personal data in a repr


def test_a_new_store_takes_the_page_size_asked_for_and_4096_by_default(tmp_path):
    from bulktool.store.sqlite import PAGE_SIZE

    default = SqliteStore.create(tmp_path / "a.sqlite")
    larger = SqliteStore.create(tmp_path / "b.sqlite", page_size=16384)
    try:
        assert default.db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 4096
        assert larger.db.execute("PRAGMA page_size").fetchone()[0] == 16384
        larger.close()
        reopened = SqliteStore.open(tmp_path / "b.sqlite")  # the file keeps it
        assert reopened.db.execute("PRAGMA page_size").fetchone()[0] == 16384
        reopened.close()
    finally:
        default.close()
