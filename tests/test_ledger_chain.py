"""管理簿, the pure chain alone (bulktool.ledger.chain): exhaustive tampering with plain entries.

A 20-entry chain is built in memory, every hashed field filled in every entry. For every entry,
each hashed field, the stored hash and the signature are corrupted in turn — left as they are,
and re-hashed down the chain by a tamperer who lacks the terminal's key — and entries are
removed, inserted and swapped: verification must fail at exactly that entry. The SQLite
scenarios (a real file, triggers dropped) are their own layer, in test_ledger.py.
"""
from __future__ import annotations

import copy
import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bulktool.ledger.chain import (EVENTS, GENESIS_PREV, HASHED_FIELDS, check_each, entry_hash, sign_entry,
                                   verify_entries)
from bulktool.ledger.signatures import check_in_pool

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
PUB = KEY.public_key()
N = 20
CHECK = check_each(PUB)


def build(n: int = N) -> list[dict]:
    """A valid chain of n entries; every hashed field holds a value in every entry."""
    entries, prev = [], GENESIS_PREV
    for seq in range(1, n + 1):
        e = {"seq": seq, "timestamp": f"2025-06-{seq:02d}T10:00:00+09:00", "event": EVENTS[seq % len(EVENTS)],
             "operator_id": f"op{seq:02d}", "terminal_id": "T1", "media_id": f"M{seq}", "department": "D01",
             "purpose": "P01", "approval_no": f"決裁-{seq}", "request_no": f"依頼-{seq}", "ref": max(seq - 1, 1),
             "error_code": "E-MED-001", "files": [{"name": f"req{seq}.zip", "sha256": f"{seq:064x}"}],
             "counts": {"rows": seq, "該当": seq - 1}, "note": f"備考{seq}",
             "provided": {"fields": ["住民票コード", "氏名"], "kojin_bango": seq % 2 == 0, "store_entry": seq,
                          "store_loaded": "2026-04-01"},
             "prev_hash": prev}
        entries.append(seal(e, prev))
        prev = e["hash"]
    return entries


def seal(e: dict, prev: str, key: Ed25519PrivateKey = KEY) -> dict:
    e["prev_hash"] = prev
    e["hash"] = entry_hash(e, prev)
    e["signature"] = sign_entry(e["hash"], key)
    return e


def corrupt(value: object) -> object:
    """A different value of the same kind."""
    if isinstance(value, bool) or value is None:
        raise AssertionError("every field is filled")
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return [{**value[0], "sha256": "ff" * 32}]
    if isinstance(value, dict) and "rows" in value:
        return {**value, "rows": value["rows"] + 1}
    if isinstance(value, dict):
        return {**value, "store_entry": value["store_entry"] + 1}
    if value in EVENTS:
        return EVENTS[(EVENTS.index(value) + 1) % len(EVENTS)]
    if len(value) == 64 and set(value) <= set("0123456789abcdef"):
        return ("0" if value[0] != "0" else "1") + value[1:]
    return value + "x"


def rehash_from(entries: list[dict], k: int) -> None:
    """What a tamperer without the key does after a change: re-hash entry k and every later one so
    that the chain is consistent again; the signatures can only be forged with another key."""
    prev = entries[k - 2]["hash"] if k > 1 else GENESIS_PREV
    for e in entries[k - 1:]:
        if e is not entries[k - 1]:  # entry k keeps its prev_hash, changed or not
            e["prev_hash"] = prev
        e["hash"] = entry_hash(e, e["prev_hash"])
        e["signature"] = sign_entry(e["hash"], OTHER_KEY)
        prev = e["hash"]


def first_bad(entries: list[dict], check=CHECK, checkpoint=None) -> int | None:
    report = verify_entries(entries, check, checkpoint)
    assert report.ok is (report.first_bad is None)
    return report.first_bad


CHAIN = build()
HEAD = (N, CHAIN[-1]["hash"])


def test_the_untouched_chain_verifies_with_either_signature_check():
    for check in (CHECK, check_in_pool(PUB, workers=2), None):
        report = verify_entries(copy.deepcopy(CHAIN), check, HEAD)
        assert report.ok and report.count == N and report.head_hash == CHAIN[-1]["hash"]
        assert report.signatures_checked == (0 if check is None else N)


@pytest.mark.parametrize("name", HASHED_FIELDS + ("hash", "signature"))
def test_every_field_of_every_entry_corrupted_fails_at_that_entry(name):
    for k in range(1, N + 1):
        entries = copy.deepcopy(CHAIN)
        entries[k - 1][name] = corrupt(entries[k - 1][name])
        assert first_bad(entries) == k, (name, k)
        if name == "signature":
            assert first_bad(entries, check=None) is None  # only the signature check can see it
        else:
            assert first_bad(entries, check=None) == k, (name, k)


@pytest.mark.parametrize("name", HASHED_FIELDS)
def test_every_field_of_every_entry_changed_and_rehashed_fails_at_that_entry(name):
    for k in range(1, N + 1):
        entries = copy.deepcopy(CHAIN)
        entries[k - 1][name] = corrupt(entries[k - 1][name])
        rehash_from(entries, k)
        assert first_bad(entries) == k, (name, k)
        if name not in ("seq", "prev_hash"):  # a consistent chain: only the key or a checkpoint tells
            assert first_bad(entries, check=None) is None
            assert first_bad(entries, check=None, checkpoint=HEAD) == N


def test_every_entry_removed_fails_at_its_place():
    for k in range(1, N + 1):
        entries = copy.deepcopy(CHAIN)
        del entries[k - 1]
        assert first_bad(entries, checkpoint=HEAD) == k, k  # the last one: only the checkpoint sees it
        renumbered = copy.deepcopy(entries)
        for e in renumbered[k - 1:]:
            e["seq"] -= 1
        assert first_bad(renumbered, checkpoint=HEAD) == k, k


def test_an_entry_inserted_anywhere_fails_at_its_place():
    for k in range(1, N + 2):
        entries = copy.deepcopy(CHAIN)
        prev = entries[k - 2]["hash"] if k > 1 else GENESIS_PREV
        forged = seal({**copy.deepcopy(CHAIN[0]), "seq": k, "note": "挿入"}, prev, OTHER_KEY)
        entries.insert(k - 1, forged)
        for e in entries[k:]:
            e["seq"] += 1
        assert first_bad(entries) == k, k
        assert first_bad(entries, check=None) == (k + 1 if k <= N else None), k


def test_any_two_entries_swapped_fail_at_the_earlier():
    for i, j in itertools.combinations(range(1, N + 1), 2):
        entries = copy.deepcopy(CHAIN)
        entries[i - 1], entries[j - 1] = entries[j - 1], entries[i - 1]
        assert first_bad(entries) == i, (i, j)
        for e, seq in zip(entries, range(1, N + 1)):  # and with the numbers put back in order
            e["seq"] = seq
        assert first_bad(entries) == i, (i, j)


def test_a_signature_check_that_reads_nothing_still_leaves_the_chain_checked():
    entries = copy.deepcopy(CHAIN)
    entries[11]["note"] = "書き換え"
    report = verify_entries(entries, lambda links: None)
    assert not report.ok and report.first_bad == 12 and report.signatures_checked == 0
    assert report.count == 11


def test_the_earliest_of_several_faults_is_named():
    entries = copy.deepcopy(CHAIN)
    entries[14]["note"] = "書き換え"                        # entry 15: hash
    entries[6]["signature"] = sign_entry(entries[6]["hash"], OTHER_KEY)  # entry 7: signature
    assert first_bad(entries) == 7
    report = verify_entries(entries, check_in_pool(PUB, workers=1), (5, "ab" * 32))  # entry 5: checkpoint
    assert report.first_bad == 5 and report.code == "E-LED-004" and report.count == 14


def test_an_entry_from_before_a_later_field_keeps_its_hash():
    """`provided` came after the first format: an entry without it hashes as it always did, and
    giving it (even empty) changes the hash."""
    old = {k: v for k, v in CHAIN[3].items() if k not in ("provided", "hash", "signature")}
    from bulktool.ledger.chain import LATER_FIELDS, canonical

    assert "provided" in LATER_FIELDS
    assert canonical(old, old["prev_hash"]) == canonical(dict(old, provided=None), old["prev_hash"])
    assert b'"provided"' not in canonical(old, old["prev_hash"])
    assert entry_hash(old, old["prev_hash"]) != entry_hash(dict(old, provided={"fields": [], "kojin_bango": False}),
                                                           old["prev_hash"])
