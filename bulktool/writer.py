"""Who acts, and the one way an entry reaches the 管理簿: signed, by that actor, on that clock."""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bulktool.clock import Clock
from bulktool import untrusted
from bulktool.ledger import Ledger
from bulktool.messages import BulkError


@dataclass(frozen=True)
class Actor:
    """Who acts, and where: every ledger entry and log record carries both."""
    operator_id: str
    terminal_id: str


class LedgerWriter:
    """Appends signed 管理簿 entries by one actor at one terminal, stamped by one clock."""

    def __init__(self, ledger: Ledger, key: Ed25519PrivateKey, actor: Actor, clock: Clock) -> None:
        self.ledger, self._key, self.actor, self.clock = ledger, key, actor, clock

    def record(self, event: str, **fields: object) -> dict:
        """Append one entry. A 決裁番号 is typed by whoever runs the command (§8): it passes the
        rule every outside text passes before the ledger (bulktool/untrusted.py), or the command
        stops (E-USE-004) before anything is written."""
        approval = fields.get("approval_no")
        if approval is not None and (why := untrusted.problem(approval, "決裁番号")) is not None:
            raise BulkError("E-USE-004", reason=why)
        entry = {"event": event, "operator_id": self.actor.operator_id, "terminal_id": self.actor.terminal_id}
        entry.update({k: v for k, v in fields.items() if v is not None})
        return self.ledger.append(entry, key=self._key, timestamp=self.clock.timestamp())
