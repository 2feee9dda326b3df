"""The media lifecycle (contract §8): registering a drive, identifying it at an exchange, handing
over, receipt, loans, erasure and disposal — each a ledger entry. The drive's bytes are read and
written by bulktool.drive; this module decides what is allowed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bulktool import drive
from bulktool.keys import KeyPair
from bulktool.ledger import Ledger
from bulktool.messages import BulkError
from bulktool.registry import Media, Registry, fiscal_year_end
from bulktool.services.copies import CopyStore
from bulktool.writer import LedgerWriter

OUTPUT_EVENTS = ("出力", "再発行")


def identify(registry: Registry, terminal_pub: Ed25519PublicKey, path: Path, department: str) -> Media:
    """The registered media at `path`, registered to `department` (else a refusal)."""
    doc = drive.read_media_file(path, terminal_pub)
    media = registry.media(doc["media_id"])
    if media is None:
        raise BulkError("E-MED-001", path=str(path))
    if media.status in ("廃棄",):
        raise BulkError("E-MED-011", media_id=media.media_id)
    if media.department != department:
        raise BulkError("E-MED-002", media_id=media.media_id, registered=media.department, department=department)
    return media


def register(writer: LedgerWriter, registry: Registry, keys: KeyPair, path: Path, media_id: str, department: str,
             device: Callable[[Path], tuple[str, str]] = drive.device_info) -> Media:
    if registry.department(department) is None:
        raise BulkError("E-DEP-001", department=department)
    drive.check_drive(path)
    if registry.media(media_id) is not None:
        raise BulkError("E-MED-006", media_id=media_id)
    product, serial = device(path)
    media = Media(media_id, department, product, serial, writer.clock.timestamp(), "登録", None, None)
    data = drive.media_document({"media_id": media_id, "department": department,
                                 "terminal_id": writer.actor.terminal_id, "registered_at": media.registered_at},
                                keys.ed25519.sign)
    drive.write_atomic(path, drive.MEDIA_FILE, data)
    registry.add_media(media)
    writer.record("媒体登録", media_id=media_id, department=department,
                  files=[{"name": drive.MEDIA_FILE, "sha256": drive.sha256(data)}],
                  note=f"製品名 {product or '不明'}、製造番号 {serial or '不明'}")
    return media


@dataclass
class MediaLine:
    media: Media
    overdue: bool  # lent, and the fiscal year's return date has passed


def overview(registry: Registry, today: date) -> list[MediaLine]:
    """Every registered drive, with whether its loan is overdue on `today`."""
    return [MediaLine(m, bool(m.lent_until and m.lent_until < today.isoformat())) for m in registry.media_all()]


def _media(registry: Registry, media_id: str) -> Media:
    m = registry.media(media_id)
    if m is None:
        raise BulkError("E-MED-010", media_id=media_id)
    if m.status == "廃棄":
        raise BulkError("E-MED-011", media_id=media_id)
    return m


def output_entry(ledger: Ledger, entry: int) -> dict:
    """The 出力 or 再発行 entry numbered `entry` (else a refusal)."""
    e = ledger.get(entry)
    if e is None:
        raise BulkError("E-LED-005", entry=entry)
    if e["event"] not in OUTPUT_EVENTS:
        raise BulkError("E-MED-015", entry=entry)
    return e


def acceptance_of(ledger: Ledger, entry: dict) -> int:
    """The 受付 number behind an 出力 or 再発行 entry (a 再発行 cites its 出力, an 出力 its 受付)."""
    while entry["event"] == "再発行":
        entry = ledger.require(int(entry["ref"]))
    return int(entry["ref"])


def handover(writer: LedgerWriter, ledger: Ledger, entry: int) -> dict:
    e = output_entry(ledger, entry)
    return writer.record("受渡", ref=entry, media_id=e.get("media_id"), department=e.get("department"),
                         purpose=e.get("purpose"), files=e.get("files"), note="照会結果を媒体とともに照会元へ受け渡し")


def receipt(writer: LedgerWriter, ledger: Ledger, copies: CopyStore, entry: int) -> dict:
    """受領確認 of an 出力 or 再発行: the kept copy of that exchange is no longer needed."""
    e = output_entry(ledger, entry)
    dropped = copies.drop(acceptance_of(ledger, e))
    note = "照会元が照会結果の受領を確認" + ("（再発行用の保管コピーを消去）" if dropped else "")
    return writer.record("受領確認", ref=entry, media_id=e.get("media_id"), department=e.get("department"),
                         purpose=e.get("purpose"), note=note)


def lend(writer: LedgerWriter, registry: Registry, media_id: str, department: str) -> dict:
    m = _media(registry, media_id)
    if registry.department(department) is None:
        raise BulkError("E-DEP-001", department=department)
    if m.status == "貸与中":
        raise BulkError("E-MED-013", media_id=media_id)
    until = fiscal_year_end(writer.clock.today()).isoformat()
    registry.update_media(media_id, status="貸与中", lent_to=department, lent_until=until)
    return writer.record("貸与", media_id=media_id, department=department, note=f"返却期限 {until}（年度内）")


def give_back(writer: LedgerWriter, registry: Registry, media_id: str) -> dict:
    m = _media(registry, media_id)
    if m.status != "貸与中":
        raise BulkError("E-MED-012", media_id=media_id)
    registry.update_media(media_id, status="登録", lent_to=None, lent_until=None)
    return writer.record("返却", media_id=media_id, department=m.lent_to)


def erase(writer: LedgerWriter, registry: Registry, terminal_pub: Ed25519PublicKey, path: Path,
          approval: str) -> dict:
    """Erase every file on the drive except its media ID file (overwritten, then removed)."""
    doc = drive.read_media_file(path, terminal_pub)
    m = _media(registry, doc["media_id"])
    files = drive.erase_files(path)
    return writer.record("消去", media_id=m.media_id, department=m.department, approval_no=approval, files=files,
                         counts={"files": len(files)}, note="媒体内のファイルを上書きのうえ消去")


def dispose(writer: LedgerWriter, registry: Registry, media_id: str, approval: str) -> dict:
    m = _media(registry, media_id)
    registry.update_media(media_id, status="廃棄")
    return writer.record("廃棄", media_id=media_id, department=m.department, approval_no=approval)
