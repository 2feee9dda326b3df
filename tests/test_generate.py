"""bulktool.store.generate: determinism, contract §2 validity, the realism it promises, labelled queries."""
from __future__ import annotations

import csv
import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from bulktool.checkdigit import valid_jumin_code, valid_kojin_bango
from bulktool.model import REMOVAL_REASONS
from bulktool.store import generate as g
from bulktool.store.schema import HEADERS

TODAY = date(2026, 4, 1)
N = 4000


@pytest.fixture(scope="module")
def dumps(tmp_path_factory) -> tuple[Path, g.GenerationSummary]:
    out = tmp_path_factory.mktemp("gen")
    return out, g.generate(N, 7, out, today=TODAY)


def _rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [dict(zip(header, r)) for r in reader]


@pytest.fixture(scope="module")
def jumin(dumps):
    return _rows(dumps[0] / "jumin.csv")


@pytest.fixture(scope="module")
def fuhyo(dumps):
    return _rows(dumps[0] / "fuhyo.csv")


@pytest.fixture(scope="module")
def truth():
    return list(g.iter_people(N, 7, TODAY))


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_same_arguments_give_identical_bytes_whatever_the_workers(tmp_path, dumps):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    g.generate(N, 7, a, today=TODAY, workers=1)
    g.generate(N, 7, b, today=TODAY, workers=2)
    for name in ("jumin.csv", "fuhyo.csv"):
        assert _sha(a / name) == _sha(b / name) == _sha(dumps[0] / name)
    c = tmp_path / "c"
    c.mkdir()
    g.generate(N, 8, c, today=TODAY)
    assert _sha(c / "jumin.csv") != _sha(a / "jumin.csv")


def test_headers_equal_the_schema(jumin, fuhyo):
    assert tuple(jumin[0]) == HEADERS["jumin"]
    assert tuple(fuhyo[0]) == HEADERS["fuhyo"]


def test_summary_counts_match_the_files(dumps, jumin, fuhyo):
    s = dumps[1]
    assert s.jumin_rows == len(jumin[1]) and s.fuhyo_rows == len(fuhyo[1])
    assert len({r["住民票コード"] for r in jumin[1]}) == N == s.people


def test_codes_and_numbers_pass_check_digits_and_are_unique(jumin):
    rows = jumin[1]
    assert all(valid_jumin_code(r["住民票コード"]) for r in rows)
    assert all(valid_kojin_bango(r["個人番号"]) for r in rows if r["個人番号"])
    owner: dict[str, str] = {}
    for r in rows:
        if r["個人番号"]:
            assert owner.setdefault(r["個人番号"], r["住民票コード"]) == r["住民票コード"]
    assert len(owner) > N * 0.9


def test_cells_follow_spec_section_2(jumin, fuhyo):
    for r in jumin[1]:
        date.fromisoformat(r["生年月日"]), date.fromisoformat(r["異動年月日"])
        assert r["性別"] in ("1", "2")
        assert r["削除フラグ"] in ("0", "1") and r["外字フラグ"] in ("0", "1")
        code = r["市町村コード"]
        assert g.municipality_code(code[:5]) == code
        assert "　" in r["漢字氏名"] and "　" in r["ふりがな氏名"]
        assert r["異動年月日"] <= TODAY.isoformat()
    assert {r["附票本人確認情報状態区分"] for r in fuhyo[1]} == {"1", "2"}


def test_municipality_check_digit_is_jis_x_0402():
    assert g.municipality_code("21201") == "212016"  # 岐阜市
    assert g.municipality_code("13000") == "130001"  # 東京都
    assert g.municipality_code("01000") == "010006"  # 北海道


def test_address_municipality_agrees_with_the_code(jumin):
    t = g.tables()
    by_code = {code: f"{pref}{name}" for pref, name, code in t.cities}
    for r in jumin[1]:
        assert r["住所"].startswith(by_code[r["市町村コード"]])


def test_versions_ordered_and_dates_increase(jumin):
    by_person: dict[str, list[dict]] = {}
    for r in jumin[1]:
        by_person.setdefault(r["住民票コード"], []).append(r)
    multi = 0
    for rows in by_person.values():
        seqs = [int(r["更新順番号"]) for r in rows]
        assert seqs == list(range(1, len(rows) + 1))
        days = [r["異動年月日"] for r in rows]
        assert days == sorted(days)
        multi += len(rows) > 1
    assert multi > N * 0.2


def test_removed_residents_of_every_reason(dumps, truth):
    removed = dumps[1].removed
    for reason in ("死亡", "転出", "国外転出", "職権消除"):
        assert removed.get(reason, 0) > 0, reason
        assert reason in REMOVAL_REASONS
    latest = Counter(p.in_force().reason for p in truth if p.in_force().removed)
    assert latest == Counter(removed)


def test_logically_deleted_versions_are_not_in_force(truth, jumin):
    assert any(r["削除フラグ"] == "1" for r in jumin[1])
    for p in truth:
        for v in p.versions:
            if v.deleted:
                assert p.in_force() is not v


def test_name_changes_carry_old_names(jumin, truth):
    changed = [r for r in jumin[1] if r["異動事由"] == "氏の変更"]
    assert changed
    with_old = [r for r in jumin[1] if r["旧氏 漢字"]]
    assert with_old and all(r["旧氏 ふりがな"] and "　" not in r["旧氏 漢字"] for r in with_old)
    assert all(r["旧氏 漢字"] != r["漢字氏名"].split("　")[0] for r in with_old)


def test_same_name_same_birth_date_strangers_exist(jumin, truth):
    current = {}
    for p in truth:
        v = p.in_force()
        current.setdefault((v.family, p.given, p.birth), []).append((p.code, v.address))
    pairs = [v for v in current.values() if len(v) > 1]
    assert pairs
    assert any(len({a for _, a in v}) == 1 for v in pairs), "some also share the address"
    assert any(len({a for _, a in v}) > 1 for v in pairs), "some live elsewhere"


def test_gaiji_names_are_flagged(jumin, fuhyo):
    yoshi = [r for r in jumin[1] if "\U00020BB7" in r["漢字氏名"]]
    assert yoshi
    for r in yoshi:
        assert r["外字フラグ"] == "1" and int(r["外字数（氏名）"]) >= 1
    for r in jumin[1]:
        try:
            r["漢字氏名"].encode("cp932")
        except UnicodeEncodeError:
            assert r["外字フラグ"] == "1"
        else:
            assert r["外字数（氏名）"] == "0"
    assert any(r["外字パターン"] == "U+20BB7" for r in fuhyo[1])
    assert g.cp932_gaiji_count("髙橋") == 0 and g.cp932_gaiji_count("葛\U000E0100西") == 1


def test_store_addresses_come_in_several_written_forms(jumin):
    addrs = [r["住所"] for r in jumin[1]]
    assert any("丁目" in a and "号" in a for a in addrs)
    assert any(a[a.index("市") + 1:].count("-") >= 2 for a in addrs if "市" in a)
    assert any("番地" in a for a in addrs)
    assert any(ch in a for a in addrs for ch in "一二三四五六")


def test_fuhyo_rows_include_abroad_and_removed(fuhyo, dumps):
    rows = fuhyo[1]
    keys = [(r["住民票コード"], r["異動年月日"]) for r in rows]
    assert len(keys) == len(set(keys)), "one row per (住民票コード, 異動年月日)"
    abroad = [r for r in rows if r["通知区分"] == "国外転出"]
    assert len(abroad) == dumps[1].abroad > 0
    for r in abroad:
        assert r["住所漢字"] in ("", "国外") and r["最終住所漢字"].startswith("岐阜県") and r["住所市町村コード"] == ""
    assert "" in {r["住所漢字"] for r in abroad} and "国外" in {r["住所漢字"] for r in abroad} or len(abroad) < 3
    assert any(r["附票本人確認情報状態区分"] == "2" for r in rows)
    assert any(not r["住所漢字"].startswith("岐阜県") and r["住所漢字"] for r in rows), "moved to another prefecture"


def test_birth_dates_span_meiji_to_reiwa(truth):
    births = [p.birth_date for p in truth]
    assert min(births) < date(1912, 7, 30) and max(births) >= date(2019, 5, 1)
    assert sum(b < date(1912, 7, 30) for b in births) < N * 0.01


def test_iter_people_matches_the_files(truth, jumin):
    assert [r["住民票コード"] for r in jumin[1]] == [p.code for p in truth for _ in p.versions]


# --- labelled queries --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def queries(truth):
    return g.labelled_queries(truth, 7, 1500, today=TODAY)


def test_queries_are_deterministic(truth, queries):
    again = g.labelled_queries(truth, 7, 1500, today=TODAY)
    assert [q.row for q in again] == [q.row for q in queries]


def test_queries_cover_every_outcome_and_kind(queries):
    statuses = Counter(q.expected_status for q in queries)
    assert set(statuses) == {"00", "10", "20", "30", "90"}
    kinds = {q.kind for q in queries}
    assert {g.Q_CODE, g.Q_KOJIN, g.Q_FOUR, g.Q_FOUR_KANA, g.Q_OLD_NAME, g.Q_PAIR, g.Q_NAME_BIRTH,
            g.Q_UNKNOWN_CODE, g.Q_FUHYO_CODE} <= kinds
    for q in queries:
        assert set(q.row) == set(g.QUERY_COLUMNS)
        assert (q.expected_code is not None) == (q.expected_status in ("00", "10"))


def test_queries_carry_the_intended_noise(queries):
    births = [q.row["生年月日"] for q in queries if q.row["生年月日"]]
    assert any(b[:2] in ("昭和", "平成", "令和", "大正", "明治") for b in births)
    assert any(b[0] in "STHRM" and "." in b for b in births)
    assert any("元年" in b for b in [g.wareki(date(1989, 1, 8))])
    assert any(any("０" <= c <= "９" for c in b) for b in births)
    kojin = [q.row["個人番号"] for q in queries if q.row["個人番号"]]
    assert any("-" in k for k in kojin) and any("０" <= k[0] <= "９" for k in kojin)
    names = [q.row["氏名"] for q in queries if q.row["氏名"]]
    assert any("　" in n for n in names) and any(" " in n for n in names)
    assert any(" " not in n and "　" not in n for n in names)
    kana = [q.row["氏名かな"] for q in queries if q.row["氏名かな"]]
    assert any("ｱ" <= c <= "ﾝ" for k in kana for c in k), "half-width katakana"
    assert any("ア" <= c <= "ン" for k in kana for c in k) and any("あ" <= c <= "ん" for k in kana for c in k)
    assert any("ー" in k for k in kana)
    addrs = [q.row["住所"] for q in queries if q.row["住所"]]
    assert any("－" in a for a in addrs) and any("番地" in a for a in addrs)
    assert any("-" in a for a in addrs) and any(not a.startswith("岐阜県") for a in addrs)


def test_name_and_birth_date_alone_is_never_a_hit(queries):
    for q in queries:
        if q.row["氏名"] or q.row["氏名かな"]:
            if not (q.row["住所"] or q.row["個人番号"] or q.row["住民票コード"]):
                assert q.expected_status == "90"


def test_expected_answers_agree_with_the_truth(truth, queries):
    by_code = {p.code: p for p in truth}
    for q in queries:
        if q.expected_status in ("00", "10") and q.kind in (g.Q_CODE, g.Q_KOJIN):
            p = by_code[q.expected_code]
            assert (q.expected_status == "10") == p.in_force(TODAY).removed
        if q.kind == g.Q_UNKNOWN_CODE:
            assert q.row["住民票コード"].translate(str.maketrans("０１２３４５６７８９", "0123456789")) not in by_code
    pair_outcomes = {q.expected_status for q in queries if q.kind == g.Q_PAIR}
    assert "30" in pair_outcomes and "00" in pair_outcomes


def test_generated_dumps_load_through_load_files(tmp_path):
    """Generated dumps pass store.load.load_files (the same validation as real dumps), and a
    second load of the same file inserts nothing."""
    from bulktool.store.load import load_files
    from bulktool.store.sqlite import SqliteStore

    g.generate(600, 3, tmp_path, today=TODAY)
    store = SqliteStore.create(tmp_path / "store.db")
    reports = [load_files(store, kind, [tmp_path / f"{kind}.csv"]) for kind in ("jumin", "fuhyo")]
    assert reports[0].inserted == sum(1 for _ in open(tmp_path / "jumin.csv", encoding="utf-8")) - 1
    assert reports[1].inserted == sum(1 for _ in open(tmp_path / "fuhyo.csv", encoding="utf-8")) - 1
    again = load_files(store, "jumin", [tmp_path / "jumin.csv"])
    assert again.inserted == 0
