"""Benchmark: `ledger verify` over a 130,000-entry 管理簿 (target: full verify < 10 s on 2 cores).

Builds a realistic ledger in a temporary directory (entries hashed and signed with the pure
functions, inserted in one transaction), then times, in the same run:
  read        reading the rows into dicts (no checking)
  chain       verify_chain without a key: numbering, prev_hash, own hash (the baseline)
  full        verify_chain with the key: chain + every signature, default workers (all cores)
  full/1      the same in one process (for comparison)
and prints the ratios against the chain-only baseline.

    python benchmarks/bench_ledger_verify.py [--entries 130000] [--no-single]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from bulktool.ledger import (ENTRY_FIELDS, GENESIS_PREV, JSON_FIELDS, Ledger, _to_json,  # noqa: E402
                             entry_hash, sign_entry, verify_chain)

EVENTS = ("受付", "出力", "受渡", "受領確認", "媒体登録", "拒否", "消去")


def build(path: Path, n: int, key: Ed25519PrivateKey) -> None:
    ledger = Ledger(path)
    prev = GENESIS_PREV
    rows = []
    for seq in range(1, n + 1):
        event = "開設" if seq == 1 else EVENTS[seq % len(EVENTS)]
        e = {"seq": seq, "timestamp": f"2025-{1 + seq % 12:02d}-{1 + seq % 28:02d}T10:{seq % 60:02d}:00+09:00",
             "event": event, "operator_id": f"op{seq % 7:02d}", "terminal_id": "T-0001",
             "media_id": f"M-{seq % 300:04d}", "department": f"D{seq % 40:02d}", "purpose": f"P{seq % 9:02d}",
             "approval_no": f"決裁第{seq}号", "request_no": f"依頼-{seq}", "ref": seq - 1 if event == "出力" else None,
             "error_code": "E-MED-001" if event == "拒否" else None,
             "files": [{"name": f"照会結果_{seq}.zip", "sha256": f"{seq:064x}"}] if event in ("受付", "出力") else None,
             "counts": {"rows": seq % 1000, "該当": seq % 700, "該当なし": seq % 300} if event == "出力" else None,
             "note": "基準日 2025-04-01、文字コード utf-8、形式 zip" if event == "出力" else None,
             "prev_hash": prev}
        e["hash"] = entry_hash(e, prev)
        e["signature"] = sign_entry(e["hash"], key)
        rows.append([_to_json(e[k]) if k in JSON_FIELDS else e[k] for k in ENTRY_FIELDS])
        prev = e["hash"]
    ledger.db.execute("BEGIN")
    ledger.db.executemany(f"INSERT INTO entries VALUES ({','.join('?' * len(ENTRY_FIELDS))})", rows)
    ledger.db.execute("COMMIT")
    ledger.close()


def timed(label: str, fn) -> float:
    t = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t
    print(f"{label:<34} {dt:7.2f} s   {result}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=130_000)
    ap.add_argument("--no-single", action="store_true", help="skip the one-process full verify")
    args = ap.parse_args()
    try:
        import nacl  # noqa: F401
        backend = "libsodium (PyNaCl)"
    except ImportError:
        backend = "OpenSSL (cryptography)"
    print(f"{args.entries} entries, {os.cpu_count()} cores, signatures verified with {backend}")
    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite"
        t = time.perf_counter()
        build(path, args.entries, key)
        print(f"{'build (hash + sign + insert)':<34} {time.perf_counter() - t:7.2f} s")
        with Ledger(path) as ledger:
            read = timed("read rows into dicts", lambda: sum(1 for _ in ledger.entries()))
            chain = timed("chain only (no key)  [baseline]",
                          lambda: verify_chain(ledger.entries(), None).ok)
            full = timed("full verify (default workers)",
                         lambda: verify_chain(ledger.entries(), key.public_key()).ok)
            single = None
            if not args.no_single:
                single = timed("full verify (1 process)",
                               lambda: verify_chain(ledger.entries(), key.public_key(), workers=1).ok)
    print(f"ratio read/chain   {read / chain:5.2f}")
    print(f"ratio full/chain   {full / chain:5.2f}")
    if single is not None:
        print(f"ratio full(1)/full {single / full:5.2f}")
    print(f"full verify per 130k entries: {full * 130_000 / args.entries:.2f} s (target < 10 s)")


if __name__ == "__main__":
    main()
