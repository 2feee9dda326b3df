"""The 登録変更 notes of operator changes (contract §6, §8): written into the signed ledger by
services/operators.py and read back by the audit (AUD-12, audit/operators.py), which rebuilds
each operator's role and validity at every entry's time from them. One wording, both ways: a
note is made here and parsed here, and tests/test_changes.py round-trips each kind."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

ADDED, RENEWED, REVOKED, UNLOCKED, PASSPHRASE = "追加", "更新", "失効", "ロック解除", "パスフレーズ変更"
# `backup create` ledgers its backup as 登録変更 with a note that starts so (services/backup.py)
BACKUP_NOTE = "バックアップ作成"


@dataclass(frozen=True)
class OperatorChange:
    kind: str                      # one of the constants above
    operator_id: str
    role: str | None = None        # ADDED
    trained_on: date | None = None  # RENEWED
    valid_until: date | None = None  # ADDED, RENEWED

    def note(self) -> str:
        """The ledger note of this change."""
        oid = self.operator_id
        if self.kind == ADDED:
            return f"操作者追加 {oid}（{self.role}、有効期限 {self.valid_until.isoformat()}）"
        if self.kind == RENEWED:
            return f"操作者更新 {oid}（研修 {self.trained_on.isoformat()}、有効期限 {self.valid_until.isoformat()}）"
        if self.kind == PASSPHRASE:
            return f"パスフレーズ変更 {oid}"
        return f"操作者{self.kind} {oid}"


_DAY = r"(\d{4}-\d{2}-\d{2})"
_PATTERNS = (
    (ADDED, re.compile(rf"操作者追加 (\S+?)（(\w+)、有効期限 {_DAY}）")),
    (RENEWED, re.compile(rf"操作者更新 (\S+?)（研修 {_DAY}、有効期限 {_DAY}）")),
    (REVOKED, re.compile(r"操作者失効 (\S+)")),
    (UNLOCKED, re.compile(r"操作者ロック解除 (\S+)")),
    (PASSPHRASE, re.compile(r"パスフレーズ変更 (\S+)")),
)


def parse(note: object) -> OperatorChange | None:
    """The operator change a 登録変更 note records, or None (a department or key change)."""
    text = str(note or "")
    for kind, pattern in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        if kind == ADDED:
            return OperatorChange(kind, m.group(1), role=m.group(2), valid_until=date.fromisoformat(m.group(3)))
        if kind == RENEWED:
            return OperatorChange(kind, m.group(1), trained_on=date.fromisoformat(m.group(2)),
                                  valid_until=date.fromisoformat(m.group(3)))
        return OperatorChange(kind, m.group(1))
    return None
