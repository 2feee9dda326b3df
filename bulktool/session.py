"""Logging in: the account's state, the passphrase, the role, and the locks a command holds.

`authenticate` unlocks the operator's key slot (the passphrase check *is* the slot's AEAD check),
so nothing is ever signed with a key that a passphrase did not unlock in this process. Failed
logins go to the operation log only (no key is unlocked to sign a ledger entry).
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Iterator

from bulktool import workspace as wsmod
from bulktool.clock import Clock
from bulktool.messages import BulkError
from bulktool.oplog import OperationLog
from bulktool.registry import MAX_FAILURES, PERMISSIONS, ROLE_LABELS, Operator, Registry
from bulktool.workspace import Workspace

ACTIVE_LOCK = "tmp/active.lock"
# An operator ID: letters, digits and - _ . ; never a run of 11 or more digits (a resident's number).
OPERATOR_ID = re.compile(r"(?!.*[0-9]{11})[A-Za-z0-9_.\-]{1,32}")


def open_oplog(ws: Workspace) -> OperationLog:
    return OperationLog(ws.path("oplog.sqlite"))


def log_outcome(ws: Workspace, clock: Clock, *, operator_id: str | None, command: str, outcome: str,
                code: str | None = None, counts: dict | None = None, hashes: list | None = None,
                detail: str | None = None) -> None:
    """One record of the operation log (操作履歴): who, where, when, what, how it ended."""
    oplog = open_oplog(ws)
    try:
        oplog.record(timestamp=clock.timestamp(), operator_id=operator_id, terminal_id=ws.terminal_id,
                     command=command, outcome=outcome, code=code, counts=counts, hashes=hashes, detail=detail)
    finally:
        oplog.close()


def authenticate(ws: Workspace, registry: Registry, operator_id: str, passphrase: bytes,
                 command: str, clock: Clock, defer_role: bool = False) -> tuple[Operator, bytes]:
    """Check account, passphrase and role; every refusal is in the operation log. With
    defer_role the caller checks the role itself (the exchange ledgers that refusal as 拒否).
    Returns the operator and the key-encryption key the passphrase unlocked."""

    def refuse(err: BulkError, outcome: str = "ログイン失敗") -> BulkError:
        # whatever was typed as an ID is logged only if it has the shape of an operator ID
        logged_id = operator_id if OPERATOR_ID.fullmatch(operator_id) else "（不正な形式の操作者ID）"
        log_outcome(ws, clock, operator_id=logged_id, command=command, outcome=outcome, code=err.code)
        return err

    op = registry.operator(operator_id)
    if op is None:
        wsmod.unwrap_kek(wsmod.dummy_slot(), passphrase, operator_id)  # the same work as a wrong passphrase
        refuse(BulkError("E-AUTH-001", operator=operator_id))  # the log tells them apart; the screen does not
        raise BulkError("E-AUTH-002", operator=operator_id)
    refusal = op.refusal(clock.today())
    if refusal is not None:
        raise refuse(refusal)
    if not registry.begin_attempt(operator_id):
        raise refuse(BulkError("E-AUTH-003", operator=operator_id))
    kek = wsmod.unwrap_kek(op.slot, passphrase, operator_id)
    if kek is None:
        failures = registry.fail_attempt(operator_id)
        if failures >= MAX_FAILURES:
            raise refuse(BulkError("E-AUTH-003", operator=operator_id))
        raise refuse(BulkError("E-AUTH-002", operator=operator_id))
    registry.update_operator(operator_id, failures=0)
    if not wsmod.slot_is_current(op.slot):  # an older, cheaper slot: rewritten with today's KDF
        registry.update_operator(operator_id, slot=wsmod.wrap_kek(kek, passphrase, operator_id))
    if not defer_role and role_refusal(op, command) is not None:
        raise refuse(role_refusal(op, command), outcome="拒否")
    return op, kek


def role_refusal(op: Operator, command: str) -> BulkError | None:
    """The role table (registry.PERMISSIONS) applied: None when `op`'s role may run `command`."""
    if op.role in PERMISSIONS.get(command, set()):
        return None
    return BulkError("E-AUTH-007", operator=op.operator_id, role=ROLE_LABELS[op.role], command=command)


def active_lock(ws: Workspace, exclusive: bool, blocking: bool = True):
    """Exchanges hold this shared while a 受付 is open; housekeeping takes it exclusively, so a
    受付 is only ever closed as 失敗 when no exchange that could own it is running."""
    return file_lock(ws.path(ACTIVE_LOCK), exclusive, blocking)


@contextmanager
def file_lock(path, exclusive: bool = True, blocking: bool = True) -> Iterator[bool]:
    """An advisory lock on `path` across processes; yields whether it was taken (always, when
    blocking). On Windows, without flock, every lock is exclusive."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl  # POSIX only: the import itself tells which lock this system has
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
