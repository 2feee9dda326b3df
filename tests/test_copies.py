"""Kept re-issue copies (issue 19, contract §6): each under a key of its own, destroyed when the
copy is erased, so that an erased copy cannot be decrypted from a copy of the disk taken later."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bulktool import keys
from bulktool.clock import FixedClock
from bulktool.containers import envelope
from bulktool.messages import BulkError
from bulktool.services.copies import CopyStore

CONTAINER = b"PK\x03\x04" + bytes(range(256)) * 40  # what the drive got: an (encrypted) result container


def every_file(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_an_erased_copy_cannot_be_decrypted_from_a_later_copy_of_the_disk(tmp_path):
    terminal = keys.generate("T001")
    store_dir = tmp_path / "ws" / "reissue"
    store_dir.mkdir(parents=True)
    copies = CopyStore(store_dir, terminal, FixedClock("2026-12-03"))
    copies.keep(7, "照会結果_7.zip", CONTAINER)
    copies.keep(8, "照会結果_8.zip", CONTAINER[::-1])
    assert copies.load(7) == ("照会結果_7.zip", CONTAINER)
    # what an attacker may still find of the erased blob (a file's blocks are not wiped by unlink)
    remnant = (store_dir / "7.bin").read_bytes()
    sealed_key = copies.db.execute("SELECT sealed_key FROM copies WHERE acceptance = 7").fetchone()[0]
    key = envelope.open_sealed(sealed_key, recipient=terminal.x25519, sender=terminal.public.ed25519)[0][1]
    assert copies.drop(7)
    copies.close()
    # later, a copy of the disk — and the terminal's own keys, as a thief with a login would have
    disk = tmp_path / "disk"
    shutil.copytree(tmp_path / "ws", disk)
    image = every_file(disk)
    assert sealed_key not in image and key not in image
    stolen = CopyStore(disk / "reissue", terminal, FixedClock("2026-12-03"))
    with pytest.raises(BulkError) as exc:
        stolen.load(7)
    assert exc.value.code == "E-MED-016"
    assert stolen.load(8) == ("照会結果_8.zip", CONTAINER[::-1])  # the other copy is untouched
    # the remnant is ciphertext under the destroyed key: nothing in the image opens it
    assert CONTAINER not in remnant and CONTAINER not in image


def test_files_no_copy_accounts_for_are_orphans(tmp_path):
    terminal = keys.generate("T001")
    copies = CopyStore(tmp_path, terminal, FixedClock("2026-12-03"))
    copies.keep(3, "照会結果_3.zip", CONTAINER)
    (tmp_path / "9.bin").write_bytes(b"x")        # a crash between the blob and its key
    (tmp_path / "4.bte").write_bytes(b"x")        # an old-format copy without its N.json
    (tmp_path / ".a1b2.tmp").write_bytes(b"x")    # an interrupted write
    assert [p.name for p in copies.orphans()] == [".a1b2.tmp", "4.bte", "9.bin"]
