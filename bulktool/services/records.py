"""The records kept about provisions: the 開示 of one resident's provision record, the purge of
the operation log past its retention, and the ledger's verification (against which key)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Iterator

from bulktool import keys
from bulktool import workspace as wsmod
from bulktool.audit.links import link
from bulktool.checkdigit import valid_jumin_code
from bulktool.ledger import Ledger, VerifyReport, verify_chain
from bulktool.ledger.storage import verify_export
from bulktool.messages import BulkError
from bulktool.normalize import digits
from bulktool.oplog import OperationLog, anchor_note
from bulktool.retention import Retention, years_before
from bulktool.store.backend import StoreBackend
from bulktool.workspace import Workspace
from bulktool.writer import LedgerWriter

PROVISION_COLUMNS = ("provided_on", "entry", "department", "purpose", "fields", "use")


def disclose(writer: LedgerWriter, store: StoreBackend, code_text: str, request_no: str | None) -> list[dict]:
    """The provision record of the resident with 住民票コード `code_text` (never shown back, never
    ledgered); the query itself is ledgered as 開示 with the 開示請求 number and the count. Only
    provisions the ledger confirms count: rows of an exchange that ended without its 出力 (a
    crash between the store and the ledger) are not a provision."""
    code = digits(code_text)
    if not valid_jumin_code(code):
        raise BulkError("E-USE-001", option="住民票コード", value="（表示しません）")
    rows = [r for r in store.provisions_for(code) if writer.ledger.find(event="出力", ref=int(r["entry"]))]
    writer.record("開示", request_no=request_no, counts={"records": len(rows)},
                  note="提供状況記録の開示（対象者の情報は記録しない）")
    return rows


def purge_oplog(writer: LedgerWriter, oplog: OperationLog, retention: Retention, before: date) -> int:
    """Remove operation-log records before `before`, never inside the retention period
    (retention.oplog_years); ledgered as 履歴削除 with the chain's anchor (the first record kept
    and the hash it follows), from which `oplog verify` reads the chain (bulktool/oplog.py)."""
    removed = oplog.purge(before, today=writer.clock.today(), retention_years=retention.oplog_years)
    anchor = oplog.anchor()
    writer.record("履歴削除", counts={"removed": removed},
                  note=f"{before.isoformat()} より前の操作履歴を削除" + (f"　{anchor_note(anchor)}" if anchor else ""))
    return removed


def purge_provisions(writer: LedgerWriter, store: StoreBackend, retention: Retention) -> int:
    """Delete the provision records whose retention (retention.provision_years, contract §6b) has
    ended: those provided before the same day `provision_years` years ago; a record is kept the
    whole period, to the day. The deletion is ledgered as 履歴削除 with its count, inside the
    store's transaction (backend.purge_provisions); nothing to delete writes nothing."""
    years = retention.provision_years
    before = years_before(writer.clock.today(), years)

    def confirm(count: int) -> None:
        writer.record("履歴削除", counts={"removed": count},
                      note=f"保存期間（{years}年）を過ぎた提供状況記録を削除（{before.isoformat()} より前の提供）")
    return store.purge_provisions(before, confirm)


@dataclass(frozen=True)
class KeyUsed:
    """The public key a verification used: its name and fingerprint, and whether it was the
    workspace's own terminal key or one given with --terminal-key."""
    name: str
    fingerprint: str
    given: bool

    def describe(self) -> str:
        source = "--terminal-key で指定された鍵" if self.given else "作業領域の端末鍵"
        return f"検証に使った鍵: {self.name}（{source}）フィンガープリント {self.fingerprint}"


def verify_ledger(ledger: Ledger, ws: Workspace, terminal_key: bytes | None,
                  checkpoint: tuple[int, str] | None) -> tuple[VerifyReport, KeyUsed]:
    """Verify the ledger against the terminal key given (`--terminal-key`), else the workspace's
    own public key. The report says whether it held and, if not, where it failed."""
    pub = keys.read_public(terminal_key if terminal_key is not None else ws.path(wsmod.TERMINAL_PUB).read_bytes())
    return (verify_chain(ledger.entries(), pub.ed25519, checkpoint),
            KeyUsed(pub.name, pub.fingerprint, terminal_key is not None))


def verify_exported(export: bytes, name: str, terminal_key: bytes,
                    checkpoint: tuple[int, str] | None) -> tuple[VerifyReport, KeyUsed]:
    """`ledger verify --file`: a CSV export verified with the terminal's public key alone."""
    pub = keys.read_public(terminal_key)
    return verify_export(export, pub.ed25519, checkpoint, name), KeyUsed(pub.name, pub.fingerprint, True)


def filter_entries(entries: Iterable[dict], *, event: str | None = None, since: date | None = None,
                   until: date | None = None, media: str | None = None,
                   department: str | None = None) -> Iterator[dict]:
    """`ledger list`'s filters: the event, the dates (both inclusive), the media ID, the department."""
    for e in entries:
        day = str(e.get("timestamp"))[:10]
        if ((event is None or e.get("event") == event) and (since is None or day >= since.isoformat())
                and (until is None or day <= until.isoformat()) and (media is None or e.get("media_id") == media)
                and (department is None or e.get("department") == department)):
            yield e


@dataclass(frozen=True)
class OplogLine:
    """One operation-log record for `oplog list`, with the ledger entries its command wrote."""
    record: dict
    entries: tuple[dict, ...]

    def detail(self) -> str:
        """「媒体 M001　照会元 D01　依頼 R-1　管理簿 12 13　備考 …」 from the entries."""
        def first(key: str) -> str:
            return next((str(e[key]) for e in self.entries if e.get(key)), "")
        parts = [f"{label} {first(key)}" for label, key in (("媒体", "media_id"), ("照会元", "department"),
                                                             ("依頼", "request_no")) if first(key)]
        if self.entries:
            parts.append("管理簿 " + " ".join(str(e["seq"]) for e in self.entries))
        notes = [str(e["note"]) for e in self.entries if e.get("note")]
        if notes:
            parts.append("備考 " + "／".join(notes))
        return "　".join(parts)


def oplog_lines(records: Iterable[dict], entries: list[dict], *, event: str | None = None,
                media: str | None = None, department: str | None = None) -> list[OplogLine]:
    """`oplog list`: each record with the ledger entries its command wrote (audit.links), kept when
    `event` is its command, its outcome or an event it ledgered, and `media` / `department` are
    those of an entry it ledgered."""
    records = list(records)
    by_seq = {e["seq"]: e for e in entries}
    links = link(entries, records)
    out = []
    for r in records:
        mine = tuple(by_seq[s] for s in links.by_record.get(r["id"], ()))
        if event is not None and event not in (r.get("command"), r.get("outcome")) and \
                not any(e.get("event") == event for e in mine):
            continue
        if media is not None and not any(e.get("media_id") == media for e in mine):
            continue
        if department is not None and not any(e.get("department") == department for e in mine):
            continue
        out.append(OplogLine(r, mine))
    return out
