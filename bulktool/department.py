"""The department's side (照会元): make requests, open and verify results. No workspace."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bulktool import manifest as mf
from bulktool.containers import aeszip, envelope
from bulktool.containers.limits import DEFAULT_LIMITS
from bulktool.keys import KeyPair, PublicKeys
from bulktool.messages import BulkError


def make_zip_request(table_name: str, table: bytes, password: str, irai: bytes | None = None) -> bytes:
    return aeszip.write_request(table_name, table, password, irai)


def make_sealed_request(table_name: str, table: bytes, *, department_keys: KeyPair, terminal: PublicKeys,
                        irai: bytes | None = None) -> bytes:
    files = [(table_name, table)] + ([(aeszip.IRAI_NAME, irai)] if irai is not None else [])
    return envelope.seal(files, recipient=terminal.x25519, sender=department_keys.ed25519)


@dataclass
class OpenedResult:
    files: dict[str, bytes]
    manifest: dict

    def __repr__(self) -> str:
        return f"OpenedResult(files={sorted(self.files)}, entry={self.manifest.get('ledger_entry')})"


def _fail(reason: str) -> BulkError:
    return BulkError("E-RES-001", reason=reason)


def open_result(data: bytes, name: str, *, password: str | None, keys: KeyPair | None,
                terminal: PublicKeys | None) -> OpenedResult:
    """Open a result container and check its manifest (hash, rows, counts; the signature when the
    terminal's key is given). Every failure is E-RES-001, exit 3."""
    try:
        if name.lower().endswith(".zip"):
            if password is None:
                raise _fail("パスワードが指定されていません")
            zf_files = _read_zip(data, password)
        elif name.lower().endswith(".bte"):
            if keys is None:
                raise _fail("照会元の秘密鍵が指定されていません")
            zf_files = dict(envelope.open_sealed(data, recipient=keys.x25519,
                                                 sender=terminal.ed25519 if terminal else None))
        else:
            raise _fail("照会結果ファイルの形式を判別できません")
    except BulkError as err:
        if err.code == "E-RES-001":
            raise
        raise _fail(f"{err.code} {err.message}") from None
    if set(zf_files) != {mf.RESULT_CSV, mf.MANIFEST_JSON}:
        raise _fail("照会結果.csv と manifest.json の組ではありません")
    manifest = mf.verify(zf_files[mf.MANIFEST_JSON], zf_files[mf.RESULT_CSV], terminal.ed25519 if terminal else None)
    return OpenedResult(zf_files, manifest)


def _read_zip(data: bytes, password: str) -> dict[str, bytes]:
    import io

    import pyzipper

    try:
        zf = pyzipper.AESZipFile(io.BytesIO(data))
    except Exception:
        raise _fail("ZIP ファイルが壊れています") from None
    with zf:
        members = aeszip.check_members(zf.infolist(), DEFAULT_LIMITS, require_aes=True)
        zf.setpassword(password.encode("utf-8"))
        out = {}
        for info, base in members:
            try:
                out[base] = aeszip.read_entry(zf, info, base, DEFAULT_LIMITS, DEFAULT_LIMITS.max_expanded_bytes)
            except BulkError:
                raise
            except Exception:
                raise _fail("パスワードが違うか、ファイルが改ざんまたは破損しています") from None
    return out


def write_opened(opened: OpenedResult, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / n for n in (mf.RESULT_CSV, mf.MANIFEST_JSON)]
    for p in paths:
        if p.exists():
            raise BulkError("E-RES-002", path=str(p))
    for p in paths:
        p.write_bytes(opened.files[p.name])
    return paths
