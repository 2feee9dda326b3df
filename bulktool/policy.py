"""Who may receive what (contract §8): department × purpose × result fields × 個人番号.

Pure rules over a `Department` as the registry holds it. The exchange asks `check_purpose` before
the store is read and `provided_fields` for the result's columns; `department add/update` asks
`permitted_fields` and `parse_purposes` before anything is stored.
"""
from __future__ import annotations

from bulktool.messages import BulkError
from bulktool.model import JUMIN_FIELDS
from bulktool.registry import Department

KOJIN_BANGO = "個人番号"


def permitted_fields(fields: list[str]) -> list[str]:
    """The result fields a department may be registered for (提供する情報 of the law), in the
    result's column order; an unknown name is refused."""
    for f in fields:
        if f not in JUMIN_FIELDS:
            raise BulkError("E-DEP-004", field=f)
    return [f for f in JUMIN_FIELDS if f in fields]


def parse_purposes(values: list[str]) -> dict[str, str]:
    """`--purpose CODE=BASIS` options → {code: legal basis}."""
    purposes: dict[str, str] = {}
    for v in values:
        code, sep, basis = v.partition("=")
        if not sep or not code.strip() or not basis.strip():
            raise BulkError("E-DEP-005", value=v)
        purposes[code.strip()] = basis.strip()
    return purposes


def kojin_bango_for(dep: Department, purpose: str) -> bool:
    """Whether 番号法 lets this department have 個人番号 for `purpose`: for every purpose
    (--kojin-bango), or for the purposes named (--kojin-bango-purpose)."""
    return dep.kojin_bango or purpose in dep.kojin_purposes


def provided_fields(dep: Department, purpose: str) -> list[str]:
    """Result fields this department receives for `purpose`: 個人番号 only under 番号法 for it."""
    return [f for f in dep.fields if f != KOJIN_BANGO or kojin_bango_for(dep, purpose)]


def check_registration(dep: Department) -> Department:
    """What `department add/update` stores is what it prints: 個人番号 among the fields needs the
    番号法 permission, never silently dropped."""
    if KOJIN_BANGO in dep.fields and not (dep.kojin_bango or dep.kojin_purposes):
        raise BulkError("E-DEP-008")
    if not dep.purposes:
        raise BulkError("E-DEP-005", value="（なし）")
    for purpose in dep.kojin_purposes:
        if purpose not in dep.purposes:
            raise BulkError("E-DEP-002", department=dep.code, purpose=purpose)
    return dep


def check_purpose(dep: Department | None, code: str, purpose: str) -> Department:
    """The department, when it is registered and holds `purpose`; else the refusal."""
    if dep is None:
        raise BulkError("E-DEP-001", department=code)
    if purpose not in dep.purposes:
        raise BulkError("E-DEP-002", department=code, purpose=purpose)
    return dep
