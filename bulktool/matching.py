"""Bulk matching of search conditions against a StoreBackend (contract §3, §4, §5).

    for result in match(items, store, as_of=date(2025, 4, 1), kojin_bango_for_fuhyo=False): ...

Streaming: the items are taken `batch_size` at a time. Per batch there is one backend lookup
per key mode and store file (個人番号, 住民票コード, 4情報 × jumin/fuhyo) — never one query
per row — returning the record in force of every person the batch could mean; each row is then
decided in memory. Memory is bounded by LOOKAHEAD + 1 (two) batches and their candidates,
whatever the input size. Results come out one per item, in input order. The lookups of the next
batch run on one worker thread while this one decides the current batch (`overlap`): on two
cores the database's work and the Python of parsing, deciding and writing proceed side by side.

Rules
- Record in force on the 基準日 D (contract §2, backend.in_force): chosen by the backend's lookups;
  a person with no record in force on D is not found.
- Key priority: 個人番号 (本人確認情報 only), then 住民票コード, then 4情報. A key must be carried
  by the record in force: a person found through an old version's 個人番号 is met only through
  an index of the records in force by their own 個人番号, so an old number finds nobody.
- 4情報: 生年月日 AND 住所 (address_key; for 附票 also 最終住所漢字, for persons abroad) AND the
  name — 氏名 (name_key) and/or 氏名かな (kana_key), each given one must agree; 旧氏 + given name
  also matches — with 性別 narrowing when given. All on the record in force. A condition without
  a key and without 住所 is never a hit: 90 (it is a RowError upstream already).
- One person → 00 該当, or 10 該当（消除者） when the record in force is a 消除 (model.is_removal
  on the 異動事由 for jumin; 附票本人確認情報状態区分 model.FUHYO_STATUS_REMOVED for fuhyo). None → 20 (count 0). More than one →
  30 with the number of persons and no data of any.
- 附票 results carry 個人番号 only when kojin_bango_for_fuhyo: taken from the jumin record in
  force through the 住民票コード, in process memory; the 住所 of a person abroad (住所漢字 empty)
  is the 最終住所漢字 of the record.
"""
from __future__ import annotations

import gc
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Iterable, Iterator, Mapping

from bulktool import normalize
from bulktool.model import (FUHYO_STATUS_REMOVED, KIND_FUHYO, KIND_JUMIN, MatchResult, RowError, SearchCondition,
                            Status, is_removal)
from bulktool.store.backend import InForce, StoreBackend

MODE_KOJIN, MODE_CODE, MODE_FOUR = "kojin", "code", "four"
#: Batches whose lookups run ahead of the batch being decided (overlap=True).
LOOKAHEAD = 1
_LABEL = {s: s.label for s in Status}  # Status.label is a property: a dict read is cheaper per row
NO_ADDRESS_REASON = "4情報の照会には住所が必要です（氏名と生年月日だけでは照合しません）"


@contextmanager
def fewer_collections(threshold0: int = 100_000):
    """Run the cyclic garbage collector less often while a large request streams.

    Matching and writing allocate millions of short-lived, acyclic objects (rows, keys, results)
    that reference counting frees; with the default threshold (700) the collector ran 1,323
    times and took 1.08 s of a 7.06 s 100k-row pipeline (benchmarks/bench_matching.py, measured
    with gc.callbacks). Nothing else changes: objects are freed as before, and the old
    thresholds come back on exit."""
    old = gc.get_threshold()
    gc.set_threshold(threshold0, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


class _Query:
    """A condition with its normalised keys, computed once."""

    __slots__ = ("cond", "kind", "mode", "name", "kana", "addr", "birth")

    def __init__(self, cond: SearchCondition) -> None:
        self.cond = cond
        self.kind = cond.kind
        self.name = self.kana = self.addr = self.birth = None
        if cond.kojin_bango and self.kind == KIND_JUMIN:
            self.mode = MODE_KOJIN  # a key row: the 4情報 it may also carry are not compared
        elif cond.jumin_code:
            self.mode = MODE_CODE
        else:
            self.name = normalize.name_key(cond.name) if cond.name else None
            self.kana = normalize.kana_key(cond.name_kana) if cond.name_kana else None
            self.addr = normalize.address_key(cond.address) if cond.address else None
            self.birth = cond.birth_date.isoformat() if cond.birth_date else None
            # defence in depth: never a hit without 住所 or a key
            self.mode = MODE_FOUR if (self.name or self.kana) and self.birth and self.addr else None

    def holds(self, rec: Mapping) -> bool:
        """Whether the 4情報 condition holds on `rec`, the record in force. (A key condition
        needs no check: its candidates come from an index built on that very key of the
        records in force, so they carry it.)"""
        if rec["birth_date"] != self.birth:
            return False
        if self.addr != rec["k_addr"] and not (self.kind == KIND_FUHYO and self.addr == rec["k_last_addr"]):
            return False
        if self.name is not None and self.name != rec["k_name"] and self.name != rec["k_old_name"]:
            return False
        if self.kana is not None and self.kana != rec["k_kana"] and self.kana != rec["k_old_kana"]:
            return False
        if self.cond.sex and rec["sex"] != self.cond.sex:
            return False
        return True


_JUMIN_CELLS = itemgetter("jumin_code", "name", "name_kana", "birth_date", "sex", "address", "kojin_bango",
                          "change_reason", "change_date")
_FUHYO_CELLS = itemgetter("jumin_code", "name", "name_kana", "birth_date", "sex", "address", "last_address")
_is_removal = lru_cache(maxsize=4096)(is_removal)  # a handful of distinct 異動事由 in any store


def _jumin_record(rec: Mapping) -> dict[str, str]:
    code, name, kana, birth, sex, address, number, reason, changed = _JUMIN_CELLS(rec)
    return {"住民票コード": code, "氏名": name, "氏名かな": kana or "", "生年月日": birth, "性別": sex,
            "住所": address, "個人番号": number or "", "異動事由": reason, "異動年月日": changed}


def _fuhyo_record(rec: Mapping) -> dict[str, str]:
    """A 附票 answer: the 住所漢字, or for a person abroad the 最終住所漢字. (個人番号 is added
    by _decide for a permitted purpose.)"""
    code, name, kana, birth, sex, address, last = _FUHYO_CELLS(rec)
    return {"住民票コード": code, "氏名": name, "氏名かな": kana or "", "生年月日": birth, "性別": sex,
            "住所": address or last or ""}


def match(items: Iterable[SearchCondition | RowError], backend: StoreBackend, *, as_of: date,
          kojin_bango_for_fuhyo: bool, batch_size: int = 5000, overlap: bool = True) -> Iterator[MatchResult]:
    """One MatchResult per item, in input order, streaming `batch_size` items at a time.

    overlap: the backend lookups of batch k+1 run on one worker thread while this thread decides
    batch k and the caller writes its results (and parses what follows). The lookups are the
    database's work — SQLite does it with the GIL released — so on two cores the two overlap.
    Every backend call of one match() runs on that one worker, one at a time, in batch order;
    the answers are the same with overlap=False (tests/test_matching.py checks both ways).
    At most LOOKAHEAD + 1 batches (two) and their candidates are held at once."""
    if batch_size < 1:
        raise ValueError("batch_size")
    it = iter(items)
    day = as_of.isoformat()
    batches = iter(lambda: list(islice(it, batch_size)), [])
    if not overlap:
        for batch in batches:
            queries = _queries(batch)
            yield from _decide(batch, queries, _lookup(backend, queries, day), backend.lookup_jumin_by_codes,
                               day, kojin_bango_for_fuhyo)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulktool-lookup") as worker:
        def by_codes(codes, as_of):
            return worker.submit(backend.lookup_jumin_by_codes, codes, as_of).result()

        pending: deque = deque()  # (batch, queries, lookup future), oldest first
        try:
            for batch in batches:
                queries = _queries(batch)
                pending.append((batch, queries, worker.submit(_lookup, backend, queries, day)))
                if len(pending) > LOOKAHEAD:
                    done, queries, found = pending.popleft()
                    yield from _decide(done, queries, found.result(), by_codes, day, kojin_bango_for_fuhyo)
            while pending:
                done, queries, found = pending.popleft()
                yield from _decide(done, queries, found.result(), by_codes, day, kojin_bango_for_fuhyo)
        finally:
            for _, _, found in pending:
                found.cancel()  # a caller that stopped early: no lookup left queued on the store


def _queries(batch: list) -> list[_Query | None]:
    return [None if isinstance(x, RowError) else _Query(x) for x in batch]


def _lookup(backend: StoreBackend, queries: list[_Query | None], day: str) -> dict[tuple[str, str], InForce]:
    """The record in force on `day` of every person the batch can mean, per (kind, key mode),
    in ≤ 5 backend calls."""
    live = [q for q in queries if q is not None and q.mode is not None]

    def keys(kind: str, mode: str, attr) -> list:
        return [attr(q) for q in live if q.kind == kind and q.mode == mode]

    return {
        (KIND_JUMIN, MODE_KOJIN): backend.lookup_jumin_by_kojin_bango(
            keys(KIND_JUMIN, MODE_KOJIN, lambda q: q.cond.kojin_bango), day),
        (KIND_JUMIN, MODE_CODE): backend.lookup_jumin_by_codes(
            keys(KIND_JUMIN, MODE_CODE, lambda q: q.cond.jumin_code), day),
        (KIND_JUMIN, MODE_FOUR): backend.lookup_jumin_by_four(
            keys(KIND_JUMIN, MODE_FOUR, lambda q: (q.birth, q.addr)), day),
        (KIND_FUHYO, MODE_CODE): backend.lookup_fuhyo_by_codes(
            keys(KIND_FUHYO, MODE_CODE, lambda q: q.cond.jumin_code), day),
        (KIND_FUHYO, MODE_FOUR): backend.lookup_fuhyo_by_four(
            keys(KIND_FUHYO, MODE_FOUR, lambda q: (q.birth, q.addr)), day),
    }


def _index(found: dict[tuple[str, str], InForce]) -> dict[tuple[str, str], dict]:
    """Each lookup's records in force indexed by the key its conditions give: 住民票コード (the
    lookup's own keys), 個人番号, or (birth date, address key; 附票 also 最終住所). A condition
    meets only the records its own lookup found: any person whose record in force carries the
    condition's key is among them, since that lookup searched every row for the key."""
    index: dict[tuple[str, str], dict] = {}
    for (kind, mode), records in found.items():
        if mode == MODE_CODE:
            index[kind, mode] = records
            continue
        by_key: dict[object, list[Mapping]] = {}
        for rec in records.values():
            if mode == MODE_KOJIN:
                if rec["kojin_bango"]:
                    by_key.setdefault(rec["kojin_bango"], []).append(rec)
                continue
            by_key.setdefault((rec["birth_date"], rec["k_addr"]), []).append(rec)
            if kind == KIND_FUHYO and rec["k_last_addr"] and rec["k_last_addr"] != rec["k_addr"]:
                by_key.setdefault((rec["birth_date"], rec["k_last_addr"]), []).append(rec)
        index[kind, mode] = by_key
    return index


def _decide(batch: list, queries: list[_Query | None], found: dict[tuple[str, str], InForce], jumin_by_codes,
            day: str, kojin_for_fuhyo: bool) -> list[MatchResult]:
    """The answers of one batch from its lookups (`jumin_by_codes` fetches the 個人番号 of 附票 hits)."""
    index = _index(found)
    out: list[MatchResult] = []
    fuhyo_hits: list[MatchResult] = []  # 附票 answers waiting for their 個人番号
    for item, q in zip(batch, queries):
        if q is None:
            out.append(MatchResult(item.row_no, item.renban or "", Status.INPUT_ERROR, None, item.message))
            continue
        mode = q.mode
        if mode is None:
            err = RowError(item.row_no, item.line, item.renban, "住所", NO_ADDRESS_REASON)
            out.append(MatchResult(item.row_no, item.renban, Status.INPUT_ERROR, None, err.message))
            continue
        kind = q.kind
        if mode == MODE_FOUR:
            recs = [r for r in index[kind, mode].get((q.birth, q.addr), ()) if q.holds(r)]
        elif mode == MODE_CODE:
            rec = index[kind, mode].get(item.jumin_code)
            recs = (rec,) if rec is not None else ()
        else:
            recs = index[kind, mode].get(item.kojin_bango, ())
        if not recs:
            out.append(MatchResult(item.row_no, item.renban, Status.NOT_FOUND, 0, _LABEL[Status.NOT_FOUND]))
        elif len(recs) > 1:
            out.append(MatchResult(item.row_no, item.renban, Status.MULTIPLE, len(recs), _LABEL[Status.MULTIPLE]))
        else:
            rec = recs[0]
            if kind == KIND_JUMIN:
                status = Status.HIT_REMOVED if _is_removal(rec["change_reason"]) else Status.HIT
                out.append(MatchResult(item.row_no, item.renban, status, 1, _LABEL[status],
                                       _jumin_record(rec), bool(rec["gaiji_flag"])))
            else:
                status = Status.HIT_REMOVED if rec["fuhyo_status"] == FUHYO_STATUS_REMOVED else Status.HIT
                out.append(MatchResult(item.row_no, item.renban, status, 1, _LABEL[status],
                                       _fuhyo_record(rec), bool(rec["gaiji_flag"])))
                if kojin_for_fuhyo:
                    fuhyo_hits.append(out[-1])
    if fuhyo_hits:  # 個人番号 from the jumin record in force, through the 住民票コード, in memory only
        found_jumin = jumin_by_codes({r.record["住民票コード"] for r in fuhyo_hits}, day)
        for r in fuhyo_hits:
            rec = found_jumin.get(r.record["住民票コード"])
            r.record["個人番号"] = (rec["kojin_bango"] or "") if rec is not None else ""
    return out
