"""Workspace set-up and the registries' services: init, operators, departments, terminal key."""
from __future__ import annotations

import os
import shutil
from datetime import date

from bulktool import workspace as wsmod
from bulktool.messages import BulkError
from bulktool.registry import ROLES, Department, Operator, Registry, fiscal_year_end_after, validate_fields
from bulktool.clock import Clock
from bulktool.session import Session, log_outcome
from bulktool.workspace import Workspace

MIN_PASSPHRASE = 8


def check_passphrase(passphrase: bytes) -> bytes:
    if len(passphrase.decode("utf-8", "replace")) < MIN_PASSPHRASE:
        raise BulkError("E-AUTH-012", min=MIN_PASSPHRASE)
    return passphrase


def check_operator_id(operator_id: str) -> str:
    from bulktool.session import OPERATOR_ID

    if not OPERATOR_ID.fullmatch(operator_id):
        raise BulkError("E-AUTH-015")
    return operator_id


def init_workspace(home, *, terminal_id: str, admin_id: str, name: str | None, trained_on: date | None,
                   passphrase: bytes, clock: Clock) -> tuple[Workspace, str]:
    """A new workspace with its terminal keys, store, ledger genesis and first administrator.
    Returns the workspace and the terminal key's fingerprint. A second init changes nothing."""
    from bulktool import keys
    from bulktool.ledger import Ledger
    from bulktool.store.sqlite import SqliteStore

    check_passphrase(passphrase)
    check_operator_id(admin_id)
    ws = Workspace.create(home, terminal_id, clock.timestamp())
    created = [ws.path(n) for n in ("registry.sqlite", "store.sqlite", "ledger.sqlite", "oplog.sqlite",
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
        SqliteStore.create(ws.path("store.sqlite")).close()
        ledger = Ledger(ws.path("ledger.sqlite"))
        ledger.append({"event": "開設", "operator_id": admin_id, "terminal_id": terminal_id,
                       "note": f"作業領域の開設（端末鍵 {kp.public.fingerprint}）"},
                      key=kp.ed25519, timestamp=clock.timestamp())
        if hasattr(ledger, "close"):
            ledger.close()
        for p in (ws.home / "ledger.sqlite", ws.home / "store.sqlite"):
            os.chmod(p, 0o600)
        ws.save_config()  # last: its presence marks a complete workspace
    except BaseException:
        for p in created:
            p.unlink(missing_ok=True)
        raise
    log_outcome(ws, clock, operator_id=admin_id, command="init", outcome="成功")
    os.chmod(ws.path("oplog.sqlite"), 0o600)
    return ws, kp.public.fingerprint


# --- operators ------------------------------------------------------------------------------
def add_operator(s: Session, operator_id: str, *, name: str, role: str, trained_on: date,
                 valid_until: date | None, passphrase: bytes) -> Operator:
    if role not in ROLES:
        raise BulkError("E-AUTH-010", role=role)
    check_operator_id(operator_id)
    check_passphrase(passphrase)
    op = Operator(operator_id, name, role, trained_on, valid_until or fiscal_year_end_after(trained_on),
                  False, False, 0, wsmod.wrap_kek(s.kek, passphrase, operator_id))
    s.registry.add_operator(op, s.clock.timestamp())
    s.append("登録変更", note=f"操作者追加 {operator_id}（{role}、有効期限 {op.valid_until.isoformat()}）")
    return op


def _existing(s: Session, operator_id: str) -> Operator:
    op = s.registry.operator(operator_id)
    if op is None:
        raise BulkError("E-AUTH-001", operator=operator_id)
    return op


def _security_may_touch(s: Session, target: Operator) -> None:
    if s.operator.role == "security" and target.role != "administrator":
        raise BulkError("E-AUTH-014")


def revoke_operator(s: Session, operator_id: str) -> None:
    target = _existing(s, operator_id)
    if target.role == "administrator":
        others = [o for o in s.registry.valid_administrators(s.clock.today()) if o.operator_id != operator_id]
        if not others:
            raise BulkError("E-AUTH-009")
    # Deleting the slot is what revokes: the passphrase can no longer unlock the terminal key.
    s.registry.update_operator(operator_id, revoked=1, slot=b"")
    s.append("登録変更", note=f"操作者失効 {operator_id}")


def unlock_operator(s: Session, operator_id: str) -> None:
    target = _existing(s, operator_id)
    _security_may_touch(s, target)
    s.registry.update_operator(operator_id, locked=0, failures=0)
    s.append("登録変更", note=f"操作者ロック解除 {operator_id}")


def renew_operator(s: Session, operator_id: str, *, trained_on: date, valid_until: date | None) -> Operator:
    target = _existing(s, operator_id)
    _security_may_touch(s, target)
    until = valid_until or fiscal_year_end_after(trained_on)
    s.registry.update_operator(operator_id, trained_on=trained_on, valid_until=until)
    s.append("登録変更", note=f"操作者更新 {operator_id}（研修 {trained_on.isoformat()}、有効期限 {until.isoformat()}）")
    return _existing(s, operator_id)


def change_passphrase(s: Session, passphrase: bytes) -> None:
    check_passphrase(passphrase)
    oid = s.operator.operator_id
    s.registry.update_operator(oid, slot=wsmod.wrap_kek(s.kek, passphrase, oid))
    s.append("登録変更", note=f"パスフレーズ変更 {oid}")


# --- departments ----------------------------------------------------------------------------
def parse_purposes(values: list[str]) -> dict[str, str]:
    purposes: dict[str, str] = {}
    for v in values:
        code, sep, basis = v.partition("=")
        if not sep or not code.strip() or not basis.strip():
            raise BulkError("E-DEP-005", value=v)
        purposes[code.strip()] = basis.strip()
    return purposes


def put_department(s: Session, code: str, *, name: str | None, purposes: list[str], fields: list[str] | None,
                   kojin_bango: bool | None, public_key: bytes | None, new: bool) -> tuple[Department, str | None]:
    """Add or update a department; returns it and the fingerprint of its key, if any."""
    from bulktool import keys

    old = s.registry.department(code)
    if new and old is not None:
        raise BulkError("E-DEP-003", department=code)
    if not new and old is None:
        raise BulkError("E-DEP-001", department=code)
    fingerprint = None
    pub_text = old.public_key if old else None
    if public_key is not None:
        fingerprint = keys.read_public(public_key).fingerprint
        pub_text = public_key.decode("utf-8")
    elif pub_text:
        fingerprint = keys.read_public(pub_text.encode("utf-8")).fingerprint
    dep = Department(
        code=code,
        name=name if name is not None else (old.name if old else code),
        purposes=parse_purposes(purposes) if purposes else (old.purposes if old else {}),
        fields=validate_fields(fields) if fields is not None else (old.fields if old else []),
        kojin_bango=kojin_bango if kojin_bango is not None else (old.kojin_bango if old else False),
        public_key=pub_text,
    )
    if not dep.purposes:
        raise BulkError("E-DEP-005", value="（なし）")
    s.registry.put_department(dep, s.clock.timestamp(), new=new)
    note = (f"照会元{'登録' if new else '更新'} {code}（事務 {','.join(dep.purposes)}、提供項目 {','.join(dep.fields)}"
            f"、個人番号 {'可' if dep.kojin_bango else '不可'}"
            + (f"、公開鍵 {fingerprint}" if fingerprint else "") + "）")
    s.append("登録変更", department=code, note=note)
    return dep, fingerprint


def terminal_public(ws: Workspace) -> bytes:
    return ws.path(wsmod.TERMINAL_PUB).read_bytes()


def copy_public_key(ws: Workspace, out) -> str:
    from bulktool import keys

    data = terminal_public(ws)
    shutil.copyfile(ws.path(wsmod.TERMINAL_PUB), out)
    return keys.read_public(data).fingerprint
