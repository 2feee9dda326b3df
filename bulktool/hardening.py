"""The process itself: no core dumps (they would hold whatever was in memory — decrypted requests,
matched residents), and on Linux not dumpable or traceable by other processes of the same user.
Called once at the CLI edge, before any secret is read."""
from __future__ import annotations

import ctypes
import sys

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3
LIBC = "libc.so.6"  # glibc's soname; ctypes.util.find_library would spawn ldconfig at every start


def harden() -> None:
    try:
        import resource  # POSIX only: Windows writes no core files of its own
    except ImportError:
        return
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(LIBC, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def dumpable() -> int | None:
    """The process's dumpable flag on Linux (0 after `harden`), else None."""
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(LIBC).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
