"""The store backends (store/sqlite.py, store/postgresql.py), each test on both unless it is about
one backend's own layout: batch lookups against backend.in_force, provisions, stats; SQLite's
file mode and in-memory temp storage; PostgreSQL's roles, connections and logs."""
from __future__ import annotations

import stat
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulktool.store.backend import StoreBackend, in_force
from bulktool.store.load import load_files
from bulktool.store.schema import KIND_FUHYO, KIND_JUMIN
from bulktool.store.sqlite import SqliteStore
from bulktool.store.stats import render_rows, store_stats
from conftest import BACKENDS, new_store
from test_store_load import code, fuhyo_row, jumin_row, kojin, write_csv


def _filled(s, tmp_path):
    """Three persons' histories (deleted, removed and future-dated rows among them) in store `s`."""
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


@pytest.fixture
def store(store_backend, request, tmp_path):
    """The histories in a store of each backend."""
    yield from _filled(new_store(store_backend, request, tmp_path), tmp_path)


@pytest.fixture
def sqlite_store(tmp_path):
    """The histories in a SQLite store: tests of SQLite's own file and layout."""
    yield from _filled(SqliteStore.create(tmp_path / "store.sqlite"), tmp_path)


def test_store_file_is_private_and_temp_storage_is_memory(tmp_path, sqlite_store):
    store = sqlite_store
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.db.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    reopened = SqliteStore.open(store.path)
    assert reopened.db.execute("PRAGMA temp_store").fetchone()[0] == 2
    reopened.close()


def test_the_store_satisfies_the_protocol(store):
    backend: StoreBackend = store
    for name in ("begin_load", "load_batch", "commit_load", "rollback_load", "lookup_jumin_by_codes",
                 "lookup_jumin_by_kojin_bango", "lookup_jumin_by_four", "lookup_fuhyo_by_codes",
                 "lookup_fuhyo_by_four", "versions", "record_provisions", "provisions_for", "stats", "close"):
        assert callable(getattr(backend, name))


def test_indexes_are_rebuilt_after_a_bulk_load(sqlite_store):
    store = sqlite_store
    names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"jumin_kojin", "jumin_four", "fuhyo_four", "fuhyo_four_last", "provisions_code"} <= names


def test_versions_return_every_stored_row_of_the_persons(store):
    got = store.versions(KIND_JUMIN, [code(1), code(9)])
    assert set(got) == {code(1)} and sorted(r["update_seq"] for r in got[code(1)]) == [1, 2, 3]
    assert sorted(r["change_date"] for r in store.versions(KIND_FUHYO, [code(1)])[code(1)]) == [
        "2010-04-01", "2016-01-01"]
    assert store.versions(KIND_JUMIN, []) == {}
    with pytest.raises(ValueError):
        store.versions("other", [code(1)])


def test_lookups_return_the_record_in_force_of_each_person_linked_to_a_key(store):
    day = "2025-04-01"
    by_code = store.lookup_jumin_by_codes([code(1), code(9)], day)
    assert set(by_code) == {code(1)} and by_code[code(1)]["update_seq"] == 2  # 3 is deleted
    by_kojin = store.lookup_jumin_by_kojin_bango([kojin(2)], day)
    assert set(by_kojin) == {code(2)} and by_kojin[code(2)]["change_reason"] == "職権消除"
    first = next(r for r in store.versions(KIND_JUMIN, [code(1)])[code(1)] if r["update_seq"] == 1)
    four = store.lookup_jumin_by_four([(first["birth_date"], first["k_addr"])], day)
    # all three lived at this address once; code(3)'s only row lies after the day: not in force
    assert set(four) == {code(1), code(2)}
    assert set(store.lookup_jumin_by_four([(first["birth_date"], first["k_addr"])], "2030-01-01")) == {
        code(1), code(2), code(3)}
    assert store.lookup_jumin_by_codes([code(1)], "2010-03-31") == {}  # before any version
    assert store.lookup_jumin_by_codes([], day) == {} and store.lookup_jumin_by_four([], day) == {}


DAYS = ("2000-01-01", "2010-03-31", "2010-04-01", "2015-12-31", "2016-01-01", "2016-12-31", "2017-01-01",
        "2019-12-31", "2020-01-01", "2029-12-31", "2030-01-01", "2099-12-31")


@pytest.mark.parametrize("day", DAYS)
def test_every_lookup_picks_what_the_reference_rule_picks(store, day):
    """backend.in_force states contract §2's rule once; the SQL of every lookup must agree with it on
    every day around each change (deleted and future-dated rows included)."""
    codes = [code(1), code(2), code(3)]
    for kind, lookup in ((KIND_JUMIN, store.lookup_jumin_by_codes), (KIND_FUHYO, store.lookup_fuhyo_by_codes)):
        expected = {c: in_force(kind, vers, day) for c, vers in store.versions(kind, codes).items()}
        expected = {c: r for c, r in expected.items() if r is not None}
        got = lookup(codes, day)
        assert got == expected, (kind, day)
    rows = [r for vers in store.versions(KIND_JUMIN, codes).values() for r in vers]
    four = store.lookup_jumin_by_four([(r["birth_date"], r["k_addr"]) for r in rows], day)
    assert four == store.lookup_jumin_by_codes(codes, day)
    kojin_hits = store.lookup_jumin_by_kojin_bango([r["kojin_bango"] for r in rows], day)
    assert kojin_hits == store.lookup_jumin_by_codes(codes, day)


def test_fuhyo_four_lookup_also_finds_the_last_address(store):
    abroad = next(r for r in store.versions(KIND_FUHYO, [code(1)])[code(1)] if r["change_date"] == "2016-01-01")
    assert abroad["k_addr"] is None
    found = store.lookup_fuhyo_by_four([(abroad["birth_date"], abroad["k_last_addr"])], "2025-04-01")
    assert set(found) == {code(1)} and found[code(1)]["change_date"] == "2016-01-01"
    # the person is linked by the older row's address too, and answers with the record in force
    home = next(r for r in store.versions(KIND_FUHYO, [code(1)])[code(1)] if r["change_date"] == "2010-04-01")
    assert store.lookup_fuhyo_by_four([(home["birth_date"], home["k_addr"])], "2025-04-01")[code(1)] == abroad


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


def test_rows_carry_every_column_converted_and_never_show_values_in_repr(sqlite_store):
    store = sqlite_store
    from bulktool.store.backend import StoredRow
    from bulktool.store.sqlite import stored_columns, unpack

    row = store.versions(KIND_JUMIN, [code(1)])[code(1)][0]
    assert isinstance(row, StoredRow) and tuple(row) == stored_columns(KIND_JUMIN)
    assert type(row["update_seq"]) is int and row["deleted_flag"] in (0, 1) and type(row["gaiji_flag"]) is int
    assert row["name_gaiji_count"] == 0 and row["old_name"] is None  # a count is int; empty text is None
    packed = store.db.execute("SELECT packed FROM jumin WHERE jumin_code = ? AND update_seq = ?",
                              (code(1), row["update_seq"])).fetchone()[0]
    assert {k: row[k] for k in unpack(KIND_JUMIN, packed)} == unpack(KIND_JUMIN, packed)  # one rule
    in_force = store.lookup_jumin_by_codes([code(1)], "2025-04-01")[code(1)]
    assert isinstance(in_force, StoredRow) and tuple(in_force) == stored_columns(KIND_JUMIN)
    assert row["name"] not in repr(row) and code(1) not in repr(in_force) and code(1) not in str(in_force)


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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 9), st.dates(date(2000, 1, 1), date(2030, 12, 31)),
                          st.booleans()), min_size=1, max_size=12, unique_by=lambda v: (v[0], v[1])),
       st.lists(st.tuples(st.integers(0, 2), st.dates(date(2000, 1, 1), date(2030, 12, 31))), max_size=8,
                unique_by=lambda v: v),
       st.dates(date(1999, 1, 1), date(2031, 12, 31)))
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_sql_choice_of_the_record_in_force_is_the_rule_on_random_histories(backend, request, tmp_path_factory,
                                                                                jumin_versions, fuhyo_versions, day):
    """Random histories — update order unrelated to dates, deleted rows, future rows — loaded for
    real: every lookup's record in force equals backend.in_force over the stored versions."""
    tmp = tmp_path_factory.mktemp("hist")
    s = new_store(backend, request, tmp)
    try:
        load_files(s, KIND_JUMIN, [write_csv(tmp / "j.csv", KIND_JUMIN, [
            jumin_row(**{"住民票コード": code(p), "個人番号": kojin(p), "更新順番号": str(seq),
                         "異動年月日": changed.isoformat(), "削除フラグ": "1" if deleted else "0"})
            for p, seq, changed, deleted in jumin_versions])])
        if fuhyo_versions:
            load_files(s, KIND_FUHYO, [write_csv(tmp / "f.csv", KIND_FUHYO, [
                fuhyo_row(**{"住民票コード": code(p), "異動年月日": changed.isoformat()})
                for p, changed in fuhyo_versions])])
        codes = [code(p) for p in range(3)]
        iso = day.isoformat()
        for kind, lookup in ((KIND_JUMIN, s.lookup_jumin_by_codes), (KIND_FUHYO, s.lookup_fuhyo_by_codes)):
            expected = {c: in_force(kind, vers, iso) for c, vers in s.versions(kind, codes).items()}
            assert lookup(codes, iso) == {c: r for c, r in expected.items() if r is not None}
        by_kojin = s.lookup_jumin_by_kojin_bango([kojin(p) for p in range(3)], iso)
        assert by_kojin == s.lookup_jumin_by_codes(codes, iso)
    finally:
        s.close()


def test_the_sql_removal_rule_is_model_is_removal(sqlite_store):
    store = sqlite_store
    """stats counts 消除者 in SQL built from model's REMOVAL_REASONS and REMOVAL_SUFFIX: it must
    answer as model.is_removal does (the rule matching uses)."""
    from bulktool.model import is_removal
    from bulktool.store.sqlite import removal_sql

    reasons = ["死亡", "転出", "国外転出", "職権消除", "失踪宣告", "消除", "転居", "転入", "出生", "住民票コード記載",
               "氏の変更", "その他消除", "消除済", "除", "消", "", "死亡届", "Ｘ消除"]
    expr, params = removal_sql("r.value")
    got = [bool(v) for (v,) in store.db.execute(f"SELECT {expr} FROM json_each(?1) r",
                                                ('["' + '","'.join(reasons) + '"]', None, *params))]
    assert got == [is_removal(r) for r in reasons]
