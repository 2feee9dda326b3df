"""The operation log's hash chain, pure (contract §7; used by bulktool/oplog.py): the hash of a
record, the verification of a sequence of records from an anchor against checkpoints, and the
marks the 管理簿 keeps of the log (a purge's anchor in its 履歴削除 note, the log's head in a
点検 note). No files, no clock: plain dicts in, a report out. The canonical form is the
ledger's (ledger.chain.canonical_json), so that the two chains hash alike.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Iterable

from bulktool.ledger.chain import GENESIS_PREV, canonical_json
from bulktool.messages import BulkError

# Every stored column of a record, in storage order, then the previous record's hash: hashed.
FIELDS = ("id", "timestamp", "operator_id", "terminal_id", "command", "outcome", "code", "counts", "hashes",
          "detail")
CHAIN_FIELDS = FIELDS + ("prev_hash",)


def record_hash(row: dict) -> str:
    """SHA-256 of the canonical form (ledger.chain.canonical_json) of a record's CHAIN_FIELDS as
    stored (counts and hashes as their JSON text)."""
    return hashlib.sha256(canonical_json({k: row.get(k) for k in CHAIN_FIELDS})).hexdigest()


def format_mark(n: int, h: str) -> str:
    return f"{n}:{h}"


_ANCHOR_NOTE = re.compile(r"操作履歴の起点 (\d+):([0-9a-f]{64})")
_HEAD_NOTE = re.compile(r"操作履歴 (\d+):([0-9a-f]{64})")


def anchor_note(anchor: tuple[int, str]) -> str:
    """What a 履歴削除 entry's note says of the purge's anchor (read back by `ledgered_marks`)."""
    return f"操作履歴の起点 {format_mark(*anchor)}"


def head_note(head: tuple[int, str]) -> str:
    """What a 点検 entry's note says of the operation log's head (read back by `ledgered_marks`)."""
    return f"操作履歴 {format_mark(*head)}"


def ledgered_marks(entries: Iterable[dict]) -> tuple[tuple[int, str] | None, list[tuple[int, str]]]:
    """From the 管理簿's entries: the anchor of the latest 履歴削除 that recorded one, and the
    operation log's heads that 点検 entries recorded (checkpoints a later log must still hold)."""
    anchor, heads = None, []
    for e in entries:
        note = str(e.get("note") or "")
        if e.get("event") == "履歴削除":
            m = _ANCHOR_NOTE.search(note)
            if m:
                anchor = (int(m.group(1)), m.group(2))
        elif e.get("event") == "点検":
            m = _HEAD_NOTE.search(note)
            if m:
                heads.append((int(m.group(1)), m.group(2)))
    return anchor, heads


@dataclass(frozen=True)
class OplogReport:
    """What `verify_records` found. `bad` is the number of the first bad record (or of the
    checkpoint that failed); `reason` is Japanese, without personal data."""
    ok: bool
    count: int                        # records read (reading stops at the first break)
    head: tuple[int, str] | None      # (number, own hash) of the last good record; None when none
    anchor: tuple[int, str] | None    # the purge anchor the chain was read from, if any
    bad: int | None = None
    reason: str = ""
    code: str | None = None           # E-LOG-002 (record), E-LOG-003 (truncated), E-LOG-004 (checkpoint)
    params: dict = field(default_factory=dict)
    checkpoints: int = 0              # checkpoints compared

    @property
    def checkpoint(self) -> str:
        """`N:HASH` of the last good record ("0:" + zeros when the log is empty)."""
        return format_mark(*(self.head or (0, GENESIS_PREV)))

    def error(self) -> BulkError | None:
        return None if self.ok else BulkError(self.code or "E-LOG-002", **self.params)

    def summary(self) -> str:
        """One Japanese line for the screen and the audit report."""
        if self.ok:
            return f"正常（{self.count:,} 件）"
        return f"不正（{self.code}: {self.error().message}）"


def verify_records(rows: Iterable[dict], *, anchor: tuple[int, str] | None = None,
                   checkpoints: Iterable[tuple[int, str]] = ()) -> OplogReport:
    """Verify a chain of records (dicts of CHAIN_FIELDS + "hash", in number order).

    The first record follows `anchor` (N:HASH recorded by the 管理簿's latest 履歴削除: its number
    is N and its prev_hash HASH) or, with none, the genesis (64 zeros). Then each number is the
    last plus one, each prev_hash the last record's hash, each hash the record's own. Every
    checkpoint (n, HASH) at or after the anchor must name a record present with that hash;
    one past the last record is truncation. Reading stops at the first break."""
    want_n, prev = (anchor[0], anchor[1]) if anchor else (None, GENESIS_PREV)
    marks = sorted(set(checkpoints))
    wanted = {n for n, _ in marks}
    seen: dict[int, str] = {}   # number -> own hash, for the records a checkpoint names
    count, head, first_id, last_id = 0, None, None, None

    def failed(bad: int, reason: str) -> OplogReport:
        return OplogReport(False, count, head, anchor, bad, reason, "E-LOG-002", {"record": bad, "reason": reason})

    for r in rows:
        rid = r.get("id")
        if last_id is None:
            if want_n is not None and rid != want_n:
                return failed(rid, f"先頭の記録の番号が、管理簿の履歴削除が記録した起点 {want_n} 番と一致しません（記録の削除）")
        elif rid != last_id + 1:
            return failed(rid, f"番号が連続していません（{last_id} 番の次が {rid} 番。記録の削除・挿入・並べ替え）")
        if not r.get("hash"):
            return failed(rid, "連鎖のハッシュがありません（連鎖の外から挿入された記録）")
        if r.get("prev_hash") != prev:
            if last_id is None:
                what = "管理簿の履歴削除が記録した起点" if anchor else "連鎖の始まり（0 が 64 個）"
                return failed(rid, f"先頭の記録の前ハッシュが{what}と一致しません（先頭の記録の削除、"
                                   "または管理簿に記録されていない削除）")
            return failed(rid, "前ハッシュが直前の記録のハッシュと一致しません（記録の削除・挿入・並べ替え）")
        try:
            h = record_hash(r)
        except (TypeError, ValueError):
            return failed(rid, "記録の形式が不正です（改ざんまたは破損）")
        if h != r.get("hash"):
            return failed(rid, "記録の内容がハッシュと一致しません（改ざん）")
        count, head, last_id, prev = count + 1, (rid, h), rid, h
        first_id = rid if first_id is None else first_id
        if rid in wanted:
            seen[rid] = h

    compared = 0
    for n, h in marks:
        if anchor is not None and n < anchor[0]:
            continue  # purged since, as the 管理簿 records
        compared += 1
        if n in seen:
            if seen[n] != h:
                reason = "ハッシュがチェックポイントと一致しません（チェックポイント以前の記録の書き換え）"
                return OplogReport(False, count, head, anchor, n, reason, "E-LOG-004", {"n": n, "reason": reason},
                                   compared)
        elif last_id is None or n > last_id:
            last = last_id if last_id is not None else (anchor[0] - 1 if anchor else 0)
            reason = f"操作履歴が切り詰められています（チェックポイント {n} 番に対し最後の記録は {last} 番）"
            return OplogReport(False, count, head, anchor, n, reason, "E-LOG-003", {"n": n, "last": last}, compared)
        else:  # before the first record, and no ledgered purge explains it
            reason = f"チェックポイントの記録がありません（先頭の記録は {first_id} 番。記録の削除）"
            return OplogReport(False, count, head, anchor, n, reason, "E-LOG-004", {"n": n, "reason": reason},
                               compared)
    return OplogReport(True, count, head, anchor, checkpoints=compared)
