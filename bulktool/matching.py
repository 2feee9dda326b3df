"""Bulk matching of search conditions against a StoreBackend (SPEC §3, §4, §5).

Streams the conditions in batches: per batch, one lookup per key kind finds every person any
row of the batch could mean, one more fetches all versions of those persons; then each row is
decided in memory against the record *in force on the 基準日*:

- jumin: among a person's rows with 異動年月日 ≤ D and 削除フラグ not set, the highest 更新順番号;
  fuhyo: the latest 異動年月日 ≤ D. A key (個人番号, 住民票コード) or the 4情報 must hold on that
  record, not merely on some old version.
- exactly one person → 00 該当 (10 when the record in force is a 消除); none → 20; more than one
  → 30 with the number of candidates and no data of any of them.
- 4情報 = name (漢字 or かな; 旧氏 + given name also matches) + 生年月日 + 住所, 性別 narrowing. A
  condition without 住所 is never a hit (RowError upstream; refused here again).
"""
from __future__ import annotations

from datetime import date
from itertools import islice
from typing import Iterable, Iterator

from bulktool import normalize
from bulktool.model import TARGET_FUHYO, MatchResult, RowError, SearchCondition, Status
from bulktool.store.schema import FUHYO_STATUS_REMOVED, KIND_FUHYO, KIND_JUMIN, is_removal


def in_force_jumin(versions: list[dict], as_of: str) -> dict | None:
    best = None
    for v in versions:
        if v["deleted_flag"] or v["change_date"] > as_of:
            continue
        if best is None or v["update_seq"] > best["update_seq"]:
            best = v
    return best


def in_force_fuhyo(versions: list[dict], as_of: str) -> dict | None:
    best = None
    for v in versions:
        if v["change_date"] <= as_of and (best is None or v["change_date"] > best["change_date"]):
            best = v
    return best


class _Query:
    """A condition with its normalised keys (computed once)."""

    __slots__ = ("cond", "kind", "mode", "name", "kana", "addr", "birth")

    def __init__(self, cond: SearchCondition) -> None:
        self.cond = cond
        self.kind = KIND_FUHYO if cond.target == TARGET_FUHYO else KIND_JUMIN
        self.name = normalize.name_key(cond.name) if cond.name else None
        self.kana = normalize.kana_key(cond.name_kana) if cond.name_kana else None
        self.addr = normalize.address_key(cond.address) if cond.address else None
        self.birth = cond.birth_date.isoformat() if cond.birth_date else None
        if cond.kojin_bango and self.kind == KIND_JUMIN:
            self.mode = "kojin"
        elif cond.jumin_code:
            self.mode = "code"
        elif (self.name or self.kana) and self.birth and self.addr:
            self.mode = "four"
        else:
            self.mode = None

    def holds(self, rec: dict) -> bool:
        """Whether the condition holds on a record (the one in force)."""
        c = self.cond
        if self.mode == "kojin":
            return rec["kojin_bango"] == c.kojin_bango
        if self.mode == "code":
            return rec["jumin_code"] == c.jumin_code
        if rec["birth_date"] != self.birth:
            return False
        if self.addr != rec["k_addr"] and not (self.kind == KIND_FUHYO and self.addr == rec.get("k_last_addr")):
            return False
        if self.name and self.name not in (rec["k_name"], rec["k_old_name"]):
            return False
        if self.kana and self.kana not in (rec["k_kana"], rec["k_old_kana"]):
            return False
        if c.sex and rec["sex"] != c.sex:
            return False
        return True


def _record(kind: str, rec: dict, kojin: str | None) -> dict[str, str]:
    out = {"住民票コード": rec["jumin_code"], "氏名": rec["name"], "氏名かな": rec["name_kana"],
           "生年月日": rec["birth_date"], "性別": rec["sex"], "住所": rec["address"] or ""}
    if kind == KIND_JUMIN:
        out.update({"個人番号": rec["kojin_bango"] or "", "異動事由": rec["change_reason"],
                    "異動年月日": rec["change_date"]})
    elif kojin is not None:
        out["個人番号"] = kojin
    return out


def _no_key_error(item: SearchCondition) -> MatchResult:
    err = RowError(item.row_no, item.line, item.renban, "住所", "4情報の照会には住所が必要です")
    return MatchResult(item.row_no, item.renban, Status.INPUT_ERROR, None, err.message)


def match(items: Iterable[SearchCondition | RowError], backend, *, as_of: date, kojin_bango_for_fuhyo: bool,
          batch_size: int = 5000) -> Iterator[MatchResult]:
    """One MatchResult per item, in input order."""
    it = iter(items)
    day = as_of.isoformat()
    while True:
        batch = list(islice(it, batch_size))
        if not batch:
            return
        yield from _match_batch(batch, backend, day, kojin_bango_for_fuhyo)


def _match_batch(batch: list, backend, day: str, kojin_for_fuhyo: bool) -> list[MatchResult]:
    queries: list[_Query | None] = [None if isinstance(x, RowError) else _Query(x) for x in batch]
    live = [q for q in queries if q is not None and q.mode is not None]
    kojin_codes = backend.codes_by_kojin_bango([q.cond.kojin_bango for q in live if q.mode == "kojin"])
    four = {kind: backend.codes_by_four(kind, [(q.birth, q.addr) for q in live if q.mode == "four" and q.kind == kind])
            for kind in (KIND_JUMIN, KIND_FUHYO)}
    candidates: dict[int, set[str]] = {}
    wanted = {KIND_JUMIN: set(), KIND_FUHYO: set()}
    for i, q in enumerate(queries):
        if q is None or q.mode is None:
            continue
        if q.mode == "kojin":
            codes = kojin_codes.get(q.cond.kojin_bango, set())
        elif q.mode == "code":
            codes = {q.cond.jumin_code}
        else:
            codes = four[q.kind].get((q.birth, q.addr), set())
        candidates[i] = codes
        wanted[q.kind] |= codes
    versions = {kind: backend.versions(kind, codes) if codes else {} for kind, codes in wanted.items()}
    in_force = {KIND_JUMIN: {c: in_force_jumin(v, day) for c, v in versions[KIND_JUMIN].items()},
                KIND_FUHYO: {c: in_force_fuhyo(v, day) for c, v in versions[KIND_FUHYO].items()}}
    hits: dict[int, list[dict]] = {}
    fuhyo_hit_codes: set[str] = set()
    for i, codes in candidates.items():
        q = queries[i]
        recs = [r for r in (in_force[q.kind].get(c) for c in codes) if r is not None and q.holds(r)]
        hits[i] = recs
        if q.kind == KIND_FUHYO and len(recs) == 1:
            fuhyo_hit_codes.add(recs[0]["jumin_code"])
    kojin_of: dict[str, str] = {}
    if kojin_for_fuhyo and fuhyo_hit_codes:
        # 個人番号 for a 附票 answer: from the jumin record in force, in process memory only.
        for code, vers in backend.versions(KIND_JUMIN, fuhyo_hit_codes).items():
            rec = in_force_jumin(vers, day)
            if rec is not None and rec["kojin_bango"]:
                kojin_of[code] = rec["kojin_bango"]
    out: list[MatchResult] = []
    for i, item in enumerate(batch):
        if isinstance(item, RowError):
            out.append(MatchResult(item.row_no, item.renban or "", Status.INPUT_ERROR, None, item.message))
            continue
        q = queries[i]
        if q.mode is None:
            out.append(_no_key_error(item))
            continue
        recs = hits[i]
        if not recs:
            out.append(MatchResult(item.row_no, item.renban, Status.NOT_FOUND, 0, Status.NOT_FOUND.label))
        elif len(recs) > 1:
            out.append(MatchResult(item.row_no, item.renban, Status.MULTIPLE, len(recs), Status.MULTIPLE.label))
        else:
            rec = recs[0]
            if q.kind == KIND_JUMIN:
                removed = is_removal(rec["change_reason"])
                kojin = None
            else:
                removed = rec["fuhyo_status"] == FUHYO_STATUS_REMOVED
                kojin = kojin_of.get(rec["jumin_code"], "") if kojin_for_fuhyo else None
            status = Status.HIT_REMOVED if removed else Status.HIT
            out.append(MatchResult(item.row_no, item.renban, status, 1, status.label,
                                   _record(q.kind, rec, kojin), bool(rec["gaiji_flag"])))
    return out
