"""Registered flash drives (媒体): the media ID file, safe writes, and the media lifecycle."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from bulktool import workspace as wsmod
from bulktool.messages import BulkError
from bulktool.registry import Media, fiscal_year_end
from bulktool.session import Session

MEDIA_FILE = ".bulktool-media.json"
MEDIA_FORMAT = "bulktool-media/1"
RESULT_PREFIX = "照会結果_"
REQUEST_SUFFIXES = (".zip", ".bte")
PLAINTEXT_SUFFIXES = (".csv", ".xlsx", ".xls", ".tsv", ".txt")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(doc: dict) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _device_info(path: Path) -> tuple[str, str]:
    """(product, serial) of the block device holding `path`, where the system reports one."""
    try:
        best = ("", "")
        for line in Path("/proc/mounts").read_text().splitlines():
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


def _check_drive(path: Path) -> Path:
    if not path.is_dir():
        raise BulkError("E-MED-009", path=str(path), detail="フォルダではありません")
    return path


# --- identification -----------------------------------------------------------------------
def read_media_file(path: Path, terminal_ed25519_pub) -> dict:
    """The drive's media ID document, its signature checked with the terminal key."""
    f = _check_drive(path) / MEDIA_FILE
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
        terminal_ed25519_pub.verify(base64.b64decode(doc["signature"]), _canonical(doc))
        if doc.get("format") != MEDIA_FORMAT:
            raise ValueError
        return doc
    except (OSError, ValueError, KeyError, TypeError, InvalidSignature):
        raise BulkError("E-MED-001", path=str(path)) from None


def identify(s: Session, path: Path, department: str) -> Media:
    """The registered media at `path`, registered to `department` (else a refusal)."""
    doc = read_media_file(path, s.keys.public.ed25519)
    media = s.registry.media(doc["media_id"])
    if media is None:
        raise BulkError("E-MED-001", path=str(path))
    if media.status in ("廃棄",):
        raise BulkError("E-MED-011", media_id=media.media_id)
    holder = media.department
    if holder != department:
        raise BulkError("E-MED-002", media_id=media.media_id, registered=holder, department=department)
    return media


def register(s: Session, path: Path, media_id: str, department: str) -> Media:
    if s.registry.department(department) is None:
        raise BulkError("E-DEP-001", department=department)
    _check_drive(path)
    if s.registry.media(media_id) is not None:
        raise BulkError("E-MED-006", media_id=media_id)
    product, serial = _device_info(path)
    media = Media(media_id, department, product, serial, s.clock.timestamp(), "登録", None, None)
    doc = {"format": MEDIA_FORMAT, "media_id": media_id, "department": department,
           "terminal_id": s.ws.terminal_id, "registered_at": media.registered_at}
    doc["signature"] = base64.b64encode(s.keys.ed25519.sign(_canonical(doc))).decode("ascii")
    data = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
    write_atomic(path, MEDIA_FILE, data)
    s.registry.add_media(media)
    s.append("媒体登録", media_id=media_id, department=department,
             files=[{"name": MEDIA_FILE, "sha256": sha256(data)}],
             note=f"製品名 {product or '不明'}、製造番号 {serial or '不明'}")
    return media


# --- files on the drive -----------------------------------------------------------------
@dataclass
class DriveScan:
    requests: list[Path]
    plaintext: list[Path]
    results: list[Path]


def scan(path: Path) -> DriveScan:
    """What lies at the drive's root: request containers, plaintext tables, results."""
    requests, plaintext, results = [], [], []
    for p in sorted(_check_drive(path).iterdir()):
        if not p.is_file() or p.name.startswith("."):
            continue
        low = p.name.lower()
        if p.name.startswith(RESULT_PREFIX):
            results.append(p)
        elif low.endswith(REQUEST_SUFFIXES):
            requests.append(p)
        elif low.endswith(PLAINTEXT_SUFFIXES):
            plaintext.append(p)
    return DriveScan(requests, plaintext, results)


def write_atomic(directory: Path, name: str, data: bytes) -> Path:
    """Write `data` as directory/name: free space checked, temp name, fsync, read back from the
    drive and compared by hash, then renamed. Nothing is left behind on failure."""
    try:
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        raise BulkError("E-MED-009", path=str(directory), detail=type(exc).__name__) from None
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
        fd = os.open(tmp, os.O_RDONLY)
        try:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            with os.fdopen(fd, "rb", closefd=False) as fh:
                back = fh.read()
        finally:
            os.close(fd)
        if sha256(back) != sha256(data):
            raise BulkError("E-MED-008")
        os.replace(tmp, final)
        try:
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
        return final
    except BulkError:
        tmp.unlink(missing_ok=True)
        raise
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BulkError("E-MED-009", path=str(directory), detail=type(exc).__name__) from None


# --- lifecycle ------------------------------------------------------------------------------
def _media(s: Session, media_id: str) -> Media:
    m = s.registry.media(media_id)
    if m is None:
        raise BulkError("E-MED-010", media_id=media_id)
    if m.status == "廃棄":
        raise BulkError("E-MED-011", media_id=media_id)
    return m


def _output_entry(s: Session, entry: int) -> dict:
    e = s.ledger.get(entry)
    if e is None:
        raise BulkError("E-LED-005", entry=entry)
    if e["event"] not in ("出力", "再発行"):
        raise BulkError("E-MED-015", entry=entry)
    return e


def handover(s: Session, entry: int) -> dict:
    e = _output_entry(s, entry)
    return s.append("受渡", ref=entry, media_id=e.get("media_id"), department=e.get("department"),
                    purpose=e.get("purpose"), files=e.get("files"), note="照会結果を媒体とともに照会元へ受け渡し")


def receipt(s: Session, entry: int) -> dict:
    from bulktool.reissue import drop_copy, receipt_of

    e = _output_entry(s, entry)
    # copies are kept under the 受付 number: a 再発行 leads back to its 出力, and that to its 受付
    dropped = drop_copy(s, receipt_of(s, e))
    note = "照会元が照会結果の受領を確認" + ("（再発行用の保管コピーを消去）" if dropped else "")
    return s.append("受領確認", ref=entry, media_id=e.get("media_id"), department=e.get("department"),
                    purpose=e.get("purpose"), note=note)


def lend(s: Session, media_id: str, department: str) -> dict:
    m = _media(s, media_id)
    if s.registry.department(department) is None:
        raise BulkError("E-DEP-001", department=department)
    if m.status == "貸与中":
        raise BulkError("E-MED-013", media_id=media_id)
    until = fiscal_year_end(s.clock.today()).isoformat()
    s.registry.update_media(media_id, status="貸与中", lent_to=department, lent_until=until)
    return s.append("貸与", media_id=media_id, department=department, note=f"返却期限 {until}（年度内）")


def give_back(s: Session, media_id: str) -> dict:
    m = _media(s, media_id)
    if m.status != "貸与中":
        raise BulkError("E-MED-012", media_id=media_id)
    s.registry.update_media(media_id, status="登録", lent_to=None, lent_until=None)
    return s.append("返却", media_id=media_id, department=m.lent_to)


def erase(s: Session, path: Path, approval: str) -> dict:
    """Erase every file on the drive except its media ID file (overwritten, then removed)."""
    doc = read_media_file(path, s.keys.public.ed25519)
    m = _media(s, doc["media_id"])
    files = []
    for p in sorted(path.rglob("*")):
        if p.is_file() and p.name != MEDIA_FILE:
            data = p.read_bytes()
            files.append({"name": str(p.relative_to(path)), "sha256": sha256(data)})
            with open(p, "r+b") as fh:
                fh.write(b"\0" * len(data))
                fh.flush()
                os.fsync(fh.fileno())
            p.unlink()
    for d in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
        try:
            d.rmdir()
        except OSError:
            pass
    return s.append("消去", media_id=m.media_id, department=m.department, approval_no=approval, files=files,
                    counts={"files": len(files)}, note="媒体内のファイルを上書きのうえ消去")


def dispose(s: Session, media_id: str, approval: str) -> dict:
    m = _media(s, media_id)
    s.registry.update_media(media_id, status="廃棄")
    return s.append("廃棄", media_id=media_id, department=m.department, approval_no=approval)
