"""The 受渡票 (hand-over slip, contract §9): one A4 page per exchange, printed and signed on paper.
It carries the numbers, the department and purpose, the 決裁番号, the drive, the result file and its
SHA-256 in groups of 4, the counts per status, the terminal key's fingerprint, boxes for the 受渡
and 受領 signatures — and an empty box where the operator writes the result password by hand: the
password never goes into a file."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from bulktool.ledger import Ledger
from bulktool.model import STATUS_LABELS, Status
from bulktool.registry import Registry
from bulktool.services.media import acceptance_of, output_entry


@dataclass
class Slip:
    acceptance: dict
    output: dict
    department_name: str
    fingerprint: str


def slip_for(ledger: Ledger, registry: Registry, fingerprint: str, entry: int) -> Slip:
    """The slip of the exchange that ENTRY names (its 出力 or 再発行, or its 受付 number)."""
    out = output_entry(ledger, entry)
    acc = ledger.require(acceptance_of(ledger, out))
    dep = registry.department(out.get("department") or "")
    return Slip(acc, out, dep.name if dep else "", fingerprint)


def groups_of_four(hex_digits: str) -> str:
    return " ".join(hex_digits[i:i + 4] for i in range(0, len(hex_digits), 4))


_CSS = """
@page { size: A4; margin: 15mm; }
@media screen { body { margin: 15mm; } }
body { font-family: "IPAexGothic", "Noto Sans CJK JP", "Yu Gothic", "Meiryo", sans-serif; color: #000;
       font-size: 10.5pt; margin: 0; }
h1 { font-size: 18pt; text-align: center; letter-spacing: 0.5em; margin: 0 0 4mm; }
p.lead { text-align: center; margin: 0 0 6mm; }
table { border-collapse: collapse; width: 100%; margin-bottom: 5mm; }
th, td { border: 1px solid #000; padding: 2mm 3mm; text-align: left; vertical-align: top; }
th { background: #eee; width: 32%; font-weight: normal; }
td.mono { font-family: "DejaVu Sans Mono", "Consolas", monospace; word-break: break-all; }
td.num { text-align: right; }
.boxes { display: flex; gap: 4mm; }
.box { flex: 1; border: 1px solid #000; height: 28mm; padding: 2mm; }
.box.password { height: 20mm; }
.note { font-size: 9pt; margin-top: 4mm; }
"""


def render(slip: Slip) -> str:
    """The slip as one self-contained HTML page (inline CSS; no script, image or font to fetch)."""
    out, acc = slip.output, slip.acceptance
    result = next((f for f in out.get("files") or [] if str(f.get("name", "")).startswith("照会結果_")), {})
    counts = out.get("counts") or {}
    e = escape
    rows = [
        ("受付番号 / 出力番号", f"{acc['seq']} / {out['seq']}" + ("（再発行）" if out["event"] == "再発行" else "")),
        ("受付日時", acc["timestamp"][:16].replace("T", " ")),
        ("出力日時", out["timestamp"][:16].replace("T", " ")),
        ("照会元", f"{out.get('department') or ''} {slip.department_name}"),
        ("事務", out.get("purpose") or ""),
        ("決裁番号", out.get("approval_no") or acc.get("approval_no") or ""),
        ("依頼番号", out.get("request_no") or acc.get("request_no") or ""),
        ("媒体ID", out.get("media_id") or ""),
        ("照会結果ファイル", result.get("name", "")),
    ]
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in rows)
    body += (f"<tr><th>照会結果ファイルの SHA-256</th><td class='mono'>{e(groups_of_four(result.get('sha256', '')))}"
             "</td></tr>")
    body += f"<tr><th>端末公開鍵のフィンガープリント</th><td class='mono'>{e(slip.fingerprint)}</td></tr>"
    status_rows = "".join(f"<tr><th>{st.value} {e(STATUS_LABELS[st])}</th><td class='num'>{int(counts.get(st.value, 0)):,}"
                          "</td></tr>" for st in Status)
    status_rows += f"<tr><th>合計</th><td class='num'>{int(counts.get('rows', 0)):,}</td></tr>"
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>受渡票 受付{acc['seq']}</title><style>{_CSS}</style></head>
<body>
<h1>照会結果 受渡票</h1>
<p class="lead">住民基本台帳ネットワーク 一括提供方式（媒体連携）</p>
<table>{body}</table>
<table><tr><th colspan="2">処理結果別件数</th></tr>{status_rows}</table>
<div class="boxes">
  <div class="box">受渡（市町村課）<br>年　月　日　署名</div>
  <div class="box">受領（照会元）<br>年　月　日　署名</div>
</div>
<p class="note">照会結果パスワード（ZIP 形式のとき、操作者が手書きで記入してください。ファイルには保存されません）</p>
<div class="box password"></div>
<p class="note">受領後、照会元は bulktool verify で照会結果を検証してください。媒体は受領確認の後に消去します。</p>
</body></html>
"""
