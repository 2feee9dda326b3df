"""The signed 受領証 (issue 19, contract §6): `bulktool receipt` on the department's PC, checked by
`media receipt ENTRY --proof FILE`. The genuine one is accepted and its hash ledgered; a forged,
altered, wrong-entry or wrong-department one is refused with its own code and changes nothing."""
from __future__ import annotations

import hashlib
import json
import re

import pytest
from conftest import exchange_ok, ledger_rows, put_zip_request

from bulktool import keys, receipt
from bulktool.clock import FixedClock


def result_password(stdout: str) -> str:
    return re.search(r"^照会結果パスワード: (\S+)$", stdout, re.M).group(1)


def make_proof(cli, world, drive, stdout: str, name: str, *, key="d01.key") -> tuple:
    pw = world["tmp"] / f"{name}.rpw"
    pw.write_text(result_password(stdout) + "\n")
    result = sorted(drive.glob("照会結果_*.zip"))[-1]
    out = world["tmp"] / f"{name}.json"
    r = cli.raw("receipt", str(result), "--password-file", str(pw), "--key-sign", str(world["keys"] / key),
                "--passphrase-file", str(world["tmp"] / "dept.pass"), "--terminal-key", str(world["term_pub"]),
                "--out", str(out))
    assert r.exit_code == 0, r.output
    return out, result


@pytest.fixture
def two_results(cli, world):
    d1, d2, _ = world["drives"]
    proofs = []
    for d in (d1, d2):
        r = exchange_ok(cli, d, put_zip_request(cli, world, d))
        out = [e for e in ledger_rows(cli) if e["事象"] == "出力"][-1]
        cli.ok("media", "handover", out["番号"], as_="op01")
        proof, result = make_proof(cli, world, d, r.stdout, f"proof-{d.name}")
        proofs.append((out, proof, result))
    return proofs


def refused(cli, entry: str, proof, code: str):
    n = len(ledger_rows(cli))
    r = cli("media", "receipt", entry, "--proof", str(proof), as_="op01")
    assert r.exit_code == 1 and code in r.output, r.output
    assert len(ledger_rows(cli)) == n


def test_the_genuine_receipt_is_accepted_and_its_hash_ledgered(cli, world, two_results):
    out, proof, result = two_results[0]
    doc = json.loads(proof.read_text(encoding="utf-8"))
    assert doc["ledger_entry"] == int(out["参照番号"]) and doc["department"] == "D01"
    assert doc["result_sha256"] == hashlib.sha256(result.read_bytes()).hexdigest()
    cli.ok("media", "receipt", out["番号"], "--proof", str(proof), as_="op01")
    entry = ledger_rows(cli)[-1]
    assert entry["事象"] == "受領確認" and "受領証" in entry["備考"]
    assert hashlib.sha256(proof.read_bytes()).hexdigest() in entry["ファイル"]


def test_without_a_proof_the_entry_says_it_rests_on_the_operator(cli, world, two_results):
    out = two_results[0][0]
    cli.ok("media", "receipt", out["番号"], as_="op01")
    assert "受領証なし" in ledger_rows(cli)[-1]["備考"]


def test_a_receipt_for_another_result_is_refused(cli, world, two_results):
    (out1, proof1, _), (out2, proof2, _) = two_results
    refused(cli, out1["番号"], proof2, "E-RCP-003")


def test_a_forged_receipt_is_refused(cli, world, two_results, tmp_path):
    out, proof, result = two_results[0]
    other = keys.generate("mallory")
    forged = receipt.make(entry=int(out["参照番号"]), result_file=result.name, container=result.read_bytes(),
                          department="D01", day=FixedClock("2026-12-03").today(), keys=other)
    (tmp_path / "forged.json").write_bytes(forged)
    refused(cli, out["番号"], tmp_path / "forged.json", "E-RCP-002")


def test_an_altered_receipt_is_refused(cli, world, two_results, tmp_path):
    out, proof, _ = two_results[0]
    doc = json.loads(proof.read_text(encoding="utf-8"))
    doc["date"] = "2026-01-01"
    (tmp_path / "altered.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    refused(cli, out["番号"], tmp_path / "altered.json", "E-RCP-007")
    doc = json.loads(proof.read_text(encoding="utf-8"))
    doc["result_sha256"] = "0" * 64
    (tmp_path / "altered2.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    refused(cli, out["番号"], tmp_path / "altered2.json", "E-RCP-007")
    (tmp_path / "junk.json").write_text("not json", encoding="utf-8")
    refused(cli, out["番号"], tmp_path / "junk.json", "E-RCP-001")


def test_a_receipt_of_another_department_is_refused(cli, world, two_results, tmp_path):
    out, proof, result = two_results[0]
    kp = keys.open_private((world["keys"] / "d01.key").read_bytes(), b"dept-key-pass")
    wrong = receipt.make(entry=int(out["参照番号"]), result_file=result.name, container=result.read_bytes(),
                         department="D02", day=FixedClock("2026-12-03").today(), keys=kp)
    (tmp_path / "wrong-dep.json").write_bytes(wrong)
    refused(cli, out["番号"], tmp_path / "wrong-dep.json", "E-RCP-004")


def test_a_department_without_a_key_cannot_prove_receipt(cli, world, tmp_path):
    d3 = world["drives"][2]
    pw = put_zip_request(cli, world, d3)
    cli.ok("exchange", str(d3), "--department", "D02", "--purpose", "P02", "--approval", "決裁-2",
           "--password-file", str(pw), as_="op01")
    out = [e for e in ledger_rows(cli) if e["事象"] == "出力"][-1]
    cli.ok("media", "handover", out["番号"], as_="op01")
    (tmp_path / "any.json").write_bytes(receipt.make(entry=int(out["参照番号"]), result_file="x", container=b"x",
                                                     department="D02", day=FixedClock("2026-12-03").today(),
                                                     keys=keys.generate("d02")))
    refused(cli, out["番号"], tmp_path / "any.json", "E-RCP-006")
