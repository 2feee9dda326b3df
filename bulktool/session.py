"""Logging in, role checks, and the services every logged-in command shares.

`login` unlocks the operator's key slot (the passphrase check *is* the slot's AEAD check), so
nothing is ever signed with a key that a passphrase did not unlock in this process. Failed
logins go to the operation log only (no key is unlocked to sign a ledger entry).
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

from bulktool import workspace as wsmod
from bulktool.clock import Clock
from bulktool.messages import BulkError
from bulktool.registry import PERMISSIONS, ROLE_LABELS, Operator, Registry
from bulktool.workspace import Workspace

ACTIVE_LOCK = "tmp/active.lock"
# The auditor's views of the ledger write nothing to it (`ledger checkpoint` prints and writes
# nothing): they see an open 受付 as it is, and leave housekeeping to the next other command.
READS_LEDGER_ONLY = frozenset({"ledger list", "ledger export", "ledger verify", "ledger checkpoint"})
# An operator ID: letters, digits and - _ . ; never a run of 11 or more digits (a resident's number).
OPERATOR_ID = re.compile(r"(?!.*[0-9]{11})[A-Za-z0-9_.\-]{1,32}")


def oplog_for(ws: Workspace):
    from bulktool.oplog import OperationLog

    return OperationLog(ws.path("oplog.sqlite"))


def log_outcome(ws: Workspace, clock: Clock, *, operator_id: str | None, command: str, outcome: str,
                code: str | None = None, counts: dict | None = None, hashes: list | None = None,
                detail: str | None = None) -> None:
    oplog = oplog_for(ws)
    try:
        oplog.record(timestamp=clock.timestamp(), operator_id=operator_id, terminal_id=ws.terminal_id,
                     command=command, outcome=outcome, code=code, counts=counts, hashes=hashes, detail=detail)
    finally:
        close = getattr(oplog, "close", None)
        if close:
            close()


@dataclass
class Session:
    ws: Workspace
    registry: Registry
    operator: Operator
    kek: bytes = field(repr=False)
    command: str
    clock: Clock
    counts: dict = field(default_factory=dict)  # reported in the operation log
    hashes: list = field(default_factory=list)

    @cached_property
    def keys(self):
        """The terminal's KeyPair, decrypted with the KEK unlocked at login."""
        from bulktool.keys import keypair_from_bytes

        blob = self.ws.path(wsmod.TERMINAL_KEY).read_bytes()
        return keypair_from_bytes(wsmod.open_with_kek(self.kek, blob, b"bulktool-terminal-key/1"))

    @cached_property
    def ledger(self):
        from bulktool.ledger import Ledger

        return Ledger(self.ws.path("ledger.sqlite"))

    @cached_property
    def store(self):
        from bulktool.store.sqlite import SqliteStore

        return SqliteStore.open(self.ws.path("store.sqlite"))

    def append(self, event: str, **fields: object) -> dict:
        """Append a signed ledger entry by this operator at this terminal."""
        entry = {"event": event, "operator_id": self.operator.operator_id,
                 "terminal_id": self.ws.terminal_id}
        entry.update({k: v for k, v in fields.items() if v is not None})
        return self.ledger.append(entry, key=self.keys.ed25519, timestamp=self.clock.timestamp())

    def close(self) -> None:
        for name in ("ledger", "store"):
            obj = self.__dict__.get(name)
            if obj is not None and hasattr(obj, "close"):
                obj.close()
        self.registry.close()


def authenticate(ws: Workspace, registry: Registry, operator_id: str, passphrase: bytes,
                 command: str, clock: Clock, defer_role: bool = False) -> tuple[Operator, bytes]:
    """Check account, passphrase and role; every refusal is in the operation log. With
    defer_role the caller checks the role itself (the exchange ledgers that refusal as 拒否)."""

    def refuse(err: BulkError, outcome: str = "ログイン失敗") -> BulkError:
        # whatever was typed as an ID is logged only if it has the shape of an operator ID
        logged_id = operator_id if OPERATOR_ID.fullmatch(operator_id) else "（不正な形式の操作者ID）"
        log_outcome(ws, clock, operator_id=logged_id, command=command, outcome=outcome, code=err.code)
        return err

    op = registry.operator(operator_id)
    if op is None:
        raise refuse(BulkError("E-AUTH-001", operator=operator_id))
    refusal = op.refusal(clock.today())
    if refusal is not None:
        raise refuse(refusal)
    kek = wsmod.unwrap_kek(op.slot, passphrase, operator_id)
    if kek is None:
        failures = registry.record_failure(operator_id)
        if failures >= 5:
            raise refuse(BulkError("E-AUTH-003", operator=operator_id))
        raise refuse(BulkError("E-AUTH-002", operator=operator_id, failures=failures))
    if op.failures:
        registry.update_operator(operator_id, failures=0)
    if not defer_role and role_refusal(op, command) is not None:
        raise refuse(role_refusal(op, command), outcome="拒否")
    return op, kek


def role_refusal(op: Operator, command: str) -> BulkError | None:
    if op.role in PERMISSIONS.get(command, set()):
        return None
    return BulkError("E-AUTH-007", operator=op.operator_id, role=ROLE_LABELS[op.role], command=command)


@contextmanager
def active_lock(ws: Workspace, exclusive: bool, blocking: bool = True) -> Iterator[bool]:
    """Exchanges hold this shared while a 受付 is open; housekeeping takes it exclusively, so a
    受付 is only ever closed as 失敗 when no exchange that could own it is running.
    (On Windows, without flock, the lock is exclusive for both: exchanges then run one at a time.)"""
    path = ws.path(ACTIVE_LOCK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            mode = msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK
            try:
                msvcrt.locking(fd, mode, 1)
            except OSError:
                yield False
                return
            yield True
            return
        flags = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if not blocking:
            flags |= fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def housekeeping(session: Session) -> None:
    """What the next command of a logged-in operator does (SPEC §6): close a 受付 that a crash
    left open as 失敗, and erase expired re-issue copies (ledgered as 消去)."""
    with active_lock(session.ws, exclusive=True, blocking=False) as got:
        if not got:
            return  # an exchange is running; its 受付 is not dangling
        for receipt in session.ledger.open_receipts():
            session.append("失敗", ref=receipt["seq"], media_id=receipt.get("media_id"),
                           department=receipt.get("department"), purpose=receipt.get("purpose"),
                           error_code="E-EXC-001",
                           note="受付後に処理が完了しなかったため失敗として閉じました")
    from bulktool.reissue import erase_expired

    erase_expired(session)


@contextmanager
def logged_in(home, operator_id: str | None, passphrase: bytes, command: str,
              defer_role: bool = False, *, clock: Clock) -> Iterator[Session]:
    """Open the workspace, log in, run housekeeping, and record the command's outcome."""
    if not operator_id:
        raise BulkError("E-AUTH-013")
    ws = Workspace.open(home)
    registry = Registry(ws.path("registry.sqlite"))
    try:
        op, kek = authenticate(ws, registry, operator_id, passphrase, command, clock, defer_role)
    except BaseException:
        registry.close()
        raise
    session = Session(ws, registry, op, kek, command, clock)
    try:
        if command not in READS_LEDGER_ONLY:
            housekeeping(session)
        yield session
    except BulkError as err:
        outcome = "失敗" if err.exit_code == 4 else "拒否"
        log_outcome(ws, clock, operator_id=operator_id, command=command, outcome=outcome, code=err.code,
                    counts=session.counts or None, hashes=session.hashes or None)
        raise
    except BaseException as exc:
        log_outcome(ws, clock, operator_id=operator_id, command=command, outcome="失敗",
                    code=None, detail=type(exc).__name__)
        raise
    else:
        log_outcome(ws, clock, operator_id=operator_id, command=command, outcome="成功",
                    counts=session.counts or None, hashes=session.hashes or None)
    finally:
        session.close()
