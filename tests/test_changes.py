"""The 登録変更 notes of operator changes: made and parsed in one place (bulktool/changes.py), so
that the audit (AUD-12) reads back exactly what the services wrote. Every kind round-trips, and
the wording the ledger already holds keeps parsing."""
from __future__ import annotations

from datetime import date

import pytest

from bulktool import changes
from bulktool.changes import OperatorChange

KINDS = [
    OperatorChange(changes.ADDED, "op-01.x", role="operator", valid_until=date(2028, 3, 31)),
    OperatorChange(changes.RENEWED, "admin01", trained_on=date(2027, 4, 1), valid_until=date(2029, 3, 31)),
    OperatorChange(changes.REVOKED, "op01"),
    OperatorChange(changes.UNLOCKED, "admin02"),
    OperatorChange(changes.PASSPHRASE, "aud01"),
]


@pytest.mark.parametrize("change", KINDS, ids=lambda c: c.kind)
def test_each_kind_round_trips(change):
    assert changes.parse(change.note()) == change


@pytest.mark.parametrize("note, expected", [
    ("操作者追加 op01（operator、有効期限 2028-03-31）", KINDS[0].__class__(changes.ADDED, "op01", role="operator",
                                                                       valid_until=date(2028, 3, 31))),
    ("操作者更新 admin01（研修 2027-04-01、有効期限 2029-03-31）", KINDS[1]),
    ("操作者失効 op01", KINDS[2]),
])
def test_notes_already_in_ledgers_keep_parsing(note, expected):
    assert changes.parse(note) == expected


@pytest.mark.parametrize("note", [None, "", "照会元追加 D01（税務課）", "鍵登録 D01", "操作者"])
def test_other_notes_are_no_operator_change(note):
    assert changes.parse(note) is None
