"""The exchange (一括提供): the one module that knows the order of the steps (docs/contract.md).

Checks run in contract §9's order and the first failure is reported: operator and role (at login)
→ drive → department and purpose → container → table. Crash-safe order of the writes:

    受付 (ledger) → result written to the drive (temp, fsync, read back, rename)
    → re-issue copy (terminal) → provision record (store) → 出力 (ledger)

A crash anywhere leaves a 受付 without its end, which the next logged-in command closes as 失敗;
a refusal writes nothing to the drive and ends as 拒否. Plaintext exists only in memory.
"""
from __future__ import annotations

import json
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from bulktool import drive, faults, keys, policy, results, untrusted
from bulktool.conditions import iter_conditions
from bulktool.containers import aeszip, envelope
from bulktool.containers.limits import Limits
from bulktool.containers.open import open_request
from bulktool.keys import KeyPair
from bulktool.ledger import Ledger
from bulktool.manifest import MANIFEST_JSON, build, sign
from bulktool.matching import fewer_collections, match
from bulktool.messages import BulkError
from bulktool.registry import Operator, Registry
from bulktool.services.copies import CopyStore
from bulktool.services.media import Device, identify
from bulktool.session import role_refusal
from bulktool.store.backend import StoreBackend
from bulktool.writer import LedgerWriter

USE = "一括提供（媒体）"
# 連番 are the department's row numbers; one that does not look like one stays off the screen


@dataclass
class Terminal:
    """What an exchange uses of the terminal: the ledger (read and written), the registry, the
    terminal's keys, the store, the kept copies, the limits, the operator, and the lock held from
    受付 to its end (housekeeping never closes a 受付 that a running exchange owns)."""
    writer: LedgerWriter
    ledger: Ledger
    registry: Registry
    keys: KeyPair
    store: StoreBackend
    copies: CopyStore
    limits: Limits
    operator: Operator
    lock: Callable[[], AbstractContextManager]
    named_lock: Callable[[str], AbstractContextManager]  # "answer-<request>" and "drive-<media ID>" locks
    device: Device = drive.device_info


@dataclass
class ExchangeRequest:
    drive: Path
    department: str
    purpose: str
    approval: str
    request_no: str | None = None
    request_file: Path | None = None
    password: Callable[[], bytes] | None = None  # asked only when the container is a .zip
    as_of: date | None = None
    encoding: str = "utf-8"
    container: str | None = None  # "zip" | "sealed"; default: same kind as the request
    table: str | None = None  # "csv" | "xlsx" (照会結果.xlsx); default: the department's registered kind
    password_tries: int = 1  # a wrong ZIP password (E-CON-004) is asked again, up to this many times in all


@dataclass
class ExchangeOutcome:
    acceptance_no: int
    output_no: int
    result_path: Path
    password: str | None
    rows: int
    counts: dict[str, int]
    not_found: list[str]
    as_of: date
    table_encoding: str
    gaiji_substitutions: int
    fields: list[str] = field(default_factory=list)
    log_counts: dict = field(default_factory=dict)  # for the operation log
    log_hashes: list = field(default_factory=list)

    @property
    def shown_not_found(self) -> list[str]:
        """The 該当なし 連番 that may be printed (the department's row numbers, nothing else)."""
        return [r for r in self.not_found if untrusted.shown_renban(r)]


class Progress:
    """Callbacks the CLI fills with a rich progress bar; silent by default."""

    def stage(self, name: str) -> None: ...

    def start(self, total: int) -> None: ...

    def advance(self, n: int) -> None: ...


def store_in_use(ledger: Ledger) -> dict:
    """The store load (取込) that answers now: the latest 取込 entry and its date (None before any
    ledgered load)."""
    loads = ledger.find(event="取込")
    last = loads[-1] if loads else None
    return {"store_entry": last["seq"] if last else None, "store_loaded": last["timestamp"][:10] if last else None}


def _already_answered(ledger: Ledger, request_sha: str) -> int | None:
    """The 出力 entry that already answered this request container, if any."""
    out = ledger.output_for_request(request_sha)
    return out["seq"] if out else None


def _irai(raw: bytes | None, req: ExchangeRequest) -> dict:
    if raw is None:
        return {}
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
        if not isinstance(doc, dict):
            raise ValueError
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BulkError("E-CON-017", detail="JSON として読めません") from None
    for key, given in (("照会元", req.department), ("事務", req.purpose), ("依頼番号", req.request_no)):
        if key in doc and given is not None and str(doc[key]) != given:
            raise BulkError("E-DEP-007", field=key, given=str(doc[key]), expected=given)
    if "基準日" in doc:
        try:
            as_of = date.fromisoformat(str(doc["基準日"]))
        except ValueError:
            raise BulkError("E-CON-017", detail="基準日の形式") from None
        if req.as_of is not None and as_of != req.as_of:
            raise BulkError("E-DEP-007", field="基準日", given=as_of.isoformat(), expected=req.as_of.isoformat())
    return doc


def possible_results(acceptance_no: int) -> list[dict]:
    """The result files an exchange of 受付 `acceptance_no` may have written (for its 失敗 entry)."""
    return [{"name": f"{drive.RESULT_PREFIX}{acceptance_no}{ext}", "sha256": ""} for ext in (".zip", ".bte")]


@dataclass
class _Written:
    """The result file this exchange put on the drive, until its 出力 is ledgered."""
    path: Path | None = None

    def take_back(self) -> list[dict] | None:
        """Remove the unledgered result from the drive (best effort); what the 失敗 names."""
        if self.path is None:
            return None
        name = self.path.name
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a drive that is gone: the next exchange on it removes the result (sweep)
        return [{"name": name, "sha256": ""}]


def run(t: Terminal, req: ExchangeRequest, progress: Progress | None = None) -> ExchangeOutcome:
    progress = progress or Progress()
    with t.lock():
        peeked = drive.peek(req.drive, req.request_file, t.keys.public.ed25519, t.limits.max_request_bytes)
        media_id, req_path, req_sha = peeked.media_id, peeked.path, peeked.sha256
        # what the department sent reaches the ledger only if it is fit for it (checked again below,
        # where a misfit refuses the exchange)
        request_no = req.request_no if not untrusted.problem(req.request_no or "", "依頼番号") else None
        receipt = t.writer.record(
            "受付", media_id=media_id, department=req.department, purpose=req.purpose, approval_no=req.approval,
            request_no=request_no,
            files=[{"name": untrusted.ledger_name(req_path.name), "sha256": req_sha or ""}] if req_path is not None
            else None)
        rno = receipt["seq"]
        faults.point("after-acceptance")
        written = _Written()
        closing = dict(ref=rno, media_id=media_id, department=req.department, purpose=req.purpose,
                       approval_no=req.approval, request_no=request_no)
        try:
            with t.named_lock(f"answer-{(req_sha or 'none')[:32]}"):  # one request answered by at most one 出力
                return _exchange(t, req, rno, peeked, progress, written)
        except BulkError as err:
            event = "失敗" if err.exit_code == 4 else "拒否"
            err.log_hashes = [req_sha] if req_sha else []
            t.writer.record(event, **closing, error_code=err.code, files=written.take_back(),
                            note=err.message if event == "失敗" else f"拒否: {err.code}")
            raise
        except KeyboardInterrupt:
            t.writer.record("失敗", **closing, error_code="E-EXC-003", files=written.take_back(),
                            note="操作者の中断（Ctrl-C）")
            raise
        except Exception as exc:
            t.writer.record("失敗", **closing, error_code="E-EXC-001", files=written.take_back(),
                            note=f"内部エラー {type(exc).__name__}")
            raise BulkError("E-EXC-001", reason=type(exc).__name__) from None


def _sweep(ledger: Ledger, path: Path) -> int:
    """What the next exchange on a drive does after a crash (under the drive's lock, so nothing
    else is writing to it): remove results whose exchange the ledger closed without an 出力
    (拒否 or 失敗), and write_atomic's temp files."""
    scan, removed = drive.scan(path), 0
    for p in scan.results:
        number = p.name[len(drive.RESULT_PREFIX):].split(".")[0]
        if not number.isdigit():
            continue
        ends = {e["event"] for e in ledger.find(ref=int(number))}
        if ends & {"拒否", "失敗"} and "出力" not in ends:
            p.unlink()
            removed += 1
    for p in path.glob(".*.tmp"):
        if p.is_file() and not p.is_symlink():
            p.unlink()
            removed += 1
    return removed


def _exchange(t: Terminal, req: ExchangeRequest, rno: int, peeked: drive.Peeked, progress: Progress,
              written: _Written) -> ExchangeOutcome:
    # 0. the operator's role (a logged-in account whose role may not exchange is refused here,
    #    so that the refusal is ledgered as 拒否 like every other refused exchange)
    refusal = role_refusal(t.operator, "exchange")
    if refusal is not None:
        raise refusal
    # 1. the drive
    progress.stage("媒体の確認")
    m = identify(t.registry, t.keys.public.ed25519, req.drive, req.department, "exchange", t.device)
    with t.named_lock(f"drive-{m.media_id}"):  # one exchange writes to a drive at a time
        return _on_drive(t, req, rno, peeked, progress, written, m)


def _on_drive(t: Terminal, req: ExchangeRequest, rno: int, peeked: drive.Peeked, progress: Progress,
              written: _Written, m) -> ExchangeOutcome:
    clock = t.writer.clock
    drive.check_writable(req.drive)  # a read-only drive: E-MED-030 before anything is decrypted
    try:
        swept = _sweep(t.ledger, req.drive)
    except OSError as exc:
        raise drive.media_error(req.drive, exc) from None
    req_path, req_bytes = peeked.path, peeked.data
    if peeked.problem is not None and peeked.problem.exit_code == 4:
        raise peeked.problem
    if req_path is None or (req_bytes is None and peeked.problem is None):
        drive.find_request(req.drive, req.request_file)  # raises the precise refusal
        raise BulkError("E-MED-004")
    # 2. department and purpose — before the store or the container is read
    progress.stage("照会元・事務の確認")
    dep = policy.check_purpose(t.registry.department(req.department), req.department, req.purpose)
    table_kind = results.table_kind(req.table, dep.result_table, req.encoding)
    untrusted.check(req_path.name, "ファイル名")
    if req.request_no is not None:
        untrusted.check(req.request_no, "依頼番号")
    if peeked.problem is not None:  # the container, too large to be read (E-CON-021)
        raise peeked.problem
    req_sha = drive.sha256(req_bytes)
    answered = _already_answered(t.ledger, req_sha)
    if answered is not None:
        raise BulkError("E-MED-014", entry=answered)
    # 3. the container
    progress.stage("照会ファイルの復号")
    is_zip = req_path.suffix.lower() == ".zip"
    dep_keys = keys.read_public(dep.public_key.encode("utf-8")) if dep.public_key else None
    if not is_zip and dep_keys is None:
        raise BulkError("E-DEP-006", department=dep.code)
    limits = t.limits
    for attempt in range(1, req.password_tries + 1):
        password = req.password() if (is_zip and req.password is not None) else None
        if is_zip and password is None:
            raise BulkError("E-CON-004")
        try:
            opened = open_request(req_path.name, req_bytes, password=password, terminal_x25519=t.keys.x25519,
                                  department_ed25519=dep_keys.ed25519 if dep_keys else None, limits=limits)
            break
        except BulkError as err:  # a wrong password may be typed again; anything else refuses at once
            if not is_zip or err.code != "E-CON-004" or attempt >= req.password_tries:
                raise
    irai = _irai(opened.irai, req)
    request_no = req.request_no or (untrusted.check(str(irai["依頼番号"]), "依頼番号") if "依頼番号" in irai else None)
    as_of = req.as_of or (date.fromisoformat(str(irai["基準日"])) if "基準日" in irai else clock.today())
    # 4. the table: header and encoding at once, rows streamed through matching in batches (a row
    #    problem is a 90; a file-level one raised mid-stream is still a refusal before any write)
    progress.stage("検索条件の検証")
    table = iter_conditions(opened.table_name, opened.table, limits=limits)
    # 5. matching and the result table (in memory)
    progress.stage("照合")
    progress.start(opened.table.count(b"\n") - 1 if table.encoding != "xlsx" else 0)
    fields = policy.provided_fields(dep, req.purpose)

    def counted(it):
        done = 0
        for r in it:
            done += 1
            if done % 1000 == 0:
                progress.advance(1000)
                faults.point("during-matching")
            yield r
        progress.advance(done % 1000)

    matched = match(table.items, t.store, as_of=as_of, kojin_bango_for_fuhyo="個人番号" in fields)
    answers = counted(matched)
    provided: list[str] = []

    def remember(it):
        for r in it:
            if r.record:  # 00 and 10 only (a dict read: Enum.value per row is a slow property)
                code = r.record.get("住民票コード")
                if code:
                    provided.append(code)
            yield r

    try:
        with fewer_collections():
            table_out = results.write_result_table(remember(answers), fields, req.encoding, table_kind)
    finally:
        # stop the lookup thread here, before the store can be closed under it (Ctrl-C included)
        matched.close()
    # 6. manifest, container
    progress.stage("照会結果の暗号化")
    result_sha = drive.sha256(table_out.data)
    store = store_in_use(t.ledger)
    manifest = build(entry=rno, request_name=req_path.name, request_sha256=req_sha, result_sha256=result_sha,
                     counts=table_out.counts, rows=table_out.rows, terminal_id=t.writer.actor.terminal_id,
                     operator_id=t.writer.actor.operator_id, created_at=clock.timestamp(), encoding=req.encoding,
                     department=dep.code, purpose=req.purpose, as_of=as_of.isoformat(),
                     gaiji_substitutions=table_out.gaiji_substitutions, fields=fields,
                     store_entry=store["store_entry"], store_loaded=store["store_loaded"], result_file=table_out.name)
    files = [(table_out.name, table_out.data), (MANIFEST_JSON, sign(manifest, t.keys.ed25519))]
    kind = req.container or ("zip" if is_zip else "sealed")
    result_password = None
    if kind == "zip":
        result_password = aeszip.new_password()
        container = aeszip.write_result(files, result_password, when=clock.zip_time())
        name = f"{drive.RESULT_PREFIX}{rno}.zip"
    else:
        if dep_keys is None:
            raise BulkError("E-DEP-006", department=dep.code)
        container = envelope.seal(files, recipient=dep_keys.x25519, sender=t.keys.ed25519)
        name = f"{drive.RESULT_PREFIX}{rno}.bte"
    # 7. the drive (atomic, verified), the re-issue copy, the provision record, then 出力
    progress.stage("媒体への書き込み")
    # the drive again, just before the write: still the registered one, on the same device
    identify(t.registry, t.keys.public.ed25519, req.drive, req.department, "exchange", t.device)
    path = drive.write_atomic(req.drive, name, container)
    written.path = path
    faults.point("after-drive-write")
    identify(t.registry, t.keys.public.ed25519, req.drive, req.department, "exchange", t.device)  # still there
    t.copies.keep(rno, name, container)
    faults.point("after-copy")
    provided_on, provided_fields = clock.today().isoformat(), ",".join(fields)
    t.store.record_provisions(
        {"jumin_code": code, "provided_on": provided_on, "entry": rno, "department": dep.code,
         "purpose": req.purpose, "fields": provided_fields, "use": USE} for code in provided)
    provided.clear()
    faults.point("after-provisions")
    container_sha = drive.sha256(container)
    counts = dict(table_out.counts, rows=table_out.rows, gaiji_substitutions=table_out.gaiji_substitutions)
    out = t.writer.record("出力", ref=rno, media_id=m.media_id, department=dep.code, purpose=req.purpose,
                   approval_no=req.approval, request_no=request_no,
                   files=[{"name": req_path.name, "sha256": req_sha}, {"name": name, "sha256": container_sha}],
                   counts=counts, note=f"基準日 {as_of.isoformat()}、{table_out.described}、形式 {kind}",
                   provided={"fields": fields, "kojin_bango": policy.KOJIN_BANGO in fields, **store})
    return ExchangeOutcome(rno, out["seq"], path, result_password, table_out.rows, dict(table_out.counts),
                           list(table_out.not_found), as_of, table.encoding, table_out.gaiji_substitutions, fields,
                           log_counts=dict(counts, swept=swept) if swept else counts,
                           log_hashes=[req_sha, container_sha])
