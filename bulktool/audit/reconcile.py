"""The reconciliation (contract §10): findings AUD-01 … AUD-15 as pure functions over plain records —
ledger entries (dicts of ledger.ENTRY_FIELDS), operation-log records, registry rows, the inventory
and the listings of the drives given with --media. No workspace, no clock: the audit date comes in.

Each finding is reported once. Where one fact would raise two findings, the stronger one alone is
reported: an output never handed over (AUD-06) is not also reported as not received (AUD-07); an
出力 that a 再発行 replaced is judged through the 再発行. No finding carries personal data: codes,
media IDs, entry numbers, file names and dates only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

from bulktool.audit.inventory import InventoryRow
from bulktool.audit.links import COMMAND_EVENTS, link
from bulktool.audit.operators import OperatorRow, violations
from bulktool.registry import fiscal_year_end

SEVERITY = {"AUD-01": "高", "AUD-02": "高", "AUD-03": "高", "AUD-04": "中", "AUD-05": "中", "AUD-06": "中",
            "AUD-07": "中", "AUD-08": "低", "AUD-09": "高", "AUD-10": "高", "AUD-11": "高", "AUD-12": "高",
            "AUD-13": "中", "AUD-14": "中", "AUD-15": "低"}
SEVERITY_ORDER = {"高": 0, "中": 1, "低": 2}
OUTPUTS = ("出力", "再発行")
CLOSING = ("出力", "拒否", "失敗")
FILE_EVENTS = ("受付", "出力", "再発行")
_PURGED = re.compile(r"(\d{4}-\d{2}-\d{2}) より前の操作履歴を削除")


@dataclass(frozen=True)
class Finding:
    code: str
    media_id: str
    entries: tuple[int, ...]
    text: str
    day: date | None = None   # for a finding that cites no entry but has a date (an operation-log record)

    @property
    def severity(self) -> str:
        return SEVERITY[self.code]

    def row(self) -> list[str]:
        """コード, 重要度, 媒体ID, 管理簿番号 (space separated), 内容."""
        return [self.code, self.severity, self.media_id, " ".join(map(str, self.entries)), self.text]


@dataclass(frozen=True)
class DriveListing:
    """A drive given with --media: its media ID (from its verified media ID file) and every other
    file on it, by path relative to the drive, with its SHA-256."""
    media_id: str
    files: dict[str, str]


@dataclass(frozen=True)
class Verification:
    """What AUD-01 needs of the ledger's verification (ledger.VerifyReport has these)."""
    ok: bool
    first_bad: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Options:
    as_of: date
    since: date | None = None
    receipt_days: int = 14
    erase_days: int = 30


def day_of(e: dict) -> date:
    return date.fromisoformat(str(e.get("timestamp"))[:10])


def sort_findings(found: Iterable[Finding]) -> list[Finding]:
    """高 first, then by code, then by the first entry cited."""
    return sorted(found, key=lambda f: (SEVERITY_ORDER[f.severity], f.code, f.entries[:1] or (0,), f.media_id))


# --- the ledger's own facts -----------------------------------------------------------------
@dataclass
class MediaState:
    media_id: str
    registered: dict | None = None
    disposed: dict | None = None
    lost: dict | None = None
    loan: dict | None = None          # the 貸与 not yet returned
    department: str = ""

    @property
    def label(self) -> str:
        if self.disposed:
            return "廃棄"
        if self.lost:
            return "紛失"
        return "貸与中" if self.loan else "登録"


def media_states(entries: list[dict]) -> dict[str, MediaState]:
    """Each drive's state as the ledger tells it, by media ID."""
    states: dict[str, MediaState] = {}
    for e in entries:
        mid = e.get("media_id")
        if not mid:
            continue
        st = states.setdefault(mid, MediaState(mid))
        ev = e.get("event")
        if ev == "媒体登録":
            st.registered, st.department = e, e.get("department") or ""
        elif ev == "廃棄":
            st.disposed = e
        elif ev == "紛失":
            st.lost = e
        elif ev == "貸与":
            st.loan = e
        elif ev == "返却":
            st.loan = None
    return states


def cited_by(entries: list[dict], events: tuple[str, ...]) -> dict[int, list[dict]]:
    """For each entry number, the entries of `events` that cite it (ref), in order."""
    out: dict[int, list[dict]] = {}
    for e in entries:
        if e.get("event") in events and isinstance(e.get("ref"), int):
            out.setdefault(e["ref"], []).append(e)
    return out


# --- the findings -----------------------------------------------------------------------------
def aud01(v: Verification) -> list[Finding]:
    if v.ok:
        return []
    return [Finding("AUD-01", "", (v.first_bad,) if v.first_bad else (), f"管理簿の検証に失敗: {v.reason}")]


def inventory_findings(states: dict[str, MediaState], inventory: list[InventoryRow]) -> list[Finding]:
    """AUD-02, AUD-03, AUD-04: the inventory against the ledger."""
    found = []
    listed = {r.media_id: r for r in inventory}
    for mid, st in sorted(states.items()):
        if st.registered is None or st.disposed or st.lost:
            continue  # a drive the ledger already reports lost is no surprise
        row = listed.get(mid)
        if row is None:
            found.append(Finding("AUD-02", mid, (st.registered["seq"],), "登録済みで廃棄されていない媒体が棚卸表にありません"))
        elif row.state == "紛失":
            found.append(Finding("AUD-02", mid, (st.registered["seq"],),
                                 f"棚卸表で紛失とされています（確認日 {row.checked_on.isoformat()}）"))
    for row in inventory:
        st = states.get(row.media_id)
        if st is None or st.registered is None:
            found.append(Finding("AUD-03", row.media_id, (), f"管理簿に登録の記録がない媒体です（棚卸表 {row.line} 行目）"))
            continue
        problem = None
        if row.state in ("保管中", "貸与中") and st.lost and not st.disposed:
            problem, cite = (f"棚卸表は{row.state}ですが管理簿では紛失の届出があります（見つかったのであれば、"
                             "紛失の届出と漏えい等報告を見直してください）"), st.lost
        elif row.state == "廃棄済" and not st.disposed:
            problem, cite = "棚卸表は廃棄済ですが管理簿に廃棄の記録がありません", st.registered
        elif row.state == "保管中" and st.disposed:
            problem, cite = "棚卸表は保管中ですが管理簿では廃棄済です", st.disposed
        elif row.state == "保管中" and st.loan:
            problem, cite = "棚卸表は保管中ですが管理簿では貸与中（返却の記録なし）です", st.loan
        elif row.state == "貸与中" and not st.loan:
            problem, cite = "棚卸表は貸与中ですが管理簿に返却されていない貸与がありません", st.registered
        if problem:
            found.append(Finding("AUD-04", row.media_id, (cite["seq"],), f"{problem}（棚卸表 {row.line} 行目）"))
    return found


def aud05(entries: list[dict], as_of: date) -> list[Finding]:
    """A loan not returned by the 31 March ending the fiscal year of the loan."""
    found = []
    returns = [e for e in entries if e.get("event") == "返却"]
    for e in entries:
        if e.get("event") != "貸与":
            continue
        due = fiscal_year_end(day_of(e))
        back = next((r for r in returns if r["seq"] > e["seq"] and r.get("media_id") == e.get("media_id")), None)
        if back is None and as_of > due:
            found.append(Finding("AUD-05", e.get("media_id") or "", (e["seq"],),
                                 f"貸与（{e.get('department') or ''}）が返却期限 {due.isoformat()} までに返却されていません"))
        elif back is not None and day_of(back) > due:
            found.append(Finding("AUD-05", e.get("media_id") or "", (e["seq"], back["seq"]),
                                 f"返却期限 {due.isoformat()} を過ぎて返却されました（{day_of(back).isoformat()}）"))
    return found


def _late(first: dict, follow: list[dict], days: int, as_of: date) -> tuple[bool, dict | None]:
    """(late?, the following entry) — late when it came more than `days` after `first`, or has
    not come and `days` have passed by `as_of`."""
    due = day_of(first) + timedelta(days=days)
    nxt = follow[0] if follow else None
    if nxt is None:
        return as_of > due, None
    return day_of(nxt) > due, nxt


def handover_findings(entries: list[dict], opts: Options) -> list[Finding]:
    """AUD-06 (no 受渡 in time) and AUD-07 (no 受領確認 in time) for each 出力 or 再発行."""
    found = []
    handed, received = cited_by(entries, ("受渡",)), cited_by(entries, ("受領確認",))
    replaced = cited_by(entries, ("再発行",))
    for e in entries:
        if e.get("event") not in OUTPUTS or (e.get("event") == "出力" and e["seq"] in replaced):
            continue
        mid = e.get("media_id") or ""
        late, h = _late(e, handed.get(e["seq"], []), opts.receipt_days, opts.as_of)
        if late:
            what = f"受渡が {day_of(h).isoformat()}（{opts.receipt_days} 日超）" if h else "受渡の記録がありません"
            found.append(Finding("AUD-06", mid, (e["seq"],) + ((h["seq"],) if h else ()),
                                 f"{e['event']}（{day_of(e).isoformat()}）の{what}"))
            continue
        late, r = _late(e, received.get(e["seq"], []), opts.receipt_days, opts.as_of)
        if late:
            what = f"受領確認が {day_of(r).isoformat()}（{opts.receipt_days} 日超）" if r else "受領確認の記録がありません"
            found.append(Finding("AUD-07", mid, (e["seq"],) + ((r["seq"],) if r else ()),
                                 f"{e['event']}（{day_of(e).isoformat()}）の{what}"))
    return found


def aud08(entries: list[dict], opts: Options) -> list[Finding]:
    """A 受領確認 with no 消去 of that drive within --erase-days."""
    found = []
    erasures = [e for e in entries if e.get("event") == "消去" and e.get("media_id")]
    for e in entries:
        if e.get("event") != "受領確認" or not e.get("media_id"):
            continue
        after = [x for x in erasures if x["seq"] > e["seq"] and x.get("media_id") == e["media_id"]]
        late, x = _late(e, after, opts.erase_days, opts.as_of)
        if late:
            what = f"消去が {day_of(x).isoformat()}（{opts.erase_days} 日超）" if x else "消去の記録がありません"
            found.append(Finding("AUD-08", e["media_id"], (e["seq"],) + ((x["seq"],) if x else ()),
                                 f"受領確認（{day_of(e).isoformat()}）の後、{what}（照会結果が残っている可能性）"))
    return found


def drive_findings(entries: list[dict], drives: list[DriveListing]) -> list[Finding]:
    """AUD-09, AUD-10, AUD-11: what lies on the drives given with --media."""
    found = []
    for d in drives:
        mine = [e for e in entries if e.get("media_id") == d.media_id and e.get("event") in FILE_EVENTS + ("消去",)]
        for name, sha in sorted(d.files.items()):
            same = [e for e in mine if any(isinstance(f, dict) and f.get("name") == name and f.get("sha256") == sha
                                           for f in e.get("files") or [])]
            if same:
                last = same[-1]
                if last.get("event") == "消去":
                    found.append(Finding("AUD-09", d.media_id, (last["seq"],),
                                         f"消去したとされたファイル {name} が媒体に残っています"))
                continue
            other = [e for e in mine if e.get("event") in FILE_EVENTS and any(
                isinstance(f, dict) and f.get("name") == name for f in e.get("files") or [])]
            if other:
                found.append(Finding("AUD-11", d.media_id, tuple(e["seq"] for e in other),
                                     f"ファイル {name} の SHA-256 が管理簿の記録と異なります（{sha[:16]}…）"))
            else:
                found.append(Finding("AUD-10", d.media_id, (), f"管理簿のどの記録にもないファイル {name} が媒体にあります"))
    return found


def aud12(entries: list[dict], operators: list[OperatorRow]) -> list[Finding]:
    return [Finding("AUD-12", e.get("media_id") or "", (e["seq"],), f"{e.get('event')}: {why}")
            for e, why in violations(entries, operators)]


def aud13(entries: list[dict]) -> list[Finding]:
    ends = cited_by(entries, CLOSING)
    return [Finding("AUD-13", e.get("media_id") or "", (e["seq"],),
                    f"受付（{day_of(e).isoformat()}）を閉じる出力・拒否・失敗の記録がありません")
            for e in entries if e.get("event") == "受付" and e["seq"] not in ends]


def aud14(entries: list[dict], records: list[dict]) -> list[Finding]:
    """The operation log against the ledger, both ways (links.link pairs them)."""
    links = link(entries, records)
    found = []
    for r in records:
        if r.get("outcome") == "成功" and r.get("command") in COMMAND_EVENTS and r["id"] not in links.by_record:
            found.append(Finding("AUD-14", "", (), f"操作履歴 {r['id']} 番（{r.get('command')}、{str(r.get('timestamp'))[:16]}、"
                                                   f"{r.get('operator_id')}）は成功ですが対応する管理簿の記録がありません",
                                 day_of(r)))
    purged = [m.group(1) for e in entries if e.get("event") == "履歴削除"
              for m in [_PURGED.match(str(e.get("note") or ""))] if m]
    kept_from = max(purged, default="")  # records before it were purged, as the ledger says
    for e in entries:
        if e.get("event") == "受付" and e["seq"] not in links.by_entry and str(e.get("timestamp")) >= kept_from:
            found.append(Finding("AUD-14", e.get("media_id") or "", (e["seq"],),
                                 "受付に対応する操作履歴（exchange）の記録がありません"))
    return found


def aud15(entries: list[dict]) -> list[Finding]:
    return [Finding("AUD-15", e.get("media_id") or "", (e["seq"],), "出力に決裁番号がありません")
            for e in entries if e.get("event") == "出力" and not str(e.get("approval_no") or "").strip()]


def reconcile(entries: list[dict], verification: Verification, records: list[dict], operators: list[OperatorRow],
              inventory: list[InventoryRow] | None, drives: list[DriveListing], opts: Options) -> list[Finding]:
    """Every finding, each once, 高 first. `--since` leaves out findings whose entries all predate it
    (a finding citing no entry stays, unless it has a date of its own before `since`)."""
    found = aud01(verification)
    if inventory is not None:
        found += inventory_findings(media_states(entries), inventory)
    found += aud05(entries, opts.as_of) + handover_findings(entries, opts) + aud08(entries, opts)
    found += drive_findings(entries, drives) + aud12(entries, operators) + aud13(entries)
    found += aud14(entries, records) + aud15(entries)
    if opts.since is not None:
        days = {e["seq"]: day_of(e) for e in entries}
        found = [f for f in found if any(days.get(n, opts.since) >= opts.since for n in f.entries)
                 or (not f.entries and (f.day is None or f.day >= opts.since))]
    return sort_findings(found)
