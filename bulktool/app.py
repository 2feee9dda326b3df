"""The composition root: what one command of a logged-in operator is built from.

`logged_in` opens the workspace, logs the operator in (bulktool.session), and yields a `Command`:
the parts of the terminal that the login unlocked, each built once and only when asked for — the
`Actor` (who and where), the `Clock`, the `LedgerWriter` (ledger + signing key + actor + clock),
the registry, the store, the kept copies. The CLI hands each service only the parts it uses;
services never see the `Command`. Whatever a service returns for the operation log goes to
`Command.log`, and the command's outcome is recorded when it ends.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

from bulktool import workspace as wsmod
from bulktool.clock import Clock
from bulktool.exchange import Terminal, possible_results
from bulktool.keys import KeyPair, keypair_from_bytes
from bulktool.ledger import Ledger
from bulktool.messages import BulkError
from bulktool.oplog import OperationLog
from bulktool.registry import Operator, Registry
from bulktool.services.copies import CopyStore, erase_expired
from bulktool.services.records import purge_provisions
from bulktool.session import active_lock, authenticate, file_lock, log_outcome, open_oplog
from bulktool.store.backend import StoreBackend
from bulktool.store.url import LOADING_COMMANDS, open_store
from bulktool.workspace import Workspace
from bulktool.writer import Actor, LedgerWriter

# The auditor's views of the ledger write nothing to it (`ledger checkpoint` prints and writes
# nothing, `audit checkpoint` only its 点検, §10): they see an open 受付 as it is, and leave
# housekeeping to the next other command.
READS_LEDGER_ONLY = frozenset({"ledger list", "ledger export", "ledger verify", "ledger checkpoint",
                               "audit reconcile", "audit report", "audit checkpoint"})


@dataclass
class LogFacts:
    """What the operation log records of a command besides its outcome: counts and hashes."""
    counts: dict | None = None
    hashes: list | None = None


@dataclass
class Command:
    """One logged-in command: the login's result and the parts built from it."""
    ws: Workspace
    registry: Registry
    operator: Operator
    name: str
    clock: Clock
    kek: bytes = field(repr=False)  # the key-encryption key; services that write a key slot take it
    facts: LogFacts = field(default_factory=LogFacts)

    @property
    def actor(self) -> Actor:
        return Actor(self.operator.operator_id, self.ws.terminal_id)

    @cached_property
    def keys(self) -> KeyPair:
        """The terminal's key pair, decrypted with the key-encryption key unlocked at login."""
        blob = self.ws.path(wsmod.TERMINAL_KEY).read_bytes()
        return keypair_from_bytes(wsmod.open_with_kek(self.kek, blob, b"bulktool-terminal-key/1"))

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.ws.path("ledger.sqlite"))

    @cached_property
    def writer(self) -> LedgerWriter:
        return LedgerWriter(self.ledger, self.keys.ed25519, self.actor, self.clock)

    @cached_property
    def store(self) -> StoreBackend:
        """The workspace's store: SQLite, or PostgreSQL (as the owner role for the loading commands)."""
        return open_store(self.ws.home, self.ws.store_url(load=self.name in LOADING_COMMANDS))

    @cached_property
    def oplog(self) -> OperationLog:
        return open_oplog(self.ws)

    @cached_property
    def copies(self) -> CopyStore:
        return CopyStore(self.ws.path("reissue"), self.keys, self.clock)

    def terminal(self) -> Terminal:
        """What `exchange.run` uses of this command's parts."""
        return Terminal(writer=self.writer, ledger=self.ledger, registry=self.registry, keys=self.keys,
                        store=self.store, copies=self.copies, limits=self.ws.limits(), operator=self.operator,
                        lock=lambda: active_lock(self.ws, exclusive=False),
                        named_lock=self._named_lock)

    def _named_lock(self, name: str):
        """An exchange's lock on one request or one drive: an empty file in locks/ (never in tmp/,
        which holds nothing but the active lock)."""
        folder = self.ws.path("locks")
        folder.mkdir(mode=0o700, exist_ok=True)
        return file_lock(folder / f"{name}.lock")

    def log(self, counts: dict | None = None, hashes: list | None = None) -> None:
        """What the operation log should record of this command (from a service's result)."""
        self.facts = LogFacts(counts or None, hashes or None)

    def close(self) -> None:
        for name in ("ledger", "store", "oplog", "copies"):
            obj = self.__dict__.get(name)
            if obj is not None:
                obj.close()
        self.registry.close()


# Whose commands delete the provision records past their retention (contract §6b: "the next
# command of a logged-in administrator").
PURGES_PROVISIONS = frozenset({"administrator"})


def housekeeping(c: Command) -> None:
    """What the next command of a logged-in operator does (contract §6, §6b): close a 受付 that a
    crash left open as 失敗, erase expired re-issue copies (ledgered as 消去), and, for an
    administrator, delete provision records past their retention (ledgered as 履歴削除)."""
    with active_lock(c.ws, exclusive=True, blocking=False) as got:
        if not got:
            return  # an exchange is running; its 受付 is not dangling
        for acceptance in c.ledger.open_acceptances():
            c.copies.drop(acceptance["seq"])  # a failed exchange's result is not kept for re-issue
            c.writer.record("失敗", ref=acceptance["seq"], media_id=acceptance.get("media_id"),
                            department=acceptance.get("department"), purpose=acceptance.get("purpose"),
                            error_code="E-EXC-001", files=possible_results(acceptance["seq"]),
                            note="受付後に処理が完了しなかったため失敗として閉じました（書かれた可能性のある照会結果は、"
                                 "次にその媒体で照会するときに削除されます）")
        # under the same lock: no exchange is between writing a copy and recording its key
        erase_expired(c.copies, c.writer, retention_days=c.ws.retention().reissue_days)
        if c.operator.role in PURGES_PROVISIONS:
            # as the store's owner role (the exchange role may only add provision records); the
            # command's own connection when it is that role already (SQLite, a loading command)
            owner = c.ws.store_url(load=True)
            if owner == c.ws.store_url(load=c.name in LOADING_COMMANDS):
                purge_provisions(c.writer, c.store, c.ws.retention())
            else:
                store = open_store(c.ws.home, owner)
                try:
                    purge_provisions(c.writer, store, c.ws.retention())
                finally:
                    store.close()


@contextmanager
def logged_in(home, operator_id: str | None, passphrase: bytes, command: str,
              defer_role: bool = False, *, clock: Clock) -> Iterator[Command]:
    """Open the workspace, log in, run housekeeping, and record the command's outcome."""
    if not operator_id:
        raise BulkError("E-AUTH-013")
    ws = Workspace.open(home)
    registry = Registry(ws.path("registry.sqlite"))
    try:
        op, kek = authenticate(ws, registry, operator_id, passphrase, command, clock, defer_role)
    except BaseException:
        registry.close()
        raise
    c = Command(ws, registry, op, command, clock, kek)
    try:
        if command not in READS_LEDGER_ONLY:
            housekeeping(c)
        yield c
    except BulkError as err:
        outcome = "失敗" if err.exit_code == 4 else "拒否"
        # a refused exchange names the request it refused by its hash (err.log_hashes)
        log_outcome(ws, clock, operator_id=operator_id, command=command, outcome=outcome, code=err.code,
                    counts=c.facts.counts, hashes=getattr(err, "log_hashes", None) or c.facts.hashes)
        raise
    except BaseException as exc:
        log_outcome(ws, clock, operator_id=operator_id, command=command, outcome="失敗",
                    code=None, detail=type(exc).__name__)
        raise
    else:
        log_outcome(ws, clock, operator_id=operator_id, command=command, outcome="成功",
                    counts=c.facts.counts, hashes=c.facts.hashes)
    finally:
        c.close()
