"""Result copies kept for re-issue (contract §6): each result container, as written, sealed to the
terminal's own key until 受領確認 or the retention period ends. Copies are kept under the 受付
number of their exchange."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from bulktool import workspace as wsmod
from bulktool.clock import Clock
from bulktool.containers import envelope
from bulktool.keys import KeyPair
from bulktool.messages import BulkError
from bulktool.writer import LedgerWriter


class CopyStore:
    """The workspace's reissue/ folder: `N.bte` (the sealed container) and `N.json` (its name and
    when it was kept), N the 受付 number."""

    def __init__(self, directory: Path, keys: KeyPair, clock: Clock) -> None:
        self.dir, self.keys, self.clock = directory, keys, clock

    def _paths(self, acceptance_no: int) -> tuple[Path, Path]:
        return self.dir / f"{acceptance_no}.bte", self.dir / f"{acceptance_no}.json"

    def keep(self, acceptance_no: int, name: str, container: bytes) -> None:
        sealed = envelope.seal([(name, container)], recipient=self.keys.public.x25519, sender=self.keys.ed25519)
        meta = {"receipt": acceptance_no, "name": name, "created_at": self.clock.timestamp()}
        blob, meta_path = self._paths(acceptance_no)
        wsmod.write_private(blob, sealed)
        wsmod.write_private(meta_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))

    def load(self, acceptance_no: int) -> tuple[str, bytes]:
        blob, _ = self._paths(acceptance_no)
        if not blob.exists():
            raise BulkError("E-MED-016", entry=acceptance_no)
        files = envelope.open_sealed(blob.read_bytes(), recipient=self.keys.x25519,
                                     sender=self.keys.public.ed25519)
        return files[0]

    def drop(self, acceptance_no: int) -> bool:
        blob, meta_path = self._paths(acceptance_no)
        existed = blob.exists()
        blob.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
        return existed

    def kept_before(self, cutoff: datetime) -> list[tuple[int, str]]:
        """(受付 number, file name) of the copies kept at or before `cutoff`."""
        old = []
        for meta_path in sorted(self.dir.glob("*.json")):
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if datetime.fromisoformat(meta["created_at"]) <= cutoff:
                old.append((int(meta["receipt"]), meta["name"]))
        return old


def erase_expired(copies: CopyStore, writer: LedgerWriter, *, retention_days: int) -> int:
    """Erase the copies older than the retention period (Retention.reissue_days), each
    ledgered as 消去."""
    expired = copies.kept_before(copies.clock.now() - timedelta(days=retention_days))
    for acceptance_no, name in expired:
        copies.drop(acceptance_no)
        writer.record("消去", ref=acceptance_no, files=[{"name": name, "sha256": ""}],
                      note="再発行用保管コピーの保管期間満了による消去")
    return len(expired)
