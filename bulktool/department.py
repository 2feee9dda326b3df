"""The department's side (照会元): make requests, open and verify results. No workspace.

Everything here works on bytes in memory; only `write_opened` touches the disk. A result that
fails to open or to verify — wrong password, wrong key, tampered container, bad envelope
signature, manifest that disagrees with the CSV — raises BulkError with exit code 3 (SPEC §9):
E-RES-003 when the container cannot be opened, E-RES-001 when its content does not verify.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from bulktool import manifest as mf
from bulktool.containers import aeszip, envelope
from bulktool.containers.limits import DEFAULT_LIMITS, Limits
from bulktool.keys import KeyPair, PublicKeys
from bulktool.messages import BulkError


def _base_name(path_name: str) -> str:
    """The file's own name, whichever separator the path uses (Windows or POSIX)."""
    return PureWindowsPath(path_name).name


def make_zip_request(table_path_name: str, table_bytes: bytes, password: str, irai: bytes | None = None, *,
                     when: tuple[int, int, int, int, int, int]) -> bytes:
    """`bulktool request zip`: an AES-256 (AE-2) ZIP holding the table under its base name, as
    7-Zip makes it. The table must be a .csv or .xlsx (E-CON-005 otherwise)."""
    name = _base_name(table_path_name)
    if not name.lower().endswith(aeszip.TABLE_SUFFIXES):
        raise BulkError("E-CON-005", count=0)
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
    files: dict[str, bytes]  # 照会結果.csv and manifest.json, as in the container
    manifest: dict           # the verified manifest
    signature_checked: bool  # True when the terminal's key was given and both signatures held

    def __repr__(self) -> str:  # never the CSV's content
        return f"OpenedResult(files={sorted(self.files)}, entry={self.manifest.get('ledger_entry')})"


def _cannot_open(err: BulkError) -> BulkError:
    return BulkError("E-RES-003", reason=f"{err.code} {err.message}")


def open_result(data: bytes, name: str, *, password: str | None, keys: KeyPair | None,
                terminal: PublicKeys | None, limits: Limits = DEFAULT_LIMITS) -> OpenedResult:
    """Open a result container (.zip with `password`, .bte with the department's `keys`) and
    check its manifest: SHA-256 of 照会結果.csv, rows, counts per code, and — when the terminal's
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
    if sorted(names) != sorted([mf.RESULT_CSV, mf.MANIFEST_JSON]):
        raise BulkError("E-RES-001", reason="照会結果.csv と manifest.json の組ではありません")
    files = dict(entries)
    manifest = mf.verify(files[mf.MANIFEST_JSON], files[mf.RESULT_CSV], terminal.ed25519 if terminal else None)
    return OpenedResult(files, manifest, terminal is not None)


def write_opened(opened: OpenedResult, out_dir: Path) -> list[Path]:
    """Write 照会結果.csv and manifest.json into out_dir (created if missing); never overwrites
    (E-RES-002). Returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / n for n in (mf.RESULT_CSV, mf.MANIFEST_JSON)]
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
