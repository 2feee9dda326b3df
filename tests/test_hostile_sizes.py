"""Hostile sizes (issue 21, "every size checked before reading"): inputs far larger than what they
cost to make, each built here at test time (nothing big is checked in; the 3 GiB file is sparse)
and run through the real `bulktool exchange` (or `request check`) in a child process whose peak
memory is measured by wait4. Each must be refused with its code (exit 1, 拒否 ledgered), with no
traceback, the drive unchanged, and the child's peak RSS under 512 MiB (before the limits: 3.1 GiB
for the sparse zip, 3.4 GiB for the one-line CSV and the xlsx).

Then the drive that cannot be written or is not there: a read-only drive (a read-only bind mount
in a mount namespace of its own, and EROFS at the write point) and a drive path that is gone
(unplugged, unmounted, or pulled out during the exchange) get their media codes, exit 4, ledgered
as 失敗 — never E-EXC-001.
"""
from __future__ import annotations

import base64
import errno
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import pyzipper
import pytest
from conftest import ledger_rows, make_cli, make_world, request_table

from bulktool import drive as drive_mod
from bulktool.clock import SystemClock
from bulktool.containers.limits import DEFAULT_LIMITS

PEAK_RSS_LIMIT_KIB = 512 * 1024
PASSWORD = "hostile-password-1234"
HEADER = "連番,対象,個人番号,住民票コード,氏名,氏名かな,生年月日,性別,住所"

pytestmark = pytest.mark.system_clock


# --- the world: one workspace (SQLite) per module and worker, its drive 1 reused ---------------
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    cli = make_cli(tmp / "ws", tmp, SystemClock())
    world = make_world(cli, tmp)
    pw = tmp / "request.pw"
    pw.write_text(PASSWORD + "\n")
    return {"cli": cli, "world": world, "pw": pw, "tmp": tmp}


@pytest.fixture
def drive(hostile):
    """Drive 1 holding only its media ID file before and after the test."""
    d = hostile["world"]["drives"][0]
    _clear(d)
    yield d
    _clear(d)


def _clear(d: Path) -> None:
    for p in d.iterdir():
        if p.name != drive_mod.MEDIA_FILE:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


def snapshot(d: Path) -> dict[str, tuple]:
    """The drive as it lies: each file's size and hash (size and mtime for the huge sparse one)."""
    out = {}
    for p in sorted(d.rglob("*")):
        st = p.lstat()
        if p.is_file():
            digest = drive_mod.file_sha256(p) if st.st_size < 64 << 20 else st.st_mtime_ns
            out[str(p.relative_to(d))] = (st.st_size, digest)
    return out


# --- building hostile inputs --------------------------------------------------------------
def aes_zip(entries: list[tuple[str, bytes]], *, stored: bool = False) -> bytes:
    buf = io.BytesIO()
    method = pyzipper.ZIP_STORED if stored else pyzipper.ZIP_DEFLATED
    with pyzipper.AESZipFile(buf, "w", compression=method, compresslevel=1, encryption=pyzipper.WZ_AES,
                             encryption_kwargs={"nbits": 256, "force_wz_aes_version": 2}) as zf:
        zf.setpassword(PASSWORD.encode())
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def set_declared_size(data: bytes, size: int) -> bytes:
    """The first entry's uncompressed size, as the local and central headers declare it."""
    out = bytearray(data)
    local, central = out.find(b"PK\x03\x04") + 22, out.find(b"PK\x01\x02") + 24
    out[local:local + 4] = out[central:central + 4] = size.to_bytes(4, "little")
    return bytes(out)


def deflate_bomb(expanded: int) -> bytes:
    """A raw deflate stream of `expanded` bytes of "0\\n", made without compressing them: one
    1 MiB block, full-flushed, repeats byte for byte (about 1 KiB per MiB)."""
    block = b"0\n" * (1 << 19)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    return first + again * (expanded // len(block) - 1) + c.flush()


def aes_bomb(expanded: int, declared: int | None) -> bytes:
    """An AES-256 request ZIP whose table is a deflate bomb: written as a stored entry holding the
    raw deflate stream, then marked deflated in the AES extra field (the HMAC covers only the
    encrypted bytes, AE-2 has no CRC), so it really expands to `expanded` bytes when read.
    `declared`: the size its headers declare (None: the stream's own length, a header that lies)."""
    raw = deflate_bomb(expanded)
    data = aes_zip([("検索条件.csv", raw)], stored=True)
    stored = b"\x01\x99\x07\x00\x02\x00AE\x03\x00\x00"  # AES extra: AE-2, AES-256, method 0 (stored)
    assert data.count(stored) == 2  # the local and the central header
    data = data.replace(stored, stored[:-2] + b"\x08\x00")  # method 8 (deflated)
    return set_declared_size(data, declared) if declared is not None else data


def one_line_csv(size: int, *, compressible: bool = True) -> bytes:
    """A CSV of one line, `size` bytes, never a line end: cells of digits, or (not compressible)
    random base64 pieces, each repeated 8 times, so that it deflates ~10×, below the bomb ratio
    (the digits deflate ~1000×: a bomb, refused as one before its line is read)."""
    if compressible:
        block = b"1234567890," * 95325
    else:
        block = b"".join(base64.b64encode(os.urandom(1536)).replace(b"+", b",") * 8 for _ in range(64))
    return HEADER.encode() + b"," + block * ((size - len(HEADER)) // len(block))


SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def shared_strings_xlsx(count: int) -> bytes:
    """A valid one-row workbook (openpyxl's, its cells inline) given a shared strings table of
    `count` distinct strings, registered as Excel registers it (content type, workbook
    relationship), written streaming: the XML is never held whole. Distinct strings deflate ~9×,
    below the bomb ratio, so the zip guard lets it through to the XML limits."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["連番", "住民票コード"])
    wb.active.append(["1", "x"])
    small = io.BytesIO()
    wb.save(small)
    src = zipfile.ZipFile(small)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            part = src.read(info)
            if info.filename == "[Content_Types].xml":
                part = part.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/>'
                                    b"</Types>" % SST_TYPE.encode())
            elif info.filename == "xl/_rels/workbook.xml.rels":
                part = part.replace(b"</Relationships>", b'<Relationship Id="rIdSst" Type="%s" '
                                    b'Target="sharedStrings.xml"/></Relationships>' % SST_REL.encode())
            dst.writestr(info.filename, part)
        with dst.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                     b'spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (count, count))
            step = 500_000
            for start in range(0, count, step):
                fh.write("".join([f"<si><t>{i}</t></si>" for i in range(start, min(count, start + step))]).encode())
            fh.write(b"</sst>")
    return out.getvalue()


# --- running a child and measuring it -----------------------------------------------------
class Child:
    def __init__(self, returncode: int, stdout: str, stderr: str, peak_kib: int, seconds: float) -> None:
        self.returncode, self.stdout, self.stderr, self.peak_kib, self.seconds = (
            returncode, stdout, stderr, peak_kib, seconds)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


# The child is started by a small launcher that waits for it with wait4 and writes down its peak
# RSS: on Linux a child's ru_maxrss starts from the RSS of the process it was forked from (the
# kernel keeps the old memory's high-water mark at exec), and this test process is large.
_LAUNCHER = ("import os, subprocess, sys\n"
             "p = subprocess.Popen(sys.argv[2:])\n"
             "_, status, usage = os.wait4(p.pid, 0)\n"
             "open(sys.argv[1], 'w').write(f'{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}')\n")


def run_child(args: list[str], env: dict | None = None) -> Child:
    """One child, waited for with wait4 by a small launcher: its own peak RSS (ru_maxrss, KiB)."""
    env = dict(env or os.environ)
    env.pop("BULKTOOL_FAULT", None)
    with tempfile.TemporaryDirectory() as td:
        measured = Path(td) / "rusage"
        with open(Path(td) / "out", "w+b") as out, open(Path(td) / "err", "w+b") as err:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", _LAUNCHER, str(measured), *args], stdout=out, stderr=err,
                           env=env, check=True)
            seconds = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
        peak_kib, returncode = map(int, measured.read_text().split())
    return Child(returncode, stdout, stderr, peak_kib, seconds)


def exchange_args(hostile, d: Path) -> list[str]:
    cli = hostile["cli"]
    return [sys.executable, "-m", "bulktool", "exchange", str(d), "--department", "D01", "--purpose", "P01",
            "--approval", "決裁-H", "--password-file", str(hostile["pw"]), "--operator", "op01",
            "--passphrase-file", cli.passfile("op01"), "--home", str(cli.home)]


def report(record_property, name: str, child: Child) -> None:
    record_property("peak_rss_mib", round(child.peak_kib / 1024, 1))
    record_property("seconds", round(child.seconds, 2))
    print(f"\n{name}: peak RSS {child.peak_kib / 1024:.1f} MiB, {child.seconds:.2f} s", file=sys.stderr)


def assert_ledgered(hostile, event: str, code: str) -> None:
    rows = ledger_rows(hostile["cli"])
    end, acceptance = rows[-1], rows[-2]
    assert acceptance["事象"] == "受付"
    assert (end["事象"], end["参照番号"], end["エラーコード"]) == (event, acceptance["番号"], code)
    assert not any(r["エラーコード"] == "E-EXC-001" for r in rows)


# --- the hostile inputs, through the real exchange ------------------------------------------
def _sparse_zip(d: Path, world: dict) -> None:
    """A 3 GiB file, sparse: a hole, then a valid request ZIP at its end (a zip may begin anywhere:
    read whole, it would open)."""
    table, _ = request_table(world)
    valid = aes_zip([("検索条件.csv", table)])
    with open(d / "依頼.zip", "wb") as fh:
        fh.seek(3 * 1024**3 - len(valid))
        fh.write(valid)


CASES = {
    # name: (builder writing the request onto the drive, expected code)
    "fail_sparse_3gib_zip": (_sparse_zip, "E-CON-021"),
    "fail_one_line_csv_200mb_stored": (
        lambda d, w: (d / "依頼.zip").write_bytes(aes_zip([("検索条件.csv", one_line_csv(200 << 20))], stored=True)),
        "E-REQ-011"),
    "fail_one_line_csv_200mb_deflated": (
        lambda d, w: (d / "依頼.zip").write_bytes(aes_zip([("検索条件.csv", one_line_csv(200 << 20, compressible=False))])),
        "E-REQ-011"),
    "fail_xlsx_8m_shared_strings": (
        lambda d, w: (d / "依頼.zip").write_bytes(aes_zip([("検索条件.xlsx", shared_strings_xlsx(8_000_000))])),
        "E-REQ-008"),
    # headers declare 3 GiB: refused before a byte is decrypted
    "fail_zip_bomb_declared_3gib": (lambda d, w: (d / "依頼.zip").write_bytes(aes_bomb(64 << 20, 3 * 1024**3)),
                                    "E-CON-009"),
    # 1 GiB really expanded from ~1 MiB, headers that lie (declare the compressed size)
    "fail_zip_bomb_actual_1gib": (lambda d, w: (d / "依頼.zip").write_bytes(aes_bomb(1 << 30, None)), "E-CON-010"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_request_is_refused_in_bounded_memory(hostile, drive, name, record_property):
    build, code = CASES[name]
    build(drive, hostile["world"])
    before = snapshot(drive)
    child = run_child(exchange_args(hostile, drive))
    report(record_property, name, child)
    assert child.returncode == 1, child.output[-2000:]
    assert code in child.stderr, child.output[-2000:]
    assert "Traceback" not in child.output
    assert snapshot(drive) == before  # nothing written, nothing removed
    assert_ledgered(hostile, "拒否", code)
    assert child.peak_kib < PEAK_RSS_LIMIT_KIB, f"{name}: peak RSS {child.peak_kib // 1024} MiB"


@pytest.mark.slow
def test_fail_one_line_csv_200mb_given_to_request_check(tmp_path, record_property):
    table = tmp_path / "検索条件.csv"
    table.write_bytes(one_line_csv(200 << 20))
    child = run_child([sys.executable, "-m", "bulktool", "request", "check", str(table)])
    report(record_property, "fail_one_line_csv_200mb (request check)", child)
    assert child.returncode == 1, child.output[-2000:]
    assert "E-REQ-011" in child.stderr and "Traceback" not in child.output
    assert child.peak_kib < PEAK_RSS_LIMIT_KIB, f"peak RSS {child.peak_kib // 1024} MiB"


def test_the_shared_strings_fixture_is_read_by_openpyxl():
    """The xlsx case is what it claims: openpyxl loads every string of its table (a small one here)."""
    from openpyxl.reader.excel import ExcelReader

    reader = ExcelReader(io.BytesIO(shared_strings_xlsx(1000)), read_only=True)
    reader.read_manifest()
    reader.read_strings()
    assert len(reader.shared_strings) == 1000 and reader.shared_strings[999] == "999"


def test_the_hostile_inputs_exceed_the_limits_by_far():
    """What the cases above stand for: each is far over the limit that refuses it."""
    assert 3 * 1024**3 > 10 * DEFAULT_LIMITS.max_request_bytes
    assert 200 << 20 > 3000 * DEFAULT_LIMITS.max_line_bytes
    assert 8_000_000 > 3 * DEFAULT_LIMITS.max_shared_strings
    assert 3 * 1024**3 > DEFAULT_LIMITS.max_expanded_bytes
    bomb = aes_bomb(1 << 30, None)
    assert len(bomb) < 2 << 20  # about 1 MiB that expands to 1 GiB
    assert zlib.decompressobj(-15).decompress(deflate_bomb(4 << 20)) == b"0\n" * (2 << 20)


# --- the drive: read-only, gone --------------------------------------------------------------
def _put_request(hostile, d: Path) -> None:
    table, _ = request_table(hostile["world"])
    (d / "依頼.zip").write_bytes(aes_zip([("検索条件.csv", table)]))


def test_read_only_drive_is_a_media_failure(hostile, drive):
    """The drive mounted read-only (a read-only bind mount, in a mount namespace of the child's
    own: nothing to undo): E-MED-030, exit 4, 失敗, before anything is decrypted."""
    _put_request(hostile, drive)
    before = snapshot(drive)
    unshare = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    child = run_child([*unshare, "sh", "-c", script, "sh", str(drive), *exchange_args(hostile, drive)])
    assert child.returncode == 4, child.output[-2000:]
    assert "E-MED-030" in child.stderr and "読み取り専用" in child.stderr
    assert "Traceback" not in child.output and "E-EXC-001" not in child.output
    assert snapshot(drive) == before
    assert_ledgered(hostile, "失敗", "E-MED-030")


def _in_process(hostile, d: Path):
    cli = hostile["cli"]
    return cli("exchange", str(d), "--department", "D01", "--purpose", "P01", "--approval", "決裁-H",
               "--password-file", str(hostile["pw"]), as_="op01")


def test_write_protected_drive_at_the_write_is_a_media_failure(hostile, drive, monkeypatch):
    """A drive that says it is writable and refuses the write (EROFS, as a write-protect switch
    does): E-MED-030, exit 4, 失敗; no temp file left (its removal fails too, and is not the
    error reported)."""
    _put_request(hostile, drive)
    before = snapshot(drive)
    real_open, real_unlink = os.open, Path.unlink

    def read_only_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and Path(path).parent == drive:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    def read_only_unlink(self, missing_ok=False):
        if self.parent == drive:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(drive_mod.os, "open", read_only_open)
    monkeypatch.setattr(Path, "unlink", read_only_unlink)
    r = _in_process(hostile, drive)
    monkeypatch.undo()
    assert r.exit_code == 4, r.output
    assert "E-MED-030" in r.output and "E-EXC-001" not in r.output
    assert snapshot(drive) == before
    assert_ledgered(hostile, "失敗", "E-MED-030")


def test_unmounted_drive_is_a_media_failure_of_its_own(hostile, drive):
    """The registered drive's path is not there (unplugged, not mounted): E-MED-029, exit 4, 失敗."""
    _put_request(hostile, drive)
    away = drive.with_name(drive.name + "-unplugged")
    drive.rename(away)
    try:
        child = run_child(exchange_args(hostile, drive))
    finally:
        away.rename(drive)
    assert child.returncode == 4, child.output[-2000:]
    assert "E-MED-029" in child.stderr and "見つかりません" in child.stderr
    assert "Traceback" not in child.output
    assert_ledgered(hostile, "失敗", "E-MED-029")


def test_drive_pulled_out_during_the_exchange_is_a_media_failure(hostile, drive, monkeypatch):
    """The drive disappears between matching and the write: E-MED-029, exit 4, 失敗; nothing of
    the exchange on the drive once it is back."""
    _put_request(hostile, drive)
    before = snapshot(drive)
    away = drive.with_name(drive.name + "-pulled")
    real_write = drive_mod.write_atomic

    def pulled_out(directory, name, data):
        directory.rename(away)
        return real_write(directory, name, data)

    monkeypatch.setattr(drive_mod, "write_atomic", pulled_out)
    try:
        r = _in_process(hostile, drive)
    finally:
        monkeypatch.undo()
        if away.exists():
            away.rename(drive)
    assert r.exit_code == 4, r.output
    assert "E-MED-029" in r.output and "E-EXC-001" not in r.output
    assert snapshot(drive) == before
    assert_ledgered(hostile, "失敗", "E-MED-029")
