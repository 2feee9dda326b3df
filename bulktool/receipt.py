"""The 受領証 (receipt proof, contract §6): the department's signed statement that it received and
verified one result. Written by `bulktool receipt` on the department's PC, checked by `media
receipt ENTRY --proof FILE` at the terminal. Pure: bytes and keys in, a document or a refusal out.

Layout: UTF-8 JSON with the keys
    format         "bulktool-receipt/1"
    ledger_entry   the result's entry number (the 受付 number its file name and manifest carry)
    result_file    the result container's file name
    result_sha256  SHA-256 of the result container as received
    department     the department code
    date           the day of receipt, YYYY-MM-DD
    key            the fingerprint of the department key that signed
    signature      Ed25519 (base64) over the document without "signature", keys sorted, no spaces
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date

from cryptography.exceptions import InvalidSignature

from bulktool.keys import KeyPair, PublicKeys
from bulktool.messages import BulkError

FORMAT = "bulktool-receipt/1"
KEYS = {"format", "ledger_entry", "result_file", "result_sha256", "department", "date", "key", "signature"}
MAX_BYTES = 4096


def canonical(doc: dict) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def make(*, entry: int, result_file: str, container: bytes, department: str, day: date, keys: KeyPair) -> bytes:
    """The signed 受領証 for a result container the department has verified."""
    doc = {"format": FORMAT, "ledger_entry": entry, "result_file": result_file,
           "result_sha256": hashlib.sha256(container).hexdigest(), "department": department,
           "date": day.isoformat(), "key": keys.public.fingerprint}
    doc["signature"] = base64.b64encode(keys.ed25519.sign(canonical(doc))).decode("ascii")
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def parse(data: bytes) -> dict:
    """The document, well formed (E-RCP-001 otherwise); its signature is not checked here."""
    try:
        if len(data) > MAX_BYTES:
            raise ValueError
        doc = json.loads(data.decode("utf-8-sig"))
        if not (isinstance(doc, dict) and set(doc) == KEYS and doc["format"] == FORMAT
                and isinstance(doc["ledger_entry"], int) and not isinstance(doc["ledger_entry"], bool)
                and all(isinstance(doc[k], str) for k in KEYS - {"ledger_entry"})):
            raise ValueError
        date.fromisoformat(doc["date"])
    except (UnicodeDecodeError, ValueError, TypeError):
        raise BulkError("E-RCP-001") from None
    return doc


def check(data: bytes, *, entry: int, department: str, container_sha256: str, key: PublicKeys | None) -> dict:
    """The 受領証 `data` for the result of 受付 `entry`, given to `department`, whose container has
    `container_sha256`, signed by the department's registered `key`. Each way it can fail has
    its own code: unreadable, no registered key, not signed by that key (forged or altered), for
    another entry, for another department, for another container."""
    doc = parse(data)
    if key is None:
        raise BulkError("E-RCP-006", department=department)
    if doc["key"].replace(" ", "").lower() != key.fingerprint.replace(" ", "").lower():
        raise BulkError("E-RCP-002", department=department)  # made with another key: forged
    try:
        key.ed25519.verify(base64.b64decode(doc["signature"], validate=True), canonical(doc))
    except (InvalidSignature, ValueError, binascii.Error):
        raise BulkError("E-RCP-007") from None  # the right key's name, a signature that fails: altered
    if doc["department"] != department:
        raise BulkError("E-RCP-004", given=doc["department"], department=department)
    if doc["ledger_entry"] != entry:
        raise BulkError("E-RCP-003", given=doc["ledger_entry"], entry=entry)
    if doc["result_sha256"] != container_sha256:
        raise BulkError("E-RCP-005", entry=entry)
    return doc
