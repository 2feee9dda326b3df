"""Named points on the exchange path where a test can make the process die or be interrupted,
to check the crash contract (docs/crash.md). Set only by tests, in a child process's environment:
BULKTOOL_FAULT="kill@after-drive-write" (SIGKILL) or "sigint@during-matching" (Ctrl-C). Unset, a
point does nothing."""
from __future__ import annotations

import os
import signal

POINTS = ("after-acceptance", "during-matching", "after-drive-write", "after-copy", "after-provisions")
_ACTIONS = {"kill": signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM, "sigint": signal.SIGINT}
_SPEC = os.environ.get("BULKTOOL_FAULT", "")


def point(name: str) -> None:
    if not _SPEC:
        return
    action, _, where = _SPEC.partition("@")
    if where == name and action in _ACTIONS:
        os.kill(os.getpid(), _ACTIONS[action])
