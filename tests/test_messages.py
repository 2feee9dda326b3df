"""Every message code is stable, documented and renders without personal data placeholders."""
from __future__ import annotations

import re
from pathlib import Path

from bulktool.messages import MESSAGES, BulkError, reference_markdown


def test_docs_errors_is_current():
    assert (Path(__file__).parents[1] / "docs" / "errors.md").read_text(encoding="utf-8") == reference_markdown()


def test_codes_are_well_formed_with_valid_exit_codes():
    for code, (exit_code, template) in MESSAGES.items():
        assert re.fullmatch(r"E-[A-Z]{2,4}-\d{3}", code), code
        assert exit_code in (1, 2, 3, 4)
        assert template.strip()


def test_every_code_raised_in_the_code_exists():
    root = Path(__file__).parents[1] / "bulktool"
    used = set()
    for p in root.rglob("*.py"):
        used |= set(re.findall(r'"(E-[A-Z]{2,4}-\d{3})"', p.read_text(encoding="utf-8")))
    assert used <= set(MESSAGES), sorted(used - set(MESSAGES))


def test_missing_params_do_not_crash_the_message():
    assert "E-MED-001" in str(BulkError("E-MED-001"))
