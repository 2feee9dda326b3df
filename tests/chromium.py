"""Headless Chromium for the printable pages (受渡票, audit report): render an HTML file to an A4
PNG at 150 dpi and report what the browser said. Debian's `chromium` (installed by .ci/run)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

A4_150DPI = "1240,1754"


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed (.ci/run installs Debian's chromium)"
    return exe


def render(html: Path, png: Path) -> str:
    """Render `html` to `png`; returns the browser's log (console messages included)."""
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                            f"--window-size={A4_150DPI}", f"--screenshot={png}", html.resolve().as_uri()],
                           capture_output=True, text=True, timeout=120)
    assert png.exists(), r.stderr[-2000:]
    return r.stderr


def console_errors(log: str) -> list[str]:
    return [ln for ln in log.splitlines() if "CONSOLE" in ln and ("ERROR" in ln or "Uncaught" in ln)]


def not_blank(png: Path, tmp: Path) -> bool:
    """More drawn than on an empty page: the PNG of a blank page at the same size compresses to
    almost nothing, a page with text and rules to many times that."""
    blank = tmp / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    render(blank, tmp / "blank.png")
    return png.stat().st_size > 4 * (tmp / "blank.png").stat().st_size
