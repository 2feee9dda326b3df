"""Which ledger entries each operation-log record wrote (pure; used by AUD-14 and `oplog list`).

The two logs live in different files and share no key, so a record is linked to entries by who
(operator and terminal), when (the entry at or before the record's time, within MAX_GAP) and what
(the events its command writes, COMMAND_EVENTS; a request's SHA-256 when both sides carry it).
Each entry goes to one record at most; entries a command writes by itself on the side (closing a
crashed 受付 as 失敗, erasing an expired kept copy) are not claimed by any record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# The commands that write ledger entries, and the events each writes (exactly one of each).
COMMAND_EVENTS: dict[str, tuple[str, ...]] = {
    "exchange": ("受付",),   # and the 出力, 拒否 or 失敗 that cites it
    "reissue": ("再発行",),
    "media register": ("媒体登録",),
    "media handover": ("受渡",),
    "media receipt": ("受領確認",),
    "media lend": ("貸与",),
    "media return": ("返却",),
    "media erase": ("消去",),
    "media dispose": ("廃棄",),
    "media lost": ("紛失",),
}
CLOSING = ("出力", "拒否", "失敗")
MAX_GAP = timedelta(days=1)


def when(timestamp: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(timestamp))
    except ValueError:
        return None


@dataclass
class Links:
    by_record: dict[int, list[int]] = field(default_factory=dict)   # oplog id -> entry numbers
    by_entry: dict[int, int] = field(default_factory=dict)           # entry number -> oplog id


def link(entries: list[dict], records: list[dict]) -> Links:
    """Link each operation-log record of COMMAND_EVENTS to the entries it wrote."""
    closing: dict[int, dict] = {}
    for e in entries:
        if e.get("event") in CLOSING and isinstance(e.get("ref"), int):
            closing.setdefault(e["ref"], e)
    pools: dict[tuple, list[dict]] = {}
    for e in entries:
        pools.setdefault((e.get("operator_id"), e.get("terminal_id"), e.get("event")), []).append(e)
    out = Links()
    for r in records:
        events = COMMAND_EVENTS.get(str(r.get("command")))
        t = when(r.get("timestamp"))
        if not events or t is None or r.get("outcome") not in ("成功", "拒否", "失敗"):
            continue
        hashes = set(r.get("hashes") or [])
        pool = pools.get((r.get("operator_id"), r.get("terminal_id"), events[0]), [])
        for e in reversed(pool):  # the latest free entry before the record: its own command's
            if e["seq"] in out.by_entry:
                continue
            te = when(e.get("timestamp"))
            if te is None or te > t or t - te > MAX_GAP:
                continue
            shas = {f.get("sha256") for f in (e.get("files") or []) if isinstance(f, dict)} - {None, ""}
            if hashes and shas and not (hashes & shas):
                continue
            seqs = [e["seq"]]
            end = closing.get(e["seq"]) if events[0] == "受付" else None
            if end is not None and end.get("operator_id") == e.get("operator_id"):
                seqs.append(end["seq"])
            for s in seqs:
                out.by_entry[s] = r["id"]
            out.by_record[r["id"]] = seqs
            break
    return out
