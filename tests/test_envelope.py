"""The sealed envelope (.bte, docs/envelope.md): named test vectors, layout, properties.

The vectors in tests/fixtures/containers were made with the TEST-ONLY keys in test_keys.json
(test_terminal = recipient, test_dept = sender, test_other = a stranger).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulktool.checkdigit import with_check_digit
from bulktool.containers import envelope
from bulktool.containers.limits import Limits
from bulktool.keys import keypair_from_bytes
from bulktool.messages import BulkError

FIX = Path(__file__).parent / "fixtures" / "containers"
KEYS = {n: keypair_from_bytes(bytes.fromhex(h)) for n, h in json.loads((FIX / "test_keys.json").read_text()).items()}
TERMINAL, DEPT, OTHER = KEYS["test_terminal"], KEYS["test_dept"], KEYS["test_other"]
TABLE = ("連番,住民票コード\r\n" + "".join(f"{i},{with_check_digit(f'{i:010d}')}\r\n" for i in range(1, 6))).encode()
IRAI = json.dumps({"照会元": "D01", "事務": "P01", "依頼番号": "R-1"}, ensure_ascii=False).encode()


def open_(data: bytes, recipient=TERMINAL, sender=DEPT, limits: Limits | None = None):
    kw = {"limits": limits} if limits else {}
    return envelope.open_sealed(data, recipient=recipient.x25519,
                                sender=sender.public.ed25519 if sender else None, **kw)


def code_of(fn, *args, **kw) -> str:
    with pytest.raises(BulkError) as exc:
        fn(*args, **kw)
    return exc.value.code


def resign(body: bytes, key=DEPT) -> bytes:
    """A forger holding the sender's key: re-sign a changed body, so that the AEAD must catch it."""
    return body + key.ed25519.sign(envelope.INFO + hashlib.sha256(body).digest())


def seal(files, recipient=TERMINAL, sender=DEPT) -> bytes:
    return envelope.seal(files, recipient=recipient.public.x25519, sender=sender.ed25519)


# --- named vectors ---------------------------------------------------------------------------

def test_good_simple():
    assert open_((FIX / "good_simple.bte").read_bytes()) == [("検索条件.csv", TABLE)]


def test_good_multi_chunk():
    data = (FIX / "good_multi_chunk.bte").read_bytes()
    assert len(data) > 2 * (envelope.CHUNK + envelope.TAG)  # really several chunks
    assert open_(data) == [("検索条件.csv", TABLE * 1500), ("依頼票.json", IRAI)]


VECTORS = [
    ("fail_bad_tag.bte", "E-CON-013"),          # one ciphertext bit flipped, re-signed
    ("fail_truncated.bte", "E-CON-013"),        # last chunk dropped at a chunk boundary, re-signed
    ("fail_reordered_chunk.bte", "E-CON-013"),  # chunks 0 and 1 swapped, re-signed
    ("fail_appended.bte", "E-CON-013"),         # a chunk appended after the final one, re-signed
    ("fail_header_changed.bte", "E-CON-013"),   # flags byte changed, re-signed
    ("fail_bad_signature.bte", "E-CON-014"),    # signature bit flipped
    ("fail_wrong_sender.bte", "E-CON-014"),     # sealed and signed by test_other
    ("fail_wrong_recipient.bte", "E-CON-015"),  # sealed to test_other
    ("fail_bad_version.bte", "E-CON-016"),      # version byte 2
]


@pytest.mark.parametrize("name,code", VECTORS, ids=[v[0] for v in VECTORS])
def test_fail_vector_is_refused_with_its_code(name, code):
    assert code_of(open_, (FIX / name).read_bytes()) == code


def test_every_bte_fixture_is_in_a_table():
    assert {p.name for p in FIX.glob("*.bte")} == {v[0] for v in VECTORS} | {"good_simple.bte", "good_multi_chunk.bte"}


def test_fail_wrong_key():
    # the stranger's key is not the one the envelope was sealed to
    assert code_of(open_, (FIX / "good_simple.bte").read_bytes(), recipient=OTHER) == "E-CON-015"


def test_forged_key_id_is_caught_by_the_signature_then_by_the_aead():
    data = (FIX / "good_simple.bte").read_bytes()
    body = data[:-envelope.SIG_LEN]
    forged = body[:6] + envelope.key_id(OTHER.public.x25519) + body[14:]
    assert code_of(open_, forged + data[-envelope.SIG_LEN:], recipient=OTHER) == "E-CON-014"
    assert code_of(open_, resign(forged), recipient=OTHER) == "E-CON-013"  # wrong ECDH key


def test_low_order_ephemeral_key_is_refused():
    data = (FIX / "good_simple.bte").read_bytes()
    body = data[:-envelope.SIG_LEN]
    assert code_of(open_, resign(body[:14] + bytes(32) + body[46:])) == "E-CON-013"


def test_bad_signature_is_found_before_decrypting():
    # the signature covers everything: a flipped ciphertext bit without re-signing is E-CON-014
    data = bytearray((FIX / "good_simple.bte").read_bytes())
    data[envelope.HEADER_LEN + 3] ^= 1
    assert code_of(open_, bytes(data)) == "E-CON-014"


def test_sender_none_skips_only_the_sender_check():
    wrong_sender = (FIX / "fail_wrong_sender.bte").read_bytes()
    assert open_(wrong_sender, sender=None) == [("検索条件.csv", TABLE)]  # explicit opt-out only
    # the signature itself is still verified: a bad one fails even without a sender
    assert code_of(open_, (FIX / "fail_bad_signature.bte").read_bytes(), sender=None) == "E-CON-014"


def test_short_or_foreign_data():
    assert code_of(open_, b"") == "E-CON-013"
    assert code_of(open_, b"PK\x03\x04" + bytes(300)) == "E-CON-013"
    assert code_of(open_, envelope.MAGIC + b"\x07") == "E-CON-016"  # version known before length
    assert code_of(open_, envelope.MAGIC + b"\x01" + bytes(20)) == "E-CON-013"


# --- layout (pins docs/envelope.md) ----------------------------------------------------------

def test_header_layout():
    data = seal([("a.csv", b"x")])
    assert data[:4] == b"BTE\x00" and data[4] == 1 and data[5] == 0
    assert data[6:14] == hashlib.sha256(envelope._raw(TERMINAL.public.x25519)).digest()[:8]
    assert data[46:78] == envelope._raw(DEPT.public.ed25519)
    assert int.from_bytes(data[78:82], "big") == 65536
    plain = envelope.pack_files([("a.csv", b"x")])
    assert plain == b"\x00\x01" + b"\x00\x05a.csv" + (1).to_bytes(8, "big") + b"x"
    assert len(data) == envelope.HEADER_LEN + len(plain) + envelope.TAG + envelope.SIG_LEN


def test_fresh_ephemeral_key_each_time():
    a, b = seal([("a.csv", TABLE)]), seal([("a.csv", TABLE)])
    assert a[14:46] != b[14:46] and a[envelope.HEADER_LEN:] != b[envelope.HEADER_LEN:]


@pytest.mark.parametrize("size", [envelope.CHUNK - 2 - 2 - 5 - 8, envelope.CHUNK * 2 - 17, envelope.CHUNK * 3])
def test_chunk_boundaries_round_trip_and_a_cut_at_a_boundary_fails(size):
    payload = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    data = seal([("a.csv", payload)])
    assert open_(data) == [("a.csv", payload)]
    body = data[:-envelope.SIG_LEN]
    step = envelope.CHUNK + envelope.TAG
    for cut in range(envelope.HEADER_LEN + step, len(body), step):  # every chunk boundary
        assert code_of(open_, resign(body[:cut])) == "E-CON-013"


# --- limits ----------------------------------------------------------------------------------

def test_entry_count_limit():
    data = seal([(f"{i}.txt", b"") for i in range(5)])
    assert code_of(open_, data, limits=Limits(max_entries=4)) == "E-CON-008"
    assert len(open_(data, limits=Limits(max_entries=5))) == 5


def test_expanded_size_limit():
    data = seal([("a.csv", TABLE * 2000)])
    assert code_of(open_, data, limits=Limits(max_expanded_bytes=10_000)) == "E-CON-009"


# --- properties ------------------------------------------------------------------------------

names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
file_lists = st.lists(st.tuples(names, st.binary(max_size=2000)), max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file_lists)
def test_any_payload_round_trips(files):
    assert open_(seal(files)) == files


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=1, max_size=200_000), st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_any_single_byte_change_fails(payload, where, xor):
    data = seal([("a.csv", payload)])
    pos = where % len(data)
    bad = data[:pos] + bytes([data[pos] ^ xor]) + data[pos + 1:]
    with pytest.raises(BulkError) as exc:
        open_(bad)
    assert exc.value.code in {"E-CON-013", "E-CON-014", "E-CON-015", "E-CON-016"}


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=140_000), st.integers(min_value=0))
def test_any_truncation_fails(payload, where):
    data = seal([("a.csv", payload)])
    with pytest.raises(BulkError):
        open_(data[:where % len(data)])
