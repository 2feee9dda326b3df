"""Deterministic, realistic synthetic residents for demos, tests and benchmarks (docs/generate.md).

    summary = generate(people, seed, out_dir, today=date(2026, 4, 1))   # jumin.csv, fuhyo.csv
    truth = list(iter_people(people, seed, today))                       # the same persons, in memory
    queries = labelled_queries(truth, seed, 500, today=today)           # 検索条件 rows + right answers

The CSV dumps follow contract §2 exactly (UTF-8, header = schema.HEADERS, YYYY-MM-DD, empty cell = no
value); they are loaded through store/load.py like real dumps, so generated data is validated.
Everything is invented: readings of common Japanese names (facts, bulktool/data/*.csv written for
this project), real 岐阜県 municipalities with their JIS X 0402 codes, invented 町名 and numbers.

Determinism: people are made in blocks of simulate.BLOCK persons; block b uses its own
random.Random(f"bulktool-generate:{seed}:{b}") and nothing else (no global random, no clock:
`today` is passed in), so the output is the same byte for byte whatever the number of worker
processes. 住民票コード and 個人番号 are bijections of the person's index (never repeated).

The package, by concept: tables.py (bulktool/data and text helpers), addresses.py, persons.py
(the truth: versions of each record, identity numbers), simulate.py (their lives), dumps.py (the
CSV files, `generate`) and oracle.py (`labelled_queries`, the right answers for a request).
"""
from __future__ import annotations

from bulktool.checkdigit import municipality_code
from bulktool.store.generate.dumps import GenerationSummary, generate
from bulktool.store.generate.oracle import (QUERY_COLUMNS, Q_CODE, Q_FOUR, Q_FOUR_KANA, Q_FUHYO_CODE, Q_KOJIN,
                                            Q_NAME_BIRTH, Q_OLD_NAME, Q_PAIR, Q_UNKNOWN_CODE, labelled_queries, wareki)
from bulktool.store.generate.simulate import iter_people
from bulktool.store.generate.tables import cp932_gaiji_count, tables

# what demo.py, cli/store.py, the benchmarks and tests/test_generate.py take from here
__all__ = [
    "generate", "iter_people", "labelled_queries", "GenerationSummary", "wareki", "municipality_code",
    "cp932_gaiji_count", "tables", "QUERY_COLUMNS", "Q_CODE", "Q_FOUR", "Q_FOUR_KANA", "Q_FUHYO_CODE", "Q_KOJIN",
    "Q_NAME_BIRTH", "Q_OLD_NAME", "Q_PAIR", "Q_UNKNOWN_CODE",
]
