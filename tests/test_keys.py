"""Key pairs, .pub and .key files, and the helpers the terminal's key slots are built on."""
from __future__ import annotations

import base64
import re
import hashlib
import json
from pathlib import Path

import pytest

from bulktool import keys
from bulktool.messages import BulkError

FIX = Path(__file__).parent / "fixtures" / "containers"
TEST_PASSPHRASE = b"test-only-passphrase"  # of the committed TEST-ONLY fixture test_dept.key


def code_of(fn, *args, **kw) -> str:
    with pytest.raises(BulkError) as exc:
        fn(*args, **kw)
    return exc.value.code


def raw(key) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture(scope="module")
def kp() -> keys.KeyPair:
    return keys.generate("総務部-D01")


# --- public key files ------------------------------------------------------------------------

def test_public_file_layout(kp):
    text = keys.format_public(kp.public).decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == "bulktool-public-key/1"
    assert lines[1] == "name: 総務部-D01"
    assert base64.b64decode(lines[2].removeprefix("ed25519: ")) == raw(kp.public.ed25519)
    assert base64.b64decode(lines[3].removeprefix("x25519: ")) == raw(kp.public.x25519)
    digest = hashlib.sha256(raw(kp.public.ed25519) + raw(kp.public.x25519)).hexdigest()[:32]
    assert lines[4] == "fingerprint: " + " ".join(digest[i:i + 4] for i in range(0, 32, 4))
    assert lines[5:] == [""] and text.endswith("\n")


def test_public_round_trip(kp):
    pub = keys.read_public(keys.format_public(kp.public))
    assert pub.name == kp.name and pub.fingerprint == kp.public.fingerprint
    assert raw(pub.ed25519) == raw(kp.public.ed25519) and raw(pub.x25519) == raw(kp.public.x25519)


def test_public_file_read_from_windows(kp):
    # Notepad: BOM and CRLF; fingerprint typed in capitals without spaces
    text = keys.format_public(kp.public).decode().replace("\n", "\r\n")
    fp = kp.public.fingerprint
    text = text.replace(fp, fp.replace(" ", "").upper())
    assert keys.read_public(("\ufeff" + text).encode()).fingerprint == fp


def _mutations(kp):
    good = keys.format_public(kp.public).decode()
    other = keys.generate("x").public
    yield "wrong version", good.replace("bulktool-public-key/1", "bulktool-public-key/2")
    yield "fingerprint of another key", good.replace(kp.public.fingerprint, other.fingerprint)
    yield "swapped key", good.replace(base64.b64encode(raw(kp.public.x25519)).decode(),
                                      base64.b64encode(raw(other.x25519)).decode())
    yield "no fingerprint", "\n".join(line for line in good.split("\n") if not line.startswith("fingerprint"))
    yield "no name", "\n".join(line for line in good.split("\n") if not line.startswith("name"))
    yield "duplicate line", good + "x25519: " + base64.b64encode(raw(other.x25519)).decode() + "\n"
    yield "unknown line", good + "comment: hello\n"
    yield "short key", good.replace(base64.b64encode(raw(kp.public.ed25519)).decode(), "AAAA")
    yield "not base64", good.replace(base64.b64encode(raw(kp.public.ed25519)).decode()[:4], "!!!!")
    yield "no colon", good + "garbage\n"
    yield "empty", ""


@pytest.mark.parametrize("case", range(11))
def test_bad_public_files_are_refused(kp, case):
    label, text = list(_mutations(kp))[case]
    assert code_of(keys.read_public, text.encode()) == "E-KEY-001", label


def test_public_file_not_utf8_or_huge():
    assert code_of(keys.read_public, b"\xff\xfe\x00") == "E-KEY-001"
    assert code_of(keys.read_public, b"bulktool-public-key/1\n" + b"x" * 10_000) == "E-KEY-001"


@pytest.mark.parametrize("name", ["", " a", "a\nfingerprint: 0000", "a\tb", "x" * 201])
def test_bad_key_names_are_refused(name):
    assert code_of(keys.generate, name) == "E-KEY-005"


# --- the committed TEST-ONLY key files (format stability) -------------------------------------

def test_committed_test_files_still_open():
    stored = {n: keys.keypair_from_bytes(bytes.fromhex(h)) for n, h in json.loads((FIX / "test_keys.json").read_text()).items()}
    for name, kp in stored.items():
        pub = keys.read_public((FIX / f"{name}.pub").read_bytes())
        assert pub.name == name and pub.fingerprint == kp.public.fingerprint
    opened = keys.open_private((FIX / "test_dept.key").read_bytes(), TEST_PASSPHRASE)
    assert opened.public.fingerprint == stored["test_dept"].public.fingerprint


# --- private key files -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def sealed(kp) -> bytes:
    return keys.seal_private(kp, "正しいパスフレーズ".encode())


def test_private_round_trip(kp, sealed):
    opened = keys.open_private(sealed, "正しいパスフレーズ".encode())
    assert opened.name == kp.name and opened.public.fingerprint == kp.public.fingerprint
    msg = b"signed"
    kp.public.ed25519.verify(opened.ed25519.sign(msg), msg)  # the same private key


def test_private_file_layout(kp, sealed):
    lines = sealed.decode().split("\n")
    assert lines[0] == "bulktool-private-key/1"
    fields = dict(line.split(": ", 1) for line in lines[1:] if line)
    assert fields["kdf"] in ("scrypt n=131072 r=8 p=1", "scrypt n=32768 r=8 p=1")  # today's, or the suite's (conftest)
    assert len(base64.b64decode(fields["salt"])) == 16 and len(base64.b64decode(fields["nonce"])) == 12
    assert fields["fingerprint"] == kp.public.fingerprint
    # the box holds the key pair, never in clear in the file
    assert keys.keypair_to_bytes(kp)[-64:].hex() not in sealed.hex()


def test_wrong_passphrase(sealed):
    assert code_of(keys.open_private, sealed, b"wrong") == "E-KEY-002"


def test_changed_box_or_salt_or_fingerprint(sealed):
    text = sealed.decode()
    fields = dict(line.split(": ", 1) for line in text.split("\n")[1:] if line)
    box = bytearray(base64.b64decode(fields["box"]))
    box[0] ^= 1
    salt = bytearray(base64.b64decode(fields["salt"]))
    salt[0] ^= 1
    for old, new in ((fields["box"], base64.b64encode(box).decode()),
                     (fields["salt"], base64.b64encode(salt).decode()),
                     (fields["fingerprint"], keys.generate("x").public.fingerprint)):
        assert code_of(keys.open_private, text.replace(old, new).encode(), "正しいパスフレーズ".encode()) == "E-KEY-002"


@pytest.mark.parametrize("kdf", ["scrypt n=1048576000 r=8 p=1", "scrypt n=1024 r=8 p=1", "argon2 m=1", "scrypt"])
def test_kdf_parameters_outside_the_accepted_set(sealed, kdf):
    bad = re.sub(r"^kdf: .*$", f"kdf: {kdf}", sealed.decode(), flags=re.M).encode()
    assert bad != sealed
    assert code_of(keys.open_private, bad, b"whatever") == "E-KEY-001"


def test_not_a_private_key_file(kp):
    assert code_of(keys.open_private, keys.format_public(kp.public), b"x") == "E-KEY-001"


def test_empty_passphrase_is_refused(kp):
    assert code_of(keys.seal_private, kp, b"") == "E-KEY-006"


# --- helpers for the terminal's key slots ----------------------------------------------------

def test_keypair_bytes_round_trip(kp):
    blob = keys.keypair_to_bytes(kp)
    assert len(blob) == 2 + len(kp.name.encode()) + 64
    assert keys.keypair_from_bytes(blob).public.fingerprint == kp.public.fingerprint
    for bad in (blob[:-1], blob + b"\0", b"\xff\xff" + blob[2:], b""):
        assert code_of(keys.keypair_from_bytes, bad) == "E-KEY-003"


def test_encrypt_with_key_round_trip_and_failures():
    kek = bytes(range(32))
    blob = keys.encrypt_with_key(kek, b"secret", b"slot:op1")
    assert keys.decrypt_with_key(kek, blob, b"slot:op1") == b"secret"
    assert keys.encrypt_with_key(kek, b"secret", b"slot:op1") != blob  # fresh nonce
    assert code_of(keys.decrypt_with_key, kek, blob, b"slot:op2") == "E-KEY-002"
    assert code_of(keys.decrypt_with_key, bytes(32), blob, b"slot:op1") == "E-KEY-002"
    assert code_of(keys.decrypt_with_key, kek, blob[:-1] + bytes([blob[-1] ^ 1]), b"slot:op1") == "E-KEY-002"
    assert code_of(keys.decrypt_with_key, kek, b"short", b"") == "E-KEY-002"
    with pytest.raises(ValueError):
        keys.encrypt_with_key(b"short", b"x", b"")


def test_derive_key_is_deterministic_and_salted():
    kdf = keys.current_kdf()
    a = keys.derive_key(b"pass", b"s" * 16, *kdf)
    assert len(a) == 32 and a == keys.derive_key(b"pass", b"s" * 16, *kdf)
    assert a != keys.derive_key(b"pass", b"t" * 16, *kdf) and a != keys.derive_key(b"pasS", b"s" * 16, *kdf)
    with pytest.raises(ValueError):
        keys.derive_key(b"pass", b"short", *kdf)
