"""Retention: one table (bulktool.retention), its defaults, and the workspace settings that
override each row — the periods every purge and expiry reads."""
from __future__ import annotations

import pytest

from bulktool.retention import SETTINGS, Retention
from bulktool.workspace import DEFAULT_CONFIG


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_each_setting_defaults_and_is_overridden_alone(key):
    attr, default, _ = SETTINGS[key]
    assert getattr(Retention(), attr) == default
    assert DEFAULT_CONFIG[key] == default  # a new workspace writes the default
    changed = Retention.from_config({key: default + 3})
    assert getattr(changed, attr) == default + 3
    others = {a for a, _, _ in SETTINGS.values()} - {attr}
    assert all(getattr(changed, a) == getattr(Retention(), a) for a in others)


def test_the_config_round_trips():
    r = Retention(oplog_years=5, provision_years=5, reissue_days=14)
    assert Retention.from_config(r.config()) == r


def test_the_defaults_are_the_law_s_periods():
    # prefectures keep provision records and the operation log 7 years; kept copies 30 days
    assert Retention() == Retention(oplog_years=7, provision_years=7, reissue_days=30)
