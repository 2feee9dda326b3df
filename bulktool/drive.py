"""The drive (媒体) as the file system shows it: the media ID file, what lies on the drive, safe
writes and erasure. An edge module: no ledger, no registry, no rule about who may do what — the
media services decide, this module reads and writes.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import secrets
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cryptography.exceptions import InvalidSignature

from bulktool.messages import BulkError

MEDIA_FILE = ".bulktool-media.json"
MEDIA_FORMAT = "bulktool-media/1"
RESULT_PREFIX = "照会結果_"
REQUEST_SUFFIXES = (".zip", ".bte")
PLAINTEXT_SUFFIXES = (".csv", ".xlsx", ".xls", ".tsv", ".txt")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (a dump or a drive's file may be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def canonical(doc: dict) -> bytes:
    """The signed form of a media ID document: without its signature, sorted keys, no spaces."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def device_info(path: Path) -> tuple[str, str]:
    """(product, serial) of the block device holding `path`, where the system reports one."""
    try:
        best = ("", "")
        for line in Path("/proc/mounts").read_text(encoding="utf-8", errors="replace").splitlines():
            source, mnt = line.split()[:2]
            if source.startswith("/dev/") and str(path.resolve()).startswith(mnt) and len(mnt) > len(best[1]):
                best = (source, mnt)
        if not best[0] or best[1] == "/":
            return "", ""
        out = subprocess.run(["lsblk", "-ndso", "MODEL,SERIAL", best[0]], capture_output=True, text=True,
                             timeout=5).stdout.split("\n")
        parts = [p.strip() for p in out if p.strip()]
        if not parts:
            return "", ""
        fields = parts[-1].rsplit(None, 1)
        return (fields[0], fields[1]) if len(fields) == 2 else (fields[0], "")
    except (OSError, subprocess.SubprocessError, ValueError):
        return "", ""


# errno values that say the drive itself is gone (pulled out, unmounted), not one file on it
_GONE = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ESTALE, errno.ENOTCONN}


def check_drive(path: Path) -> Path:
    """`path` when it is a folder; a path that is not there at all (a drive pulled out or not
    mounted) is E-MED-029, anything else that is not a folder E-MED-009 (both exit 4)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise media_error(path, exc) from None
    if not stat.S_ISDIR(st.st_mode):
        raise BulkError("E-MED-009", path=str(path), detail="フォルダではありません")
    return path


def media_error(path: Path, exc: OSError) -> BulkError:
    """The media code for an OSError met on the drive: read-only E-MED-030, gone E-MED-029,
    anything else E-MED-009 naming the error's kind (all exit 4: a retry may cure them)."""
    if exc.errno == errno.EROFS:
        return BulkError("E-MED-030", path=str(path))
    if exc.errno in _GONE:
        return BulkError("E-MED-029", path=str(path))
    return BulkError("E-MED-009", path=str(path), detail=type(exc).__name__)


def check_writable(path: Path) -> None:
    """Refuse, before anything is decrypted or written, a drive mounted read-only (E-MED-030).
    A write-protected drive that does not say so is caught at the write (write_atomic)."""
    try:
        flags = os.statvfs(path).f_flag if hasattr(os, "statvfs") else 0
    except OSError as exc:
        raise media_error(path, exc) from None
    if flags & getattr(os, "ST_RDONLY", 0):
        raise BulkError("E-MED-030", path=str(path))


def read_request(path: Path, limit: int) -> bytes:
    """The request container's bytes: its size by stat before it is opened, refused over `limit`
    (E-CON-021) without reading a byte; read back never more than `limit` bytes (a file that grows
    meanwhile is refused the same way). OSError is left to the caller."""
    if path.stat().st_size > limit:
        raise BulkError("E-CON-021", name=path.name, limit=limit)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BulkError("E-CON-021", name=path.name, limit=limit)
    return data


# --- the media ID file ----------------------------------------------------------------------
def read_media_file(path: Path, terminal_ed25519_pub) -> dict:
    """The drive's media ID document, its signature checked with the terminal key. No file (or a
    link in its place, which could point at another drive's file) is an unregistered drive,
    E-MED-001; a file whose signature or form fails is reported as tampered, E-MED-022."""
    f = check_drive(path) / MEDIA_FILE
    if f.is_symlink() or not f.is_file():
        raise BulkError("E-MED-001", path=str(path))
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
        terminal_ed25519_pub.verify(base64.b64decode(doc["signature"]), canonical(doc))
        if doc.get("format") != MEDIA_FORMAT or not isinstance(doc.get("media_id"), str):
            raise ValueError
        return doc
    except OSError:
        raise BulkError("E-MED-001", path=str(path)) from None
    except (ValueError, KeyError, TypeError, InvalidSignature):
        raise BulkError("E-MED-022", path=str(path)) from None


def check_device(doc: dict, found: tuple[str, str]) -> None:
    """The media ID file is bound to the device it was written on: the serial number the system
    reports now must be the one it recorded (both empty where the system reports none, as for a
    folder). Another serial means the file was copied to another device."""
    recorded, now = str(doc.get("serial") or ""), found[1] or ""
    if recorded != now:
        raise BulkError("E-MED-023", media_id=doc.get("media_id", "?"), registered=recorded or "なし",
                        found=now or "なし")


def media_document(doc: dict, sign: Callable[[bytes], bytes]) -> bytes:
    """The media ID file's bytes: `doc` with its signature (`sign` over the canonical form)."""
    doc = dict(doc, format=MEDIA_FORMAT)
    doc["signature"] = base64.b64encode(sign(canonical(doc))).decode("ascii")
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


# --- files on the drive -----------------------------------------------------------------
@dataclass
class DriveScan:
    requests: list[Path]   # request containers at the root
    plaintext: list[Path]  # plaintext tables anywhere on the drive, in any folder
    results: list[Path]    # results at the root


def scan(path: Path) -> DriveScan:
    """What lies on the drive: request containers and results at its root, plaintext tables in
    any folder. Links are not followed (a link's target may lie off the drive)."""
    requests, plaintext, results = [], [], []
    root = check_drive(path)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames.sort()
        for name in sorted(filenames):
            p, low = here / name, name.lower()
            if low.endswith(PLAINTEXT_SUFFIXES):
                plaintext.append(p)
            elif here != root or p.is_symlink() or name.startswith("."):
                continue
            elif name.startswith(RESULT_PREFIX):
                results.append(p)
            elif low.endswith(REQUEST_SUFFIXES):
                requests.append(p)
    return DriveScan(requests, plaintext, results)


def on_drive(drive: Path, file: Path) -> Path | None:
    """`file` (absolute, or relative to the drive) when it is a regular file that really lies on
    the drive — its real path inside the drive's real path, no link leading off it — else None."""
    p = file if file.is_absolute() else drive / file
    try:
        real, root = p.resolve(strict=True), drive.resolve(strict=True)
    except OSError:
        return None
    if p.is_symlink() or not real.is_file() or root not in real.parents:
        return None
    return real


def _fsync_dir(directory: Path) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass  # not every system can fsync a directory (Windows)


def _read_back(path: Path) -> bytes:
    """The file as the drive holds it, not as the page cache remembers it, where the OS allows."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def write_atomic(directory: Path, name: str, data: bytes) -> Path:
    """Write `data` as directory/name: free space checked, temp name, fsync, read back from the
    drive and compared by hash, then renamed. Nothing is left behind on failure."""
    try:
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        raise media_error(directory, exc) from None
    needed = len(data) + 64 * 1024
    if free < needed:
        raise BulkError("E-MED-007", needed=needed, free=free)
    final = directory / name
    tmp = directory / f".{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if sha256(_read_back(tmp)) != sha256(data):
            raise BulkError("E-MED-008")
        os.replace(tmp, final)
        _fsync_dir(directory)
        return final
    except BulkError:
        _discard(tmp)
        raise
    except OSError as exc:
        _discard(tmp)
        raise media_error(directory, exc) from None


def _discard(tmp: Path) -> None:
    """Remove a temp file after a failed write, best effort: on a read-only or vanished drive
    the removal fails too, and the write's own error is the one to report."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def remaining(path: Path) -> list[str]:
    """Everything on the drive but its media ID file, as read back from it (files, folders, links)."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.name != MEDIA_FILE or p.parent != path)


def erase_files(path: Path) -> list[dict]:
    """Overwrite and remove every file on the drive but its media ID file, then the empty
    folders, then read the drive back: anything left refuses the erasure (E-MED-028). Returns
    each erased file's name and SHA-256 (for the 消去 entry)."""
    files = []
    for p in sorted(path.rglob("*")):
        if p == path / MEDIA_FILE:
            continue
        if p.is_symlink():  # a link is removed, never followed: its target may lie off the drive
            files.append({"name": str(p.relative_to(path)), "sha256": ""})
            p.unlink()
        elif p.is_file():
            data = p.read_bytes()
            files.append({"name": str(p.relative_to(path)), "sha256": sha256(data)})
            with open(p, "r+b") as fh:
                fh.write(b"\0" * len(data))
                fh.flush()
                os.fsync(fh.fileno())
            p.unlink()
    for d in sorted((p for p in path.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
        try:
            d.rmdir()
        except OSError:
            pass
    left = remaining(path)
    if left:
        raise BulkError("E-MED-028", name=left[0])
    return files


# --- the request on the drive -------------------------------------------------------------
def find_request(root: Path, request_file: Path | None) -> Path:
    """The request container: the one at the drive's root, or `request_file` (--request), which
    must lie on the drive (a link leading off it does not). A plaintext table anywhere on the
    drive refuses."""
    found = scan(root)
    if found.plaintext:
        raise BulkError("E-MED-003", name=str(found.plaintext[0].relative_to(root)), count=len(found.plaintext))
    if request_file is not None:
        p = on_drive(root, request_file)
        if p is None:
            given = request_file if request_file.is_absolute() else root / request_file
            if not given.exists():
                raise BulkError("E-MED-017", name=request_file.name)
            raise BulkError("E-MED-027", name=request_file.name, path=str(root))
        if p.name.startswith(RESULT_PREFIX):
            raise BulkError("E-MED-004")
        return p
    if not found.requests:
        raise BulkError("E-MED-004")
    if len(found.requests) > 1:
        raise BulkError("E-MED-005", count=len(found.requests))
    return found.requests[0]


@dataclass
class Peeked:
    """What an exchange's 受付 can record before any check: the media ID and the request
    container, if readable. `problem` is why the container was not read (too large, the drive
    failing): the exchange raises it at its own step of contract §9's order."""
    media_id: str | None = None
    path: Path | None = None
    data: bytes | None = None
    problem: BulkError | None = None

    @property
    def sha256(self) -> str | None:
        return sha256(self.data) if self.data is not None else None


def peek(root: Path, request_file: Path | None, terminal_ed25519_pub, limit: int) -> Peeked:
    """The media ID and the request container, as far as they can be read. The container's size
    is checked by stat before it is opened: a file over `limit` bytes is never read."""
    peeked = Peeked()
    try:
        peeked.media_id = read_media_file(root, terminal_ed25519_pub)["media_id"]
    except BulkError:
        pass
    try:
        peeked.path = find_request(root, request_file)
    except (BulkError, OSError):
        return peeked
    try:
        peeked.data = read_request(peeked.path, limit)
    except BulkError as err:  # too large: refused at the container step
        peeked.problem = err
    except OSError as exc:  # the drive failing under the read: a media error at the drive step
        peeked.problem = media_error(root, exc)
    return peeked
