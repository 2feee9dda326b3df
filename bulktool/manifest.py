"""manifest.json of a 照会結果 container (contract §5; docs/formats.md names every key).

The table is 照会結果.csv or 照会結果.xlsx (`result_file` names it, `result_sha256` hashes its bytes);
a department's tool counts its rows and codes from either (an .xlsx through the same zip guard as
a request's, then openpyxl read-only, from memory).

The signature (Ed25519, base64) covers the manifest without its "signature" field, serialised
as JSON with sorted keys, no spaces and UTF-8 (ensure_ascii=False).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections import Counter

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bulktool.messages import BulkError
from bulktool.model import Status
from bulktool.xlsxread import check_xlsx

FORMAT = "bulktool-result-manifest/1"
RESULT_CSV = "照会結果.csv"
RESULT_XLSX = "照会結果.xlsx"
RESULT_FILES = (RESULT_CSV, RESULT_XLSX)
MANIFEST_JSON = "manifest.json"
STATUS_CODES = tuple(s.value for s in Status)


def canonical(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build(
    *,
    entry: int,
    request_name: str,
    request_sha256: str,
    result_sha256: str,
    counts: dict[str, int],
    rows: int,
    terminal_id: str,
    operator_id: str,
    created_at: str,
    encoding: str,
    department: str,
    purpose: str,
    as_of: str,
    gaiji_substitutions: int = 0,
    fields: list[str] = (),
    store_entry: int | None = None,
    store_loaded: str | None = None,
    result_file: str = RESULT_CSV,
) -> dict:
    """The manifest's keys (docs/formats.md). `fields` are the result fields provided;
    `kojin_bango` says whether 個人番号 was among them; `store_entry` and `store_loaded` name the
    store load (取込) that answered and its date, so that a department sees how fresh it is.
    `result_file`: 照会結果.csv, or 照会結果.xlsx (whose result_encoding is "xlsx")."""
    return {
        "fields": list(fields),
        "kojin_bango": "個人番号" in fields,
        "store_entry": store_entry,
        "store_loaded": store_loaded,
        "format": FORMAT,
        "ledger_entry": entry,
        "request_file": request_name,
        "request_sha256": request_sha256,
        "result_file": result_file,
        "result_sha256": result_sha256,
        "result_encoding": "xlsx" if result_file == RESULT_XLSX else encoding,
        "rows": rows,
        "counts": {code: int(counts.get(code, 0)) for code in STATUS_CODES},
        "gaiji_substitutions": gaiji_substitutions,
        "department": department,
        "purpose": purpose,
        "as_of": as_of,
        "terminal_id": terminal_id,
        "operator_id": operator_id,
        "created_at": created_at,
    }


def sign(manifest: dict, key: Ed25519PrivateKey) -> bytes:
    """The signed manifest.json bytes."""
    signed = dict(manifest)
    signed["signature"] = base64.b64encode(key.sign(canonical(manifest))).decode("ascii")
    return json.dumps(signed, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _fail(reason: str) -> BulkError:
    return BulkError("E-RES-001", reason=reason)


def count_statuses(table_bytes: bytes, encoding: str, name: str = RESULT_CSV) -> tuple[int, dict[str, int]]:
    """Rows and counts per 処理結果コード of a 照会結果.csv, or of a 照会結果.xlsx by `name`."""
    if name == RESULT_XLSX:
        return _count_xlsx(table_bytes)
    text = table_bytes.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else "cp932")
    reader = csv.reader(io.StringIO(text, newline=""))
    return _count(reader, "照会結果.csv")


def _count(rows, name: str) -> tuple[int, dict[str, int]]:
    header = next(rows, None)
    if not header or "処理結果コード" not in header:
        raise _fail(f"{name} に見出し「処理結果コード」がありません")
    idx = list(header).index("処理結果コード")
    counts: Counter[str] = Counter()
    n = 0
    for row in rows:
        n += 1
        cell = row[idx] if idx < len(row) else ""
        counts["" if cell is None else str(cell)] += 1
    return n, dict(counts)


def _count_xlsx(data: bytes) -> tuple[int, dict[str, int]]:
    """_count over the first sheet of an .xlsx, read from memory once its zip passed the guard."""
    try:
        check_xlsx(data)
    except BulkError as err:
        raise _fail(f"照会結果.xlsx を読めません（{err.params.get('detail', err.code)}）") from None
    from openpyxl import load_workbook  # imported here: ~0.13 s, and only an xlsx result needs it

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise _fail(f"照会結果.xlsx を開けません（{type(exc).__name__}）") from None
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        return _count(ws.iter_rows(values_only=True), "照会結果.xlsx")
    except BulkError:
        raise
    except Exception as exc:  # a malformed sheet found while streaming
        raise _fail(f"照会結果.xlsx を読めません（{type(exc).__name__}）") from None
    finally:
        wb.close()


def verify(manifest_bytes: bytes, csv_bytes: bytes, terminal_key: Ed25519PublicKey | None,
           name: str = RESULT_CSV) -> dict:
    """Check a result's manifest against its table `name` (照会結果.csv or .xlsx, as it lies in
    the container: the manifest must name it; hash, rows, counts) and, when the terminal's public
    key is given, its signature — before the table is parsed. Returns the manifest; raises
    BulkError(E-RES-001)."""
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _fail("manifest.json を読めません") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _fail("manifest.json の形式が違います")
    if manifest.get("result_file", RESULT_CSV) != name:
        raise _fail(f"manifest の照会結果ファイル名が {name} ではありません")
    if hashlib.sha256(csv_bytes).hexdigest() != manifest.get("result_sha256"):
        raise _fail(f"{name} の SHA-256 が manifest と一致しません")
    if terminal_key is not None:
        _check_signature(manifest, terminal_key)
    rows, counts = count_statuses(csv_bytes, str(manifest.get("result_encoding", "utf-8")), name)
    if rows != manifest.get("rows"):
        raise _fail(f"行数が manifest と一致しません（{rows} 行）")
    expected = manifest.get("counts") or {}
    for code in set(counts) | set(expected):
        if int(counts.get(code, 0)) != int(expected.get(code, 0)):
            raise _fail(f"処理結果コード {code} の件数が manifest と一致しません")
    return manifest


def _check_signature(manifest: dict, terminal_key: Ed25519PublicKey) -> None:
    try:
        signature = base64.b64decode(manifest.get("signature", ""), validate=True)
        terminal_key.verify(signature, canonical(manifest))
    except (InvalidSignature, ValueError, TypeError):
        raise _fail("manifest の署名が端末の公開鍵で検証できません") from None
