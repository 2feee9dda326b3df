"""The terminal's signatures over a whole 管理簿, checked in worker processes (docs/ledger.md).

`check_in_pool(public_key, workers)` is the SignatureCheck that `verify_chain` passes to the
pure `chain.verify_entries`: it batches (entry number, hash, signature) as the chain is hashed
and hands each batch to a process pool, so that the main process keeps hashing meanwhile;
small ledgers stay in-process. Signatures are checked with libsodium when PyNaCl is installed.
"""
from __future__ import annotations

import base64
import binascii
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bulktool.ledger.chain import SignatureCheck, VerifyReport, verify_entries, verify_signature

_CHUNK = 8192          # signatures per task
_MIN_PARALLEL = 4096   # below this many signatures, no processes are started


def verify_chain(entries: Iterable[dict], public_key: Ed25519PublicKey | None,
                 checkpoint: tuple[int, str] | None = None, *, workers: int | None = None) -> VerifyReport:
    """`chain.verify_entries`, with every signature checked against the terminal's `public_key`
    (when given) in `workers` processes (default: every core, at most 8)."""
    check = check_in_pool(public_key, workers) if public_key is not None else None
    return verify_entries(entries, check, checkpoint)


def check_in_pool(public_key: Ed25519PublicKey, workers: int | None = None) -> SignatureCheck:
    """A SignatureCheck that reads every link and checks the signatures in a process pool."""
    def check(links: Iterable[tuple[int, str, object]]) -> int | None:
        checker = _SignatureChecker(public_key, workers)
        try:
            for pos, h, sig in links:
                checker.add(pos, h, sig)
            return checker.first_bad()
        finally:
            checker.close()
    return check


def _first_bad_signature(public_raw: bytes, start: int, hashes: list[str], sigs: list) -> int | None:
    """The position of the first bad signature in one contiguous run, or None (worker side)."""
    try:
        from nacl.bindings import crypto_sign_open
        from nacl.exceptions import CryptoError

        def ok(h: str, s: object) -> bool:
            try:
                sig = base64.b64decode(s, validate=True)
                if len(sig) != 64:
                    return False
                crypto_sign_open(sig + bytes.fromhex(h), public_raw)
                return True
            except (CryptoError, ValueError, TypeError, binascii.Error):
                return False
    except ImportError:  # PyNaCl absent: OpenSSL through cryptography, about half as fast
        key = Ed25519PublicKey.from_public_bytes(public_raw)

        def ok(h: str, s: object) -> bool:
            return isinstance(s, str) and verify_signature(h, s, key)

    for i, (h, s) in enumerate(zip(hashes, sigs)):
        if not ok(h, s):
            return start + i
    return None


class _SignatureChecker:
    """Collects (position, hash, signature) in order and verifies them in batches, in a process
    pool once there are enough of them, so that the main process keeps hashing meanwhile."""

    def __init__(self, public_key: Ed25519PublicKey, workers: int | None) -> None:
        self.raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
        self.start = 1
        self.hashes: list[str] = []
        self.sigs: list = []
        self.pending: list[tuple[Future, tuple]] = []
        self.results: list[int | None] = []
        self.pool: ProcessPoolExecutor | None = None
        self.checked = 0

    def add(self, pos: int, h: str, sig: object) -> None:
        if not self.hashes:
            self.start = pos
        self.hashes.append(h)
        self.sigs.append(sig)
        if len(self.hashes) >= _CHUNK and self.workers > 1:
            self._flush(parallel=True)

    def _flush(self, parallel: bool) -> None:
        args = (self.raw, self.start, self.hashes, self.sigs)
        self.checked += len(self.hashes)
        self.hashes, self.sigs = [], []
        if parallel and self.pool is None:
            try:
                self.pool = ProcessPoolExecutor(max_workers=self.workers)
            except (OSError, NotImplementedError, ImportError):
                self.workers = 1
        if parallel and self.pool is not None:
            self.pending.append((self.pool.submit(_first_bad_signature, *args), args))
        else:
            self.results.append(_first_bad_signature(*args))

    def first_bad(self) -> int | None:
        if self.hashes:
            # The tail goes to the pool too when one is running; small ledgers stay in-process.
            self._flush(parallel=self.pool is not None and self.checked + len(self.hashes) >= _MIN_PARALLEL)
        for fut, args in self.pending:
            try:
                self.results.append(fut.result())
            except BrokenProcessPool:  # a worker died (e.g. out of memory): check that run here
                self.results.append(_first_bad_signature(*args))
        bad = [r for r in self.results if r is not None]
        return min(bad) if bad else None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
