"""`store load`: stream the contract §2 CSV dumps into a StoreBackend, validating every row.

    report = load_files(store, "jumin", [path, ...], progress=callback)  # callback(rows, bytes_read, bytes_total)

- Streaming: the file is read in chunks of about CHUNK_BYTES bytes of whole records (cut only
  between records; never the whole file); memory is bounded by a few chunks.
- Each chunk is parsed and validated by store/validate.py (two parsers, one answer; the rules of
  every column are declared once, in store/schema.py) and handed to the backend as one batch
  of schema columns and match keys (backend.record_columns).
- Header: must equal schema.HEADERS[kind] exactly (a UTF-8 BOM is tolerated) → else E-STO-001.
- Every row is validated. ALL bad rows are collected as `Problem` (file, line, column, reason —
  never the value); if there is any, `LoadError` (E-STO-003) is raised and nothing of the
  call's files is committed: all files of one call are one transaction.
- Idempotent: rows are keyed by (住民票コード, 更新順番号) for jumin and (住民票コード, 異動年月日)
  for fuhyo; a row whose key is already stored (or appears earlier in the same load) is skipped.
  Stored versions are immutable: a corrected version must come with a new 更新順番号 (jumin) or
  be a new 異動年月日 (fuhyo); a row with a known key but different content is skipped too and
  shows in LoadReport.skipped.
- Parsing and validation can run in worker processes (`workers`), the main process only
  inserting; chunks travel through pipes in memory, never through a temp file.

Validation rules (schema.SCHEMA declares them per column; docs/store.md):
  住民票コード      11 digits with check digit (旧住民票コード: same, may be empty)
  個人番号          empty, or 12 digits with check digit (rows written before 2015-10 have none)
  dates             YYYY-MM-DD that exists (生年月日, 異動年月日 required; 通知を受けた年月日 optional)
  性別              1 or 2
  flags             1, 0 or empty (empty = 0)
  counts, 連番       non-negative integers or empty; 更新順番号 required
  市町村コード       6 digits: JIS X 0402 code with its check digit (jumin required; fuhyo
                   住所市町村コード may be empty for a person abroad, 附票管理市町村コード required)
  大字・字コード     digits or empty
  required text    氏名, 異動事由 (jumin), 住所 (jumin); fuhyo needs 住所漢字 or 最終住所漢字
  附票本人確認情報状態区分  1 (記載中) or 2 (消除)
  ふりがな          may be empty (older records have none); then the row has no kana key
  text cells       never U+001F
"""
from __future__ import annotations

import csv
import os
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bulktool.messages import BulkError
from bulktool.store.schema import HEADERS, KINDS
from bulktool.store.validate import MAX_PROBLEMS, Chunk, Problem, parse_chunk

CHUNK_BYTES = 4 << 20  # a chunk is about this many bytes of whole records
PARALLEL_MIN_BYTES = 32 << 20  # smaller files are parsed in the main process


class LoadError(BulkError):
    """Some rows are invalid; nothing was committed. `.problems` lists them (up to MAX_PROBLEMS),
    `.count` is the number of bad rows."""

    def __init__(self, files: str, problems: list[Problem], count: int) -> None:
        super().__init__("E-STO-003", file=files, count=count)
        self.problems = problems
        self.count = count


@dataclass
class LoadReport:
    kind: str
    rows: int = 0  # data rows read
    inserted: int = 0  # new versions stored
    skipped: int = 0  # rows whose key was already stored (idempotent reload)
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.rows:,} 行（新規 {self.inserted:,} 行、登録済みのため省略 {self.skipped:,} 行）"


def _chunks(path: Path, kind: str) -> Iterator[tuple[int, bytes]]:
    """(first line number, bytes of whole records) after checking the header."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise BulkError("E-STO-005", file=path.name, detail=type(exc).__name__) from None
    with fh:
        head = fh.readline()
        try:
            header = next(csv.reader([head.decode("utf-8-sig")]), [])
        except UnicodeDecodeError:
            raise BulkError("E-STO-004", file=path.name, line=1) from None
        expected = HEADERS[kind]
        if tuple(header) != expected:
            pos = next((i for i, (a, b) in enumerate(zip(header, expected)) if a != b), min(len(header), len(expected)))
            raise BulkError("E-STO-001", file=path.name,
                            detail=f"{pos + 1} 列目が「{expected[pos] if pos < len(expected) else 'なし'}」でない、"
                                   f"列数 {len(header)}/{len(expected)}")
        first, carry = 2, b""
        while True:
            block = fh.read(CHUNK_BYTES)
            data = carry + block
            if not block:
                if data:
                    yield first, data
                return
            cut = data.rfind(b"\n") + 1
            # cut only between records: an even number of quotes before the cut (a quoted cell may
            # hold a newline); go back one line at a time until it is (rare)
            while cut > 0 and data.count(b'"', 0, cut) & 1:
                cut = data.rfind(b"\n", 0, cut - 1) + 1
            if cut == 0 and len(data) >= 16 * CHUNK_BYTES:
                cut = data.rfind(b"\n") + 1  # an unterminated quote: bounded memory; the csv path reports it
            if cut == 0:
                carry = data  # no record ends in this block yet: read more
                continue
            yield first, data[:cut]
            first += data.count(b"\n", 0, cut)
            carry = data[cut:]


def _parsed(kind: str, path: Path, pool: ProcessPoolExecutor | None, workers: int) -> Iterator[tuple[int, Chunk]]:
    """(bytes of the chunk, parsed chunk), in file order."""
    if pool is None:
        for first, data in _chunks(path, kind):
            yield len(data), parse_chunk(kind, path.name, first, data)
        return
    pending: deque = deque()
    for first, data in _chunks(path, kind):
        pending.append((len(data), pool.submit(parse_chunk, kind, path.name, first, data)))
        if len(pending) > 2 * workers:
            size, future = pending.popleft()
            yield size, future.result()
    while pending:
        size, future = pending.popleft()
        yield size, future.result()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # _chunks reports the unreadable file (E-STO-005)


def _workers_for(paths: list[Path], workers: int | None) -> int:
    if workers is not None:
        return max(0, workers)
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main_file or not os.path.exists(main_file):
        return 0  # spawned workers re-import __main__: impossible for `python -` or an embedded interpreter
    try:
        size = sum(p.stat().st_size for p in paths)
    except OSError:
        return 0
    return min(2, os.cpu_count() or 1) if size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1 else 0


def load_files(store, kind: str, paths: Iterable[Path | str], progress: Callable[[int, int, int], None] | None = None,
               *, workers: int | None = None) -> LoadReport:
    """Validate and load every file into `store` (a StoreBackend), all or nothing.

    workers: processes that parse and validate (None: 2 for files over 32 MiB on a multi-core
    machine, else 0 = in this process). progress(rows_read, bytes_read, bytes_total) is called
    after every chunk (header lines are not counted in bytes_read), and once more with
    bytes_read == bytes_total when everything is read and valid, before the indexes are built
    and the load is committed.
    Raises LoadError (E-STO-003, with .problems) when any row is invalid, BulkError E-STO-001
    (header), E-STO-002 (broken CSV quoting), E-STO-004 (not UTF-8), E-STO-005 (unreadable).
    """
    if kind not in KINDS:
        raise ValueError(kind)
    paths = [Path(p) for p in paths]
    report = LoadReport(kind)
    problems: list[Problem] = []
    bad = 0
    n_workers = _workers_for(paths, workers)
    total = sum(_size(p) for p in paths)
    done = 0
    pool = ProcessPoolExecutor(n_workers, mp_context=get_context("spawn")) if n_workers else None
    store.begin_load(kind)
    try:
        for path in paths:
            report.files.append(path.name)
            for size, chunk in _parsed(kind, path, pool, n_workers):
                if chunk.undecodable_line is not None:
                    raise BulkError("E-STO-004", file=path.name, line=chunk.undecodable_line)
                if chunk.csv_error is not None:
                    raise BulkError("E-STO-002", file=path.name, line=chunk.csv_error[0], field="CSV",
                                    reason=chunk.csv_error[1])
                report.rows += chunk.read
                bad += chunk.bad
                problems.extend(chunk.problems[:MAX_PROBLEMS - len(problems)])
                if not bad and chunk.read:
                    report.inserted += store.load_batch(kind, chunk.batch())
                done += size
                if progress is not None:
                    progress(report.rows, min(done, total), total)
        if bad:
            raise LoadError(",".join(report.files), problems, bad)
        if progress is not None:
            progress(report.rows, total, total)  # all read: the indexes and the commit come next
        # a backend that checks uniqueness only at the end (PostgreSQL's bulk path) says how many
        # of the rows it counted were dropped as duplicates there
        report.inserted -= store.commit_load() or 0
    except BaseException:
        store.rollback_load()
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    report.skipped = report.rows - report.inserted
    return report
