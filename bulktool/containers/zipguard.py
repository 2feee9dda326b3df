"""The one zip-bomb guard, for every zip bulktool reads: the AES ZIP containers (aeszip) and the
.xlsx tables inside them (xlsxread.check_xlsx). Limits in limits.py (contract §3).

- entry count: more files (folders do not count) than `max_entries` → E-CON-008;
- expanded size: the declared sizes added up, before anything is read, then the bytes really
  expanded, counted while streaming, since headers can lie → E-CON-009 over `max_expanded_bytes`;
- ratio: an entry that expands past 1 MiB to more than `max_ratio` times its compressed size,
  declared or streamed → E-CON-010;
- a stream longer or shorter than its header says → E-CON-011 (never silently cut).

The refusals are the container's codes; conditions.py words them for an .xlsx (E-REQ-008).
"""
from __future__ import annotations

import copy
import io
import zipfile
from typing import Callable, Iterator

from bulktool.containers.limits import Limits
from bulktool.messages import BulkError

CHUNK = 1 << 20
RATIO_FLOOR = 1 << 20  # ratios are judged once an entry has expanded past 1 MiB


def files_within(infos: list[zipfile.ZipInfo], limits: Limits) -> list[zipfile.ZipInfo]:
    """The archive's files (not its folders); E-CON-008 when there are more than the limit."""
    files = [i for i in infos if not i.is_dir()]
    if len(files) > limits.max_entries:
        raise BulkError("E-CON-008", limit=limits.max_entries)
    return files


def _too_expanded(size: int, info: zipfile.ZipInfo, limits: Limits) -> bool:
    return size > RATIO_FLOOR and size > max(info.compress_size, 1) * limits.max_ratio


def check_declared(info: zipfile.ZipInfo, name: str, declared: int, limits: Limits) -> int:
    """Check one entry's header before anything is read: `declared` is the sum of the sizes
    declared by the entries before it; returns the sum with this one. E-CON-009, E-CON-010."""
    declared += info.file_size
    if declared > limits.max_expanded_bytes:
        raise BulkError("E-CON-009", limit=limits.max_expanded_bytes)
    if _too_expanded(info.file_size, info, limits):
        raise BulkError("E-CON-010", entry=name)
    return declared


def stream_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits,
                 budget: int) -> Iterator[bytes]:
    """One entry's bytes, chunk by chunk, counted against `budget` (what is left of the expanded
    size limit) and the ratio. E-CON-009, E-CON-010, E-CON-011."""
    total = 0
    # zipfile cuts the output at the declared size without a word; declare "more than the
    # budget" so that the stream runs to its real end, and compare with the header afterwards.
    probe = copy.copy(info)
    probe.file_size = budget + 1
    with zf.open(probe) as fh:
        while chunk := fh.read(CHUNK):
            total += len(chunk)
            if total > budget:
                raise BulkError("E-CON-009", limit=limits.max_expanded_bytes)
            if _too_expanded(total, info, limits):
                raise BulkError("E-CON-010", entry=name)
            yield chunk
    if total != info.file_size:  # the header lied about the size
        raise BulkError("E-CON-011")


def read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits, budget: int,
               watch: Callable[[bytes], None] | None = None) -> bytes:
    """One entry's bytes in memory, streamed as `stream_entry` (headers can lie); `watch`, if
    given, sees each chunk before it is kept and may refuse (a line too long, say)."""
    buf = io.BytesIO()
    for chunk in stream_entry(zf, info, name, limits, budget):
        if watch is not None:
            watch(chunk)
        buf.write(chunk)
    return buf.getvalue()
