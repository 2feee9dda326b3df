"""Re-issue (再発行): the kept copy of an 出力 written to another registered drive of the same
department, when the first drive failed before the department read it."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bulktool import drive
from bulktool.ledger import Ledger
from bulktool.registry import Registry
from bulktool.services.copies import CopyStore
from bulktool.services.media import Device, acceptance_of, identify, output_entry
from bulktool.writer import LedgerWriter


def reissue(writer: LedgerWriter, ledger: Ledger, registry: Registry, terminal_pub: Ed25519PublicKey,
            copies: CopyStore, entry: int, path: Path, device: Device = drive.device_info) -> dict:
    """Write the kept container of 出力 `entry` to the drive at `path`; ledgered as 再発行."""
    e = output_entry(ledger, entry)  # the 出力 itself, or the 出力 of the 受付 ENTRY
    while e["event"] == "再発行":
        e = ledger.require(int(e["ref"]))
    m = identify(registry, terminal_pub, path, e["department"], "reissue", device)
    name, container = copies.load(acceptance_of(ledger, e))
    drive.write_atomic(path, name, container)
    return writer.record("再発行", ref=e["seq"], media_id=m.media_id, department=e["department"],
                         purpose=e.get("purpose"), approval_no=e.get("approval_no"),
                         files=[{"name": name, "sha256": drive.sha256(container)}], provided=e.get("provided"),
                         note=f"媒体 {e.get('media_id')} の照会結果を再発行")
