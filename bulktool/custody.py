"""The life of a drive (contract §8) as one table: which command fits which state, what it
needs besides, and the state it leaves the drive in. Every media command, `exchange` and
`reissue` ask `check` before they change anything; a command that does not fit is refused with a
stable code and changes nothing.

Pure: a drive's registry row and the ledger entries about it in, a refusal or the next state out.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bulktool.messages import BulkError


class State(str, Enum):
    REGISTERED = "登録"   # in the 市町村課's custody, or at its department for an exchange
    LENT = "貸与中"       # lent to its department within the fiscal year
    DISPOSED = "廃棄"     # destroyed with permission: no command names it again
    LOST = "紛失"         # reported lost: no command names it again


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[State]
    then: State | None = None        # the state the command leaves the drive in (None: unchanged)
    holder: bool = False             # the drive must be registered (or lent) to the command's department
    all_erased: bool = False         # every result written to the drive erased since
    action: str = ""                 # the Japanese verb for a refusal's message


_LIVE = frozenset({State.REGISTERED, State.LENT})
RULES: dict[str, Rule] = {
    "exchange": Rule(_LIVE, holder=True, action="照会"),
    "reissue": Rule(_LIVE, holder=True, action="再発行"),
    "media lend": Rule(frozenset({State.REGISTERED}), then=State.LENT, holder=True, action="貸与"),
    "media return": Rule(frozenset({State.LENT}), then=State.REGISTERED, action="返却"),
    "media erase": Rule(_LIVE, action="消去"),
    "media dispose": Rule(frozenset({State.REGISTERED}), then=State.DISPOSED, all_erased=True, action="廃棄"),
    "media lost": Rule(_LIVE, then=State.LOST, action="紛失の届出"),
}
# results written to a drive, and the event that takes them off it
WRITES = ("出力", "再発行")
ERASES = "消去"


def unerased(entries: list[dict]) -> list[dict]:
    """The 出力 and 再発行 entries of a drive (its ledger entries, in order) not followed by a
    消去 of that drive: the results it may still hold."""
    held: list[dict] = []
    for e in entries:
        if e["event"] in WRITES:
            held.append(e)
        elif e["event"] == ERASES:
            held.clear()
    return held


def check(command: str, *, media_id: str, status: str, registered_to: str, department: str | None = None,
          held: list[dict] = ()) -> State | None:
    """Refuse `command` on the drive unless its rule allows it; return the state it leaves the
    drive in (None: unchanged)."""
    rule = RULES[command]
    state = State(status)
    if state not in rule.allowed:
        raise _refusal(command, state, media_id, rule)
    if rule.holder and department is not None and registered_to != department:
        raise BulkError("E-MED-002", media_id=media_id, registered=registered_to, department=department)
    if rule.all_erased and held:
        raise BulkError("E-MED-020", media_id=media_id, count=len(held),
                        entries=" ".join(str(e["seq"]) for e in held))
    return rule.then


def _refusal(command: str, state: State, media_id: str, rule: Rule) -> BulkError:
    if state is State.DISPOSED:
        return BulkError("E-MED-011", media_id=media_id)
    if state is State.LOST:
        return BulkError("E-MED-018", media_id=media_id)
    if command == "media return":
        return BulkError("E-MED-012", media_id=media_id)
    if command == "media lend":
        return BulkError("E-MED-013", media_id=media_id)
    return BulkError("E-MED-019", media_id=media_id, action=rule.action)


# --- 受渡 and 受領確認 of one result (an 出力 or 再発行) ------------------------------------
def check_handover(entry: int, handovers: list[dict]) -> None:
    """受渡 once per 出力 or 再発行."""
    if handovers:
        raise BulkError("E-MED-024", entry=entry, done=handovers[0]["seq"])


def check_receipt(entry: int, handovers: list[dict], receipts: list[dict]) -> None:
    """受領確認 after its 受渡, once."""
    if not handovers:
        raise BulkError("E-MED-025", entry=entry)
    if receipts:
        raise BulkError("E-MED-026", entry=entry, done=receipts[0]["seq"])
