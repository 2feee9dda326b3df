"""store/load.py: every validation rule, line numbers, all-or-nothing, idempotency — into a store of
each backend."""
from __future__ import annotations

import csv
import random
from pathlib import Path

import pyarrow as pa
import pytest

from bulktool.checkdigit import (municipality_check_digit, valid_check_digits, valid_jumin_code, valid_kojin_bango,
                                 with_check_digit)
from bulktool.messages import BulkError
from bulktool.store import load, validate
from bulktool.store.load import LoadError, load_files
from bulktool.store.schema import HEADERS, KIND_FUHYO, KIND_JUMIN
from bulktool.store.sqlite import SqliteStore

CITY = "21201" + str(municipality_check_digit("21201"))


def code(n: int) -> str:
    return with_check_digit(f"{1_000_000_000 + n:010d}")


def kojin(n: int) -> str:
    return with_check_digit(f"{20_000_000_000 + n:011d}")


def jumin_row(**values: str) -> list[str]:
    """A valid jumin row; keyword arguments override columns by Japanese name."""
    row = dict.fromkeys(HEADERS[KIND_JUMIN], "")
    row.update({"住民票コード": code(1), "漢字氏名": "山田　太郎", "外字数（氏名）": "0", "ふりがな氏名": "やまだ　たろう",
                "生年月日": "1980-01-02", "性別": "1", "住所": "岐阜県岐阜市本町1丁目2番3号", "外字数（住所）": "0",
                "個人番号": kojin(1), "異動事由": "転入", "異動年月日": "2010-04-01", "保存期間フラグ": "0",
                "市町村コード": CITY, "大字・字コード": "001", "操作者ID": "OP1", "操作端末ID": "T1",
                "外字フラグ": "0", "削除フラグ": "0", "更新順番号": "1"})
    row.update(values)
    assert set(row) == set(HEADERS[KIND_JUMIN]), "unknown column in test"
    return [row[h] for h in HEADERS[KIND_JUMIN]]


def fuhyo_row(**values: str) -> list[str]:
    row = dict.fromkeys(HEADERS[KIND_FUHYO], "")
    row.update({"住民票コード": code(1), "氏名漢字": "山田　太郎", "氏名外字数": "0", "氏名ふりがな": "やまだ　たろう",
                "生年月日": "1980-01-02", "性別": "1", "住所市町村コード": CITY, "住所漢字": "岐阜県岐阜市本町1丁目2番3号",
                "住所外字数": "0", "異動年月日": "2010-04-01", "附票管理市町村コード": CITY,
                "附票本人確認情報状態区分": "1", "外字フラグ": "0"})
    row.update(values)
    assert set(row) == set(HEADERS[KIND_FUHYO]), "unknown column in test"
    return [row[h] for h in HEADERS[KIND_FUHYO]]


def write_csv(path: Path, kind: str, rows: list[list[str]], header=None) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADERS[kind] if header is None else header)
        w.writerows(rows)
    return path


@pytest.fixture
def store(store_backend, request, tmp_path):
    from conftest import new_store

    s = new_store(store_backend, request, tmp_path)
    yield s
    s.close()


def count(store, kind: str = KIND_JUMIN) -> int:
    return store.db.execute(f"SELECT count(*) FROM {kind}").fetchone()[0]


def index_names(store) -> set[str]:
    if isinstance(store, SqliteStore):
        return {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {r[0] for r in store.db.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}


def load_one_bad(store, tmp_path, **values) -> list:
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, [jumin_row(), jumin_row(**{"住民票コード": code(2), **values})])
    with pytest.raises(LoadError) as exc:
        load_files(store, KIND_JUMIN, [path])
    assert exc.value.code == "E-STO-003"
    assert count(store) == 0  # the good row was not committed either
    return exc.value.problems


def test_valid_rows_are_loaded_with_their_match_keys(store, tmp_path):
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN,
                     [jumin_row(), jumin_row(**{"更新順番号": "2", "異動年月日": "2015-05-01", "異動事由": "転居",
                                                "旧氏 漢字": "鈴木", "旧氏 ふりがな": "すずき"})])
    report = load_files(store, KIND_JUMIN, [path])
    assert (report.rows, report.inserted, report.skipped) == (2, 2, 0)
    row = next(r for r in store.versions(KIND_JUMIN, [code(1)])[code(1)] if r["update_seq"] == 2)
    assert row["k_name"] == "山田太郎" and row["k_old_name"] == "鈴木太郎"
    assert row["k_kana"] == "やまたたろう" and row["k_old_kana"] == "すすきたろう"
    assert row["k_addr"] and row["deleted_flag"] == 0 and row["update_seq"] == 2


@pytest.mark.parametrize("column,value", [
    ("住民票コード", code(2)[:-1] + str((int(code(2)[-1]) + 1) % 10)),  # wrong check digit
    ("住民票コード", "123"),
    ("個人番号", kojin(2)[:-1] + str((int(kojin(2)[-1]) + 1) % 10)),
    ("個人番号", "１２３４５６７８９０１２"),  # full-width digits are not stored
    ("生年月日", "1980-02-30"),  # does not exist
    ("生年月日", "1980/01/02"),
    ("異動年月日", ""),
    ("通知を受けた年月日", "2010-13-01"),
    ("性別", "3"),
    ("性別", "男"),
    ("削除フラグ", "2"),
    ("外字フラグ", "yes"),
    ("保存期間フラグ", "x"),
    ("更新順番号", "一"),
    ("更新順番号", ""),
    ("外字数（氏名）", "-1"),
    ("市町村コード", "21201"),  # 5 digits: the check digit is required
    ("市町村コード", CITY[:5] + str((int(CITY[5]) + 1) % 10)),  # wrong check digit
    ("大字・字コード", "A01"),
    ("漢字氏名", ""),
    ("住所", ""),
    ("異動事由", ""),
])
def test_each_rule_rejects_its_bad_value(store, tmp_path, column, value):
    problems = load_one_bad(store, tmp_path, **{column: value})
    assert [(p.line, p.field) for p in problems] == [(3, column)]
    if len(value) >= 4:
        assert value not in str(problems[0])  # the reason never repeats the value


def test_empty_kojin_bango_and_kana_are_allowed(store, tmp_path):
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, [jumin_row(**{"個人番号": "", "ふりがな氏名": ""})])
    assert load_files(store, KIND_JUMIN, [path]).inserted == 1
    ((row,),) = store.versions(KIND_JUMIN, [code(1)]).values()
    assert (row["kojin_bango"], row["k_kana"], row["name_kana"]) == (None, None, None)


def test_all_bad_rows_are_reported_with_file_and_line(store, tmp_path):
    rows = [jumin_row(**{"住民票コード": code(i)}) for i in range(6)]
    rows[1] = jumin_row(**{"住民票コード": code(1), "性別": "9"})  # line 3
    rows[4] = jumin_row(**{"住民票コード": code(4), "生年月日": "2001-02-29"})  # line 6
    rows.append(jumin_row()[:5])  # line 8: too few columns
    path = write_csv(tmp_path / "dump.csv", KIND_JUMIN, rows)
    with pytest.raises(LoadError) as exc:
        load_files(store, KIND_JUMIN, [path])
    got = [(p.file, p.line, p.field) for p in exc.value.problems]
    assert got == [("dump.csv", 3, "性別"), ("dump.csv", 6, "生年月日"), ("dump.csv", 8, "（行全体）")]
    assert exc.value.count == 3 and "3 行" in exc.value.message
    assert "E-STO-002" in str(exc.value.problems[0]) and "3 行目" in str(exc.value.problems[0])


def test_nothing_of_the_command_is_committed_when_a_later_file_is_bad(store, tmp_path):
    good = write_csv(tmp_path / "a.csv", KIND_JUMIN, [jumin_row(**{"住民票コード": code(i)}) for i in range(5)])
    bad = write_csv(tmp_path / "b.csv", KIND_JUMIN, [jumin_row(**{"住民票コード": code(9), "性別": "0"})])
    with pytest.raises(LoadError) as exc:
        load_files(store, KIND_JUMIN, [good, bad])
    assert [(p.file, p.line) for p in exc.value.problems] == [("b.csv", 2)]
    assert count(store) == 0
    # the indexes dropped for the bulk load of an empty table are back after the rollback
    assert {"jumin_kojin", "jumin_four"} <= index_names(store)
    assert load_files(store, KIND_JUMIN, [good]).inserted == 5


def test_wrong_header_is_refused(store, tmp_path):
    header = list(HEADERS[KIND_JUMIN])
    header[5] = "性"
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, [jumin_row()], header=header)
    with pytest.raises(BulkError) as exc:
        load_files(store, KIND_JUMIN, [path])
    assert exc.value.code == "E-STO-001" and "6 列目" in exc.value.message
    fuhyo = write_csv(tmp_path / "f.csv", KIND_FUHYO, [fuhyo_row()])
    with pytest.raises(BulkError) as exc:
        load_files(store, KIND_JUMIN, [fuhyo])  # the other kind's file
    assert exc.value.code == "E-STO-001"
    assert count(store) == 0


def test_bom_in_header_is_tolerated(store, tmp_path):
    path = tmp_path / "j.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADERS[KIND_JUMIN])
        w.writerow(jumin_row())
    assert load_files(store, KIND_JUMIN, [path]).inserted == 1


def test_not_utf8_names_the_line(store, tmp_path):
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, [jumin_row(), jumin_row(**{"住民票コード": code(2)})])
    data = path.read_bytes().replace("岐阜市".encode(), "岐阜市".encode("cp932"), 2)
    path.write_bytes(data)
    with pytest.raises(BulkError) as exc:
        load_files(store, KIND_JUMIN, [path])
    assert exc.value.code == "E-STO-004" and exc.value.params["line"] == 2
    assert count(store) == 0


def test_quoted_newline_keeps_line_numbers(store, tmp_path):
    rows = [jumin_row(**{"住民票コード": code(1), "操作者ID": "A\nB"}),
            jumin_row(**{"住民票コード": code(2), "性別": "x"})]
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, rows)
    with pytest.raises(LoadError) as exc:
        load_files(store, KIND_JUMIN, [path])
    assert [p.line for p in exc.value.problems] == [4]  # header 1, first record 2–3


def test_reload_is_idempotent_and_stored_versions_are_immutable(store, tmp_path):
    rows = [jumin_row(**{"住民票コード": code(i)}) for i in range(4)]
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, rows)
    assert load_files(store, KIND_JUMIN, [path]).inserted == 4
    again = load_files(store, KIND_JUMIN, [path, path])
    assert (again.rows, again.inserted, again.skipped) == (8, 0, 8)
    changed = write_csv(tmp_path / "k.csv", KIND_JUMIN, [jumin_row(**{"住民票コード": code(0), "住所": "別の住所1-1-1"})])
    assert load_files(store, KIND_JUMIN, [changed]).skipped == 1
    assert count(store) == 4
    (row,) = store.versions(KIND_JUMIN, [code(0)])[code(0)]  # packed columns come back unpacked
    assert row["address"] == "岐阜県岐阜市本町1丁目2番3号" and row["name"] and row["retention_flag"] == 0


def test_fuhyo_rules(store, tmp_path):
    rows = [fuhyo_row(),
            fuhyo_row(**{"異動年月日": "2012-01-01", "住所漢字": "", "住所市町村コード": "", "最終住所漢字": "岐阜市本町1-2-3"}),
            fuhyo_row(**{"異動年月日": "2013-01-01", "住所漢字": "", "最終住所漢字": ""}),  # line 4
            fuhyo_row(**{"異動年月日": "2014-01-01", "附票本人確認情報状態区分": "3"}),  # line 5
            fuhyo_row(**{"異動年月日": "2015-01-01", "旧住民票コード": "12345678901"}),  # line 6
            fuhyo_row(**{"異動年月日": "2016-01-01", "附票管理市町村コード": ""})]  # line 7
    path = write_csv(tmp_path / "f.csv", KIND_FUHYO, rows)
    with pytest.raises(LoadError) as exc:
        load_files(store, KIND_FUHYO, [path])
    assert [(p.line, p.field) for p in exc.value.problems] == [
        (4, "住所漢字"), (5, "附票本人確認情報状態区分"), (6, "旧住民票コード"), (7, "附票管理市町村コード")]
    good = write_csv(tmp_path / "g.csv", KIND_FUHYO, rows[:2])
    assert load_files(store, KIND_FUHYO, [good]).inserted == 2
    k_addr, k_last = store.db.execute("SELECT k_addr, k_last_addr FROM fuhyo WHERE change_date = '2012-01-01'").fetchone()
    assert k_addr is None and k_last


def test_progress_reports_rows_read(store, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, [jumin_row(**{"住民票コード": code(i)}) for i in range(5)])
    monkeypatch.setattr(load, "CHUNK_BYTES", 2 * len(path.read_bytes().splitlines(keepends=True)[1]))
    seen: list[tuple[int, int, int]] = []
    load_files(store, KIND_JUMIN, [path], progress=lambda *a: seen.append(a))
    size = path.stat().st_size
    records = size - len(path.read_bytes().splitlines(keepends=True)[0])
    assert [rows for rows, _, _ in seen] == [2, 4, 5, 5]
    assert seen[-2][1] == records and seen[-1] == (5, size, size)  # all read, then the commit stage
    assert all(total == size for _, _, total in seen)
    assert [done for _, done, _ in seen] == sorted({done for _, done, _ in seen})  # strictly growing


def test_worker_processes_give_the_same_answer(store, tmp_path, monkeypatch):
    rows = [jumin_row(**{"住民票コード": code(i)}) for i in range(10)]
    rows[7] = jumin_row(**{"住民票コード": code(7), "削除フラグ": "9"})  # line 9
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, rows)
    monkeypatch.setattr(load, "CHUNK_BYTES", 3 * len(path.read_bytes().splitlines(keepends=True)[1]))
    with pytest.raises(LoadError) as exc:
        load_files(store, KIND_JUMIN, [path], workers=2)
    assert [(p.line, p.field) for p in exc.value.problems] == [(9, "削除フラグ")]
    assert count(store) == 0
    del rows[7]
    write_csv(path, KIND_JUMIN, rows)
    assert load_files(store, KIND_JUMIN, [path], workers=2).inserted == 9


def test_fast_check_digits_agree_with_checkdigit_module():
    rng = random.Random(7)
    strings: list[str] = []
    for _ in range(20_000):
        s = "".join(rng.choice("0123456789") for _ in range(rng.choice((10, 11, 12, 13))))
        if rng.random() < 0.5:
            s = with_check_digit(s[:-1])
        strings.append(s)
    strings += ["１２３４５６７８９０１", "1234567890a", "", "12345-78901", "١٢٣٤٥٦٧٨٩٠١"]
    cells = pa.array(strings)
    assert list(validate.check_digits_ok(cells, 11, valid_check_digits)) == [valid_jumin_code(s) for s in strings]
    assert list(validate.check_digits_ok(cells, 12, valid_check_digits)) == [valid_kojin_bango(s) for s in strings]
    assert not any(validate.check_digits_ok(cells, 11, valid_check_digits)[-5:]) and not any(map(valid_jumin_code, strings[-5:]))


def test_fast_path_and_csv_path_build_the_same_rows(tmp_path):
    rows = [jumin_row(**{"住民票コード": code(i), "個人番号": kojin(i) if i % 2 else "", "ふりがな氏名": "" if i == 3 else "やまだ　たろう",
                         "旧氏 漢字": "鈴木" if i == 4 else "", "削除フラグ": "" if i == 5 else "0", "外字数（氏名）": "07"})
            for i in range(8)]
    data = write_csv(tmp_path / "j.csv", KIND_JUMIN, rows).read_bytes().split(b"\n", 1)[1]
    table = validate.parse_chunk_fast(KIND_JUMIN, data)
    assert table is not None and table.num_rows == 8
    assert list(validate.Chunk([], [], 0, 8, table=table).row_tuples()) == [validate._jumin_row(r) for r in rows]
    frows = [fuhyo_row(**{"住民票コード": code(i), "住所漢字": "" if i == 1 else "岐阜市本町1-2-3",
                          "住所市町村コード": "" if i == 1 else CITY,
                          "最終住所漢字": "岐阜市本町1-2-3" if i == 1 else ""}) for i in range(3)]
    data = write_csv(tmp_path / "f.csv", KIND_FUHYO, frows).read_bytes().split(b"\n", 1)[1]
    table = validate.parse_chunk_fast(KIND_FUHYO, data)
    assert table is not None
    assert list(validate.Chunk([], [], 0, 3, table=table).row_tuples()) == [validate._fuhyo_row(r) for r in frows]


@pytest.mark.parametrize("column,value", [("住民票コード", "12345678901"), ("個人番号", "123456789012"),
                                          ("生年月日", "2023-02-30"), ("異動年月日", "0000-01-01"),
                                          ("市町村コード", CITY[:5] + str((int(CITY[5]) + 1) % 10)), ("更新順番号", "x"), ("削除フラグ", "2"),
                                          ("操作者ID", "a\x1fb")])
def test_fast_path_hands_every_bad_chunk_to_the_exact_path(tmp_path, column, value):
    rows = [jumin_row(**{"住民票コード": code(i)}) for i in range(3)]
    rows[1] = jumin_row(**{"住民票コード": code(1), column: value})
    data = write_csv(tmp_path / "j.csv", KIND_JUMIN, rows).read_bytes().split(b"\n", 1)[1]
    assert validate.parse_chunk_fast(KIND_JUMIN, data) is None
    chunk = validate.parse_chunk(KIND_JUMIN, "j.csv", 2, data)
    assert [(p.line, p.field) for p in chunk.problems] == [(3, column)]


def test_quoted_newline_keeps_exact_line_numbers(store, tmp_path, monkeypatch):
    rows = [jumin_row(**{"住民票コード": code(i)}) for i in range(6)]
    rows[1] = jumin_row(**{"住民票コード": code(1), "操作者ID": "two\nlines"})  # lines 3-4
    rows[4] = jumin_row(**{"住民票コード": code(4), "性別": "3"})  # line 7
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, rows)
    monkeypatch.setattr(load, "CHUNK_BYTES", 2 * len(path.read_bytes().splitlines(keepends=True)[1]))
    with pytest.raises(LoadError) as exc:
        load_files(store, KIND_JUMIN, [path])
    assert [(p.line, p.field) for p in exc.value.problems] == [(7, "性別")]
    del rows[4]
    write_csv(path, KIND_JUMIN, rows)
    assert load_files(store, KIND_JUMIN, [path]).inserted == 5
    (row,) = store.versions(KIND_JUMIN, [code(1)])[code(1)]
    assert row["operator_id"] == "two\nlines"


def test_quoting_the_csv_module_refuses_is_refused(store, tmp_path):
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, [jumin_row(**{"住民票コード": code(i)}) for i in range(3)])
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",OP1,", b',"OP"1,')  # line 3: text after a closing quote
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(BulkError) as exc:
        load_files(store, KIND_JUMIN, [path])
    assert exc.value.code == "E-STO-002" and count(store) == 0


def test_unterminated_quote_is_reported_with_bounded_chunks(store, tmp_path, monkeypatch):
    rows = [jumin_row(**{"住民票コード": code(i)}) for i in range(40)]
    path = write_csv(tmp_path / "j.csv", KIND_JUMIN, rows)
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b",OP1,", b',"OP1,')  # line 4 opens a quote that never closes
    path.write_bytes(b"\n".join(lines))
    monkeypatch.setattr(load, "CHUNK_BYTES", len(lines[1]) // 2)
    assert max(len(d) for _, d in load._chunks(path, KIND_JUMIN)) <= 17 * load.CHUNK_BYTES
    with pytest.raises(BulkError) as exc:
        load_files(store, KIND_JUMIN, [path])
    assert exc.value.code == "E-STO-002" and count(store) == 0


def test_the_sqlite_layout_of_a_table_and_of_row_tuples_is_the_same(tmp_path):
    """SqliteStore.load_batch lays out the fast path's Table in C and the exact path's tuples in
    Python: the same stored tuples either way (flags, counts, empty cells, keys, packed value)."""
    from bulktool.store.sqlite import _layout

    for kind, rows in ((KIND_JUMIN, [jumin_row(**{"住民票コード": code(i), "個人番号": kojin(i) if i % 2 else "",
                                                  "旧氏 漢字": "鈴木" if i == 4 else "", "削除フラグ": "" if i == 5 else "1",
                                                  "外字数（氏名）": "07", "ふりがな氏名": "" if i == 3 else "やまだ　たろう"})
                                       for i in range(8)]),
                       (KIND_FUHYO, [fuhyo_row(**{"住民票コード": code(i), "住所漢字": "" if i == 1 else "岐阜市本町1-2-3",
                                                  "住所市町村コード": "" if i == 1 else CITY,
                                                  "最終住所漢字": "岐阜市本町1-2-3" if i == 1 else ""}) for i in range(3)])):
        data = write_csv(tmp_path / "x.csv", kind, rows).read_bytes().split(b"\n", 1)[1]
        table = validate.parse_chunk_fast(kind, data)
        exact = validate.Chunk([validate._ROW[kind](r) for r in rows], [], 0, len(rows))
        assert list(_layout(kind, table)) == list(_layout(kind, exact.batch())) and table.num_rows == len(rows)
