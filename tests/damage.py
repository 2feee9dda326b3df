"""Byte-level damage for the property tests (test_fuzz_parsers, test_fuzz_ledger): a list of
(kind, position, value) edits, drawn by hypothesis and applied in turn."""
from __future__ import annotations

from hypothesis import strategies as st

byte_edits = st.lists(st.tuples(st.sampled_from(["flip", "set", "delete", "insert", "truncate", "append", "dup"]),
                                st.integers(min_value=0), st.binary(min_size=1, max_size=40)), min_size=1, max_size=3)


def mutate(data: bytes, ops) -> bytes:
    out = bytearray(data)
    for kind, where, value in ops:
        pos = where % (len(out) + 1)
        if kind == "flip" and pos < len(out):
            out[pos] ^= value[0] or 1
        elif kind == "set":
            out[pos:pos + len(value)] = value
        elif kind == "delete":
            del out[pos:pos + len(value)]
        elif kind == "insert":
            out[pos:pos] = value
        elif kind == "truncate":
            del out[pos:]
        elif kind == "append":
            out += value
        elif kind == "dup":  # a stretch of the file repeated in place (a spliced copy)
            out[pos:pos] = out[pos:pos + 16 * len(value)]
    return bytes(out)
