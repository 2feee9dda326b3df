"""matching.py: the record in force, 消除者, every status, 旧氏, 附票 and 個人番号, order."""
from __future__ import annotations

from datetime import date

import pytest

from bulktool.matching import match
from bulktool.model import TARGET_FUHYO, MatchResult, RowError, SearchCondition, Status
from bulktool.store.load import load_files
from bulktool.store.schema import KIND_FUHYO, KIND_JUMIN
from bulktool.store.sqlite import SqliteStore
from conftest import BACKENDS, new_store
from test_store_load import code, fuhyo_row, jumin_row, kojin, write_csv

TODAY = date(2025, 4, 1)
HOME = "岐阜県岐阜市本町1丁目2番3号"
NEW_HOME = "岐阜県岐阜市栄町4丁目5番6号"
ABROAD_LAST = "岐阜県大垣市東町2丁目1番地2号"


def person(n: int, **values: str) -> dict:
    base = {"住民票コード": code(n), "個人番号": kojin(n)}
    base.update(values)
    return base


JUMIN = [
    # 1: moved in 2010, moved 2015 (new address), a 2020 version marked deleted
    person(1), person(1, **{"更新順番号": "2", "異動事由": "転居", "異動年月日": "2015-06-01", "住所": NEW_HOME}),
    person(1, **{"更新順番号": "3", "異動事由": "転居", "異動年月日": "2020-01-01", "住所": "岐阜県高山市西町9-9-9",
                 "削除フラグ": "1"}),
    # 2: died in 2018 → 消除者 today, living in 2017
    person(2, **{"漢字氏名": "佐藤　花子", "ふりがな氏名": "さとう　はなこ", "性別": "2", "生年月日": "1950-05-05"}),
    person(2, **{"漢字氏名": "佐藤　花子", "ふりがな氏名": "さとう　はなこ", "性別": "2", "生年月日": "1950-05-05",
                 "更新順番号": "2", "異動事由": "死亡", "異動年月日": "2018-03-03"}),
    # 3 and 4: same name, birth date and address, different sex → 複数該当 unless 性別 narrows
    person(3, **{"漢字氏名": "鈴木　光", "ふりがな氏名": "すずき　ひかる", "生年月日": "2000-07-07", "性別": "1"}),
    person(4, **{"漢字氏名": "鈴木　光", "ふりがな氏名": "すずき　ひかる", "生年月日": "2000-07-07", "性別": "2"}),
    # 5: married in 2019, 旧氏 高橋; the 個人番号 changed in 2021 (new number in the new version)
    person(5, **{"漢字氏名": "高橋　恵", "ふりがな氏名": "たかはし　めぐみ", "生年月日": "1990-09-09", "性別": "2"}),
    person(5, **{"漢字氏名": "田中　恵", "ふりがな氏名": "たなか　めぐみ", "生年月日": "1990-09-09", "性別": "2",
                 "更新順番号": "2", "異動事由": "氏の変更", "異動年月日": "2019-10-10", "旧氏 漢字": "高橋",
                 "旧氏 ふりがな": "たかはし", "外字フラグ": "1"}),
    person(5, **{"漢字氏名": "田中　恵", "ふりがな氏名": "たなか　めぐみ", "生年月日": "1990-09-09", "性別": "2",
                 "更新順番号": "3", "異動事由": "個人番号の変更", "異動年月日": "2021-01-01", "旧氏 漢字": "高橋",
                 "旧氏 ふりがな": "たかはし", "個人番号": kojin(55), "外字フラグ": "1"}),
    # 6: abroad since 2022 (附票)
    person(6, **{"漢字氏名": "伊藤　誠", "ふりがな氏名": "いとう　まこと", "生年月日": "1985-01-01",
                 "住所": ABROAD_LAST}),
]

FUHYO = [
    {"住民票コード": code(1)},
    {"住民票コード": code(1), "異動年月日": "2015-06-01", "住所漢字": NEW_HOME},
    {"住民票コード": code(2), "氏名漢字": "佐藤　花子", "氏名ふりがな": "さとう　はなこ", "性別": "2", "生年月日": "1950-05-05"},
    {"住民票コード": code(2), "氏名漢字": "佐藤　花子", "氏名ふりがな": "さとう　はなこ", "性別": "2", "生年月日": "1950-05-05",
     "異動年月日": "2018-03-03", "附票本人確認情報状態区分": "2"},
    {"住民票コード": code(6), "氏名漢字": "伊藤　誠", "氏名ふりがな": "いとう　まこと", "生年月日": "1985-01-01",
     "住所漢字": ABROAD_LAST},
    {"住民票コード": code(6), "氏名漢字": "伊藤　誠", "氏名ふりがな": "いとう　まこと", "生年月日": "1985-01-01",
     "異動年月日": "2022-02-02", "住所漢字": "", "住所市町村コード": "", "最終住所漢字": ABROAD_LAST,
     "通知区分": "国外転出"},
]


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("store")
    s = new_store(request.param, request, tmp)
    load_files(s, KIND_JUMIN, [write_csv(tmp / "j.csv", KIND_JUMIN, [jumin_row(**r) for r in JUMIN])])
    load_files(s, KIND_FUHYO, [write_csv(tmp / "f.csv", KIND_FUHYO, [fuhyo_row(**r) for r in FUHYO])])
    yield s
    s.close()


def cond(n: int = 1, **kw) -> SearchCondition:
    return SearchCondition(row_no=n, line=n + 1, renban=str(n), **kw)


def four(name=None, kana=None, birth="1980-01-02", address=HOME, sex=None, target="本人確認情報", n=1):
    return cond(n, target=target, name=name, name_kana=kana, birth_date=date.fromisoformat(birth), address=address,
                sex=sex)


def one(store, c, as_of=TODAY, kojin_for_fuhyo=False) -> MatchResult:
    (r,) = list(match([c], store, as_of=as_of, kojin_bango_for_fuhyo=kojin_for_fuhyo))
    return r


# --- the record in force ---------------------------------------------------------------

def test_code_answers_with_the_record_in_force_not_the_deleted_version(store):
    r = one(store, cond(jumin_code=code(1)))
    assert (r.status, r.count, r.message) == (Status.HIT, 1, "該当")
    assert r.record["住所"] == NEW_HOME and r.record["異動年月日"] == "2015-06-01" and r.record["異動事由"] == "転居"
    assert list(r.record) == ["住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所", "個人番号", "異動事由", "異動年月日"]


def test_as_of_in_the_past_uses_the_version_then_in_force(store):
    r = one(store, cond(jumin_code=code(1)), as_of=date(2012, 1, 1))
    assert r.status is Status.HIT and r.record["住所"] == HOME
    assert one(store, cond(jumin_code=code(1)), as_of=date(2009, 1, 1)).status is Status.NOT_FOUND


def test_four_basics_compare_with_the_record_in_force(store):
    assert one(store, four(name="山田太郎", address=NEW_HOME)).status is Status.HIT
    assert one(store, four(name="山田太郎", address=HOME)).status is Status.NOT_FOUND  # the old address
    assert one(store, four(name="山田太郎", address="岐阜県高山市西町9-9-9")).status is Status.NOT_FOUND  # deleted row
    assert one(store, four(name="山田 太郎", address=HOME), as_of=date(2014, 1, 1)).status is Status.HIT


def test_address_forms_agree(store):
    assert one(store, four(kana="ヤマダタロウ", address="岐阜市栄町四丁目五番六号")).status is Status.HIT
    assert one(store, four(kana="やまだ たろう", address="岐阜県岐阜市栄町4-5-6")).status is Status.HIT


# --- 消除者 and statuses ------------------------------------------------------------------

def test_removed_resident_is_10_with_data_and_00_before_the_removal(store):
    r = one(store, four(name="佐藤花子", birth="1950-05-05"))
    assert (r.status, r.count, r.message) == (Status.HIT_REMOVED, 1, "該当（消除者）")
    assert r.record["異動事由"] == "死亡"
    assert one(store, cond(jumin_code=code(2)), as_of=date(2017, 1, 1)).status is Status.HIT


def test_not_found_is_20_with_count_0(store):
    r = one(store, four(name="山田太郎", birth="1980-01-03", address=NEW_HOME))
    assert (r.status, r.count, r.record, r.message) == (Status.NOT_FOUND, 0, {}, "該当なし")
    assert one(store, cond(jumin_code=code(999))).status is Status.NOT_FOUND


def test_two_people_on_the_same_four_basics_are_30_without_data(store):
    r = one(store, four(name="鈴木光", birth="2000-07-07"))
    assert (r.status, r.count, r.record, r.message) == (Status.MULTIPLE, 2, {}, "複数該当")
    assert one(store, four(kana="すずきひかる", birth="2000-07-07")).status is Status.MULTIPLE
    narrowed = one(store, four(name="鈴木光", birth="2000-07-07", sex="2"))
    assert narrowed.status is Status.HIT and narrowed.record["住民票コード"] == code(4)


def test_name_and_kana_must_both_agree_and_sex_narrows(store):
    assert one(store, four(name="山田太郎", kana="やまだたろう", address=NEW_HOME)).status is Status.HIT
    assert one(store, four(name="山田太郎", kana="やまだじろう", address=NEW_HOME)).status is Status.NOT_FOUND
    assert one(store, four(name="山田太郎", address=NEW_HOME, sex="2")).status is Status.NOT_FOUND


def test_row_error_passes_through_as_90(store):
    err = RowError(row_no=1, line=2, renban="1", field="生年月日", reason="存在しない日付です")
    r = one(store, err)
    assert (r.status, r.count, r.message, r.record) == (Status.INPUT_ERROR, None, err.message, {})


def test_name_and_birth_date_without_address_is_never_a_hit(store):
    r = one(store, cond(name="山田太郎", birth_date=date(1980, 1, 2)))
    assert (r.status, r.count, r.record) == (Status.INPUT_ERROR, None, {})
    assert "住所" in r.message


# --- keys ---------------------------------------------------------------------------------

def test_kojin_bango_wins_over_a_wrong_jumin_code(store):
    r = one(store, cond(kojin_bango=kojin(1), jumin_code=code(2)))
    assert r.status is Status.HIT and r.record["住民票コード"] == code(1)


def test_a_key_must_be_carried_by_the_record_in_force(store):
    assert one(store, cond(kojin_bango=kojin(5))).status is Status.NOT_FOUND  # replaced in 2021
    assert one(store, cond(kojin_bango=kojin(55))).status is Status.HIT
    assert one(store, cond(kojin_bango=kojin(5)), as_of=date(2020, 1, 1)).status is Status.HIT


# --- 旧氏 ---------------------------------------------------------------------------------

def test_old_surname_matches_in_kanji_and_kana_and_gaiji_flag_is_reported(store):
    for c in (four(name="高橋恵", birth="1990-09-09"), four(kana="たかはしめぐみ", birth="1990-09-09"),
              four(name="田中　恵", birth="1990-09-09")):
        r = one(store, c)
        assert r.status is Status.HIT and r.record["住民票コード"] == code(5)
        assert r.record["氏名"] == "田中　恵" and r.gaiji is True
    before = one(store, four(name="高橋恵", birth="1990-09-09"), as_of=date(2019, 1, 1))
    assert before.status is Status.HIT and before.gaiji is False
    assert one(store, four(name="田中恵", birth="1990-09-09"), as_of=date(2019, 1, 1)).status is Status.NOT_FOUND


# --- 附票 ----------------------------------------------------------------------------------

def test_fuhyo_without_kojin_bango_permission_has_no_kojin_bango(store):
    r = one(store, cond(target=TARGET_FUHYO, jumin_code=code(1)))
    assert r.status is Status.HIT
    assert list(r.record) == ["住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所"]
    assert r.record["住所"] == NEW_HOME


def test_fuhyo_with_permission_takes_kojin_bango_from_the_jumin_record_in_force(store):
    r = one(store, four(name="山田太郎", address=NEW_HOME, target=TARGET_FUHYO), kojin_for_fuhyo=True)
    assert r.status is Status.HIT and r.record["個人番号"] == kojin(1)


def test_fuhyo_removed_is_10(store):
    r = one(store, cond(target=TARGET_FUHYO, jumin_code=code(2)), kojin_for_fuhyo=True)
    assert r.status is Status.HIT_REMOVED and r.record["個人番号"] == kojin(2)


def test_fuhyo_person_abroad_matches_on_the_last_address(store):
    r = one(store, four(name="伊藤誠", birth="1985-01-01", address="大垣市東町2-1-2", target=TARGET_FUHYO))
    assert r.status is Status.HIT and r.record["住所"] == ABROAD_LAST


def test_fuhyo_row_with_only_kojin_bango_is_90(store):
    r = one(store, cond(target=TARGET_FUHYO, kojin_bango=kojin(1)))
    assert r.status is Status.INPUT_ERROR and r.count is None


# --- streaming ------------------------------------------------------------------------------

class CountingBackend:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def __getattr__(self, name):
        fn = getattr(self.inner, name)

        def counted(*a, **kw):
            self.calls += 1
            return fn(*a, **kw)
        return counted


def test_order_is_kept_across_batches_and_lookups_are_per_batch(store):
    items = [cond(1, jumin_code=code(1)),
             RowError(2, 3, "2", "個人番号", "チェックデジットが不正です"),
             four(name="鈴木光", birth="2000-07-07", n=3),
             cond(4, jumin_code=code(2)),
             cond(5, jumin_code=code(999)),
             four(name="高橋恵", birth="1990-09-09", n=6),
             cond(7, target=TARGET_FUHYO, jumin_code=code(6)),
             cond(8, name="山田太郎", birth_date=date(1980, 1, 2)),
             cond(9, kojin_bango=kojin(3))] * 3
    backend = CountingBackend(store)
    out = list(match(items, backend, as_of=TODAY, kojin_bango_for_fuhyo=False, batch_size=3))
    assert [r.row_no for r in out] == [i.row_no for i in items]
    assert [r.status.value for r in out] == ["00", "90", "30", "10", "20", "00", "00", "90", "00"] * 3
    assert out[6].record["住所"] == ABROAD_LAST
    assert backend.calls <= 9 * 5  # 9 batches, at most 5 lookups each, never one per row


def test_fewer_collections_raises_the_young_threshold_and_restores_it_even_on_error():
    import gc

    from bulktool.matching import fewer_collections

    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with fewer_collections(50_000):
            assert gc.get_threshold() == (50_000, *before[1:])
            raise RuntimeError("boom")
    assert gc.get_threshold() == before


# --- lookups on a worker thread (overlap) ---------------------------------------------------

MIXED = [cond(1, jumin_code=code(1)),
         RowError(2, 3, "2", "個人番号", "チェックデジットが不正です"),
         four(name="鈴木光", birth="2000-07-07", n=3),
         four(name="鈴木光", birth="2000-07-07", sex="2", n=4),
         cond(5, jumin_code=code(2)),
         cond(6, jumin_code=code(999)),
         four(kana="たかはしめぐみ", birth="1990-09-09", n=7),
         cond(8, target=TARGET_FUHYO, jumin_code=code(6)),
         four(name="伊藤誠", birth="1985-01-01", address=ABROAD_LAST, target=TARGET_FUHYO, n=9),
         cond(10, kojin_bango=kojin(55)),
         cond(11, kojin_bango=kojin(5))]


@pytest.mark.parametrize("lookahead", [1, 3])
@pytest.mark.parametrize("kojin_for_fuhyo", [False, True])
@pytest.mark.parametrize("batch_size", [1, 2, 5, 5000])
def test_overlap_gives_the_same_answers_as_one_thread(store, batch_size, kojin_for_fuhyo, lookahead, monkeypatch):
    import bulktool.matching

    monkeypatch.setattr(bulktool.matching, "LOOKAHEAD", lookahead)
    items = MIXED * 4
    runs = [list(match(items, store, as_of=TODAY, kojin_bango_for_fuhyo=kojin_for_fuhyo, batch_size=batch_size,
                       overlap=overlap)) for overlap in (True, False)]
    assert runs[0] == runs[1]
    assert [r.status.value for r in runs[0][:11]] == ["00", "90", "30", "00", "10", "20", "00", "00", "00", "00", "20"]
    assert ("個人番号" in runs[0][7].record) is kojin_for_fuhyo  # fetched through the worker too
    if kojin_for_fuhyo:
        assert runs[0][7].record["個人番号"] == kojin(6)


def test_overlap_runs_every_lookup_on_one_worker_thread_never_this_one(store):
    import threading

    seen: set[str] = set()

    class Recording(CountingBackend):
        def __getattr__(self, name):
            fn = getattr(self.inner, name)

            def recorded(*a, **kw):
                seen.add(threading.current_thread().name)
                return fn(*a, **kw)
            return recorded

    out = list(match(MIXED * 3, Recording(store), as_of=TODAY, kojin_bango_for_fuhyo=True, batch_size=4))
    assert len(out) == 33
    assert len(seen) == 1 and seen != {threading.current_thread().name}


def test_a_caller_that_stops_early_leaves_no_lookup_running(store):
    import threading

    gen = match(MIXED * 50, store, as_of=TODAY, kojin_bango_for_fuhyo=False, batch_size=3)
    assert next(gen).status is Status.HIT
    gen.close()  # the next batch's lookup was already submitted
    assert not [t for t in threading.enumerate() if t.name.startswith("bulktool-lookup")]
    assert one(store, cond(jumin_code=code(1))).status is Status.HIT  # the connection is free


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_store_row_with_the_wrong_cell_count_stops_matching_with_e_sto_007(backend, request, tmp_path):
    from bulktool.messages import BulkError

    s = new_store(backend, request, tmp_path)
    load_files(s, KIND_JUMIN, [write_csv(tmp_path / "j.csv", KIND_JUMIN, [jumin_row(**r) for r in JUMIN])])
    if isinstance(s, SqliteStore):
        s.db.execute("UPDATE jumin SET packed = packed || char(31) WHERE jumin_code = ?", (code(3),))
    else:
        s.db.execute("UPDATE jumin SET packed = packed || chr(31) WHERE jumin_code = %s", (code(3),))
        s.db.commit()
    with pytest.raises(BulkError) as err:
        list(match([cond(1, jumin_code=code(1)), cond(2, jumin_code=code(3))], s, as_of=TODAY,
                   kojin_bango_for_fuhyo=False))
    assert err.value.code == "E-STO-007" and err.value.exit_code == 3
    assert code(3) not in err.value.message  # no personal data in the message
    s.close()
