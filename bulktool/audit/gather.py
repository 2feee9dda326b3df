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
from bulktool.oplog import OperationLog, OplogReport, head_note, looks_personal, verify_against_ledger
from bulktool.registry import Registry
from bulktool.writer import LedgerWriter


@dataclass
class Audit:
    """What an audit read: the entries, their verification, the operation log's verification (its
    own hash chain: not a finding, like the ledger's it is shown beside them and exits 3), and
    the findings."""
    entries: list[dict]
    verification: VerifyReport
    findings: list[Finding]
    oplog: OplogReport | None = None

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
        checkpoint: tuple[int, str] | None = None, timestamp: str | None = None,
        terminal_id: str | None = None) -> Audit:
    """`audit reconcile`: verify the ledger and the operation log, read the drives, and reconcile
    everything. The operation log is verified when `timestamp` and `terminal_id` are given (a
    log written before its chain is chained first, which writes to it)."""
    listings = [drive_listing(p, terminal) for p in drives]
    entries = list(ledger.entries())
    report = verify(entries, terminal, checkpoint)
    oplog_report = None
    if timestamp is not None and terminal_id is not None:
        oplog_report = verify_against_ledger(oplog, entries, timestamp=timestamp, terminal_id=terminal_id)
    records = list(oplog.entries())
    found = reconcile(entries, Verification(report.ok, report.first_bad, report.reason), records,
                      operator_rows(registry), inventory, listings, opts)
    return Audit(entries, report, found, oplog_report)


def checkpoint(writer: LedgerWriter, ledger: Ledger, terminal: PublicKeys, note: str | None,
               oplog: OperationLog | None = None, terminal_id: str | None = None) -> tuple[str, dict]:
    """`audit checkpoint`: verify the whole ledger (and, given `oplog`, the operation log's chain)
    and, when it verifies, append a 点検 entry whose note holds the checkpoint `N:HASH` verified
    and the operation log's head (`操作履歴 M:HASH`, which every later `oplog verify` checks, so
    that records cut off at its end or a rehashed log are found without a written-down
    checkpoint). Returns the ledger checkpoint and the entry. Writes nothing when either fails
    (its BulkError, exit 3)."""
    if note and looks_personal(note):
        raise BulkError("E-AUD-009")
    report = ledger.verify(terminal.ed25519)
    if not report.ok:
        raise report.error()
    cp = format_checkpoint(report.count, report.head_hash)
    text = f"チェックポイント {cp}"
    if oplog is not None:
        logged = verify_against_ledger(oplog, ledger.entries(), timestamp=writer.clock.timestamp(),
                                       terminal_id=terminal_id or writer.actor.terminal_id)
        if not logged.ok:
            raise logged.error()
        if logged.head is not None:
            text += f"　{head_note(logged.head)}"
    entry = writer.record("点検", note=text + (f"　{note}" if note else ""))
    return cp, entry

