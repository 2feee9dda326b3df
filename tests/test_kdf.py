"""The passphrase KDF (issue 21, probe 15): scrypt N=2**17 for new key slots and key files, the
parameters written in each (a versioned slot), older N=2**15 slots and files still opening, and an
older slot rewritten with today's cost at its operator's next login."""
from __future__ import annotations

import os
import sqlite3

import pytest
from conftest import PASS, make_cli

from bulktool import keys
from bulktool import workspace as wsmod
from bulktool.messages import BulkError

pytestmark = pytest.mark.production_kdf
TODAY = (2**17, 8, 1)


def v1_slot(kek: bytes, passphrase: bytes, operator_id: str) -> bytes:
    """A key slot as earlier versions wrote it: salt ‖ AES-GCM under scrypt n=2**15, no header."""
    salt = os.urandom(16)
    return salt + keys.encrypt_with_key(keys.derive_key(passphrase, salt, 2**15, 8, 1), kek, operator_id.encode())


def slot_of(home, operator_id: str) -> bytes:
    with sqlite3.connect(home / "registry.sqlite") as db:
        return db.execute("SELECT slot FROM operators WHERE operator_id = ?", (operator_id,)).fetchone()[0]


def set_slot(home, operator_id: str, slot: bytes) -> None:
    with sqlite3.connect(home / "registry.sqlite") as db:
        db.execute("UPDATE operators SET slot = ? WHERE operator_id = ?", (slot, operator_id))


def test_a_new_slot_names_todays_cost_and_opens_only_with_its_passphrase():
    assert keys.current_kdf() == TODAY
    kek = os.urandom(32)
    slot = wsmod.wrap_kek(kek, b"right passphrase", "op01")
    assert slot.startswith(wsmod.SLOT_MAGIC) and wsmod.slot_kdf(slot) == TODAY and wsmod.slot_is_current(slot)
    assert wsmod.unwrap_kek(slot, b"right passphrase", "op01") == kek
    assert wsmod.unwrap_kek(slot, b"wrong passphrase", "op01") is None
    assert wsmod.unwrap_kek(slot, b"right passphrase", "op02") is None  # bound to its operator
    assert wsmod.slot_kdf(wsmod.dummy_slot()) == TODAY  # an unknown ID costs the same


def test_a_slot_whose_header_was_changed_does_not_open():
    kek = os.urandom(32)
    slot = bytearray(wsmod.wrap_kek(kek, b"pp", "op01"))
    at = len(wsmod.SLOT_MAGIC)
    cheaper = bytes(slot[:at]) + bytes((15,)) + bytes(slot[at + 1:])
    assert wsmod.unwrap_kek(cheaper, b"pp", "op01") is None  # the header is in the AAD
    hostile = bytes(slot[:at]) + bytes((30,)) + bytes(slot[at + 1:])  # 2**30: 1 TiB of scrypt
    assert wsmod.unwrap_kek(hostile, b"pp", "op01") is None  # refused before any derivation
    assert wsmod.unwrap_kek(bytes(slot[:at + 3]), b"pp", "op01") is None  # a header and nothing else


def test_an_older_slot_opens_and_is_rewritten_at_the_next_login(tmp_path):
    cli = make_cli(tmp_path / "ws", tmp_path)
    assert wsmod.slot_kdf(slot_of(cli.home, "op01")) == TODAY
    # op01's slot as an earlier version wrote it (same KEK: taken from admin01's slot)
    kek = wsmod.unwrap_kek(slot_of(cli.home, "admin01"), PASS["admin01"].encode(), "admin01")
    old = v1_slot(kek, PASS["op01"].encode(), "op01")
    set_slot(cli.home, "op01", old)
    assert not wsmod.slot_is_current(old) and wsmod.slot_kdf(old) == (2**15, 8, 1)
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("not-the-passphrase\n")
    r = cli.raw("store", "stats", "--home", str(cli.home), "--operator", "op01", "--passphrase-file", str(wrong))
    assert r.exit_code == 1 and "E-AUTH-002" in r.output
    assert slot_of(cli.home, "op01") == old  # a failed login changes nothing
    cli.ok("store", "stats", as_="op01")
    new = slot_of(cli.home, "op01")
    assert new != old and wsmod.slot_is_current(new)
    assert wsmod.unwrap_kek(new, PASS["op01"].encode(), "op01") == kek
    cli.ok("store", "stats", as_="op01")  # and logs in again with the new slot
    assert slot_of(cli.home, "op01") == new  # a current slot is left as it is


def test_key_files_are_made_at_todays_cost_and_older_ones_still_open(monkeypatch):
    kp = keys.generate("d01")
    made = keys.seal_private(kp, b"key-pass").decode()
    assert "kdf: scrypt n=131072 r=8 p=1" in made
    assert keys.open_private(made.encode(), b"key-pass").public.fingerprint == kp.public.fingerprint
    monkeypatch.setattr(keys, "SCRYPT_N", 2**15)  # a file from an earlier version
    older = keys.seal_private(kp, b"key-pass").decode()
    monkeypatch.undo()
    assert "n=32768" in older
    assert keys.open_private(older.encode(), b"key-pass").public.fingerprint == kp.public.fingerprint
    weakened = made.replace("n=131072", "n=1024")  # below the accepted set: refused, never derived
    with pytest.raises(BulkError):
        keys.open_private(weakened.encode(), b"key-pass")
