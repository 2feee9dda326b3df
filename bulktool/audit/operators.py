"""AUD-12, pure: was each entry's operator, at the entry's time, known, trained, within validity,
not revoked, and of a role that may do that event (contract §8, registry.PERMISSIONS)?

The registry keeps only each operator's present state, so the history is read from the ledger's
own 登録変更 entries (signed, in order), whose notes bulktool/changes.py both writes and parses:
「操作者追加 ID（role、有効期限 D）」, 「操作者更新 ID（研修 D、有効期限 D）」, 「操作者失効 ID」. The registry row fills in what the ledger does not say (the first
administrator's role and dates, which `init` writes before the ledger exists; the training date of
an operator never renewed). A registry whose role or dates were edited by hand cannot make an
entry look allowed: the ledger's word comes first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bulktool import changes
from bulktool.registry import PERMISSIONS, ROLES


# The command whose role-table row decides who may write each event (contract §8).
EVENT_COMMAND = {
    "開設": None, "媒体登録": "media register", "受付": "exchange", "出力": "exchange", "拒否": "exchange",
    "失敗": "exchange", "再発行": "reissue", "受渡": "media handover", "受領確認": "media receipt",
    "貸与": "media lend", "返却": "media return", "消去": "media erase", "廃棄": "media dispose",
    "紛失": "media lost", "取込": "store load", "開示": "disclosure", "履歴削除": "oplog purge",
    "点検": "audit checkpoint", "登録変更": "operator add",
}
# Rows the role table has in the contract that this version may not have in PERMISSIONS yet.
FALLBACK = {"media lost": {"administrator", "security"}, "audit checkpoint": {"auditor"},
            "store load": {"administrator"}}
ANY_ROLE = set(ROLES)


@dataclass(frozen=True)
class OperatorRow:
    """What AUD-12 needs of one registry row."""
    operator_id: str
    role: str
    trained_on: date
    valid_until: date
    revoked: bool


@dataclass
class _State:
    role: str | None = None
    trained_on: date | None = None
    valid_until: date | None = None
    revoked: bool = False
    known: bool = False


def allowed_roles(e: dict, acceptance: dict | None, end: dict | None) -> set[str]:
    """The roles that may write entry `e`. `acceptance` is the 受付 a closing entry cites;
    `end` the entry that closes a 受付. Entries a command writes by itself count as that command's:
    an expired kept copy's 消去 (no media), a crashed 受付 closed as 失敗 by another operator."""
    ev = e.get("event")
    if ev == "開設":
        return {"administrator"}
    if ev == "登録変更":
        change = changes.parse(e.get("note"))
        if change is not None and change.kind == changes.PASSPHRASE:
            return ANY_ROLE
        if change is not None and change.kind in (changes.UNLOCKED, changes.RENEWED):
            return set(PERMISSIONS.get("operator unlock", {"administrator", "security"}))
        if str(e.get("note") or "").startswith(changes.BACKUP_NOTE):  # `backup create` ledgers it as 登録変更
            return set(PERMISSIONS.get("backup create", {"security"}))
        return set(PERMISSIONS.get("operator add", {"administrator"}))
    if ev == "消去" and not e.get("media_id"):
        return ANY_ROLE
    if ev == "失敗" and acceptance is not None and acceptance.get("operator_id") != e.get("operator_id"):
        return ANY_ROLE
    refused_role = "E-AUTH-007"  # a role refused at the exchange is ledgered as 受付 + 拒否 (§9)
    if ev == "受付" and end is not None and end.get("error_code") == refused_role:
        return ANY_ROLE
    if ev == "拒否" and e.get("error_code") == refused_role:
        return ANY_ROLE
    command = EVENT_COMMAND.get(str(ev))
    if command is None:
        return set()
    return set(PERMISSIONS.get(command) or FALLBACK.get(command, set()))


def violations(entries: list[dict], operators: list[OperatorRow]) -> list[tuple[dict, str]]:
    """(entry, reason) for every entry whose operator may not have written it at its time."""
    registry = {o.operator_id: o for o in operators}
    recorded = [c for e in entries if e.get("event") == "登録変更" for c in [changes.parse(e.get("note"))] if c]
    renewed = {c.operator_id for c in recorded if c.kind == changes.RENEWED}
    added = {c.operator_id for c in recorded if c.kind == changes.ADDED}
    # An operator the ledger added is known from that entry on; one it never added (the first
    # administrator) is known as the registry row says.
    states: dict[str, _State] = {oid: _State(o.role, o.trained_on if oid not in renewed else None, o.valid_until,
                                             False, True)
                                 for oid, o in registry.items() if oid not in added}
    by_seq = {e.get("seq"): e for e in entries}
    ends = {e["ref"]: e for e in entries if e.get("event") in ("出力", "拒否", "失敗") and isinstance(e.get("ref"), int)}
    found: list[tuple[dict, str]] = []
    for e in entries:
        oid = e.get("operator_id")
        st = states.get(str(oid))
        day = _day(e.get("timestamp"))
        if st is None or not st.known:
            found.append((e, f"操作者 {oid} は登録されていません"))
        elif st.revoked:
            found.append((e, f"操作者 {oid} はこの時点で失効していました"))
        elif st.trained_on is not None and day is not None and day < st.trained_on:
            found.append((e, f"操作者 {oid} はこの時点で研修前でした（研修 {st.trained_on.isoformat()}）"))
        elif st.valid_until is not None and day is not None and day > st.valid_until:
            found.append((e, f"操作者 {oid} はこの時点で有効期限切れでした（{st.valid_until.isoformat()}）"))
        else:
            acceptance = by_seq.get(e.get("ref")) if e.get("event") in ("失敗", "拒否", "出力") else None
            roles = allowed_roles(e, acceptance, ends.get(e.get("seq")))
            if st.role not in roles:
                found.append((e, f"操作者 {oid}（{st.role}）の役割では「{e.get('event')}」を記録できません"))
        if e.get("event") == "登録変更":
            _apply(states, changes.parse(e.get("note")), registry, renewed)
    return found


def _apply(states: dict[str, _State], change: changes.OperatorChange | None, registry: dict[str, OperatorRow],
           renewed: set[str]) -> None:
    """Advance the operators' history by one 登録変更 entry."""
    if change is None:
        return
    oid = change.operator_id
    if change.kind == changes.ADDED:
        row = registry.get(oid)
        states[oid] = _State(change.role, row.trained_on if row is not None and oid not in renewed else None,
                             change.valid_until, False, True)
    elif change.kind == changes.RENEWED:
        st = states.setdefault(oid, _State())
        st.trained_on, st.valid_until = change.trained_on, change.valid_until
    elif change.kind == changes.REVOKED and oid in states:
        states[oid].revoked = True


def _day(timestamp: object) -> date | None:
    try:
        return date.fromisoformat(str(timestamp)[:10])
    except ValueError:
        return None
