"""The 照会結果 table (SPEC §5)."""
from __future__ import annotations

import csv
import io

from bulktool.model import MatchResult, Status
from bulktool.results import write_results

REC = {"住民票コード": "12345678906", "氏名": "山田　太郎", "氏名かな": "やまだ　たろう", "生年月日": "1975-04-01",
       "性別": "1", "住所": "岐阜市本町1-1-1", "個人番号": "123456789018", "異動事由": "転居", "異動年月日": "2020-01-01"}


def results():
    return [
        MatchResult(1, "1", Status.HIT, 1, "該当", dict(REC)),
        MatchResult(2, "2", Status.NOT_FOUND, 0, "該当なし"),
        MatchResult(3, "3", Status.MULTIPLE, 2, "複数該当"),
        MatchResult(4, "4", Status.INPUT_ERROR, None, "入力エラー：住所（4情報の照会には住所が必要です）"),
        MatchResult(5, "=5", Status.HIT_REMOVED, 1, "該当（消除者）", dict(REC, 氏名="𠮷田　一郎", 異動事由="死亡"), True),
    ]


def parse(data: bytes, enc: str = "utf-8-sig"):
    return list(csv.reader(io.StringIO(data.decode(enc), newline="")))


def test_columns_order_permitted_fields_and_counts():
    t = write_results(results(), fields=["氏名", "住民票コード", "住所"])
    rows = parse(t.data)
    assert rows[0] == ["連番", "処理結果コード", "処理結果", "該当件数", "住民票コード", "氏名", "住所", "外字フラグ"]
    assert [r[1] for r in rows[1:]] == ["00", "20", "30", "90", "10"]
    assert [r[3] for r in rows[1:]] == ["1", "0", "2", "", "1"]
    assert rows[1][4:7] == ["12345678906", "山田　太郎", "岐阜市本町1-1-1"]
    assert rows[3][4:7] == ["", "", ""]  # 複数該当: no data of any candidate
    assert t.counts == {"00": 1, "10": 1, "20": 1, "30": 1, "90": 1} and t.rows == 5
    assert t.not_found == ["2"]
    assert "個人番号" not in rows[0]


def test_utf8_bom_and_crlf():
    t = write_results(results(), fields=["氏名"])
    assert t.data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in t.data and b"\n" not in t.data.replace(b"\r\n", b"")


def test_cp932_substitutes_and_flags_gaiji():
    t = write_results(results(), fields=["氏名"], encoding="cp932")
    rows = parse(t.data, "cp932")
    assert rows[5][4] == "〓田　一郎" and rows[5][-1] == "1"
    assert t.gaiji_substitutions == 1
    assert rows[1][-1] == ""


def test_formula_cells_are_neutralised():
    t = write_results(results(), fields=["氏名"])
    rows = parse(t.data)
    assert rows[5][0] == "'=5"
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
