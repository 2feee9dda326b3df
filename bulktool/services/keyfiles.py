"""Key files on disk: the terminal's public key exported for departments and auditors, and a
department's key pair (`keys generate`, on the department's own PC — no workspace)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from bulktool import keys
from bulktool import workspace as wsmod
from bulktool.messages import BulkError
from bulktool.workspace import Workspace


def export_terminal_key(ws: Workspace, out: str | Path) -> str:
    """Copy the terminal's public key file to `out`; returns its fingerprint."""
    src = ws.path(wsmod.TERMINAL_PUB)
    fingerprint = keys.read_public(src.read_bytes()).fingerprint
    shutil.copyfile(src, out)
    return fingerprint


def write_key_pair(out: Path, name: str, passphrase: Callable[[], bytes]) -> tuple[Path, Path, str]:
    """NAME.key (private, encrypted under the passphrase) and NAME.pub in `out`; never overwrites,
    and asks for the passphrase only once it knows it will write. Returns both paths and the
    fingerprint to write on the paper 依頼書."""
    key_path, pub_path = out / f"{name}.key", out / f"{name}.pub"
    for p in (key_path, pub_path):
        if p.exists():
            raise BulkError("E-KEY-004", path=str(p))
    out.mkdir(parents=True, exist_ok=True)
    kp = keys.generate(name)
    key_path.write_bytes(keys.seal_private(kp, passphrase()))
    try:
        key_path.chmod(0o600)  # owner only where the system has POSIX modes (a no-op on Windows)
    except OSError:
        pass
    pub_path.write_bytes(keys.format_public(kp.public))
    return key_path, pub_path, kp.public.fingerprint
