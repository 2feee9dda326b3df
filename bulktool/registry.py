"""Operators, departments and media (contract §8), in the workspace's registry.sqlite.

Rules that need no database (validity dates, roles, permitted fields) are pure functions at the
top; the Registry class below is the storage.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bulktool.messages import BulkError
from bulktool.sqlitedb import connect_private, immediate

ROLES = ("operator", "administrator", "security", "auditor")
ROLE_LABELS = {"operator": "操作者", "administrator": "管理者", "security": "セキュリティ責任者", "auditor": "監査者"}
MAX_FAILURES = 5

_ALL = set(ROLES)
_OP_ADMIN = {"operator", "administrator"}
# command -> roles allowed (contract §8). Security officers may run `operator unlock/renew` only
# for administrators: checked in the service, not here.
PERMISSIONS: dict[str, set[str]] = {
    "exchange": {"operator"},
    "reissue": {"operator"},
    "media register": _OP_ADMIN,
    "media handover": _OP_ADMIN,
    "media receipt": _OP_ADMIN,
    "media lend": _OP_ADMIN,
    "media return": _OP_ADMIN,
    "media erase": {"security"},
    "media dispose": {"security"},
    "backup create": {"security"},
    "media lost": {"administrator", "security"},
    "media slip": _OP_ADMIN,
    "operator add": {"administrator"},
    "operator revoke": {"administrator"},
    "operator list": {"administrator", "security", "auditor"},
    "operator unlock": {"administrator", "security"},
    "operator renew": {"administrator", "security"},
    "operator passwd": _ALL,
    "department add": {"administrator"},
    "department update": {"administrator"},
    "department list": {"administrator", "security", "auditor"},
    "store load": {"administrator"},
    "store generate": {"administrator"},
    "store migrate": {"administrator"},
    "disclosure": {"administrator"},
    "oplog purge": {"administrator"},
    "store stats": _ALL,
    "media list": _ALL,
    "ledger list": _ALL,
    "ledger export": _ALL,
    "ledger verify": _ALL,
    "ledger checkpoint": _ALL,
    "oplog list": _ALL,
    "oplog export": _ALL,
    "oplog verify": _ALL,
    "audit reconcile": _ALL,
    "audit report": _ALL,
    "audit checkpoint": {"auditor"},
    "keys export": _ALL,
}


def fiscal_year_end_after(trained_on: date) -> date:
    """31 March that ends the fiscal year after the one of the training date
    (trained 2025-06-01 → 2027-03-31; trained 2025-02-01, FY2024 → 2026-03-31)."""
    fy = trained_on.year if trained_on.month >= 4 else trained_on.year - 1
    return date(fy + 2, 3, 31)


def fiscal_year_end(day: date) -> date:
    """31 March ending the fiscal year that contains `day`."""
    return date(day.year + 1 if day.month >= 4 else day.year, 3, 31)


@dataclass
class Operator:
    operator_id: str
    name: str
    role: str
    trained_on: date
    valid_until: date
    revoked: bool
    locked: bool
    failures: int
    slot: bytes = field(repr=False)

    def refusal(self, today: date) -> BulkError | None:
        """Why this operator may do nothing today, or None."""
        if self.revoked:
            return BulkError("E-AUTH-004", operator=self.operator_id)
        if self.locked:
            return BulkError("E-AUTH-003", operator=self.operator_id)
        if self.trained_on > today:
            return BulkError("E-AUTH-005", operator=self.operator_id, trained_on=self.trained_on.isoformat())
        if self.valid_until < today:
            return BulkError("E-AUTH-006", operator=self.operator_id, valid_until=self.valid_until.isoformat())
        return None


@dataclass
class Department:
    code: str
    name: str
    purposes: dict[str, str]  # purpose code -> legal basis
    fields: list[str]
    kojin_bango: bool       # 番号法: 個人番号 for every purpose (--kojin-bango)
    public_key: str | None  # the .pub file text
    kojin_purposes: list[str] = field(default_factory=list)  # 番号法: 個人番号 for these purposes only
    result_table: str = "csv"  # the 照会結果 table by default: "csv" or "xlsx" (department add --table)


@dataclass
class Media:
    media_id: str
    department: str
    product: str
    serial: str
    registered_at: str
    status: str  # 登録 / 貸与中 / 廃棄
    lent_to: str | None
    lent_until: str | None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS operators (
  operator_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
  trained_on TEXT NOT NULL, valid_until TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  locked INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, slot BLOB NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS departments (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, purposes TEXT NOT NULL, fields TEXT NOT NULL,
  kojin_bango INTEGER NOT NULL, public_key TEXT, updated_at TEXT NOT NULL, kojin_purposes TEXT,
  result_table TEXT);
CREATE TABLE IF NOT EXISTS media (
  media_id TEXT PRIMARY KEY, department TEXT NOT NULL, product TEXT NOT NULL DEFAULT '',
  serial TEXT NOT NULL DEFAULT '', registered_at TEXT NOT NULL, status TEXT NOT NULL,
  lent_to TEXT, lent_until TEXT);
"""


class Registry:
    def __init__(self, path: Path) -> None:
        self.db = connect_private(path, wal=False)
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(departments)")}
        if "kojin_purposes" not in columns:  # a registry from before 個人番号 per purpose
            self.db.execute("ALTER TABLE departments ADD COLUMN kojin_purposes TEXT")
        if "result_table" not in columns:  # a registry from before 照会結果.xlsx: every department CSV
            self.db.execute("ALTER TABLE departments ADD COLUMN result_table TEXT")

    def close(self) -> None:
        self.db.close()

    # --- operators ---
    def add_operator(self, op: Operator, created_at: str) -> None:
        if self.operator(op.operator_id) is not None:
            raise BulkError("E-AUTH-008", operator=op.operator_id)
        self.db.execute(
            "INSERT INTO operators VALUES (?,?,?,?,?,?,?,?,?,?)",
            (op.operator_id, op.name, op.role, op.trained_on.isoformat(), op.valid_until.isoformat(),
             int(op.revoked), int(op.locked), op.failures, op.slot, created_at),
        )

    def operator(self, operator_id: str) -> Operator | None:
        row = self.db.execute(
            "SELECT operator_id, name, role, trained_on, valid_until, revoked, locked, failures, slot"
            " FROM operators WHERE operator_id = ?", (operator_id,)).fetchone()
        return _operator(row) if row else None

    def operators(self) -> list[Operator]:
        rows = self.db.execute(
            "SELECT operator_id, name, role, trained_on, valid_until, revoked, locked, failures, slot"
            " FROM operators ORDER BY operator_id").fetchall()
        return [_operator(r) for r in rows]

    def update_operator(self, operator_id: str, **values: object) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        params = [v.isoformat() if isinstance(v, date) else v for v in values.values()]
        self.db.execute(f"UPDATE operators SET {cols} WHERE operator_id = ?", (*params, operator_id))

    def begin_attempt(self, operator_id: str) -> bool:
        """Reserve one passphrase attempt before the (slow) passphrase check, atomically across
        processes: an attempt counts as a failure until it proves right (`update_operator(...,
        failures=0)`), so parallel guesses are bounded like sequential ones. False when
        MAX_FAILURES attempts are already spent or in flight: the account is locked."""
        with immediate(self.db):
            row = self.db.execute("SELECT failures, locked FROM operators WHERE operator_id = ?",
                                  (operator_id,)).fetchone()
            allowed = row is not None and not row[1] and row[0] < MAX_FAILURES
            if allowed:
                self.db.execute("UPDATE operators SET failures = failures + 1 WHERE operator_id = ?", (operator_id,))
        return allowed

    def fail_attempt(self, operator_id: str) -> int:
        """A reserved attempt proved wrong: lock at MAX_FAILURES. Returns the failure count."""
        with immediate(self.db):
            self.db.execute("UPDATE operators SET locked = CASE WHEN failures >= ? THEN 1 ELSE locked END "
                            "WHERE operator_id = ?", (MAX_FAILURES, operator_id))
            (count,) = self.db.execute("SELECT failures FROM operators WHERE operator_id = ?",
                                       (operator_id,)).fetchone()
        return count

    def valid_administrators(self, today: date) -> list[Operator]:
        return [o for o in self.operators() if o.role == "administrator" and o.refusal(today) is None]

    # --- departments ---
    def put_department(self, dep: Department, updated_at: str, *, new: bool) -> None:
        exists = self.department(dep.code) is not None
        if new and exists:
            raise BulkError("E-DEP-003", department=dep.code)
        if not new and not exists:
            raise BulkError("E-DEP-001", department=dep.code)
        self.db.execute(
            "INSERT OR REPLACE INTO departments (code, name, purposes, fields, kojin_bango, public_key, updated_at, "
            "kojin_purposes, result_table) VALUES (?,?,?,?,?,?,?,?,?)",
            (dep.code, dep.name, json.dumps(dep.purposes, ensure_ascii=False),
             json.dumps(dep.fields, ensure_ascii=False), int(dep.kojin_bango), dep.public_key, updated_at,
             json.dumps(dep.kojin_purposes, ensure_ascii=False), dep.result_table))

    def department(self, code: str) -> Department | None:
        row = self.db.execute(
            "SELECT code, name, purposes, fields, kojin_bango, public_key, kojin_purposes, result_table "
            "FROM departments WHERE code = ?",
            (code,)).fetchone()
        return _department(row) if row else None

    def departments(self) -> list[Department]:
        rows = self.db.execute(
            "SELECT code, name, purposes, fields, kojin_bango, public_key, kojin_purposes, result_table "
            "FROM departments ORDER BY code")
        return [_department(r) for r in rows]

    # --- media ---
    def add_media(self, m: Media) -> None:
        if self.media(m.media_id) is not None:
            raise BulkError("E-MED-006", media_id=m.media_id)
        self.db.execute("INSERT INTO media VALUES (?,?,?,?,?,?,?,?)",
                        (m.media_id, m.department, m.product, m.serial, m.registered_at, m.status,
                         m.lent_to, m.lent_until))

    def media(self, media_id: str) -> Media | None:
        row = self.db.execute("SELECT * FROM media WHERE media_id = ?", (media_id,)).fetchone()
        return Media(*row) if row else None

    def media_all(self) -> list[Media]:
        return [Media(*r) for r in self.db.execute("SELECT * FROM media ORDER BY media_id")]

    def update_media(self, media_id: str, **values: object) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE media SET {cols} WHERE media_id = ?", (*values.values(), media_id))


def _operator(row: tuple) -> Operator:
    oid, name, role, trained, valid, revoked, locked, failures, slot = row
    return Operator(oid, name, role, date.fromisoformat(trained), date.fromisoformat(valid),
                    bool(revoked), bool(locked), failures, slot)


def _department(row: tuple) -> Department:
    code, name, purposes, fields, kojin, pub, kojin_purposes, result_table = row
    return Department(code, name, json.loads(purposes), json.loads(fields), bool(kojin), pub,
                      json.loads(kojin_purposes) if kojin_purposes else [], result_table or "csv")
