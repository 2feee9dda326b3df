"""The 管理簿's hash chain, pure (contract §6; docs/ledger.md), in the style of Go's sumdb tlog.

Everything here works on plain entry dicts and needs nothing else: no clock, no files, no
processes. `canonical` and `entry_hash` define what is hashed; `sign_entry` and
`verify_signature` the terminal's Ed25519 signature over an entry hash; `verify_entries` checks
a sequence of entries from number 1, with the signature check passed in as a function (see
`SignatureCheck`; the process-pool one is in signatures.py); `parse_checkpoint` and
`format_checkpoint` read and write an auditor's `N:HASH`.

No personal data is ever written to the ledger; callers pass codes, counts, hashes and file names.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bulktool.messages import BulkError

GENESIS_PREV = "0" * 64
EVENTS = ("開設", "媒体登録", "受付", "出力", "受渡", "受領確認", "貸与", "返却", "消去", "廃棄", "再発行",
          "拒否", "失敗", "登録変更", "開示", "履歴削除", "点検", "取込", "紛失")
# The events that close a 受付 (contract §6: exactly one of them cites it).
CLOSING_EVENTS = ("出力", "拒否", "失敗")
# Every hashed field, in storage order; hash and signature are not hashed, prev_hash is.
HASHED_FIELDS = ("seq", "timestamp", "event", "operator_id", "terminal_id", "media_id", "department",
                 "purpose", "approval_no", "request_no", "ref", "error_code", "files", "counts", "note",
                 "provided", "prev_hash")
# Fields added after the first format are hashed only when an entry carries them, so that every
# entry written before they existed keeps its hash. `provided` (an 出力 or 再発行): the result
# fields given, whether 個人番号 was among them, and the 取込 entry of the store that answered.
LATER_FIELDS = ("provided",)
ENTRY_FIELDS = HASHED_FIELDS + ("hash", "signature")
# What a caller of Ledger.append may give; the ledger fills in the rest.
CALLER_FIELDS = tuple(f for f in HASHED_FIELDS if f not in ("seq", "timestamp", "prev_hash"))
JSON_FIELDS = ("files", "counts", "provided")
PROVIDED_KEYS = {"fields", "kojin_bango", "store_entry", "store_loaded"}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SHA256_OR_EMPTY = re.compile(r"(?:[0-9a-f]{64})?")

SignatureCheck = Callable[[Iterable[tuple[int, str, object]]], "int | None"]
"""A signature check: given (entry number, entry hash, signature) for each entry of an unbroken
chain, in order, the number of the first entry whose signature is bad, or None. It reads the
links lazily while the chain is being hashed; what it leaves unread is still chained."""


# --- hashing and signing ----------------------------------------------------------------------
def canonical_json(body: dict) -> bytes:
    """The canonical form of a record: JSON, keys sorted at every level, no spaces, UTF-8, no NaN.
    The ledger's entries and the operation log's records (bulktool/oplog.py) are hashed over it."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def canonical(fields: dict, prev_hash: str) -> bytes:
    """The bytes that are hashed: a JSON object of every field in HASHED_FIELDS (missing ones as
    null), `prev_hash` taken from the argument, keys sorted at every level, no spaces, UTF-8."""
    body = {k: fields.get(k) for k in HASHED_FIELDS if k not in LATER_FIELDS or fields.get(k) is not None}
    body["prev_hash"] = prev_hash
    return canonical_json(body)


def entry_hash(fields: dict, prev_hash: str) -> str:
    """SHA-256 (64 lowercase hex digits) of `canonical(fields, prev_hash)`."""
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def sign_entry(hash_hex: str, key: Ed25519PrivateKey) -> str:
    """The terminal's Ed25519 signature over the 32 raw bytes of the entry hash, base64."""
    return base64.b64encode(key.sign(bytes.fromhex(hash_hex))).decode("ascii")


def verify_signature(hash_hex: str, signature: str, public_key: Ed25519PublicKey) -> bool:
    """True when `signature` (base64) is the key's signature over the entry hash."""
    try:
        public_key.verify(base64.b64decode(signature, validate=True), bytes.fromhex(hash_hex))
        return True
    except (InvalidSignature, ValueError, TypeError, binascii.Error):
        return False


def check_each(public_key: Ed25519PublicKey) -> SignatureCheck:
    """The simplest SignatureCheck: every signature, one after the other, in this process."""
    def check(links: Iterable[tuple[int, str, object]]) -> int | None:
        bad = [pos for pos, h, sig in links if not (isinstance(sig, str) and verify_signature(h, sig, public_key))]
        return bad[0] if bad else None
    return check


# --- checkpoints ------------------------------------------------------------------------------
def parse_checkpoint(text: str) -> tuple[int, str]:
    """`N:HASH` → (N, HASH); E-LED-002 unless N ≥ 1 and HASH is 64 hex digits."""
    n, sep, h = str(text).strip().partition(":")
    h = h.lower()
    if not sep or not n.isascii() or not n.isdigit() or int(n) < 1 or not _HEX64.fullmatch(h):
        raise BulkError("E-LED-002")
    return int(n), h


def format_checkpoint(n: int, head_hash: str) -> str:
    """(N, HASH) → `N:HASH`, what `ledger checkpoint` prints."""
    return f"{n}:{head_hash}"


# --- verification -----------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyReport:
    """What a verification found. `first_bad` is the position (1-based) of the first bad entry,
    which in an untouched ledger is its entry number; `reason` is Japanese, without personal data."""
    ok: bool
    count: int                      # entries read (reading stops at the first break of the chain)
    head_hash: str                  # own hash of the last entry read (GENESIS_PREV when none)
    first_bad: int | None = None
    reason: str = ""
    code: str | None = None         # E-LED-001 (entry), E-LED-003 (truncated), E-LED-004 (checkpoint)
    params: dict = field(default_factory=dict)
    signatures_checked: int = 0

    def error(self) -> BulkError | None:
        """The BulkError to raise (exit code 3), or None when the ledger verified."""
        return None if self.ok else BulkError(self.code or "E-LED-001", **self.params)


def _link_fault(e: dict, pos: int, prev: str) -> tuple[str | None, str | None]:
    """(own hash, None) when entry `e` is the `pos`-th link after `prev`, else (None, reason)."""
    if e.get("seq") != pos:
        return None, f"番号が連続していません（{pos} 番目の記録の番号が {_short(e.get('seq'))} です。記録の削除・挿入・並べ替え）"
    if e.get("prev_hash") != prev:
        return None, "前ハッシュが直前の記録のハッシュと一致しません（記録の削除・挿入・並べ替え）"
    try:
        h = entry_hash(e, prev)
    except (TypeError, ValueError, RecursionError):  # RecursionError: a value nested past the limit
        return None, "記録の形式が不正です（改ざんまたは破損）"
    if h != e.get("hash"):
        return None, "記録の内容がハッシュと一致しません（改ざん）"
    if e.get("event") not in EVENTS:  # malformed in a way hashing would not catch
        return None, "事象が定義されたものではありません"
    return h, None


def verify_entries(entries: Iterable[dict], check_signatures: SignatureCheck | None = None,
                   checkpoint: tuple[int, str] | None = None) -> VerifyReport:
    """Verify a ledger from entry 1: gapless numbering, each prev_hash, each own hash, every
    signature (through `check_signatures`, when given) and, with `checkpoint` (N, HASH), that at
    least N entries exist and entry N's hash is HASH. Detects changed, removed, inserted and
    reordered entries, forged or changed signatures, and truncation below the checkpoint.

    Reading stops at the first break of the chain; the report names the earliest bad entry
    (at one entry: a broken link before a bad signature before a checkpoint mismatch)."""
    cp_n, cp_hash = checkpoint if checkpoint else (None, None)
    failures: list[tuple[int, int, str, str, dict]] = []   # (position, priority, code, reason, params)
    count, prev, checked = 0, GENESIS_PREV, 0

    def links() -> Iterator[tuple[int, str, object]]:
        nonlocal count, prev
        for e in entries:
            pos = count + 1
            h, reason = _link_fault(e, pos, prev)
            if reason is not None:
                failures.append((pos, 0, "E-LED-001", reason, {"entry": pos, "reason": reason}))
                return
            count, prev = pos, h
            if pos == cp_n and h != cp_hash:
                r = "ハッシュがチェックポイントと一致しません（チェックポイント以前の記録の書き換え）"
                failures.append((pos, 2, "E-LED-004", r, {"n": pos}))
            yield pos, h, e.get("signature")

    def counted(chain: Iterator[tuple[int, str, object]]) -> Iterator[tuple[int, str, object]]:
        nonlocal checked
        for link in chain:
            checked += 1
            yield link

    chain = links()
    bad_sig = check_signatures(counted(chain)) if check_signatures is not None else None
    for _ in chain:  # whatever the check left unread
        pass
    if cp_n is not None and count < cp_n:
        r = f"管理簿が切り詰められています（チェックポイント {cp_n} 件に対し {count} 件）"
        failures.append((count + 1, 2, "E-LED-003", r, {"n": cp_n, "count": count}))
    if bad_sig is not None:
        r = "端末の署名を検証できません（改ざん、または端末の鍵以外による署名）"
        failures.append((bad_sig, 1, "E-LED-001", r, {"entry": bad_sig, "reason": r}))
    if not failures:
        return VerifyReport(True, count, prev, signatures_checked=checked)
    pos, _, code, reason, params = min(failures, key=lambda f: (f[0], f[1]))
    return VerifyReport(False, count, prev, pos, reason, code, params, checked)


def _short(value: object) -> str:
    try:
        text = str(value)
    except (RecursionError, ValueError):  # nested past the limit; an int of more than 4300 digits
        text = type(value).__name__
    return text if len(text) <= 12 else text[:12] + "…"


# --- what a caller may append -----------------------------------------------------------------
def validate_fields(fields: dict) -> None:
    """ValueError unless `fields` is a well-formed entry body for `Ledger.append` (a programming
    error, not a user's): known keys only, a defined event, files as [{"name", "sha256"}],
    counts as {str: int}, text fields as str, ref as int."""
    unknown = set(fields) - set(CALLER_FIELDS)
    if unknown:
        raise ValueError(f"unknown ledger fields: {sorted(unknown)}")
    if fields.get("event") not in EVENTS:
        raise ValueError("ledger event is not one of EVENTS")
    for k in CALLER_FIELDS:
        v = fields.get(k)
        if v is None or k in ("event",) + JSON_FIELDS:
            continue
        if k == "ref":
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError("ledger ref must be an entry number")
        elif not isinstance(v, str):
            raise ValueError(f"ledger field {k} must be str")
    files = fields.get("files")
    if files is not None:
        if not isinstance(files, (list, tuple)) or not all(
                isinstance(f, dict) and set(f) == {"name", "sha256"} and isinstance(f["name"], str)
                and isinstance(f["sha256"], str) and _SHA256_OR_EMPTY.fullmatch(f["sha256"]) for f in files):
            raise ValueError('ledger files must be a list of {"name": str, "sha256": hex}')
    counts = fields.get("counts")
    if counts is not None:
        if not isinstance(counts, dict) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in counts.items()):
            raise ValueError("ledger counts must be {str: int}")
    provided = fields.get("provided")
    if provided is not None:
        if not (isinstance(provided, dict) and set(provided) <= PROVIDED_KEYS
                and isinstance(provided.get("fields"), list) and all(isinstance(f, str) for f in provided["fields"])
                and isinstance(provided.get("kojin_bango"), bool)
                and (provided.get("store_entry") is None or isinstance(provided["store_entry"], int))
                and (provided.get("store_loaded") is None or isinstance(provided["store_loaded"], str))):
            raise ValueError('ledger provided must be {"fields": [str], "kojin_bango": bool, "store_entry": int}')


def check_timestamp(timestamp: str) -> None:
    """ValueError unless `timestamp` is ISO 8601 with a time zone."""
    try:
        if datetime.fromisoformat(timestamp).tzinfo is None:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError("ledger timestamp must be ISO 8601 with a time zone") from None
