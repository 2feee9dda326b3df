"""keys/ holds only public material; samples/ parse as the department's files do."""
from __future__ import annotations

import json
from pathlib import Path

from bulktool import keys
from bulktool.conditions import read_conditions
from bulktool.model import SearchCondition

ROOT = Path(__file__).resolve().parents[1]


def test_keys_folder_holds_no_private_key_and_its_public_keys_parse():
    files = [p for p in (ROOT / "keys").rglob("*") if p.is_file()]
    assert any(p.suffix == ".pub" for p in files)
    for p in files:
        data = p.read_bytes()
        assert b"bulktool-private-key" not in data and b"PRIVATE KEY" not in data, p.name
        if p.suffix == ".pub":
            assert keys.read_public(data).name
    assert "*.key" in (ROOT / "keys" / ".gitignore").read_text(encoding="utf-8").split()


def test_samples_are_valid_requests_with_one_condition_per_row():
    data = (ROOT / "samples" / "検索条件_見本.csv").read_bytes()
    table = read_conditions("検索条件_見本.csv", data)
    assert table.encoding == "utf-8-sig"
    assert len(table.items) == data.count(b"\r\n") - 1
    assert all(isinstance(i, SearchCondition) for i in table.items)
    irai = json.loads((ROOT / "samples" / "依頼票_見本.json").read_text(encoding="utf-8"))
    assert set(irai) == {"照会元", "事務", "依頼番号", "基準日"}
