"""Who acts, and the one way an entry reaches the 管理簿: signed, by that actor, on that clock."""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bulktool.clock import Clock
from bulktool.ledger import Ledger


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
        entry = {"event": event, "operator_id": self.actor.operator_id, "terminal_id": self.actor.terminal_id}
        entry.update({k: v for k, v in fields.items() if v is not None})
        return self.ledger.append(entry, key=self._key, timestamp=self.clock.timestamp())
