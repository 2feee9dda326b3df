"""The department's side (照会元): make requests, open and verify results. No workspace.

Everything here works on bytes in memory; only `write_opened` touches the disk. A result that
fails to open or to verify — wrong password, wrong key, tampered container, bad envelope
signature, manifest that disagrees with the table — raises BulkError with exit code 3 (contract §9):
E-RES-003 when the container cannot be opened, E-RES-001 when its content does not verify. The
table is 照会結果.csv or 照会結果.xlsx, written out as it lies in the container.

Before a request leaves, `check_table` applies the very checks the terminal's exchange applies to
the table (conditions.iter_conditions: encoding, header, each row's key rule and values), with no
store: a table refused whole raises the terminal's own code; rows that would be 90 are listed.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PureWindowsPath

from bulktool import manifest as mf
from bulktool import untrusted
from bulktool.conditions import iter_conditions
from bulktool.containers import aeszip, envelope
from bulktool.containers.limits import DEFAULT_LIMITS, Limits
from bulktool.keys import KeyPair, PublicKeys
from bulktool.messages import BulkError
from bulktool.model import RowError

MIN_REQUEST_PASSWORD = 12


@dataclass
class TableCheck:
    """What `request check` found: the data rows, and those that would be answered 90."""
    encoding: str
    rows: int
    errors: list[RowError] = field(default_factory=list)

    def __repr__(self) -> str:  # never a 連番 (it may be a value)
        return f"TableCheck(encoding={self.encoding!r}, rows={self.rows}, errors={len(self.errors)})"


def check_table(table_path_name: str, table_bytes: bytes, limits: Limits = DEFAULT_LIMITS) -> TableCheck:
    """The terminal's checks of a 検索条件 table (conditions.iter_conditions, by the name's
    extension), without a store. A table the terminal would refuse whole raises the same
    BulkError (E-REQ-…); rows that would be 90 come back in `errors`."""
    stream = iter_conditions(_base_name(table_path_name), table_bytes, limits=limits, own_table=True)
    rows, errors = 0, []
    for item in stream.items:
        rows += 1
        if isinstance(item, RowError):
            errors.append(item)
    return TableCheck(stream.encoding, rows, errors)


def check_outgoing(file_name: str, request_no: str | None = None) -> None:
    """What the terminal will ledger of a request (contract §6): its file name and 依頼番号 pass
    the same rule there (E-REQ-020), so a name holding a resident's number is refused here, before
    the trip. A person's name cannot be recognised: the guide asks for none in file names."""
    untrusted.check(file_name, "ファイル名")
    if request_no is not None:
        untrusted.check(request_no, "依頼番号")


def shown_renban(renban: str | None) -> str | None:
    """A 連番 that may be printed (untrusted.shown_renban, the terminal's rule too), else None."""
    return untrusted.shown_renban(renban)


def irai_json(*, department: str | None = None, purpose: str | None = None, request_no: str | None = None,
              as_of: date | None = None) -> bytes | None:
    """依頼票.json (contract §3) from what is given, or None when nothing is."""
    doc = {k: v for k, v in (("照会元", department), ("事務", purpose), ("依頼番号", request_no),
                             ("基準日", as_of.isoformat() if as_of else None)) if v is not None}
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") if doc else None


def check_request_password(password: str) -> None:
    """A request ZIP's password: at least MIN_REQUEST_PASSWORD characters (E-CON-020)."""
    if len(password) < MIN_REQUEST_PASSWORD:
        raise BulkError("E-CON-020", min=MIN_REQUEST_PASSWORD)


def _base_name(path_name: str) -> str:
    """The file's own name, whichever separator the path uses (Windows or POSIX)."""
    return PureWindowsPath(path_name).name


def make_zip_request(table_path_name: str, table_bytes: bytes, password: str, irai: bytes | None = None, *,
                     when: tuple[int, int, int, int, int, int]) -> bytes:
    """`bulktool request zip`: an AES-256 (AE-2) ZIP holding the table under its base name (and
    依頼票.json when given), as 7-Zip makes it. The table must be a .csv or .xlsx (E-CON-005
    otherwise); the password at least MIN_REQUEST_PASSWORD characters (E-CON-020). The table's
    own check is the caller's (check_table), before the password is asked."""
    name = _base_name(table_path_name)
    if not name.lower().endswith(aeszip.TABLE_SUFFIXES):
        raise BulkError("E-CON-005", count=0)
    check_request_password(password)
    return aeszip.write_request(name, table_bytes, password, irai, when=when)


def make_sealed_request(table_name: str, table_bytes: bytes, *, department_keys: KeyPair, terminal: PublicKeys,
                        irai: bytes | None = None) -> bytes:
    """`bulktool request seal`: the table (and 依頼票.json) sealed to the terminal's X25519 key
    and signed with the department's Ed25519 key."""
    name = _base_name(table_name)
    if not name.lower().endswith(aeszip.TABLE_SUFFIXES):
        raise BulkError("E-CON-005", count=0)
    files = [(name, table_bytes)] + ([(aeszip.IRAI_NAME, irai)] if irai is not None else [])
    return envelope.seal(files, recipient=terminal.x25519, sender=department_keys.ed25519)


@dataclass
class OpenedResult:
    files: dict[str, bytes]  # 照会結果.csv (or .xlsx) and manifest.json, as in the container
    manifest: dict           # the verified manifest
    signature_checked: bool  # True when the terminal's key was given and both signatures held

    @property
    def table_name(self) -> str:
        """照会結果.csv or 照会結果.xlsx: the table this result holds."""
        return next(n for n in self.files if n != mf.MANIFEST_JSON)

    def __repr__(self) -> str:  # never the CSV's content
        return f"OpenedResult(files={sorted(self.files)}, entry={self.manifest.get('ledger_entry')})"


# Why a result did not open, in the department's words: the container readers' codes are written
# for the terminal's side (a request to make again with 7-Zip); a clerk sees one code, E-RES-003,
# and what to check. `cause` keeps the reader's code for the tests and the support desk.
CANNOT_OPEN = {
    "E-CON-004": "パスワードが違うか、ファイルが改ざん・破損しています。受渡票に手書きされたパスワードを、"
                 "大文字と小文字に気をつけて入力し直してください",
    "E-CON-011": "ZIP ファイルが壊れているか途中で切れています。媒体から写し直してください",
    "E-CON-013": "封緘ファイルが壊れている、途中で切れている、または改ざんされています",
    "E-CON-014": "封緘ファイルの署名が、指定した端末の公開鍵と一致しません（別の端末が作ったか、改ざんされています）",
    "E-CON-015": "この照会結果は、指定した照会元の鍵あてではありません（別の照会元の鍵か、鍵ファイルの取り違え）",
}


def _cannot_open(err: BulkError) -> BulkError:
    """E-RES-003 with the reason in the department's words, and no second code on the screen."""
    out = BulkError("E-RES-003", reason=CANNOT_OPEN.get(err.code, err.message.rstrip("。")))
    out.cause = err.code
    return out


def open_result(data: bytes, name: str, *, password: str | None, keys: KeyPair | None,
                terminal: PublicKeys | None, limits: Limits = DEFAULT_LIMITS) -> OpenedResult:
    """Open a result container (.zip with `password`, .bte with the department's `keys`) and
    check its manifest: SHA-256 of 照会結果.csv or .xlsx, rows, counts per code, and — when the terminal's
    public key is given — the envelope's sender and the manifest's signature. Without `terminal`
    nothing proves who made the result (documented; the CLI says 未検証).
    Raises BulkError E-RES-003 (cannot open) or E-RES-001 (does not verify), both exit 3."""
    low = name.lower()
    try:
        if low.endswith(".zip"):
            if not password:
                raise BulkError("E-RES-003", reason="パスワードが指定されていません")
            entries = aeszip.read_entries(data, password.encode("utf-8"), limits)
        elif low.endswith(".bte"):
            if keys is None:
                raise BulkError("E-RES-003", reason="照会元の秘密鍵が指定されていません")
            entries = envelope.open_sealed(data, recipient=keys.x25519,
                                           sender=terminal.ed25519 if terminal else None, limits=limits)
        else:
            raise BulkError("E-RES-003", reason="照会結果ファイルの形式を判別できません（.zip または .bte）")
    except BulkError as err:
        if err.code.startswith("E-RES-"):
            raise
        raise _cannot_open(err) from None
    names = [n for n, _ in entries]
    table = next((n for n in names if n in mf.RESULT_FILES), mf.RESULT_CSV)
    if sorted(names) != sorted([table, mf.MANIFEST_JSON]):
        raise BulkError("E-RES-001", reason="照会結果.csv（または .xlsx）と manifest.json の組ではありません")
    files = dict(entries)
    manifest = mf.verify(files[mf.MANIFEST_JSON], files[table], terminal.ed25519 if terminal else None, table)
    return OpenedResult(files, manifest, terminal is not None)


def write_opened(opened: OpenedResult, out_dir: Path) -> list[Path]:
    """Write the table (照会結果.csv or .xlsx, as it is) and manifest.json into out_dir (created if
    missing); never overwrites (E-RES-002). Returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / n for n in (opened.table_name, mf.MANIFEST_JSON)]
    for p in paths:
        if p.exists():
            raise BulkError("E-RES-002", path=str(p))
    written: list[Path] = []
    try:
        for p in paths:
            with open(p, "xb") as fh:  # exclusive create: a file that appeared meanwhile is kept
                written.append(p)
                fh.write(opened.files[p.name])
                fh.flush()
                os.fsync(fh.fileno())
    except FileExistsError:
        for mine in written:  # only files this call created
            mine.unlink(missing_ok=True)
        raise BulkError("E-RES-002", path=str(p)) from None
    return paths
