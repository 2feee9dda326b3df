"""Every size bulktool checks before (and while) reading what a department sent: the one table of
limits (contract §3, docs/formats.md「上限」). A limit is checked before the bytes it bounds are
held — the container's file size by stat before the file is opened, declared sizes before an
entry is read, expanded bytes, lines and XML parts counted as they stream — never from a header
alone. The workspace's config.json "limits" may change any of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bulktool.messages import BulkError


@dataclass(frozen=True, slots=True)
class Limits:
    # --- the container (AES ZIP, sealed .bte) ---
    # the request file on the drive, by its size before it is opened (E-CON-021)
    max_request_bytes: int = 256 * 1024**2
    # files in a container or an .xlsx (E-CON-008; in an .xlsx, E-REQ-008)
    max_entries: int = 16
    # the entries' expanded sizes added up, declared and streamed (E-CON-009)
    max_expanded_bytes: int = 2 * 1024**3
    # An entry whose expanded size exceeds its compressed size by more than this ratio is a bomb
    # (checked while streaming, not from the headers alone) (E-CON-010).
    max_ratio: int = 100
    # --- the table ---
    # data rows (E-REQ-006)
    max_rows: int = 1_048_576
    # one CSV line, and one CSV record across quoted line ends, counted as it streams (E-REQ-011)
    max_line_bytes: int = 64 * 1024
    # --- an .xlsx table's XML, counted as it streams, before openpyxl sees it (E-REQ-008) ---
    # (openpyxl holds every shared string in memory, and a row whole)
    max_shared_strings: int = 2 * 1024**2  # <si> in the shared strings
    max_shared_strings_bytes: int = 128 * 1024**2  # expanded bytes of the part holding them
    max_xlsx_cells: int = 16 * 1024**2  # <c> in all sheets
    max_row_cells: int = 16_384  # <c> in one <row> (Excel's own column count)
    max_xml_token_bytes: int = 16 * 1024**2  # XML bytes read without an element starting


DEFAULT_LIMITS = Limits()


class LineGuard:
    """Counts the bytes of the current line as chunks arrive (a line ends at LF or CR) and
    refuses a line longer than `limit` bytes (E-REQ-011) before it is ever held whole."""

    __slots__ = ("limit", "current", "lines", "_long")

    def __init__(self, limit: int) -> None:
        self.limit, self.current, self.lines = limit, 0, 1
        self._long = re.compile(rb"[\r\n][^\r\n]{%d}" % (limit + 1))  # a line end, then a too long line

    def __call__(self, chunk: bytes) -> None:
        ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
        if not ends:
            self.current += len(chunk)
            if self.current > self.limit:
                raise BulkError("E-REQ-011", line=self.lines, limit=self.limit)
            return
        first = min(ends)
        if self.current + first > self.limit:
            raise BulkError("E-REQ-011", line=self.lines, limit=self.limit)
        long = self._long.search(chunk, first)
        if long is not None:
            raise BulkError("E-REQ-011", line=self.lines + chunk.count(b"\n", 0, long.start() + 1), limit=self.limit)
        self.lines += chunk.count(b"\n")
        self.current = len(chunk) - 1 - max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
