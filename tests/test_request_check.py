"""The clerk's side before the trip to the terminal (issue 23, contract §9): `request check` applies
the terminal's own table checks; `request zip` checks the table first, wants a 12-character
password and writes 依頼票.json; at `exchange` a wrong request password may be typed again."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli, exchange_ok, ledger_rows, put_zip_request, request_table

from bulktool import exchange
from bulktool.containers import aeszip

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PW = "request-password-123"


@pytest.mark.parametrize("name, code, rows", [("検索条件_見本.csv", 0, 6), ("検索条件_見本_cp932.csv", 0, 5),
                                              ("検索条件_見本.xlsx", 0, 4), ("検索条件_誤りあり.csv", 1, 9)])
def test_request_check_on_each_sample(tmp_path, name, code, rows):
    cli = Cli(tmp_path / "no-workspace", tmp_path)  # the department's side: no workspace, no store
    r = cli.raw("request", "check", str(SAMPLES / name))
    assert r.exit_code == code, r.output
    assert f"{rows} 行を点検しました" in r.stdout
    if code:
        assert "90）になる行が 8 行" in r.stdout and "3 行目（連番 E-02）: 個人番号 — チェックデジット不正" in r.stdout
        assert "10 行目（連番（表示しません））" in r.stdout and "冬美" not in r.output  # never a value


def test_renban_shown_by_the_terminals_rule():
    """One rule (untrusted.shown_renban) for the terminal's 該当なし list and `request check`."""
    outcome = exchange.ExchangeOutcome.__new__(exchange.ExchangeOutcome)
    outcome.not_found = ["7", "41617718330", "E-1"]
    assert outcome.shown_not_found == ["7", "E-1"]


def test_request_zip_wants_12_characters_and_writes_the_irai(tmp_path):
    cli = Cli(tmp_path / "no-workspace", tmp_path)  # the department's side: no workspace, no store
    table = SAMPLES / "検索条件_見本.csv"
    short = tmp_path / "short.pw"
    short.write_text("abc\n")
    r = cli.raw("request", "zip", str(table), "--out", str(tmp_path / "a.zip"), "--password-file", str(short))
    assert r.exit_code == 2 and "E-CON-020" in r.output and not (tmp_path / "a.zip").exists()
    pw = tmp_path / "ok.pw"
    pw.write_text(PW + "\n")
    r = cli.raw("request", "zip", str(table), "--out", str(tmp_path / "b.zip"), "--password-file", str(pw),
                "--department", "D01", "--purpose", "P01", "--request-no", "見本-2026-001", "--as-of", "2026-04-01")
    assert r.exit_code == 0, r.output
    entries = dict(aeszip.read_entries((tmp_path / "b.zip").read_bytes(), PW.encode()))
    assert entries["検索条件_見本.csv"] == table.read_bytes()
    assert json.loads(entries["依頼票.json"]) == {"照会元": "D01", "事務": "P01", "依頼番号": "見本-2026-001",
                                                "基準日": "2026-04-01"}


def test_one_unknown_column_is_refused_with_the_terminals_code_everywhere(cli, world):
    good, _ = request_table(world)
    lines = good.decode("utf-8").split("\r\n")
    lines = [lines[0] + ",備考"] + [ln + "," if ln else ln for ln in lines[1:]]
    table = world["tmp"] / "依頼.csv"
    table.write_bytes("\r\n".join(lines).encode("utf-8"))
    pw = world["tmp"] / "r.pw"
    pw.write_text(PW + "\n")
    check = cli.raw("request", "check", str(table))
    made = cli.raw("request", "zip", str(table), "--out", str(world["tmp"] / "x.zip"), "--password-file", str(pw))
    assert not (world["tmp"] / "x.zip").exists()
    drive = world["drives"][0]  # the terminal gets the same table in a ZIP made as 7-Zip would make it
    (drive / "依頼.zip").write_bytes(aeszip.write_request("依頼.csv", table.read_bytes(), PW, when=(2026, 12, 1, 9, 0, 0)))
    ex = cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-1",
             "--password-file", str(pw), as_="op01")
    for r in (check, made, ex):
        assert r.exit_code == 1 and "E-REQ-003" in r.stderr, r.output
    # the clerk's own PC names the column (their own table); the terminal names its position only
    assert "「備考」" in check.stderr and "「備考」" in made.stderr and "備考" not in ex.output
    assert (ledger_rows(cli)[-1]["事象"], ledger_rows(cli)[-1]["エラーコード"]) == ("拒否", "E-REQ-003")


def _exchange_at_prompt(cli, drive, typed: list[str]):
    """`exchange` without --password-file, the operator typing `typed` at the password prompt."""
    return cli("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-2",
               as_="op01", input="".join(t + "\n" for t in typed))


def test_a_wrong_request_password_may_be_typed_again_three_times(cli, world):
    drive, other = world["drives"][0], world["drives"][1]
    put_zip_request(cli, world, drive)
    r = _exchange_at_prompt(cli, drive, ["wrong-1", "wrong-2", "wrong-3", "request-password-123"])
    assert r.exit_code == 0, r.output
    assert r.output.count("もう一度入力してください") == 3 and "照会結果パスワード: " in r.stdout
    put_zip_request(cli, world, other)
    before = len(ledger_rows(cli))
    r = _exchange_at_prompt(cli, other, ["wrong-1", "wrong-2", "wrong-3", "wrong-4", "request-password-123"])
    assert r.exit_code == 1 and "E-CON-004" in r.stderr and r.output.count("もう一度入力してください") == 3
    events = [e["事象"] for e in ledger_rows(cli)[before:]]
    assert events == ["受付", "拒否"], events  # one 拒否 after the last try, nothing in between
    # read from a file, a wrong password is not asked again
    wrong = world["tmp"] / "wrong.pw"
    wrong.write_text("wrong-password-000\n")
    r = cli("exchange", str(other), "--department", "D01", "--purpose", "P01", "--approval", "決裁-3",
            "--password-file", str(wrong), as_="op01", input="request-password-123\n")
    assert r.exit_code == 1 and "E-CON-004" in r.stderr and "もう一度" not in r.output
    exchange_ok(cli, other, world["tmp"] / f"req-{other.name}.pw")  # the right password still works


def test_request_zip_and_seal_refuse_what_the_terminal_could_not_ledger(tmp_path):
    """A file name or 依頼番号 holding a resident's number is refused at the clerk's PC with the
    terminal's own code (E-REQ-020), before the trip (probe finding 2)."""
    cli = Cli(tmp_path / "no-workspace", tmp_path)
    table = SAMPLES / "検索条件_見本.csv"
    pw = tmp_path / "ok.pw"
    pw.write_text(PW + "\n")
    for out, extra in ((tmp_path / "大塚_41617718330.zip", []),
                       (tmp_path / "ok.zip", ["--request-no", "依頼 4161 7718 330"])):
        r = cli.raw("request", "zip", str(table), "--out", str(out), "--password-file", str(pw), *extra)
        assert r.exit_code == 1 and "E-REQ-020" in r.output and not out.exists(), r.output
        assert "41617718330" not in r.output.replace(str(tmp_path), "")
    r = cli.raw("request", "seal", str(table), "--department", "D01", "--key", "x.key", "--to", "t.pub",
                "--out", str(tmp_path / "依頼_347800710774.bte"))
    assert r.exit_code == 1 and "E-REQ-020" in r.output
