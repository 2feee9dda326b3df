"""Shared fixtures: a CLI runner and a ready workspace with one operator of each role, on each
store backend (`store_backend`: SQLite, and PostgreSQL in a throwaway cluster started once per
test session and worker — tests/pgcluster.py; a test that cannot reach it fails, never skips)."""
from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from bulktool.checkdigit import with_check_digit
from bulktool.cli import app
from bulktool.cli.common import using_clock
from bulktool.clock import Clock, FixedClock, SystemClock
from bulktool.registry import fiscal_year_end

import pgcluster

# Hypothesis: one profile for the suite (CI on 2 shared cores): no deadline (a busy machine makes
# timings meaningless), the failing example's blob printed for reproduction. The property tests
# of tests/test_fuzz_*.py size their example counts from the loaded profile's max_examples
# (`fuzz` runs them 20 times longer: HYPOTHESIS_PROFILE=fuzz python -m pytest tests/test_fuzz_parsers.py).
settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("fuzz", deadline=None, print_blob=True, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The suite's clock: fixed, so that no test expires with the calendar; every date a fixture
# writes (training dates above all) is derived from it. A test may pass another clock
# (tests/test_clock.py runs the product in 2031).
NOW = "2026-12-03T10:00:00+09:00"

PASS = {"admin01": "admin-pass-0001", "op01": "op-pass-00001", "sec01": "sec-pass-0001",
        "aud01": "aud-pass-00001"}


@pytest.fixture(autouse=True)
def _suite_kdf(request, monkeypatch):
    """Commands run in this process make key slots and key files with scrypt n=2**15 (the earlier
    default, still accepted) instead of today's 2**17: the suite logs in thousands of times, and
    each 2**17 derivation costs ~0.4 s and 128 MiB. Everything else is the same path. Tests marked
    `production_kdf` (tests/test_kdf.py), and every bulktool started in a subprocess, use 2**17."""
    if request.node.get_closest_marker("production_kdf") is None:
        from bulktool import keys

        monkeypatch.setattr(keys, "SCRYPT_N", 2**15)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    """Runs `bulktool …` in process, as contract §9 writes the commands."""

    def __init__(self, home: Path, tmp: Path, clock: Clock | None = None) -> None:
        self.home = home
        self.tmp = tmp
        self.clock = clock or FixedClock(NOW)
        self.runner = CliRunner()

    @property
    def trained_on(self) -> str:
        """A training date that makes an operator valid today by the clock: the first day of
        the fiscal year (valid until the 31 March of the next one)."""
        fy_end = fiscal_year_end(self.clock.today())
        return fy_end.replace(year=fy_end.year - 1, month=4, day=1).isoformat()

    def passfile(self, operator: str) -> str:
        p = self.tmp / f"{operator}.pass"
        if not p.exists():
            p.write_text(PASS.get(operator, f"{operator}-passphrase") + "\n", encoding="utf-8")
        return str(p)

    def raw(self, *args: str, input: str | bytes | None = None) -> Result:
        with using_clock(self.clock):
            r = self.runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
        return Result(r.exit_code, r.stdout, r.stderr)

    def __call__(self, *args: str, as_: str | None = "admin01", input=None) -> Result:
        extra = ["--home", str(self.home)]
        if as_ is not None:
            extra += ["--operator", as_, "--passphrase-file", self.passfile(as_)]
        return self.raw(*args, *extra, input=input)

    def ok(self, *args: str, as_: str | None = "admin01", input=None) -> Result:
        r = self(*args, as_=as_, input=input)
        assert r.exit_code == 0, r.output
        return r


def make_cli(home: Path, tmp: Path, clock: Clock | None = None, store: str | None = None) -> Cli:
    """A workspace with admin01 (administrator), op01 (operator), sec01 (security), aud01 (auditor),
    all trained this fiscal year by `clock`; its store in PostgreSQL when `store` (a URL) is given."""
    c = Cli(home, tmp, clock)
    r = c.raw("init", "--terminal-id", "T001", "--admin", "admin01", "--home", str(c.home),
              "--passphrase-file", c.passfile("admin01"), "--trained-on", c.trained_on,
              *(["--store", store] if store else []))
    assert r.exit_code == 0, r.output
    for oid, role in (("op01", "operator"), ("sec01", "security"), ("aud01", "auditor")):
        c.ok("operator", "add", oid, "--name", f"職員{oid}", "--role", role, "--trained-on", c.trained_on,
             "--new-passphrase-file", c.passfile(oid))
    return c


# --- the store backends --------------------------------------------------------------------
BACKENDS = ("sqlite", "postgresql")
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    """One PostgreSQL cluster per test session and xdist worker (~1 s), or BULKTOOL_TEST_PG."""
    cluster = pgcluster.start(settings={"fsync": "off", "full_page_writes": "off"})
    yield cluster
    cluster.stop()


def new_pg_url(cluster) -> str:
    """The URL of a new, empty schema of the test cluster (one per store: tests never share one)."""
    import psycopg

    name = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return cluster.url(schema=name)


def new_store(backend: str, request, directory: Path):
    """A new, empty store of `backend` (a store/backend.py StoreBackend)."""
    if backend == "sqlite":
        from bulktool.store.sqlite import SqliteStore

        return SqliteStore.create(directory / "store.sqlite")
    from bulktool.store.postgresql import PostgresStore

    return PostgresStore.create(new_pg_url(request.getfixturevalue("pg_cluster")))


@pytest.fixture(params=BACKENDS)
def store_backend(request) -> str:
    return request.param


@pytest.fixture
def store_url(store_backend, request) -> str | None:
    """None (the workspace's SQLite file) or the URL of a new PostgreSQL schema."""
    return None if store_backend == "sqlite" else new_pg_url(request.getfixturevalue("pg_cluster"))


@pytest.fixture
def cli(request, tmp_path: Path, store_url) -> Cli:
    """On the suite's fixed clock; a test marked `system_clock` (it runs bulktool in subprocesses,
    which read the machine's clock) gets the system clock, its dates still derived from it. Once
    per store backend."""
    clock = SystemClock() if request.node.get_closest_marker("system_clock") else None
    return make_cli(tmp_path / "ws", tmp_path, clock, store=store_url)


# --- an exchange-ready world: store, department with keys, registered drives -------------
FIELDS = "住民票コード,氏名,氏名かな,生年月日,性別,住所,個人番号,異動事由,異動年月日"


def drive_state(drive: Path) -> dict[str, str]:
    return {str(p.relative_to(drive)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(drive.rglob("*")) if p.is_file()}


@pytest.fixture
def world(cli, tmp_path):
    """A workspace with a generated store, department D01 with keys, and two registered drives."""
    return make_world(cli, tmp_path)


def make_world(cli, tmp_path: Path) -> dict:
    outputs: list[str] = []
    keys_dir = tmp_path / "dept_keys"
    (tmp_path / "dept.pass").write_text("dept-key-pass\n")
    r = cli.raw("keys", "generate", "--name", "d01", "--out", str(keys_dir), "--passphrase-file",
                str(tmp_path / "dept.pass"))
    assert r.exit_code == 0, r.output
    outputs.append(r.output)
    outputs.append(cli.ok("department", "add", "D01", "--name", "税務課", "--purpose", "P01=住基法別表第五第一号",
                          "--fields", FIELDS, "--kojin-bango", "--public-key", str(keys_dir / "d01.pub")).output)
    outputs.append(cli.ok("department", "add", "D02", "--name", "福祉課", "--purpose", "P02=条例第3条",
                          "--fields", "住民票コード,氏名,住所").output)
    gen = tmp_path / "gen"
    outputs.append(cli.ok("store", "generate", "--people", "400", "--seed", "7", "--out", str(gen)).output)
    drives = []
    for i in (1, 2, 3):
        d = tmp_path / f"drive{i}"
        d.mkdir()
        dep = "D02" if i == 3 else "D01"
        outputs.append(cli.ok("media", "register", str(d), "--media-id", f"M00{i}", "--department", dep,
                              as_="op01").output)
        drives.append(d)
    term_pub = tmp_path / "terminal.pub"
    outputs.append(cli.ok("keys", "export", "--out", str(term_pub), as_="aud01").output)
    with open(gen / "jumin.csv", encoding="utf-8") as fh:
        jumin = list(csv.DictReader(fh))
    return {"gen": gen, "drives": drives, "keys": keys_dir, "term_pub": term_pub, "jumin": jumin,
            "outputs": outputs, "tmp": tmp_path}


def current_people(jumin):
    """Persons whose latest non-deleted version is not a removal, one row each (latest)."""
    latest: dict[str, dict] = {}
    for row in jumin:
        if row["削除フラグ"] == "1":
            continue
        cur = latest.get(row["住民票コード"])
        if cur is None or int(row["更新順番号"]) > int(cur["更新順番号"]):
            latest[row["住民票コード"]] = row
    return [r for r in latest.values() if r["異動事由"] not in ("死亡", "転出", "職権消除", "国外転出")
            and r["異動年月日"] <= "2026-01-01"]


def unique_four(people):
    seen: dict[tuple, int] = {}
    for p in people:
        k = (p["漢字氏名"].replace("　", ""), p["生年月日"])
        seen[k] = seen.get(k, 0) + 1
    return [p for p in people if seen[(p["漢字氏名"].replace("　", ""), p["生年月日"])] == 1]


def request_table(world) -> tuple[bytes, dict[str, str]]:
    people = unique_four(current_people(world["jumin"]))
    a, b, c, d = people[0], people[1], people[2], people[3]
    missing = with_check_digit("9999999999")
    rows = [
        ("1", "", "", a["住民票コード"], "", "", "", "", ""),
        ("2", "", b["個人番号"], "", "", "", "", "", ""),
        ("3", "", "", "", c["漢字氏名"], "", c["生年月日"], "", c["住所"]),
        ("4", "", "", "", d["漢字氏名"], "", d["生年月日"], "", ""),
        ("5", "", "", missing, "", "", "", "", ""),
        ("6", "", "12345678901", "", "", "", "", "", ""),
    ]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["連番", "対象", "個人番号", "住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所"])
    w.writerows(rows)
    expected = {"1": "00", "2": "00", "3": "00", "4": "90", "5": "20", "6": "90"}
    return out.getvalue().encode("utf-8"), expected


def read_result(csv_path: Path) -> dict[str, dict]:
    text = csv_path.read_bytes().decode("utf-8-sig")
    return {r["連番"]: r for r in csv.DictReader(io.StringIO(text))}




def put_zip_request(cli, world, drive: Path, name: str = "依頼.zip", password: str = "request-password-123") -> Path:
    """The department's request, made with `bulktool request zip`, placed on the drive."""
    table, _ = request_table(world)
    tpath = world["tmp"] / f"table-{drive.name}.csv"
    tpath.write_bytes(table)
    pw = world["tmp"] / f"req-{drive.name}.pw"
    pw.write_text(password + "\n")
    r = cli.raw("request", "zip", str(tpath), "--out", str(drive / name), "--password-file", str(pw))
    assert r.exit_code == 0, r.output
    tpath.unlink()
    return pw


def exchange_ok(cli, drive: Path, pw: Path, *extra: str):
    r = cli.ok("exchange", str(drive), "--department", "D01", "--purpose", "P01", "--approval", "決裁-100",
               "--password-file", str(pw), *extra, as_="op01")
    return r


def ledger_rows(cli) -> list[dict]:
    text = cli.ok("ledger", "export", as_="aud01").stdout
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
