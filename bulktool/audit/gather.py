"""The audit's use cases: the workspace's parts read into the plain records that reconcile.py and
report.py take, and the one write an audit makes (`audit checkpoint`'s 点検 entry)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bulktool import drive
from bulktool.audit.inventory import InventoryRow
from bulktool.audit.operators import OperatorRow
from bulktool.audit.reconcile import DriveListing, Finding, Options, Verification, reconcile
from bulktool.keys import PublicKeys
from bulktool.ledger import Ledger, VerifyReport, format_checkpoint, verify_chain
from bulktool.messages import BulkError
from bulktool.oplog import OperationLog, looks_personal
from bulktool.registry import Registry
from bulktool.writer import LedgerWriter


@dataclass
class Audit:
    """What an audit read: the entries, their verification, and the findings."""
    entries: list[dict]
    verification: VerifyReport
    findings: list[Finding]

    @property
    def checkpoint(self) -> str:
        """`N:HASH` of the entries that verified (up to the first bad one)."""
        return format_checkpoint(self.verification.count, self.verification.head_hash)


def drive_listing(path: Path, terminal: PublicKeys) -> DriveListing:
    """The drive's media ID (its file's signature checked with the terminal key) and every other
    file on it with its SHA-256; a drive without a valid media ID file is refused (E-MED-001)."""
    doc = drive.read_media_file(path, terminal.ed25519)
    files = {str(p.relative_to(path)): drive.file_sha256(p)
             for p in sorted(path.rglob("*")) if p.is_file() and p.name != drive.MEDIA_FILE}
    return DriveListing(str(doc["media_id"]), files)


def operator_rows(registry: Registry) -> list[OperatorRow]:
    return [OperatorRow(o.operator_id, o.role, o.trained_on, o.valid_until, o.revoked) for o in registry.operators()]


def verify(entries: list[dict], terminal: PublicKeys, checkpoint: tuple[int, str] | None) -> VerifyReport:
    return verify_chain(entries, terminal.ed25519, checkpoint)


def run(ledger: Ledger, oplog: OperationLog, registry: Registry, terminal: PublicKeys, *,
        inventory: list[InventoryRow] | None, drives: list[Path], opts: Options,
        checkpoint: tuple[int, str] | None = None) -> Audit:
    """`audit reconcile`: verify the ledger, read the drives, and reconcile everything."""
    listings = [drive_listing(p, terminal) for p in drives]
    entries = list(ledger.entries())
    report = verify(entries, terminal, checkpoint)
    records = list(oplog.entries())
    found = reconcile(entries, Verification(report.ok, report.first_bad, report.reason), records,
                      operator_rows(registry), inventory, listings, opts)
    return Audit(entries, report, found)


def checkpoint(writer: LedgerWriter, ledger: Ledger, terminal: PublicKeys, note: str | None) -> tuple[str, dict]:
    """`audit checkpoint`: verify the whole ledger and, when it verifies, append a 点検 entry whose
    note holds the checkpoint `N:HASH` verified. Returns it and the entry. Writes nothing when the
    ledger fails (its BulkError, exit 3)."""
    if note and looks_personal(note):
        raise BulkError("E-AUD-009")
    report = ledger.verify(terminal.ed25519)
    if not report.ok:
        raise report.error()
    cp = format_checkpoint(report.count, report.head_hash)
    entry = writer.record("点検", note=f"チェックポイント {cp}" + (f"　{note}" if note else ""))
    return cp, entry

