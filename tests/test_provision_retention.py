"""The provision record's retention (contract §6b): records older than 7 years (configurable) are
deleted by the next command of a logged-in administrator, ledgered as 履歴削除 with the count —
a record is kept the whole period, to the day, and a crash can never delete without the entry."""
from __future__ import annotations

import json
from datetime import date

import pytest
from conftest import exchange_ok, ledger_rows, make_cli, make_world, new_pg_url, new_store, put_zip_request
from test_cli_store import stats_value

LABEL = "提供状況記録の件数"


def provisions(cli) -> int:
    return stats_value(cli.ok("store", "stats", as_="aud01").stdout, LABEL)


def keep_valid(cli, until: str) -> None:
    """The security officer and the auditor stay valid for years (to renew the administrator)."""
    for oid in ("sec01", "aud01"):
        cli.ok("operator", "renew", oid, "--trained-on", cli.clock.today().isoformat(), "--valid-until", until)


def deletions(cli) -> list[dict]:
    return [e for e in ledger_rows(cli) if e["事象"] == "履歴削除"]


def test_records_go_after_seven_years_to_the_day_with_a_ledgered_count(cli, world):
    d1 = world["drives"][0]
    exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    provided = provisions(cli)
    assert provided > 0
    keep_valid(cli, "2035-03-31")
    # seven years later to the day: the records provided on 2026-12-03 are still within the period
    cli.clock.set("2033-12-03T10:00:00+09:00")
    cli.ok("operator", "renew", "admin01", "--trained-on", "2033-04-01", as_="sec01")
    cli.ok("operator", "list")  # an administrator's command
    assert provisions(cli) == provided and deletions(cli) == []
    # the next day they are past it: the security officer's or the auditor's commands do not purge …
    cli.clock.set("2033-12-04T10:00:00+09:00")
    cli.ok("operator", "list", as_="sec01")
    assert provisions(cli) == provided and deletions(cli) == []
    # … the administrator's next command does, whatever it is, and ledgers it once
    cli.ok("department", "list")
    assert provisions(cli) == 0
    (entry,) = deletions(cli)
    assert entry["操作者ID"] == "admin01" and f"removed={provided}" in entry["件数"]
    assert "提供状況記録" in entry["備考"] and "2026-12-04 より前" in entry["備考"]
    cli.ok("operator", "list")
    assert len(deletions(cli)) == 1  # nothing left to delete: nothing written
    cli.ok("ledger", "verify", "--terminal-key", str(world["term_pub"]), as_="aud01")
    report = cli("audit", "reconcile", "--inventory", "-", as_="aud01",
                 input="媒体ID,状態,所在,確認者,確認日\n")
    assert "AUD-12" not in report.output  # the purge counts as the administrator's command


def test_the_period_is_the_workspace_setting(cli, world):
    config_path = cli.home / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    assert config["provision_retention_years"] == 7  # a new workspace writes the default
    config["provision_retention_years"] = 5
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    d1 = world["drives"][0]
    exchange_ok(cli, d1, put_zip_request(cli, world, d1))
    provided = provisions(cli)
    keep_valid(cli, "2033-03-31")
    cli.clock.set("2031-12-04T10:00:00+09:00")
    cli.ok("operator", "renew", "admin01", "--trained-on", "2031-04-01", as_="sec01")
    cli.ok("operator", "list")
    assert provisions(cli) == 0
    (entry,) = deletions(cli)
    assert f"removed={provided}" in entry["件数"] and "保存期間（5年）" in entry["備考"]


def _record(store, day: str, entry: int) -> None:
    store.record_provisions([{"jumin_code": f"{entry:011d}", "provided_on": day, "entry": entry,
                              "department": "D01", "purpose": "P01", "fields": "氏名", "use": "一括提供（媒体）"}])


def test_the_deletion_and_its_entry_stand_or_fall_together(store_backend, request, tmp_path):
    """The entry is written inside the store's transaction: if writing it fails, nothing is deleted;
    records on the cut-off day stay."""
    store = new_store(store_backend, request, tmp_path)
    try:
        _record(store, "2019-12-02", 1)
        _record(store, "2019-12-03", 2)
        _record(store, "2020-01-01", 3)

        def fail(count: int) -> None:
            raise OSError("the ledger's disk is full")
        with pytest.raises(OSError):
            store.purge_provisions(date(2019, 12, 3), fail)
        assert store.stats("2026-12-03")["provisions"] == 3
        seen: list[int] = []
        assert store.purge_provisions(date(2019, 12, 3), seen.append) == 1
        assert seen == [1] and store.stats("2026-12-03")["provisions"] == 2
        assert [r["entry"] for r in store.provisions_for(f"{2:011d}")] == [2]
        assert store.purge_provisions(date(2019, 12, 3), seen.append) == 0 and seen == [1]  # none: no call
    finally:
        store.close()


def test_on_postgresql_the_purge_runs_as_the_owner_role(pg_cluster, tmp_path):
    """The exchange role may only add provision records: with "store" the exchange role and no
    "store_load", the purge is refused (E-STO-013) and nothing is deleted; with the owner's URL as
    "store_load", it runs."""
    import psycopg
    from test_store_postgresql import _schema

    from bulktool.store.postgresql import reader_grants

    owner_url = new_pg_url(pg_cluster)
    cli = make_cli(tmp_path / "ws", tmp_path, store=owner_url)
    world = make_world(cli, tmp_path)
    role = f"reader_{_schema(owner_url)}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"SET search_path = {_schema(owner_url)}")
        for grant in reader_grants(role, "postgres", _schema(owner_url)):
            admin.execute(grant)
    config_path = cli.home / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["store"] = owner_url + f"&user={role}"
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    d1 = world["drives"][0]
    exchange_ok(cli, d1, put_zip_request(cli, world, d1))  # as the exchange role
    provided = provisions(cli)
    keep_valid(cli, "2035-03-31")
    cli.clock.set("2033-12-04T10:00:00+09:00")
    cli.ok("operator", "renew", "admin01", "--trained-on", "2033-04-01", as_="sec01")
    refused = cli("operator", "list")
    assert refused.exit_code == 1 and "E-STO-013" in refused.output
    assert provisions(cli) == provided and deletions(cli) == []
    config["store_load"] = owner_url
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    cli.ok("operator", "list")
    assert provisions(cli) == 0 and f"removed={provided}" in deletions(cli)[0]["件数"]
