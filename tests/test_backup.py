"""`backup create / verify / restore` (contract §9, bulktool/services/backup.py): the workspace in
one file sealed to an offline recovery key; verify checks it whole; restore yields a workspace
whose ledger verifies and whose operators log in. Refusals: another role, the terminal's own key
or a department's as --to, a wrong key, a tampered file, a non-empty target."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from conftest import ledger_rows

from bulktool.containers import envelope
from bulktool.keys import open_private
from bulktool.services import backup

KEY_PASS = "recovery-pass-1"


@pytest.fixture
def recovery(cli, tmp_path):
    """The recovery key pair, made as the manual says (keys generate), kept off the terminal."""
    folder = tmp_path / "offline"
    (tmp_path / "recovery.pass").write_text(KEY_PASS + "\n", encoding="utf-8")
    r = cli.raw("keys", "generate", "--name", "recovery", "--out", str(folder), "--passphrase-file",
                str(tmp_path / "recovery.pass"))
    assert r.exit_code == 0, r.output
    return {"pub": folder / "recovery.pub", "key": folder / "recovery.key", "pass": tmp_path / "recovery.pass"}


def create(cli, out: Path, recovery, *extra: str, as_: str = "sec01"):
    return cli("backup", "create", "--out", str(out), "--to", str(recovery["pub"]), *extra, as_=as_)


def key_args(recovery) -> list[str]:
    return ["--key", str(recovery["key"]), "--passphrase-file", str(recovery["pass"])]


def test_create_verify_restore_and_work_in_the_restored_home(cli, recovery, tmp_path, store_backend):
    cli.ok("media", "list", as_="op01")
    out = tmp_path / "控え.bak"
    r = create(cli, out, recovery, "--with-store")
    assert r.exit_code == 0, r.output
    head = ledger_rows(cli)[-1]
    # ledgered as 登録変更 by the security officer, with the file's SHA-256
    assert head["事象"] == "登録変更" and head["操作者ID"] == "sec01" and head["備考"].startswith("バックアップ作成")
    import hashlib
    assert head["ファイル"] == f"{out.name}:{hashlib.sha256(out.read_bytes()).hexdigest()}"
    # nothing in plain text in the file
    data = out.read_bytes()
    assert b"SQLite format 3" not in data and b"T001" not in data and b"admin01" not in data

    r = cli.raw("backup", "verify", str(out), *key_args(recovery))
    assert r.exit_code == 0, r.output
    assert "すべて正常です" in r.stdout and "T001" in r.stdout

    # the manifest: names, sizes, SHA-256, the ledger's head checkpoint, the clock's time, the terminal
    v = backup.verify(data, out.name, recovery["key"].read_bytes(), KEY_PASS.encode())
    m = v.manifest
    assert m["created_at"] == cli.clock.timestamp() and m["terminal_id"] == "T001"
    names = {f["name"] for f in m["files"]}
    assert {"config.json", "registry.sqlite", "ledger.sqlite", "oplog.sqlite", "keys/terminal.key",
            "keys/terminal.pub"} <= names
    assert ("store.sqlite" in names) == (store_backend == "sqlite") and m["store"] == (store_backend == "sqlite")
    # the checkpoint is the ledger's head before the backup's own 登録変更
    assert m["ledger_checkpoint"] == f"{int(head['番号']) - 1}:{head['前ハッシュ']}"

    target = tmp_path / "restored"
    r = cli.raw("backup", "restore", str(out), *key_args(recovery), "--home", str(target))
    assert r.exit_code == 0, r.output
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]  # the temp folder became the target
    assert oct(target.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in target.rglob("*") if p.is_file())
    r = cli.raw("ledger", "verify", "--home", str(target), "--operator", "aud01", "--passphrase-file",
                cli.passfile("aud01"))
    assert r.exit_code == 0 and "すべて正常です" in r.stdout, r.output
    # the operators log in with their passphrases and work in the restored home
    (tmp_path / "drive_r").mkdir()
    r = cli.raw("department", "add", "D09", "--name", "税務課", "--purpose", "P01=住基法別表第五第一号", "--fields",
                "住民票コード,氏名", "--home", str(target), "--operator", "admin01", "--passphrase-file",
                cli.passfile("admin01"))
    assert r.exit_code == 0, r.output
    r = cli.raw("media", "register", str(tmp_path / "drive_r"), "--media-id", "M900", "--department", "D09",
                "--home", str(target), "--operator", "op01", "--passphrase-file", cli.passfile("op01"))
    assert r.exit_code == 0, r.output
    rows = ledger_rows(cli.__class__(target, tmp_path, cli.clock))
    assert rows[-1]["事象"] == "媒体登録" and rows[-1]["媒体ID"] == "M900"
    # the restored operation log verifies, and says it was restored
    r = cli.raw("oplog", "verify", "--home", str(target), "--operator", "aud01", "--passphrase-file",
                cli.passfile("aud01"))
    assert r.exit_code == 0, r.output
    db = sqlite3.connect(target / "oplog.sqlite")
    assert db.execute("SELECT count(*) FROM oplog WHERE command = 'backup restore'").fetchone()[0] == 1
    db.close()
    # the original is untouched by all this
    assert ledger_rows(cli)[-1] == head


def test_restore_refuses_a_folder_that_is_not_empty(cli, recovery, tmp_path):
    out = tmp_path / "b.bak"
    assert create(cli, out, recovery).exit_code == 0
    r = cli.raw("backup", "restore", str(out), *key_args(recovery), "--home", str(cli.home))
    assert r.exit_code == 1 and "E-BAK-009" in r.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "memo.txt").write_text("x")
    r = cli.raw("backup", "restore", str(out), *key_args(recovery), "--home", str(busy))
    assert r.exit_code == 1 and "E-BAK-009" in r.stderr
    assert [p.name for p in busy.iterdir()] == ["memo.txt"]
    # an empty folder is fine, and without --with-store the SQLite store is made empty
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli.raw("backup", "restore", str(out), *key_args(recovery), "--home", str(empty))
    assert r.exit_code == 0, r.output
    assert (empty / "config.json").is_file() and (empty / "keys" / "terminal.key").is_file()


@pytest.mark.parametrize("where", ["header", "middle", "end"])
def test_a_tampered_backup_fails_verification_with_exit_3(cli, recovery, tmp_path, where):
    out = tmp_path / "b.bak"
    assert create(cli, out, recovery).exit_code == 0
    data = bytearray(out.read_bytes())
    pos = {"header": 20, "middle": len(data) // 2, "end": len(data) - 1}[where]
    data[pos] ^= 0x01
    out.write_bytes(bytes(data))
    r = cli.raw("backup", "verify", str(out), *key_args(recovery))
    assert r.exit_code == 3 and "E-BAK-006" in r.stderr, r.output
    target = tmp_path / "never"
    r = cli.raw("backup", "restore", str(out), *key_args(recovery), "--home", str(target))
    assert r.exit_code == 3 and not target.exists()


def test_a_backup_resealed_with_a_changed_file_fails_on_its_manifest(cli, recovery, tmp_path):
    """Someone holding the terminal key and the recovery key's public half re-seals a backup with
    one file changed: the manifest's SHA-256 catches it."""
    out = tmp_path / "b.bak"
    assert create(cli, out, recovery).exit_code == 0
    kp = open_private(recovery["key"].read_bytes(), KEY_PASS.encode())
    files = envelope.open_sealed(out.read_bytes(), recipient=kp.x25519, sender=None, limits=backup.LIMITS)
    from bulktool.app import logged_in
    with logged_in(cli.home, "sec01", b"sec-pass-0001", "backup create", clock=cli.clock) as s:
        terminal = s.keys
    changed = [(n, d + b"\0" if n == "config.json" else d) for n, d in files]
    out.write_bytes(envelope.seal(changed, recipient=kp.x25519.public_key(), sender=terminal.ed25519))
    r = cli.raw("backup", "verify", str(out), *key_args(recovery))
    assert r.exit_code == 3 and "E-BAK-007" in r.stderr and "config.json" in r.stderr
    # and a ledger changed inside, its manifest rewritten to match: the ledger's own check catches it
    db_bytes = dict(files)["ledger.sqlite"]
    db = sqlite3.connect(":memory:")
    db.deserialize(db_bytes)
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("UPDATE entries SET note = '書き換え' WHERE seq = 2")
    db.commit()
    new_ledger = db.serialize()
    db.close()
    manifest = json.loads(dict(files)["manifest.json"])
    import hashlib
    for f in manifest["files"]:
        if f["name"] == "ledger.sqlite":
            f["size"], f["sha256"] = len(new_ledger), hashlib.sha256(new_ledger).hexdigest()
    resealed = [("manifest.json", json.dumps(manifest).encode())] + [
        (n, new_ledger if n == "ledger.sqlite" else d) for n, d in files if n != "manifest.json"]
    out.write_bytes(envelope.seal(resealed, recipient=kp.x25519.public_key(), sender=terminal.ed25519))
    r = cli.raw("backup", "verify", str(out), *key_args(recovery))
    assert r.exit_code == 3 and "E-BAK-008" in r.stderr and "管理簿" in r.stderr


def test_the_wrong_key_or_passphrase_has_its_code(cli, recovery, tmp_path):
    out = tmp_path / "b.bak"
    assert create(cli, out, recovery).exit_code == 0
    (tmp_path / "other.pass").write_text("other-pass-1\n")
    assert cli.raw("keys", "generate", "--name", "other", "--out", str(tmp_path / "k2"), "--passphrase-file",
                   str(tmp_path / "other.pass")).exit_code == 0
    r = cli.raw("backup", "verify", str(out), "--key", str(tmp_path / "k2" / "other.key"), "--passphrase-file",
                str(tmp_path / "other.pass"))
    assert r.exit_code == 1 and "E-BAK-005" in r.stderr
    (tmp_path / "wrong.pass").write_text("not-the-passphrase\n")
    r = cli.raw("backup", "verify", str(out), "--key", str(recovery["key"]), "--passphrase-file",
                str(tmp_path / "wrong.pass"))
    assert r.exit_code == 1 and "E-KEY-002" in r.stderr


@pytest.mark.parametrize("user", ["admin01", "op01", "aud01"])
def test_only_the_security_officer_creates_a_backup(cli, recovery, tmp_path, user):
    out = tmp_path / "b.bak"
    before = ledger_rows(cli)
    r = create(cli, out, recovery, as_=user)
    assert r.exit_code == 1 and "E-AUTH-007" in r.stderr
    assert not out.exists() and ledger_rows(cli) == before


def test_the_terminal_key_or_a_department_key_is_refused_as_recovery_key(cli, world, tmp_path):
    out = tmp_path / "b.bak"
    before = ledger_rows(cli)
    r = cli("backup", "create", "--out", str(out), "--to", str(world["term_pub"]), as_="sec01")
    assert r.exit_code == 1 and "E-BAK-001" in r.stderr
    r = cli("backup", "create", "--out", str(out), "--to", str(world["keys"] / "d01.pub"), as_="sec01")
    assert r.exit_code == 1 and "E-BAK-002" in r.stderr and "D01" in r.stderr
    assert not out.exists() and ledger_rows(cli) == before


def test_create_never_overwrites_and_is_not_an_aud12_finding(cli, recovery, tmp_path):
    out = tmp_path / "b.bak"
    out.write_bytes(b"keep")
    r = create(cli, out, recovery)
    assert r.exit_code == 1 and "E-BAK-003" in r.stderr and out.read_bytes() == b"keep"
    out2 = tmp_path / "b2.bak"
    assert create(cli, out2, recovery).exit_code == 0
    inv = tmp_path / "棚卸表.csv"
    inv.write_text("媒体ID,状態,所在,確認者,確認日\n", encoding="utf-8")
    r = cli("audit", "reconcile", "--inventory", str(inv), as_="aud01")
    assert r.exit_code == 0 and "AUD-12" not in r.stdout, r.output


def test_snapshot_is_taken_through_the_backup_api_of_a_live_database(tmp_path):
    path = tmp_path / "live.sqlite"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x)")
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (1)")  # uncommitted: not in the snapshot
    image = backup.snapshot(path)
    writer.execute("COMMIT")
    writer.close()
    db = sqlite3.connect(":memory:")
    db.deserialize(image)
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    assert not [p for p in tmp_path.iterdir() if p.name not in ("live.sqlite", "live.sqlite-wal", "live.sqlite-shm")]
    assert os.path.exists(path)
