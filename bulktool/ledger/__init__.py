"""The 管理簿 (media ledger): an append-only, hash-chained, signed log (contract §6; docs/ledger.md).

Laid out like Go's sumdb tlog:
- chain.py       pure: canonical form, entry hash, signing, checkpoints, `verify_entries` over
                 plain entry dicts with the signature check passed in as a function;
- signatures.py  that signature check in a process pool, and `verify_chain` (chain + pool);
- storage.py     `Ledger`, the SQLite file: append, queries, exports.

Every name callers used from the single module `bulktool.ledger` is importable from here.
"""
from bulktool.ledger.chain import (CALLER_FIELDS, CLOSING_EVENTS, ENTRY_FIELDS, EVENTS, GENESIS_PREV,
                                   HASHED_FIELDS, JSON_FIELDS, SignatureCheck, VerifyReport, canonical,
                                   check_each, entry_hash, format_checkpoint, parse_checkpoint, sign_entry,
                                   validate_fields, verify_entries, verify_signature)
from bulktool.ledger.signatures import check_in_pool, verify_chain
from bulktool.ledger.storage import EXPORT_COLUMNS, Ledger, _to_json
from bulktool.tables import rows_to_csv, rows_to_xlsx

__all__ = ["CALLER_FIELDS", "CLOSING_EVENTS", "ENTRY_FIELDS", "EVENTS", "EXPORT_COLUMNS", "GENESIS_PREV",
           "HASHED_FIELDS", "JSON_FIELDS", "Ledger", "SignatureCheck", "VerifyReport", "_to_json", "canonical",
           "check_each", "check_in_pool", "entry_hash", "format_checkpoint", "parse_checkpoint", "rows_to_csv",
           "rows_to_xlsx", "sign_entry", "validate_fields", "verify_chain", "verify_entries", "verify_signature"]
