"""The department registry (照会元): add and update, each a 登録変更 entry. What may be provided to
whom is bulktool.policy's; this module stores what policy allowed."""
from __future__ import annotations

from bulktool import keys, policy
from bulktool.messages import BulkError
from bulktool.registry import Department, Registry
from bulktool.results import TABLE_KINDS
from bulktool.writer import LedgerWriter


def kojin_label(dep: Department) -> str:
    """「全事務」, 「P01,P03 のみ」 or 「不可」: for which purposes 個人番号 may be provided."""
    if dep.kojin_bango:
        return "全事務"
    return f"{','.join(dep.kojin_purposes)} のみ" if dep.kojin_purposes else "不可"


def kojin_permission(old: Department | None, kojin_bango: bool | None,
                     kojin_purposes: list[str] | None) -> tuple[bool, list[str]]:
    """The 番号法 permission after `department add/update`, as (every purpose, these purposes):

    | given                          | result                                      |
    |--------------------------------|---------------------------------------------|
    | --kojin-bango                  | every purpose (a per-purpose list is gone)  |
    | --no-kojin-bango               | none at all (per-purpose ones withdrawn too) |
    | --kojin-bango-purpose P …      | only those purposes (every-purpose withdrawn) |
    | none of them                   | as it was (a new department: none)          |
    """
    if kojin_bango is not None and kojin_purposes:
        raise BulkError("E-DEP-010")
    if kojin_bango is True:
        return True, []
    if kojin_bango is False:
        return False, []
    if kojin_purposes:
        return False, list(dict.fromkeys(kojin_purposes))
    return (old.kojin_bango, list(old.kojin_purposes)) if old else (False, [])


def put_department(writer: LedgerWriter, registry: Registry, code: str, *, name: str | None, purposes: list[str],
                   fields: list[str] | None, kojin_bango: bool | None, public_key: bytes | None,
                   new: bool, kojin_purposes: list[str] | None = None,
                   result_table: str | None = None) -> tuple[Department, str | None]:
    """Add or update a department; returns it and the fingerprint of its key, if any.
    `result_table`: the 照会結果 table its exchanges write unless the operator says otherwise,
    "csv" (the default) or "xlsx"."""
    if result_table not in (None, *TABLE_KINDS):
        raise BulkError("E-USE-001", option="--table", value=result_table)
    old = registry.department(code)
    if new and old is not None:
        raise BulkError("E-DEP-003", department=code)
    if not new and old is None:
        raise BulkError("E-DEP-001", department=code)
    fingerprint = None
    pub_text = old.public_key if old else None
    if public_key is not None:
        fingerprint = keys.read_public(public_key).fingerprint
        pub_text = public_key.decode("utf-8")
    elif pub_text:
        fingerprint = keys.read_public(pub_text.encode("utf-8")).fingerprint
    every, only = kojin_permission(old, kojin_bango, kojin_purposes)
    dep = Department(
        code=code,
        name=name if name is not None else (old.name if old else code),
        purposes=policy.parse_purposes(purposes) if purposes else (old.purposes if old else {}),
        fields=policy.permitted_fields(fields) if fields is not None else (old.fields if old else []),
        kojin_bango=every,
        public_key=pub_text,
        kojin_purposes=only,
        result_table=result_table or (old.result_table if old else "csv"),
    )
    policy.check_registration(dep)
    if old is not None and dep == old:
        raise BulkError("E-DEP-009", department=code)  # nothing to ledger: the registry is as it was
    registry.put_department(dep, writer.clock.timestamp(), new=new)
    note = (f"照会元{'登録' if new else '更新'} {code}（事務 {','.join(dep.purposes)}、提供項目 {','.join(dep.fields)}"
            f"、個人番号 {kojin_label(dep)}"
            + (f"、照会結果 {dep.result_table}" if dep.result_table != (old.result_table if old else "csv") else "")
            + (f"、公開鍵 {fingerprint}" if fingerprint else "") + "）")
    writer.record("登録変更", department=code, note=note)
    return dep, fingerprint
