"""Limits that every container (and an .xlsx table inside one) is opened under (contract §3)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_entries: int = 16
    max_expanded_bytes: int = 2 * 1024**3
    max_rows: int = 1_048_576
    # An entry whose expanded size exceeds its compressed size by more than this ratio is a bomb
    # (checked while streaming, not from the headers alone).
    max_ratio: int = 100


DEFAULT_LIMITS = Limits()
