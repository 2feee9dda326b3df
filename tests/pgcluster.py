"""A throwaway PostgreSQL cluster for the tests and benchmarks: initdb + pg_ctl in a temporary
directory, listening on a unix socket in that directory (and on loopback, for psql by hand).

    cluster = start()             # ~1 s; as root, initdb and pg_ctl run as the `postgres` user
    url = cluster.url(schema="t1")  # postgresql://…?host=SOCKDIR… with search_path=t1
    cluster.stop()

BULKTOOL_TEST_PG is an alternative: the URL of a server someone else runs (a superuser or a role
that may CREATE SCHEMA / ROLE); nothing is started then. The cluster trusts local connections:
it lives for one test session or benchmark, under a 0700 directory, holding synthetic data only.
A watchdog process stops and removes it when the process that started it ends in any way (a
pytest killed by a timeout runs no fixture teardown: without it, its server would run on).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL is not installed (initdb not found): apt-get install postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    root: Path | None  # None: a server given by BULKTOOL_TEST_PG, not ours to stop
    base_url: str  # connects as the superuser to the database `postgres`
    _as: list[str]

    def url(self, schema: str | None = None, user: str | None = None, database: str = "postgres") -> str:
        url = self.base_url.replace("/postgres?", f"/{database}?", 1)
        if user:
            url += f"&user={quote(user)}"
        if schema:
            url += "&options=" + quote(f"-c search_path={schema}")
        return url

    def stop(self) -> None:
        if self.root is None:
            return
        subprocess.run([*self._as, str(_bindir() / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def start(*, settings: dict[str, str] | None = None) -> Cluster:
    """Start a new cluster (or use BULKTOOL_TEST_PG). `settings`: extra server settings (-c)."""
    given = os.environ.get("BULKTOOL_TEST_PG")
    if given:
        return Cluster(None, given if "?" in given else given + "?", [])
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="bulktool-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    os.chmod(root, 0o700)
    data, sock = root / "data", root / "sock"
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C", "--no-sync"], check=True, capture_output=True)
    subprocess.run([*run_as, "mkdir", "-m", "0700", str(sock)], check=True)
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sock}"
    for key, value in {"log_min_messages": "warning", **(settings or {})}.items():
        options += f" -c {key}={value}"
    for attempt in range(3):
        r = subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                            str(root / "server.log"), "-w", "-t", "60", "start"], capture_output=True, text=True)
        if r.returncode == 0:
            break
        port = _free_port()  # another process took the port in between: try another
        options = options.replace(options.split(" -p ")[1].split()[0], str(port), 1)
        time.sleep(0.2)
    else:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {r.stderr[-500:]}")
    _watchdog(root, run_as)
    return Cluster(root, f"postgresql:///postgres?host={quote(str(sock))}&port={port}&user=postgres", run_as)


_WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, pg_ctl, data, root, run_as = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
while True:
    time.sleep(1)
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    if not os.path.isdir(data):
        sys.exit(0)  # stopped by Cluster.stop
subprocess.run([*run_as, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
shutil.rmtree(root, ignore_errors=True)
"""


def _watchdog(root: Path, run_as: list[str]) -> None:
    """Stop the cluster once this process is gone, however it ends."""
    subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(_bindir() / "pg_ctl"),
                      str(root / "data"), str(root), *run_as], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
