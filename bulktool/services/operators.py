"""The workspace's people (contract §8): the first administrator at `init`, then operators added,
revoked, unlocked, renewed; each change a 登録変更 entry. A key slot is written only here."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

from bulktool import keys
from bulktool import workspace as wsmod
from bulktool.changes import ADDED, PASSPHRASE, RENEWED, REVOKED, UNLOCKED, OperatorChange
from bulktool.clock import Clock
from bulktool.ledger import Ledger
from bulktool.messages import BulkError
from bulktool.registry import ROLES, Operator, Registry, fiscal_year_end_after
from bulktool.session import OPERATOR_ID, log_outcome
from bulktool.store.url import SQLITE_FILE, check_url, create_store
from bulktool.workspace import Workspace
from bulktool.writer import LedgerWriter

MIN_PASSPHRASE = 8
# An operator's state as the list shows it: the refusal that login would give, or 有効.
STATE_LABELS = {None: "有効", "E-AUTH-004": "失効", "E-AUTH-003": "ロック", "E-AUTH-005": "研修前",
                "E-AUTH-006": "期限切れ"}


def check_passphrase(passphrase: bytes) -> bytes:
    if len(passphrase.decode("utf-8", "replace")) < MIN_PASSPHRASE:
        raise BulkError("E-AUTH-012", min=MIN_PASSPHRASE)
    return passphrase


def check_operator_id(operator_id: str) -> str:
    if not OPERATOR_ID.fullmatch(operator_id):
        raise BulkError("E-AUTH-015")
    return operator_id


def init_workspace(home, *, terminal_id: str, admin_id: str, name: str | None, trained_on: date | None,
                   passphrase: bytes, clock: Clock, store: str | None = None) -> tuple[Workspace, str]:
    """A new workspace with its terminal keys, store, ledger genesis and first administrator.
    Returns the workspace and the terminal key's fingerprint. A second init changes nothing.
    `store`: the URL of an empty PostgreSQL database (schema) to hold the store, else the SQLite
    file store.sqlite."""
    check_passphrase(passphrase)
    check_operator_id(admin_id)
    if store:
        check_url(store)
    ws = Workspace.create(home, terminal_id, clock.timestamp())
    created = [ws.path(n) for n in ("registry.sqlite", SQLITE_FILE, "ledger.sqlite", "oplog.sqlite",
                                    wsmod.TERMINAL_KEY, wsmod.TERMINAL_PUB)]
    try:
        kp = keys.generate(terminal_id)
        kek = os.urandom(32)
        wsmod.write_private(ws.path(wsmod.TERMINAL_KEY),
                            wsmod.seal_with_kek(kek, keys.keypair_to_bytes(kp), b"bulktool-terminal-key/1"))
        wsmod.write_private(ws.path(wsmod.TERMINAL_PUB), keys.format_public(kp.public))
        trained = trained_on or clock.today()
        registry = Registry(ws.path("registry.sqlite"))
        try:
            registry.add_operator(Operator(admin_id, name or admin_id, "administrator", trained,
                                           fiscal_year_end_after(trained), False, False, 0,
                                           wsmod.wrap_kek(kek, passphrase, admin_id)), clock.timestamp())
        finally:
            registry.close()
        create_store(ws.home, store)
        if store:
            ws.config["store"] = store
        with Ledger(ws.path("ledger.sqlite")) as ledger:
            ledger.append({"event": "開設", "operator_id": admin_id, "terminal_id": terminal_id,
                           "note": f"作業領域の開設（端末鍵 {kp.public.fingerprint}）"},
                          key=kp.ed25519, timestamp=clock.timestamp())
        for p in (ws.home / "ledger.sqlite", ws.home / SQLITE_FILE):
            if p.exists():
                os.chmod(p, 0o600)
        ws.save_config()  # last: its presence marks a complete workspace
    except BaseException:
        for p in created:
            p.unlink(missing_ok=True)
        raise
    log_outcome(ws, clock, operator_id=admin_id, command="init", outcome="成功")
    os.chmod(ws.path("oplog.sqlite"), 0o600)
    return ws, kp.public.fingerprint


def add(writer: LedgerWriter, registry: Registry, kek: bytes, operator_id: str, *, name: str, role: str,
        trained_on: date, valid_until: date | None, passphrase: bytes) -> Operator:
    if role not in ROLES:
        raise BulkError("E-AUTH-010", role=role)
    check_operator_id(operator_id)
    check_passphrase(passphrase)
    op = Operator(operator_id, name, role, trained_on, valid_until or fiscal_year_end_after(trained_on),
                  False, False, 0, wsmod.wrap_kek(kek, passphrase, operator_id))
    registry.add_operator(op, writer.clock.timestamp())
    writer.record("登録変更", note=OperatorChange(ADDED, operator_id, role=role, valid_until=op.valid_until).note())
    return op


def _existing(registry: Registry, operator_id: str) -> Operator:
    op = registry.operator(operator_id)
    if op is None:
        raise BulkError("E-AUTH-001", operator=operator_id)
    return op


def _may_touch(actor: Operator, target: Operator) -> None:
    """A security officer unlocks and renews administrators only (contract §8)."""
    if actor.role == "security" and target.role != "administrator":
        raise BulkError("E-AUTH-014")


def revoke(writer: LedgerWriter, registry: Registry, operator_id: str) -> None:
    target = _existing(registry, operator_id)
    if target.role == "administrator":
        others = [o for o in registry.valid_administrators(writer.clock.today()) if o.operator_id != operator_id]
        if not others:
            raise BulkError("E-AUTH-009")
    # Deleting the slot is what revokes: the passphrase can no longer unlock the terminal key.
    registry.update_operator(operator_id, revoked=1, slot=b"")
    writer.record("登録変更", note=OperatorChange(REVOKED, operator_id).note())


def unlock(writer: LedgerWriter, registry: Registry, actor: Operator, operator_id: str) -> None:
    _may_touch(actor, _existing(registry, operator_id))
    registry.update_operator(operator_id, locked=0, failures=0)
    writer.record("登録変更", note=OperatorChange(UNLOCKED, operator_id).note())


def renew(writer: LedgerWriter, registry: Registry, actor: Operator, operator_id: str, *, trained_on: date,
          valid_until: date | None) -> Operator:
    _may_touch(actor, _existing(registry, operator_id))
    until = valid_until or fiscal_year_end_after(trained_on)
    registry.update_operator(operator_id, trained_on=trained_on, valid_until=until)
    writer.record("登録変更", note=OperatorChange(RENEWED, operator_id, trained_on=trained_on, valid_until=until).note())
    return _existing(registry, operator_id)


def change_passphrase(writer: LedgerWriter, registry: Registry, kek: bytes, passphrase: bytes) -> None:
    check_passphrase(passphrase)
    oid = writer.actor.operator_id
    registry.update_operator(oid, slot=wsmod.wrap_kek(kek, passphrase, oid))
    writer.record("登録変更", note=OperatorChange(PASSPHRASE, oid).note())


@dataclass
class OperatorLine:
    operator: Operator
    state: str  # 有効, 失効, ロック, 研修前, 期限切れ


def listing(registry: Registry, today: date) -> list[OperatorLine]:
    lines = []
    for o in registry.operators():
        refusal = o.refusal(today)
        lines.append(OperatorLine(o, STATE_LABELS[refusal.code if refusal else None]))
    return lines
