"""The records kept about provisions: the 開示 of one resident's provision record, the purge of
the operation log past its retention, and the ledger's verification (against which key)."""
from __future__ import annotations

from datetime import date

from bulktool import keys
from bulktool import workspace as wsmod
from bulktool.checkdigit import valid_jumin_code
from bulktool.ledger import Ledger, VerifyReport, verify_chain
from bulktool.messages import BulkError
from bulktool.normalize import digits
from bulktool.oplog import OperationLog
from bulktool.retention import Retention
from bulktool.store.backend import StoreBackend
from bulktool.workspace import Workspace
from bulktool.writer import LedgerWriter

PROVISION_COLUMNS = ("provided_on", "entry", "department", "purpose", "fields", "use")


def disclose(writer: LedgerWriter, store: StoreBackend, code_text: str, request_no: str | None) -> list[dict]:
    """The provision record of the resident with 住民票コード `code_text` (never shown back, never
    ledgered); the query itself is ledgered as 開示 with the 開示請求 number and the count."""
    code = digits(code_text)
    if not valid_jumin_code(code):
        raise BulkError("E-USE-001", option="住民票コード", value="（表示しません）")
    rows = store.provisions_for(code)
    writer.record("開示", request_no=request_no, counts={"records": len(rows)},
                  note="提供状況記録の開示（対象者の情報は記録しない）")
    return rows


def purge_oplog(writer: LedgerWriter, oplog: OperationLog, retention: Retention, before: date) -> int:
    """Remove operation-log records before `before`, never inside the retention period
    (retention.oplog_years); ledgered as 履歴削除."""
    removed = oplog.purge(before, today=writer.clock.today(), retention_years=retention.oplog_years)
    writer.record("履歴削除", counts={"removed": removed}, note=f"{before.isoformat()} より前の操作履歴を削除")
    return removed


def verify_ledger(ledger: Ledger, ws: Workspace, terminal_key: bytes | None,
                  checkpoint: tuple[int, str] | None) -> VerifyReport:
    """Verify the ledger against the terminal key given (`--terminal-key`), else the workspace's
    own public key. The report says whether it held and, if not, where it failed."""
    pub = keys.read_public(terminal_key if terminal_key is not None else ws.path(wsmod.TERMINAL_PUB).read_bytes())
    return verify_chain(ledger.entries(), pub.ed25519, checkpoint)
