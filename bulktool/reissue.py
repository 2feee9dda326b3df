"""Result copies kept for re-issue (SPEC §6): each result container, as written, sealed to the
terminal's own key until 受領確認 or the retention period ends."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from bulktool import workspace as wsmod
from bulktool.messages import BulkError
from bulktool.session import Session


def _paths(s: Session, receipt_no: int) -> tuple[Path, Path]:
    base = s.ws.path("reissue")
    return base / f"{receipt_no}.bte", base / f"{receipt_no}.json"


def keep_copy(s: Session, receipt_no: int, name: str, container: bytes) -> None:
    from bulktool.containers import envelope

    sealed = envelope.seal([(name, container)], recipient=s.keys.public.x25519, sender=s.keys.ed25519)
    meta = {"receipt": receipt_no, "name": name, "created_at": s.clock.timestamp()}
    blob, meta_path = _paths(s, receipt_no)
    wsmod.write_private(blob, sealed)
    wsmod.write_private(meta_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def load_copy(s: Session, receipt_no: int) -> tuple[str, bytes]:
    from bulktool.containers import envelope

    blob, meta_path = _paths(s, receipt_no)
    if not blob.exists():
        raise BulkError("E-MED-016", entry=receipt_no)
    files = envelope.open_sealed(blob.read_bytes(), recipient=s.keys.x25519, sender=s.keys.public.ed25519)
    return files[0]


def drop_copy(s: Session, receipt_no: int) -> bool:
    blob, meta_path = _paths(s, receipt_no)
    existed = blob.exists()
    blob.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)
    return existed


def receipt_of(s: Session, entry: dict) -> int:
    """The 受付 number behind an 出力 or 再発行 entry."""
    while entry["event"] == "再発行":
        entry = s.ledger.get(int(entry["ref"]))
    return int(entry["ref"])


def erase_expired(s: Session) -> int:
    """Erase copies older than the retention period in force (config reissue_retention_days)."""
    erased = 0
    cutoff = s.clock.now() - timedelta(days=int(s.ws.config.get("reissue_retention_days", 30)))
    for meta_path in sorted(s.ws.path("reissue").glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if datetime.fromisoformat(meta["created_at"]) > cutoff:
            continue
        drop_copy(s, int(meta["receipt"]))
        s.append("消去", ref=int(meta["receipt"]), files=[{"name": meta["name"], "sha256": ""}],
                 note="再発行用保管コピーの保管期間満了による消去")
        erased += 1
    return erased


def reissue(s: Session, entry: int, path: Path) -> dict:
    """Write the kept container of 出力 `entry` to another registered drive of the department."""
    from bulktool import media

    e = s.ledger.get(entry)
    if e is None:
        raise BulkError("E-LED-005", entry=entry)
    if e["event"] != "出力":
        raise BulkError("E-MED-015", entry=entry)
    m = media.identify(s, path, e["department"])
    name, container = load_copy(s, receipt_of(s, e))
    media.write_atomic(path, name, container)
    return s.append("再発行", ref=entry, media_id=m.media_id, department=e["department"], purpose=e.get("purpose"),
                    approval_no=e.get("approval_no"), files=[{"name": name, "sha256": media.sha256(container)}],
                    note=f"媒体 {e.get('media_id')} の照会結果を再発行")
