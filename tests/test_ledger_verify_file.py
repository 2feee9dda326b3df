"""`ledger verify --file EXPORT --terminal-key PUB`: an exported ledger verified on a computer
with no workspace and no operator; the CSV export is lossless, so any changed cell is caught and
the entry named. And `ledger verify` says which key it verified against."""
from __future__ import annotations

import csv
import io
import shutil

from bulktool.ledger.storage import EXPORT_COLUMNS, _plain


def export_to(cli, tmp, name="管理簿.csv"):
    out = tmp / name
    cli.ok("ledger", "export", "--out", str(out), as_="aud01")
    return out


def rewrite(path, change):
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    change(rows)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(("\ufeff" + buf.getvalue()).encode("utf-8"))


def test_export_verifies_elsewhere_and_any_changed_cell_is_named(cli, world, tmp_path, monkeypatch):
    monkeypatch.delenv("BULKTOOL_HOME", raising=False)
    src = export_to(cli, tmp_path)
    pub = world["term_pub"]
    # an auditor's own PC: a folder with the export and the public key, nothing else
    pc = tmp_path / "auditor-pc"
    pc.mkdir()
    copy, key = pc / "管理簿.csv", pc / "terminal.pub"
    shutil.copy(src, copy)
    shutil.copy(pub, key)
    ok = cli.raw("ledger", "verify", "--file", str(copy), "--terminal-key", str(key))
    assert ok.exit_code == 0, ok.output
    assert "すべて正常" in ok.stdout and "--terminal-key で指定された鍵" in ok.stdout
    fingerprint = next(ln for ln in pub.read_text(encoding="utf-8").splitlines() if ln.startswith("fingerprint"))
    assert fingerprint.split(":", 1)[1].strip() in ok.stdout
    rows = list(csv.reader(io.StringIO(copy.read_bytes().decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == EXPORT_COLUMNS and len(rows) > 6
    cp_n = len(rows) - 1
    cp = f"{cp_n}:{rows[-1][EXPORT_COLUMNS.index('ハッシュ')]}"
    assert cli.raw("ledger", "verify", "--file", str(copy), "--terminal-key", str(key), "--checkpoint", cp).exit_code == 0
    # every column of one row, changed alone, is caught and its entry named
    for col in EXPORT_COLUMNS:
        shutil.copy(src, copy)
        i = EXPORT_COLUMNS.index(col)

        def change(rows, i=i):
            rows[4][i] = rows[4][i] + "x" if rows[4][i] else "1"

        rewrite(copy, change)
        bad = cli.raw("ledger", "verify", "--file", str(copy), "--terminal-key", str(key))
        assert bad.exit_code == 3, (col, bad.output)
        assert "4 番目の記録" in bad.output, (col, bad.output)
    # a removed row, and a truncated file against the checkpoint
    shutil.copy(src, copy)
    rewrite(copy, lambda rows: rows.pop(3))
    r = cli.raw("ledger", "verify", "--file", str(copy), "--terminal-key", str(key))
    assert r.exit_code == 3 and "3 番目の記録" in r.output
    shutil.copy(src, copy)
    rewrite(copy, lambda rows: rows.pop())
    assert cli.raw("ledger", "verify", "--file", str(copy), "--terminal-key", str(key)).exit_code == 0
    r = cli.raw("ledger", "verify", "--file", str(copy), "--terminal-key", str(key), "--checkpoint", cp)
    assert r.exit_code == 3 and "E-LED-003" in r.output
    # another key, no key, not an export
    other = tmp_path / "other"
    assert cli.raw("keys", "generate", "--name", "x", "--out", str(other), "--passphrase-file",
                   str(tmp_path / "dept.pass")).exit_code == 0
    shutil.copy(src, copy)
    r = cli.raw("ledger", "verify", "--file", str(copy), "--terminal-key", str(other / "x.pub"))
    assert r.exit_code == 3 and "署名" in r.output
    assert cli.raw("ledger", "verify", "--file", str(copy)).exit_code == 2
    (pc / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    r = cli.raw("ledger", "verify", "--file", str(pc / "x.csv"), "--terminal-key", str(key))
    assert r.exit_code == 3 and "E-LED-006" in r.output


def test_verify_names_the_key_it_used(cli, world):
    own = cli.ok("ledger", "verify", as_="aud01")
    assert "作業領域の端末鍵" in own.stdout and "T001" in own.stdout
    given = cli.ok("ledger", "verify", "--terminal-key", str(world["term_pub"]), as_="aud01")
    assert "--terminal-key で指定された鍵" in given.stdout


def test_neutralised_cells_read_back_as_written():
    assert _plain("'+abc") == "+abc" and _plain("'=1") == "=1"
    assert _plain("'abc") == "'abc" and _plain("abc") == "abc"
