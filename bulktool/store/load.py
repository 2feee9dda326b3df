"""`store load`: stream the SPEC §2 CSV dumps into the store, validating every row.

All files of one call are one transaction: one bad row anywhere and nothing of them is
committed; every bad row is reported with file, line, column and a reason (never the value).
Loading the same file twice changes nothing (rows are keyed by (住民票コード, 更新順番号) /
(住民票コード, 異動年月日); a row whose key is stored is skipped — versions are immutable).
Match keys are computed here, once, with bulktool.normalize.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from bulktool import normalize
from bulktool.checkdigit import valid_jumin_code, valid_kojin_bango
from bulktool.messages import BulkError
from bulktool.store.schema import COLUMNS, HEADERS, KIND_FUHYO, KIND_JUMIN

BATCH = 20_000
MAX_REPORTED = 1000


class LoadError(BulkError):
    def __init__(self, file: str, problems: list[str], count: int) -> None:
        super().__init__("E-STO-003", file=file, count=count)
        self.problems = problems


@dataclass
class LoadReport:
    rows: int = 0
    inserted: int = 0
    skipped: int = 0
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.rows:,} 行（新規 {self.inserted:,} 行、登録済みのため省略 {self.skipped:,} 行）"


def municipality_check_digit(code5: str) -> int:
    """JIS X 0402 全国地方公共団体コードの検査数字."""
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return (11 - total % 11) % 10


# --- field validators: return the stored value or raise ValueError(reason) ----------------
_DIGITS = re.compile(r"[0-9]+")


def _required(v: str) -> str:
    if not v:
        raise ValueError("必須項目が空です")
    return v


def _optional(v: str) -> str | None:
    return v or None


@lru_cache(maxsize=65536)
def _date(v: str) -> str:
    if len(v) != 10 or v[4] != "-" or v[7] != "-":
        raise ValueError("YYYY-MM-DD ではありません")
    try:
        date.fromisoformat(v)
    except ValueError:
        raise ValueError("存在しない日付です") from None
    return v


def _opt_date(v: str) -> str | None:
    return _date(v) if v else None


def _int(v: str) -> int:
    if not _DIGITS.fullmatch(v):
        raise ValueError("整数ではありません")
    return int(v)


def _opt_int(v: str) -> int | None:
    return _int(v) if v else None


def _flag(v: str) -> int:
    if v in ("", "0"):
        return 0
    if v == "1":
        return 1
    raise ValueError("フラグは 1、0 または空です")


def _sex(v: str) -> str:
    if v not in ("1", "2"):
        raise ValueError("性別は 1 または 2 です")
    return v


def _jumin_code(v: str) -> str:
    if not valid_jumin_code(v):
        raise ValueError("11 桁でないかチェックデジットが不正です")
    return v


def _opt_jumin_code(v: str) -> str | None:
    return _jumin_code(v) if v else None


def _kojin(v: str) -> str | None:
    if not v:
        return None
    if not valid_kojin_bango(v):
        raise ValueError("12 桁でないかチェックデジットが不正です")
    return v


@lru_cache(maxsize=4096)
def _city(v: str) -> str:
    if len(v) != 6 or not v.isdigit() or not v.isascii() or municipality_check_digit(v[:5]) != int(v[5]):
        raise ValueError("6 桁の団体コード（検査数字付き）ではありません")
    return v


def _opt_city(v: str) -> str | None:
    return _city(v) if v else None


def _opt_digits(v: str) -> str | None:
    if v and not (v.isascii() and v.isdigit()):
        raise ValueError("数字ではありません")
    return v or None


def _fuhyo_status(v: str) -> str:
    if v not in ("1", "2"):
        raise ValueError("1（記載中）または 2（消除）です")
    return v


JUMIN_RULES: dict[str, Callable[[str], object]] = {
    "jumin_code": _jumin_code, "name": _required, "name_gaiji_count": _opt_int, "name_kana": _required,
    "birth_date": _date, "sex": _sex, "address": _required, "address_gaiji_count": _opt_int, "kojin_bango": _kojin,
    "change_reason": _required, "change_date": _date, "retention_flag": _flag, "seion_kana": _optional,
    "city_code": _city, "aza_code": _opt_digits, "operator_id": _optional, "terminal_id": _optional,
    "timestamp": _optional, "notified_date": _opt_date, "gaiji_flag": _flag, "deleted_flag": _flag,
    "update_seq": _int, "name_gaiji_seq": _opt_int, "address_gaiji_seq": _opt_int, "old_name": _optional,
    "old_name_gaiji_count": _opt_int, "old_name_kana": _optional, "old_name_gaiji_seq": _opt_int,
}
FUHYO_RULES: dict[str, Callable[[str], object]] = {
    "jumin_code": _jumin_code, "name": _required, "name_gaiji_count": _opt_int, "name_kana": _required,
    "birth_date": _date, "sex": _sex, "city_code": _opt_city, "address": _optional, "address_gaiji_count": _opt_int,
    "last_address": _optional, "last_address_gaiji_count": _opt_int, "change_date": _date,
    "old_jumin_code": _opt_jumin_code, "fuhyo_city_code": _city, "fuhyo_status": _fuhyo_status,
    "gaiji_flag": _flag, "gaiji_pattern": _optional, "notice_kind": _optional, "old_name": _optional,
    "old_name_gaiji_count": _opt_int, "old_name_kana": _optional, "old_name_gaiji_seq": _opt_int,
}
RULES = {KIND_JUMIN: JUMIN_RULES, KIND_FUHYO: FUHYO_RULES}


@lru_cache(maxsize=1 << 18)
def name_keys(name: str, kana: str, old_name: str | None, old_kana: str | None) -> tuple:
    """(name key, kana key, old-name key, old-kana key): the old name is 旧氏 + the given name."""
    k_old = k_old_kana = None
    if old_name:
        k_old = normalize.name_key(old_name + normalize.split_name(name)[1])
    if old_kana:
        k_old_kana = normalize.kana_key(old_kana + normalize.split_name(kana)[1])
    return normalize.name_key(name), normalize.kana_key(kana), k_old, k_old_kana


@lru_cache(maxsize=1 << 18)
def address_key(address: str) -> str:
    return normalize.address_key(address)


def _keys(kind: str, rec: dict) -> tuple:
    keys = name_keys(rec["name"], rec["name_kana"], rec["old_name"], rec["old_name_kana"])
    addr = address_key(rec["address"]) if rec["address"] else None
    if kind == KIND_JUMIN:
        return (*keys, addr)
    last = address_key(rec["last_address"]) if rec["last_address"] else None
    return (*keys, addr, last)


def _rows(kind: str, path: Path, problems: list[str], counter: list[int]) -> Iterable[tuple]:
    rules = RULES[kind]
    columns = [en for _, en in COLUMNS[kind]]
    validators = [rules[c] for c in columns]
    ja = [j for j, _ in COLUMNS[kind]]
    width = len(columns)
    try:
        fh = open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise BulkError("E-STO-005", file=path.name, detail=type(exc).__name__) from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
        except UnicodeDecodeError:
            raise BulkError("E-STO-004", file=path.name, line=1) from None
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        if header is None or tuple(h.strip() for h in header) != HEADERS[kind]:
            missing = [h for h in HEADERS[kind] if not header or h not in header]
            raise BulkError("E-STO-001", file=path.name,
                            detail=f"不足 {','.join(missing[:3]) or 'なし'}、列数 {len(header or [])}/{width}")
        try:
            for raw in reader:
                counter[0] += 1
                line = reader.line_num
                if len(raw) != width:
                    if not raw:
                        continue
                    counter[1] += 1
                    if len(problems) < MAX_REPORTED:
                        problems.append(text_problem(path.name, line, "（行全体）", f"列数が {len(raw)} です（{width} 列）"))
                    continue
                values = []
                bad = False
                for i in range(width):
                    try:
                        values.append(validators[i](raw[i]))
                    except ValueError as exc:
                        bad = True
                        counter[1] += 1
                        if len(problems) < MAX_REPORTED:
                            problems.append(text_problem(path.name, line, ja[i], str(exc)))
                        break
                if bad:
                    continue
                rec = dict(zip(columns, values))
                yield (*values, *_keys(kind, rec))
        except UnicodeDecodeError:
            raise BulkError("E-STO-004", file=path.name, line=reader.line_num + 1) from None
        except csv.Error as exc:
            raise BulkError("E-STO-002", file=path.name, line=reader.line_num, field="CSV", reason=str(exc)[:60]) from None


def text_problem(file: str, line: int, column: str, reason: str) -> str:
    return f"[E-STO-002] {file} {line} 行目: {column} — {reason}"


def load_files(store, kind: str, paths: Iterable[Path | str], progress: Callable[[int], None] | None = None) -> LoadReport:
    """Validate and load every file; all or nothing. Raises LoadError listing the bad rows."""
    report = LoadReport()
    problems: list[str] = []
    counter = [0, 0]  # rows read, bad rows
    store.begin_load()
    try:
        for p in map(Path, paths):
            report.files.append(p.name)
            batch: list[tuple] = []
            for row in _rows(kind, p, problems, counter):
                batch.append(row)
                if len(batch) >= BATCH:
                    if not counter[1]:
                        report.inserted += store.insert_rows(kind, batch)
                    batch.clear()
                    if progress:
                        progress(counter[0])
            if batch and not counter[1]:
                report.inserted += store.insert_rows(kind, batch)
            if progress:
                progress(counter[0])
        if counter[1]:
            raise LoadError(",".join(report.files), problems, counter[1])
        store.commit_load()
    except BaseException:
        store.rollback_load()
        raise
    report.rows = counter[0]
    report.skipped = report.rows - report.inserted
    return report
