"""The PostgreSQL store's own promises (issue 22): connections only over a unix socket or TLS, a
reader role that can do exactly what the exchange needs, no personal data in the server's log,
`init --store` and `store migrate` (counts and a hash of every row), and the bulk path's
duplicate keys. Shared behaviour is tested on both backends in test_store_backends.py."""
from __future__ import annotations

import json
import re

import psycopg
import pytest

from bulktool.messages import BulkError
from bulktool.model import is_removal
from bulktool.store import migrate as migrate_mod
from bulktool.store.load import load_files
from bulktool.store.postgresql import REMOVAL_PARAMS, PostgresStore, reader_grants, removal_sql
from bulktool.store.schema import KIND_FUHYO, KIND_JUMIN
from conftest import BACKENDS, exchange_ok, make_cli, make_world, new_pg_url, new_store, put_zip_request
from test_cli_store import stats_value
from test_store_load import code, fuhyo_row, jumin_row, kojin, write_csv



def _schema(url: str) -> str:
    return re.search(r"search_path%3D(\w+)", url).group(1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_duplicate_keys_in_one_load_into_an_empty_store_keep_the_first(backend, request, tmp_path):
    first = jumin_row(**{"住民票コード": code(1)})
    later = jumin_row(**{"住民票コード": code(1), "住所": "岐阜県岐阜市別町9-9-9"})  # same key, other content
    rows = [first, jumin_row(**{"住民票コード": code(2)}), later]
    s = new_store(backend, request, tmp_path)
    try:
        path = write_csv(tmp_path / "j.csv", KIND_JUMIN, rows)
        report = load_files(s, KIND_JUMIN, [path, path])
        assert (report.rows, report.inserted, report.skipped) == (6, 2, 4)
        (row,) = s.versions(KIND_JUMIN, [code(1)])[code(1)]
        assert row["address"] == "岐阜県岐阜市本町1丁目2番3号"
        f = write_csv(tmp_path / "f.csv", KIND_FUHYO, [fuhyo_row(), fuhyo_row(**{"住所漢字": "別"})])
        assert load_files(s, KIND_FUHYO, [f]).inserted == 1
        assert load_files(s, KIND_JUMIN, [write_csv(tmp_path / "k.csv", KIND_JUMIN, [
            later, jumin_row(**{"住民票コード": code(3)}), jumin_row(**{"住民票コード": code(3)})])]).inserted == 1
    finally:
        s.close()


def test_the_sql_removal_rule_is_model_is_removal(pg_cluster):
    reasons = ["死亡", "転出", "国外転出", "職権消除", "失踪宣告", "消除", "転居", "転入", "出生", "住民票コード記載",
               "氏の変更", "その他消除", "消除済", "除", "消", "", "死亡届", "Ｘ消除"]
    with psycopg.connect(pg_cluster.url()) as conn:
        got = [v for (v,) in conn.execute(f"SELECT {removal_sql('r')} FROM unnest(%(list)s::text[]) r",
                                          {"list": reasons, **REMOVAL_PARAMS})]
    assert got == [is_removal(r) for r in reasons]


def test_plain_tcp_is_refused_and_an_absent_server_fails_with_exit_4(pg_cluster):
    port = re.search(r"port=(\d+)", pg_cluster.url()).group(1)
    with pytest.raises(BulkError) as err:
        PostgresStore.open(f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable")
    assert err.value.code == "E-STO-009"
    with pytest.raises(BulkError) as err:
        PostgresStore.open(pg_cluster.url().replace(f"port={port}", "port=1"))
    assert (err.value.code, err.value.exit_code) == ("E-STO-008", 4)


def test_a_schema_without_this_layout_is_refused_and_init_wants_an_empty_one(pg_cluster):
    url = new_pg_url(pg_cluster)
    with pytest.raises(BulkError) as err:
        PostgresStore.open(url)
    assert err.value.code == "E-STO-006"
    PostgresStore.create(url).close()
    PostgresStore.open(url).close()
    with pytest.raises(BulkError) as err:
        PostgresStore.create(url)
    assert err.value.code == "E-STO-010"


def test_the_reader_role_reads_and_records_provisions_and_nothing_else(pg_cluster, request, tmp_path):
    """The GRANTs of docs/postgresql.md, applied and tried; and with every statement logged, the
    server log holds no 住民票コード, 個人番号, name or address of the loaded or provided rows."""
    url = new_pg_url(pg_cluster)
    owner = PostgresStore.create(url)
    load_files(owner, KIND_JUMIN, [write_csv(tmp_path / "j.csv", KIND_JUMIN, [
        jumin_row(**{"住民票コード": code(i), "個人番号": kojin(i), "漢字氏名": f"秘密　{i}太郎"}) for i in range(3)])])
    role = f"reader_{_schema(url)}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"ALTER ROLE {role} SET log_statement = 'all'")
        admin.execute(f"ALTER ROLE {role} SET log_min_duration_statement = 0")
        admin.execute(f"SET search_path = {_schema(url)}")
        for grant in reader_grants(role, "postgres", _schema(url)):
            admin.execute(grant)
    owner.close()
    reader = PostgresStore.open(url + f"&user={role}")
    try:
        assert set(reader.lookup_jumin_by_codes([code(1)], "2025-01-01")) == {code(1)}
        assert set(reader.lookup_jumin_by_kojin_bango([kojin(2)], "2025-01-01")) == {code(2)}
        row = reader.versions(KIND_JUMIN, [code(0)])[code(0)][0]
        assert reader.lookup_jumin_by_four([(row["birth_date"], row["k_addr"])], "2025-01-01")
        assert reader.record_provisions([{"jumin_code": code(1), "provided_on": "2025-01-02", "entry": 7,
                                          "department": "D01", "purpose": "P01", "fields": "氏名", "use": "一括"}]) == 1
        assert [r["entry"] for r in reader.provisions_for(code(1))] == [7]
        assert reader.stats("2025-01-01")["provisions"] == 1
        for sql in ("INSERT INTO jumin SELECT * FROM jumin", "UPDATE provisions SET entry = 8",
                    "DELETE FROM provisions", "DROP TABLE jumin", "TRUNCATE fuhyo", "CREATE TABLE x (a int)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.db.execute(sql)
            reader.db.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            load_files(reader, KIND_JUMIN, [tmp_path / "j.csv"])
    finally:
        reader.close()
    if pg_cluster.root is None:
        return  # a server given by BULKTOOL_TEST_PG: its log is not ours to read
    log = (pg_cluster.root / "server.log").read_text(encoding="utf-8", errors="replace")
    assert role in log or "statement:" in log  # statements of this role were logged
    for i in range(3):
        assert code(i) not in log and kojin(i) not in log and f"{i}太郎" not in log
    assert "本町" not in log


def test_init_store_and_migrate_round_trip_with_counts_and_hashes(pg_cluster, tmp_path):
    cli = make_cli(tmp_path / "ws", tmp_path)  # SQLite
    world = make_world(cli, tmp_path)
    pw = put_zip_request(cli, world, world["drives"][0])
    exchange_ok(cli, world["drives"][0], pw)
    before = cli.ok("store", "stats", as_="aud01").stdout
    assert stats_value(before, "提供状況記録の件数") > 0
    url = new_pg_url(pg_cluster)
    refused = cli("store", "migrate", "--to", url, as_="op01")
    assert refused.exit_code == 1 and "E-AUTH-007" in refused.output
    r = cli.ok("store", "migrate", "--to", url)
    assert "一致" in r.stdout and "jumin" in r.stdout
    config = json.loads((cli.home / "config.json").read_text(encoding="utf-8"))
    assert config["store"] == url
    assert cli.ok("store", "stats", as_="aud01").stdout == before  # now read from PostgreSQL
    again = cli("store", "migrate", "--to", new_pg_url(pg_cluster))
    assert again.exit_code == 1 and "E-STO-012" in again.output
    # the migrated store answers the next exchange
    pw = put_zip_request(cli, world, world["drives"][1], name="依頼2.zip")
    exchange_ok(cli, world["drives"][1], pw)


def test_a_migration_that_differs_is_refused_and_the_config_stays(pg_cluster, tmp_path, monkeypatch):
    cli = make_cli(tmp_path / "ws", tmp_path)
    cli.ok("store", "generate", "--people", "30", "--seed", "2")
    real = migrate_mod._copy

    def lossy(source, target, table, progress):
        n = real(source, target, table, progress)
        if table == KIND_JUMIN:
            target.db.execute("DELETE FROM jumin WHERE ctid = (SELECT min(ctid) FROM jumin)")
        return n

    monkeypatch.setattr(migrate_mod, "_copy", lossy)
    url = new_pg_url(pg_cluster)
    r = cli("store", "migrate", "--to", url)
    assert r.exit_code == 3 and "E-STO-011" in r.output
    assert "store" not in json.loads((cli.home / "config.json").read_text(encoding="utf-8"))
    with pytest.raises(BulkError):
        PostgresStore.create(url)  # its tables were made; the operator drops them before a retry

