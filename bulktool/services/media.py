"""The media lifecycle (contract §8): registering a drive, identifying it at an exchange, handing
over, receipt, loans, erasure, disposal and loss — each a ledger entry. What fits which state is
bulktool.custody's table; the drive's bytes are bulktool.drive's; this module puts them together."""
from __future__ import annotations

import re

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bulktool import custody, drive, keys, untrusted
from bulktool import receipt as receipt_proof
from bulktool.keys import KeyPair
from bulktool.ledger import Ledger
from bulktool.messages import BulkError, shown
from bulktool.registry import Media, Registry, fiscal_year_end
from bulktool.services.copies import CopyStore
from bulktool.writer import LedgerWriter

Device = Callable[[Path], tuple[str, str]]  # (product, serial) of the device holding a path


def identify(registry: Registry, terminal_pub: Ed25519PublicKey, path: Path, department: str,
             command: str = "exchange", device: Device = drive.device_info) -> Media:
    """The registered drive at `path`, bound to the device it was registered on, in a state
    where `command` may write to it for `department` (else a refusal)."""
    doc = drive.read_media_file(path, terminal_pub)
    media = registry.media(doc["media_id"])
    if media is None:
        raise BulkError("E-MED-001", path=str(path))
    drive.check_device(doc, device(path))
    custody.check(command, media_id=media.media_id, status=media.status, registered_to=media.department,
                  department=department)
    return media


# A media ID, as the label on the drive and every entry about it carry it: letters, digits and
# - _ . ; never a run of 11 or more digits (a resident's number) — the operator IDs' rule.
MEDIA_ID = re.compile(r"(?!.*[0-9]{11})[A-Za-z0-9_.\-]{1,32}")


def register(writer: LedgerWriter, registry: Registry, terminal: KeyPair, path: Path, media_id: str, department: str,
             device: Device = drive.device_info) -> Media:
    if not MEDIA_ID.fullmatch(media_id):
        raise BulkError("E-MED-031")
    if registry.department(department) is None:
        raise BulkError("E-DEP-001", department=department)
    drive.check_drive(path)
    try:
        held = drive.read_media_file(path, terminal.public.ed25519)
    except BulkError:
        held = None  # no valid media ID file of this terminal: the drive may be registered
    if held is not None:
        raise BulkError("E-MED-021", media_id=held["media_id"])
    if registry.media(media_id) is not None:
        raise BulkError("E-MED-006", media_id=media_id)
    product, serial = device(path)
    media = Media(media_id, department, product, serial, writer.clock.timestamp(), custody.State.REGISTERED.value,
                  None, None)
    data = drive.media_document({"media_id": media_id, "department": department, "product": product,
                                 "serial": serial, "terminal_id": writer.actor.terminal_id,
                                 "registered_at": media.registered_at}, terminal.ed25519.sign)
    drive.write_atomic(path, drive.MEDIA_FILE, data)
    registry.add_media(media)
    writer.record("媒体登録", media_id=media_id, department=department,
                  files=[{"name": drive.MEDIA_FILE, "sha256": drive.sha256(data)}],
                  note=f"製品名 {product or '不明'}、製造番号 {serial or 'なし（システムが報告しない）'}")
    return media


@dataclass
class MediaLine:
    media: Media
    overdue: bool       # lent, and the fiscal year's return date has passed
    held: list[int]     # 出力/再発行 entries written to it and not erased since


def overview(registry: Registry, ledger: Ledger, today: date) -> list[MediaLine]:
    """Every registered drive: its state, whether its loan is overdue on `today`, what it holds."""
    return [MediaLine(m, bool(m.lent_until and m.lent_until < today.isoformat()),
                      [e["seq"] for e in custody.unerased(ledger.find(media_id=m.media_id))])
            for m in registry.media_all()]


def _media(registry: Registry, media_id: str) -> Media:
    m = registry.media(media_id)
    if m is None:
        raise BulkError("E-MED-010", media_id=media_id)
    return m


def output_entry(ledger: Ledger, entry: int) -> dict:
    """The 出力 or 再発行 that ENTRY names: that entry itself, or the 出力 of the 受付 numbered
    ENTRY (the number the result's file name carries). Anything else is refused."""
    e = ledger.require(entry)
    if e["event"] in custody.WRITES:
        return e
    if e["event"] == "受付":
        outs = ledger.find(event="出力", ref=entry)
        if outs:
            return outs[0]
    raise BulkError("E-MED-015", entry=entry)


def acceptance_of(ledger: Ledger, entry: dict) -> int:
    """The 受付 number behind an 出力 or 再発行 entry (a 再発行 cites its 出力, an 出力 its 受付)."""
    while entry["event"] == "再発行":
        entry = ledger.require(int(entry["ref"]))
    return int(entry["ref"])


def handover(writer: LedgerWriter, ledger: Ledger, entry: int) -> dict:
    e = output_entry(ledger, entry)
    custody.check_handover(e["seq"], ledger.find(event="受渡", ref=e["seq"]))
    return writer.record("受渡", ref=e["seq"], media_id=e.get("media_id"), department=e.get("department"),
                         purpose=e.get("purpose"), files=e.get("files"), note="照会結果を媒体とともに照会元へ受け渡し")


def receipt(writer: LedgerWriter, ledger: Ledger, registry: Registry, copies: CopyStore, entry: int,
            proof: tuple[str, bytes] | None = None) -> dict:
    """受領確認 of an 出力 or 再発行, after its 受渡: the kept copy of that exchange is no longer
    needed. With `proof` (the 受領証's file name and bytes) the department's signature, the entry
    and the result's hash are checked and the 受領証's SHA-256 ledgered; without it, the entry
    says that the 受領確認 rests on the operator's word."""
    e = output_entry(ledger, entry)
    custody.check_receipt(e["seq"], ledger.find(event="受渡", ref=e["seq"]),
                          ledger.find(event="受領確認", ref=e["seq"]))
    acceptance = acceptance_of(ledger, e)
    files = None
    if proof is not None:
        name, data = proof
        dep = registry.department(e.get("department") or "")
        key = keys.read_public(dep.public_key.encode("utf-8")) if dep and dep.public_key else None
        result = next((f for f in e.get("files") or [] if f["name"].startswith(drive.RESULT_PREFIX)), {})
        receipt_proof.check(data, entry=acceptance, department=e.get("department") or "",
                            container_sha256=result.get("sha256", ""), key=key)
        files = [{"name": untrusted.ledger_name(Path(name).name), "sha256": drive.sha256(data)}]
    dropped = copies.drop(acceptance)
    note = ("照会元の受領証（署名確認済み）により受領を確認" if proof is not None
            else "照会元の受領を操作者が確認（受領証なし）") + ("。再発行用の保管コピーを消去" if dropped else "")
    return writer.record("受領確認", ref=e["seq"], media_id=e.get("media_id"), department=e.get("department"),
                         purpose=e.get("purpose"), files=files, note=note)


def lend(writer: LedgerWriter, registry: Registry, media_id: str, department: str) -> dict:
    m = _media(registry, media_id)
    if registry.department(department) is None:
        raise BulkError("E-DEP-001", department=department)
    then = custody.check("media lend", media_id=media_id, status=m.status, registered_to=m.department,
                         department=department)
    until = fiscal_year_end(writer.clock.today()).isoformat()
    registry.update_media(media_id, status=then.value, lent_to=department, lent_until=until)
    return writer.record("貸与", media_id=media_id, department=department, note=f"返却期限 {until}（年度内）")


def give_back(writer: LedgerWriter, registry: Registry, media_id: str) -> dict:
    m = _media(registry, media_id)
    then = custody.check("media return", media_id=media_id, status=m.status, registered_to=m.department)
    registry.update_media(media_id, status=then.value, lent_to=None, lent_until=None)
    return writer.record("返却", media_id=media_id, department=m.lent_to)


def erase(writer: LedgerWriter, registry: Registry, terminal_pub: Ed25519PublicKey, path: Path, approval: str,
          device: Device = drive.device_info) -> dict:
    """Erase every file on the drive except its media ID file (overwritten, then removed), and
    prove it by reading the drive back."""
    doc = drive.read_media_file(path, terminal_pub)
    m = registry.media(doc["media_id"])
    if m is None:
        raise BulkError("E-MED-001", path=str(path))
    drive.check_device(doc, device(path))
    custody.check("media erase", media_id=m.media_id, status=m.status, registered_to=m.department)
    files = [dict(f, name=untrusted.ledger_name(f["name"])) for f in drive.erase_files(path)]
    return writer.record("消去", media_id=m.media_id, department=m.department, approval_no=approval, files=files,
                         counts={"files": len(files)}, note="媒体内のファイルを上書きのうえ消去し、読み戻して確認")


def dispose(writer: LedgerWriter, registry: Registry, ledger: Ledger, media_id: str, approval: str,
            method: str = "物理破壊") -> dict:
    m = _media(registry, media_id)
    then = custody.check("media dispose", media_id=media_id, status=m.status, registered_to=m.department,
                         held=custody.unerased(ledger.find(media_id=media_id)))
    registry.update_media(media_id, status=then.value)
    return writer.record("廃棄", media_id=media_id, department=m.department, approval_no=approval,
                         note=f"廃棄方法 {shown(method, 40)}")


@dataclass
class Exposure:
    """One result a lost drive may still hold, as a 漏えい等報告 needs it: counts only."""
    entry: int
    event: str
    department: str
    purpose: str
    persons: int                 # rows that provided data (00 and 10)
    fields: list[str] | None     # None: an 出力 from before the ledger recorded them
    kojin_bango: bool | None


LOSS_COLUMNS = ("管理簿番号", "事象", "照会元", "事務", "提供人数", "提供項目", "個人番号")


def exposure(e: dict) -> Exposure:
    counts, provided = e.get("counts") or {}, e.get("provided") or {}
    return Exposure(e["seq"], e["event"], e.get("department") or "", e.get("purpose") or "",
                    int(counts.get("00", 0)) + int(counts.get("10", 0)), provided.get("fields"),
                    provided.get("kojin_bango"))


def lost(writer: LedgerWriter, registry: Registry, ledger: Ledger, media_id: str,
         approval: str) -> tuple[dict, list[Exposure]]:
    """Report the drive lost (紛失): no command names it again. Returns the entry and, for every
    result written to it and not erased since, what it exposed."""
    m = _media(registry, media_id)
    held = custody.unerased(ledger.find(media_id=media_id))
    then = custody.check("media lost", media_id=media_id, status=m.status, registered_to=m.department)
    exposed = [exposure(e) for e in held]
    registry.update_media(media_id, status=then.value)
    entry = writer.record("紛失", media_id=media_id, department=m.department, approval_no=approval,
                          counts={"results": len(exposed), "persons": sum(x.persons for x in exposed),
                                  "kojin_bango_results": sum(1 for x in exposed if x.kojin_bango)},
                          note="媒体の紛失の届出（未消去の照会結果: "
                               + (" ".join(f"{x.entry}番" for x in exposed) or "なし") + "）")
    return entry, exposed

