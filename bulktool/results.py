"""Writing the 照会結果 table (SPEC §5) to bytes: pure, no I/O.

Columns: 連番, 処理結果コード, 処理結果, 該当件数, the department's permitted fields in the law's
order, 外字フラグ (always). One row per input row, in input order. UTF-8 with BOM by default;
CP932 on request, where a character CP932 cannot hold becomes 〓 and the row's 外字フラグ is set.
Python's cp932 codec maps 〜 (U+301C) and − (U+2212) to other code points on a round trip; they
are encoded as the CP932 bytes of ～ and － deliberately (the standard Windows mapping), which is
what a department's Excel shows. A cell that begins with =, +, -, @, tab or CR gets a leading '
(OWASP CSV injection), so a spreadsheet never runs it. CRLF line ends.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from bulktool.model import JUMIN_FIELDS, MatchResult, Status

RESULT_COLUMNS_FIXED = ("連番", "処理結果コード", "処理結果", "該当件数")
GAIJI_COLUMN = "外字フラグ"
GETA = "〓"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_CP932_FIX = str.maketrans({"\u301c": "\uff5e", "\u2212": "\uff0d", "\u2016": "\u2225", "\u00a2": "\uffe0",
                            "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u2014": "\u2015"})


@dataclass
class ResultTable:
    data: bytes
    rows: int
    counts: dict[str, int]
    gaiji_substitutions: int
    not_found: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"ResultTable(rows={self.rows}, counts={self.counts})"


def columns_for(fields: Sequence[str]) -> list[str]:
    return [*RESULT_COLUMNS_FIXED, *(f for f in JUMIN_FIELDS if f in fields), GAIJI_COLUMN]


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA) else cell


def to_cp932(cell: str) -> tuple[str, int]:
    """The cell made CP932-safe: characters CP932 cannot hold become 〓; returns the count."""
    cell = cell.translate(_CP932_FIX)
    try:
        cell.encode("cp932")
        return cell, 0
    except UnicodeEncodeError:
        out, n = [], 0
        for ch in cell:
            try:
                ch.encode("cp932")
                out.append(ch)
            except UnicodeEncodeError:
                out.append(GETA)
                n += 1
        return "".join(out), n


def write_results(results: Iterable[MatchResult], *, fields: Sequence[str], encoding: str = "utf-8") -> ResultTable:
    cols = columns_for(fields)
    data_cols = cols[len(RESULT_COLUMNS_FIXED):-1]
    cp932 = encoding.lower() in ("cp932", "shift_jis", "sjis")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(cols)
    counts = {s.value: 0 for s in Status}
    not_found: list[str] = []
    rows = subs = 0
    for r in results:
        rows += 1
        counts[r.status.value] += 1
        if r.status is Status.NOT_FOUND:
            not_found.append(r.renban)
        provided = r.status in (Status.HIT, Status.HIT_REMOVED)
        count = "" if r.count is None else str(r.count)
        cells = [r.renban, r.status.value, r.message, count]
        cells += [r.record.get(c, "") if provided else "" for c in data_cols]
        gaiji = provided and r.gaiji
        if cp932:
            fixed = []
            for c in cells:
                c, n = to_cp932(c)
                subs += n
                gaiji = gaiji or bool(n)
                fixed.append(c)
            cells = fixed
        cells.append("1" if gaiji else "")
        w.writerow([neutralise(c) for c in cells])
    text = buf.getvalue()
    data = text.encode("cp932") if cp932 else ("\ufeff" + text).encode("utf-8")
    return ResultTable(data, rows, counts, subs, not_found)
