"""AES-256 ZIP (WinZip AE-2) requests and results, via pyzipper (contract §3, §5).

Reading refuses hostile archives before anything of an entry is parsed: ZipCrypto or
unencrypted entries, links, absolute or `..` names, nested archives, more than one table, and
whatever the zip guard (zipguard.py: entry count, expanded size, compression ratio, sizes that
lie) refuses. A wrong password
and a tampered entry fail the same way (E-CON-004): the AES ZIP password check lets 1 wrong
password in 65,536 through to the HMAC check, so an HMAC failure is never a success.
"""
from __future__ import annotations

import io
import secrets
import stat
import zipfile
from dataclasses import dataclass
from typing import Callable

import pyzipper

from bulktool.containers.limits import DEFAULT_LIMITS, LineGuard, Limits
from bulktool.containers.zipguard import check_declared, files_within, read_entry
from bulktool.messages import BulkError

IRAI_NAME = "依頼票.json"
TABLE_SUFFIXES = (".csv", ".xlsx")
ARCHIVE_SUFFIXES = (".zip", ".7z", ".gz", ".tgz", ".bz2", ".xz", ".lzh", ".lha", ".rar", ".tar", ".cab", ".bte",
                    ".jar", ".zipx", ".arj")
# No 0, O, 1, l or I: read aloud and copied by hand onto the hand-over slip.
ALPHABET = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
PASSWORD_LENGTH = 20  # 20 × log2(57) ≈ 116.6 bits
RESULT_LEVEL = 1  # deflate level: see write_result


@dataclass(frozen=True)
class RequestFiles:
    table_name: str
    table: bytes = b""
    irai: bytes | None = None

    def __repr__(self) -> str:
        return f"RequestFiles(table_name={self.table_name!r}, {len(self.table)} bytes)"


def new_password() -> str:
    """A fresh result password: 20 characters from ALPHABET (≈ 116.6 bits), `secrets` module."""
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))


def entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name; names without the UTF-8 flag are CP932 (Japanese Windows)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("cp932")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _check_name(name: str) -> str:
    norm = name.replace("\\", "/")
    parts = norm.split("/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in parts or "\0" in norm:
        raise BulkError("E-CON-007", entry=name)
    return parts[-1]


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def check_members(infos: list[zipfile.ZipInfo], limits: Limits, *, require_aes: bool) -> list[tuple[zipfile.ZipInfo, str]]:
    """Refuse an archive's directory before reading any entry; returns (info, base name) of files."""
    declared = 0
    out = []
    for info in files_within(infos, limits):
        name = entry_name(info)
        base = _check_name(name)
        if _is_link(info):
            raise BulkError("E-CON-007", entry=name)
        if require_aes:
            if not info.flag_bits & 0x1:
                raise BulkError("E-CON-003", entry=name)
            if not getattr(info, "wz_aes_version", None):  # encrypted, but not WinZip AES: ZipCrypto
                raise BulkError("E-CON-002", entry=name)
            if getattr(info, "wz_aes_strength", 0) != 3:  # AES-128 or AES-192
                raise BulkError("E-CON-018", entry=name)
        declared = check_declared(info, name, declared, limits)
        out.append((info, base))
    return out


def check_names(names: list[str]) -> None:
    """Refuse on base names alone (before anything is decrypted): nested archives, anything but
    tables and one 依頼票.json, and not exactly one table."""
    tables = irai = 0
    for name in names:
        low = name.lower()
        if low.endswith(ARCHIVE_SUFFIXES):
            raise BulkError("E-CON-006", entry=name)
        if low.endswith(TABLE_SUFFIXES):
            tables += 1
        elif name == IRAI_NAME and not irai:
            irai += 1
        else:  # anything else, or a second 依頼票.json
            raise BulkError("E-CON-012", entry=name)
    if tables != 1:
        raise BulkError("E-CON-005", count=tables)


def classify(entries: list[tuple[str, bytes]]) -> RequestFiles:
    """Exactly one table, optionally 依頼票.json, nothing else (entries by base name)."""
    check_names([name for name, _ in entries])
    table = next((n, d) for n, d in entries if n.lower().endswith(TABLE_SUFFIXES))
    irai = next((d for n, d in entries if n == IRAI_NAME), None)
    return RequestFiles(table[0], table[1], irai)


def read_request(data: bytes, password: bytes, limits: Limits = DEFAULT_LIMITS) -> RequestFiles:
    """The table (and 依頼票.json) of an AES-256 ZIP request, read in memory; BulkError E-CON-0xx
    on any refusal (see the module docstring). Entry names may carry a folder prefix: the table
    is named by its base name. A .csv table's lines are bounded as they expand (E-REQ-011)."""
    return classify(read_entries(data, password, limits, check=check_names, watch=csv_lines(limits)))


def csv_lines(limits: Limits) -> Callable[[str], Callable[[bytes], None] | None]:
    """For read_entries: a .csv entry's lines are counted as its bytes expand, and one longer
    than limits.max_line_bytes refuses the request (E-REQ-011) before the table is held."""
    def watch(base: str) -> Callable[[bytes], None] | None:
        return LineGuard(limits.max_line_bytes) if base.lower().endswith(".csv") else None
    return watch


def read_entries(data: bytes, password: bytes, limits: Limits = DEFAULT_LIMITS, *,
                 check: Callable[[list[str]], None] | None = None,
                 watch: Callable[[str], Callable[[bytes], None] | None] | None = None) -> list[tuple[str, bytes]]:
    """Every file of an AES-256 ZIP (a request, or a result on the department's side) as
    (base name, bytes), in archive order, read in memory under the hostile-archive rules of the
    module docstring. `check`, given the base names, may refuse before anything is decrypted;
    `watch`, given a base name, may return a callable that sees each chunk as it expands."""
    try:
        zf = pyzipper.AESZipFile(io.BytesIO(data))
    except Exception:  # pyzipper's own BadZipFile, struct errors, …: not a readable zip
        raise BulkError("E-CON-011") from None
    with zf:
        if not _all_entries_listed(data, zf) or not _name_flags_agree(data, zf.infolist()):
            raise BulkError("E-CON-011")
        members = check_members(zf.infolist(), limits, require_aes=True)
        if check is not None:
            check([base for _, base in members])  # refuse on names before decrypting anything
        zf.setpassword(password)
        budget = limits.max_expanded_bytes
        entries = []
        for info, base in members:
            try:
                content = read_entry(zf, info, base, limits, budget, watch(base) if watch else None)
            except BulkError:
                raise
            except RuntimeError:  # pyzipper: "Bad password for file"
                raise BulkError("E-CON-004") from None
            except (zipfile.BadZipFile, EOFError, ValueError, OSError, NotImplementedError) as exc:
                if "HMAC" in str(exc) or "CRC" in str(exc) or "password" in str(exc).lower():
                    raise BulkError("E-CON-004") from None
                raise BulkError("E-CON-011") from None
            except Exception:  # zlib.error and friends: a damaged stream
                raise BulkError("E-CON-004") from None
            budget -= len(content)
            entries.append((base, content))
    return entries


def _all_entries_listed(data: bytes, zf: zipfile.ZipFile) -> bool:
    """Whether the central directory listed as many entries as the end record counts. A damaged
    directory (one entry's comment length, or the directory's size, changed) otherwise ends the
    listing early and silently drops an entry such as 依頼票.json: AES ZIP authenticates each
    entry's contents, not the archive's directory."""
    try:
        end = zipfile._EndRecData(io.BytesIO(data))  # the end record, Zip64 included (stdlib, private)
    except (OSError, ValueError):
        return False
    return end is not None and end[zipfile._ECD_ENTRIES_TOTAL] == len(zf.infolist())


def _name_flags_agree(data: bytes, infos: list[zipfile.ZipInfo]) -> bool:
    """Whether each entry's local header sets the UTF-8 names flag (bit 11) as its directory record
    does. pyzipper decodes both names by the directory's flag, so a flipped flag there would
    silently read 検索条件.csv as CP932 mojibake (entry_name)."""
    for info in infos:
        local = data[info.header_offset + 6:info.header_offset + 8] if info.header_offset >= 0 else b""
        if len(local) == 2 and (int.from_bytes(local, "little") ^ info.flag_bits) & 0x800:
            return False
    return True


class _Utf8Info(pyzipper.zipfile_aes.AESZipInfo):
    """Sets the UTF-8 names flag (bit 11) on every entry, ASCII names too (zipfile sets it only
    for non-ASCII names, and pyzipper clears flag_bits when it opens an entry for writing)."""

    def _encodeFilenameFlags(self):  # noqa: N802 (zipfile's name)
        return self.filename.encode("utf-8"), self.flag_bits | 0x800


def _write(files: list[tuple[str, bytes]], password: str, level: int,
           when: tuple[int, int, int, int, int, int]) -> bytes:
    if not password:
        raise BulkError("E-CON-019")
    buf = io.BytesIO()
    with pyzipper.AESZipFile(buf, "w", compression=pyzipper.ZIP_DEFLATED, compresslevel=level,
                             encryption=pyzipper.WZ_AES,
                             encryption_kwargs={"nbits": 256, "force_wz_aes_version": 2}) as zf:
        zf.setpassword(password.encode("utf-8"))
        for name, data in files:
            info = _Utf8Info(name, date_time=when)
            info.compress_type = pyzipper.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, data, compresslevel=level)  # a ZipInfo does not take the archive's level
    return buf.getvalue()


def write_result(files: list[tuple[str, bytes]], password: str, *,
                 when: tuple[int, int, int, int, int, int]) -> bytes:
    """An AES-256 (WinZip AE-2) ZIP holding `files`, UTF-8 names, deflate level 1; 7-Zip opens it.
    Measured on a 200 MB synthetic 照会結果 CSV: level 1 writes 107 MB/s (31 % of the plain size),
    level 6 29 MB/s (25 %): 3.7× faster for 25 % more bytes, a fraction of a second on the drive."""
    return _write(files, password, level=RESULT_LEVEL, when=when)


def write_request(table_name: str, table: bytes, password: str, irai: bytes | None = None, *,
                  when: tuple[int, int, int, int, int, int]) -> bytes:
    """The department's request, as 7-Zip (暗号化方式 AES-256) would make it: AE-2, UTF-8 names."""
    files = [(table_name, table)] + ([(IRAI_NAME, irai)] if irai is not None else [])
    return _write(files, password, level=RESULT_LEVEL, when=when)
