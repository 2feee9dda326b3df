"""The CSV dumps (contract §2) of the generated persons: jumin.csv and fuhyo.csv, block by block,
optionally in worker processes; the bytes never depend on the number of workers."""
from __future__ import annotations

import csv
import io
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bulktool.store.generate.persons import R_NAME, FuhyoVersion, Person, Version
from bulktool.store.generate.simulate import Block, blocks
from bulktool.store.generate.tables import hira2kata, in_cp932, seion_reading, tables
from bulktool.store.schema import HEADERS, KIND_FUHYO, KIND_JUMIN


@lru_cache(maxsize=1 << 16)
def iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


@lru_cache(maxsize=4096)
def _family_info(family: str) -> int:
    return tables().gaiji.get(family, 0)


@lru_cache(maxsize=1 << 14)
def _seion_kata(kana: str) -> str:
    return hira2kata(seion_reading(kana))


def jumin_row(p: Person, v: Version) -> list[str]:
    city_code = tables().cities[v.address.city][2]
    gaiji = _family_info(v.family)
    old_gaiji = _family_info(v.old_family) if v.old_family else 0
    day = iso(v.day)
    seq = v.seq
    return [p.code, f"{v.family}　{p.given}", str(gaiji), f"{v.kana}　{p.given_kana}", iso(p.birth), p.sex,
            v.address.text(v.style), "0", p.kojin, v.reason, day, "0",
            f"{_seion_kata(v.kana)}　{_seion_kata(p.given_kana)}", city_code,
            f"{v.address.town + 1:03d}{v.address.chome:03d}", f"{city_code}-OP{v.operator:02d}",
            f"{city_code}-T{v.operator % 3 + 1:02d}", f"{day}T{9 + seq % 8:02d}:{(seq * 7) % 60:02d}:{(v.day * 13) % 60:02d}",
            iso(min(v.day + v.operator % 3, max(v.day, p.versions[-1].day))), "1" if gaiji or old_gaiji else "0",
            "1" if v.deleted else "0", str(seq), "1" if gaiji else "", "", v.old_family or "",
            str(old_gaiji) if v.old_family else "", v.old_kana or "", "1" if old_gaiji else ""]


def fuhyo_row(p: Person, f: FuhyoVersion) -> list[str]:
    t = tables()
    v = f.version
    gaiji = t.gaiji.get(v.family, 0)
    old_gaiji = t.gaiji.get(v.old_family, 0) if v.old_family else 0
    if f.abroad:
        city, address, last = "", ("国外" if p.index % 3 == 0 else ""), v.address.text(v.style)
    elif f.outside:
        city, address, last = f.outside[2], p.outside_text, ""
    else:
        city, address, last = t.cities[f.address.city][2], f.address.text(v.style), ""
    pattern = "".join(f"U+{ord(c):X}" for c in v.family if not in_cp932(c)) if gaiji else ""
    return [p.code, p.name(v), str(gaiji), p.name_kana(v), iso(p.birth), p.sex, city, address, "0", last,
            "0" if last else "", iso(f.day), "", t.cities[p.honseki][2], f.status, "1" if gaiji or old_gaiji else "0",
            pattern, f.notice, v.old_family or "", str(old_gaiji) if v.old_family else "", v.old_kana or "",
            "1" if old_gaiji else ""]


# --- generate -----------------------------------------------------------------------------------
@dataclass
class GenerationSummary:
    people: int = 0
    jumin_rows: int = 0
    fuhyo_rows: int = 0
    removed: dict[str, int] = field(default_factory=dict)  # 異動事由 of the latest version → persons
    abroad: int = 0  # persons whose 附票 in force is 国外
    moved_out: int = 0  # persons whose 附票 in force is in another prefecture
    same_name_pairs: int = 0  # look-alike pairs, all kinds
    pairs: dict[str, int] = field(default_factory=dict)  # PAIR_* → count
    gaiji_names: int = 0  # persons with a name outside CP932 (外字フラグ)
    deleted_rows: int = 0  # versions with 削除フラグ = 1
    name_changes: int = 0  # persons with 氏の変更
    old_names: int = 0  # persons with 旧氏 recorded
    without_kojin_bango: int = 0

    def add(self, other: "GenerationSummary") -> None:
        for k, v in vars(other).items():
            if isinstance(v, dict):
                mine = getattr(self, k)
                for kk, vv in v.items():
                    mine[kk] = mine.get(kk, 0) + vv
            else:
                setattr(self, k, getattr(self, k) + v)


def _render_block(args: tuple[int, int, int, int, int]) -> tuple[str, str, GenerationSummary]:
    """CSV text of one block (jumin, fuhyo) and its counts. Runs in a worker process too."""
    seed, b, first, count, today = args
    s = GenerationSummary(people=count)
    jbuf, fbuf = io.StringIO(), io.StringIO()
    jw, fw = csv.writer(jbuf, lineterminator="\n"), csv.writer(fbuf, lineterminator="\n")
    for p in Block(seed, b, today).people(first, count):
        jw.writerows([jumin_row(p, v) for v in p.versions])
        fw.writerows([fuhyo_row(p, f) for f in p.fuhyo])
        s.jumin_rows += len(p.versions)
        s.fuhyo_rows += len(p.fuhyo)
        last = p.in_force()
        if last.removed:
            s.removed[last.reason] = s.removed.get(last.reason, 0) + 1
        fz = p.fuhyo[-1]
        s.abroad += fz.abroad
        s.moved_out += fz.outside is not None
        if p.pair:
            s.same_name_pairs += 1
            s.pairs[p.pair] = s.pairs.get(p.pair, 0) + 1
        s.gaiji_names += p.gaiji
        s.deleted_rows += sum(v.deleted for v in p.versions)
        s.name_changes += any(v.reason == R_NAME for v in p.versions)
        s.old_names += any(v.old_family for v in p.versions)
        s.without_kojin_bango += not p.kojin
    return jbuf.getvalue(), fbuf.getvalue(), s


def generate(people: int, seed: int, out_dir: Path | str, *, today: date, workers: int | None = None,
             progress: Callable[[int], None] | None = None) -> GenerationSummary:
    """Write out_dir/jumin.csv and out_dir/fuhyo.csv (contract §2) for `people` persons.

    Streams block by block (memory bounded by a few blocks), optionally in `workers` processes
    (default: all cores for large runs, 1 below 50,000 people); the bytes do not depend on it.
    progress(n) is called with the number of persons written so far."""
    if people < 0:
        raise ValueError("people must be >= 0")
    out_dir = Path(out_dir)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if people >= 50_000 else 1
    summary = GenerationSummary()
    jobs = ((seed, b, first, count, today.toordinal()) for b, first, count in blocks(people))
    with open(out_dir / "jumin.csv", "w", encoding="utf-8", newline="") as jf, \
            open(out_dir / "fuhyo.csv", "w", encoding="utf-8", newline="") as ff:
        csv.writer(jf, lineterminator="\n").writerow(HEADERS[KIND_JUMIN])
        csv.writer(ff, lineterminator="\n").writerow(HEADERS[KIND_FUHYO])
        for jtext, ftext, s in _run(jobs, workers):
            jf.write(jtext)
            ff.write(ftext)
            summary.add(s)
            if progress:
                progress(summary.people)
    return summary


def _run(jobs: Iterable[tuple], workers: int) -> Iterator[tuple[str, str, GenerationSummary]]:
    if workers <= 1:
        yield from map(_render_block, jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        pending: deque = deque()
        for job in jobs:
            pending.append(pool.submit(_render_block, job))
            if len(pending) >= 2 * workers:  # bounded: at most 2 blocks per worker in flight
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
