"""`bulktool demo`: the whole flow on synthetic data in a temporary workspace, no prompts.

Every step calls the same services as the CLI commands it names, so the demo shows the real
path: init → operators → department (with keys) → generated store → registered drives →
request (AES ZIP and sealed) → exchange → decrypt and verify → ledger verify.
"""
from __future__ import annotations

import csv
import io
import secrets
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bulktool import exchange as exmod
from bulktool import keys
from bulktool.app import logged_in
from bulktool.clock import Clock
from bulktool.department import make_sealed_request, make_zip_request, open_result
from bulktool.ledger import verify_chain
from bulktool.model import KINDS
from bulktool.services import departments, media, operators
from bulktool.services import store as store_service
from bulktool.store.generate import generate, iter_people, labelled_queries
from bulktool.workspace import TERMINAL_PUB

DEMO_FIELDS = ["住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所", "個人番号", "異動事由", "異動年月日"]


@dataclass
class DemoReport:
    steps: list[tuple[str, str]] = field(default_factory=list)  # (command, what happened)
    exchanges: list[dict] = field(default_factory=list)
    ledger_entries: int = 0
    ledger_head: str = ""
    people: int = 0


def _table_bytes(rows: list[dict]) -> bytes:
    cols = ["連番", "対象", "個人番号", "住民票コード", "氏名", "氏名かな", "生年月日", "性別", "住所"]
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=cols, lineterminator="\r\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in cols})
    return out.getvalue().encode("utf-8")


def run_demo(people: int = 20_000, seed: int = 2026, say: Callable[[str, str], None] | None = None,
             base: Path | None = None, *, clock: Clock) -> DemoReport:
    report = DemoReport(people=people)

    def step(cmd: str, what: str) -> None:
        report.steps.append((cmd, what))
        if say:
            say(cmd, what)

    with tempfile.TemporaryDirectory(prefix="bulktool-demo-", dir=base) as tmpdir:
        tmp = Path(tmpdir)
        home = tmp / "workspace"
        pw = {"admin": b"demo-admin-pass", "op": b"demo-operator-pass"}
        ws, fp = operators.init_workspace(home, terminal_id="DEMO-T01", admin_id="admin01", name="管理者（デモ）",
                                      trained_on=None, passphrase=pw["admin"], clock=clock)
        step("bulktool init --terminal-id DEMO-T01 --admin admin01", f"作業領域を作成（端末鍵 {fp}）")
        dept_keys = keys.generate("demo-dept")
        with logged_in(home, "admin01", pw["admin"], "operator add", clock=clock) as s:
            operators.add(s.writer, s.registry, s.kek, "op01", name="操作者（デモ）", role="operator",
                          trained_on=clock.today(), valid_until=None, passphrase=pw["op"])
        step("bulktool operator add op01 --role operator", "操作者を登録")
        with logged_in(home, "admin01", pw["admin"], "department add", clock=clock) as s:
            departments.put_department(s.writer, s.registry, "D01", name="総務部税務課（デモ）", purposes=["P01=住基法別表第五第一号"],
                                 fields=DEMO_FIELDS, kojin_bango=True,
                                 public_key=keys.format_public(dept_keys.public), new=True)
        step("bulktool department add D01 --purpose P01=… --fields … --kojin-bango --public-key d01.pub",
             "照会元と事務・提供項目・公開鍵を登録")
        gen = tmp / "generated"
        gen.mkdir()
        summary = generate(people, seed, gen, today=clock.today())
        with logged_in(home, "admin01", pw["admin"], "store load", clock=clock) as s:
            loads = [(store_service.load(s.store, kind, [gen / f"{kind}.csv"]), [gen / f"{kind}.csv"]) for kind in KINDS]
            store_service.record_load(s.writer, loads, note="デモ用の合成データの取込")
        step(f"bulktool store generate --people {people} --seed {seed}",
             f"合成住民 {people:,} 人（本人確認情報 {summary.jumin_rows:,} 行、附票 {summary.fuhyo_rows:,} 行）を検証して取込")
        truth = list(iter_people(people, seed, today=clock.today()))
        queries = labelled_queries(truth, seed, 200)
        for p in gen.iterdir():
            p.unlink()
        drives = [tmp / "drive-zip", tmp / "drive-sealed"]
        with logged_in(home, "op01", pw["op"], "media register", clock=clock) as s:
            for i, d in enumerate(drives, 1):
                d.mkdir()
                media.register(s.writer, s.registry, s.keys, d, f"DEMO-M0{i}", "D01")
        step("bulktool media register DRIVE --media-id DEMO-M01 --department D01", "媒体 2 本を登録")
        table = _table_bytes([q.row for q in queries])
        expected = {q.row["連番"]: q for q in queries}
        req_password = secrets.token_urlsafe(16)
        (drives[0] / "検索条件.zip").write_bytes(make_zip_request("検索条件.csv", table, req_password, when=clock.zip_time()))
        step("bulktool request zip 検索条件.csv --out DRIVE/検索条件.zip", "照会元が AES-256 ZIP の照会ファイルを作成")
        terminal_pub = keys.read_public(ws.path(TERMINAL_PUB).read_bytes())
        (drives[1] / "検索条件.bte").write_bytes(
            make_sealed_request("検索条件.csv", table, department_keys=dept_keys, terminal=terminal_pub, irai=None))
        step("bulktool request seal 検索条件.csv --department D01 --key d01.key --to terminal.pub",
             "照会元が封緘形式の照会ファイルを作成")
        for drive, kind in zip(drives, ("AES ZIP", "封緘")):
            with logged_in(home, "op01", pw["op"], "exchange", clock=clock) as s:
                out = exmod.run(s.terminal(), exmod.ExchangeRequest(
                    drive=drive, department="D01", purpose="P01", approval="DEMO-決裁-1",
                    password=lambda: req_password.encode()))
            step(f"bulktool exchange DRIVE --department D01 --purpose P01 --approval …（{kind}）",
                 f"受付 {out.acceptance_no} 番 → 出力 {out.output_no} 番: {out.rows} 行")
            data = out.result_path.read_bytes()
            if out.password:
                opened = open_result(data, out.result_path.name, password=out.password, keys=None,
                                     terminal=terminal_pub)
            else:
                opened = open_result(data, out.result_path.name, password=None, keys=dept_keys,
                                     terminal=terminal_pub)
            step("bulktool decrypt RESULT --out DIR --terminal-key terminal.pub",
                 "照会元が復号し、manifest のハッシュ・件数・署名を検証")
            got = list(csv.DictReader(io.StringIO(opened.files["照会結果.csv"].decode("utf-8-sig"))))
            agree = 0
            wrong_person = 0
            for row in got:
                q = expected[row["連番"]]
                if row["処理結果コード"] == q.expected_status:
                    if q.expected_code and row.get("住民票コード", "") != q.expected_code:
                        wrong_person += 1
                    else:
                        agree += 1
                elif row["処理結果コード"] in ("00", "10") and q.expected_code and row.get("住民票コード") != q.expected_code:
                    wrong_person += 1
            report.exchanges.append({"kind": kind, "counts": dict(Counter(r["処理結果コード"] for r in got)),
                                     "rows": len(got), "agree": agree, "wrong_person": wrong_person,
                                     "output_no": out.output_no})
        with logged_in(home, "op01", pw["op"], "ledger verify", clock=clock) as s:
            v = verify_chain(s.ledger.entries(), terminal_pub.ed25519, None)
            report.ledger_entries, report.ledger_head = v.count, v.head_hash
            if not v.ok:
                raise RuntimeError(f"ledger verify failed at {v.first_bad}")
        step("bulktool ledger verify --terminal-key terminal.pub", f"管理簿 {v.count} 件の連鎖と署名を検証")
    return report
