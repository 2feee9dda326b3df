"""The audit report (contract §10): one self-contained HTML file — inline CSS and SVG, no script,
no image, no font file, no network — in Japanese, laid out to print on A4. Pure: plain records in,
a string out. No personal data: the ledger holds none, and nothing else is read.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from html import escape

from bulktool.audit.charts import bar_chart
from bulktool.audit.reconcile import CLOSING, OUTPUTS, Finding, cited_by, media_states
from bulktool.ledger import VerifyReport
from bulktool.oplog import OplogReport

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "IPAexGothic", "IPAGothic", "Noto Sans CJK JP", "Yu Gothic", "Meiryo", sans-serif;
       font-size: 10.5pt; color: #111; margin: 0 auto; padding: 8mm; max-width: 210mm; background: #fff; }
h1 { font-size: 17pt; margin: 0 0 2mm; border-bottom: 2px solid #1f5a99; padding-bottom: 1mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; color: #1f5a99; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; break-inside: auto; }
th, td { border: 1px solid #999; padding: 0.8mm 1.5mm; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #e8eef6; font-weight: bold; }
td:first-child, th:first-child { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; }
.meta td { border: none; padding: 0.3mm 2mm 0.3mm 0; }
.ok { color: #1d6b1d; font-weight: bold; }
.bad { color: #b00000; font-weight: bold; }
.high { background: #fbe3e3; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 9pt; overflow-wrap: anywhere; }
.chart { break-inside: avoid; margin: 1mm 0 2mm; }
.note { color: #555; font-size: 9pt; }
"""


@dataclass
class ReportInput:
    entries: list[dict]
    verification: VerifyReport
    checkpoint: str
    findings: list[Finding] | None   # None when no inventory was given
    since: date | None
    until: date | None
    made_on: str
    terminal_id: str
    fingerprint: str
    made_by: str
    oplog: OplogReport | None = None   # the operation log's own chain (bulktool/oplog.py)


def _day(e: dict) -> str:
    return str(e.get("timestamp"))[:10]


def _in_period(e: dict, r: ReportInput) -> bool:
    d = _day(e)
    return (r.since is None or d >= r.since.isoformat()) and (r.until is None or d <= r.until.isoformat())


def _table(header: tuple[str, ...], rows: list[list[object]], numeric: set[int] = frozenset(),
           classes: list[str] | None = None, empty: str = "該当なし") -> str:
    if not rows:
        return f'<p class="note">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if classes and classes[k] else ""
        cells = "".join(f'<td class="n">{escape(f"{v:,}" if isinstance(v, int) else str(v))}</td>' if i in numeric
                        else f"<td>{escape(str(v))}</td>" for i, v in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _provided(e: dict) -> int:
    counts = e.get("counts") if isinstance(e.get("counts"), dict) else {}
    return int(counts.get("00", 0)) + int(counts.get("10", 0))


def _rows(e: dict) -> int:
    counts = e.get("counts") if isinstance(e.get("counts"), dict) else {}
    return int(counts.get("rows", 0))


def _tally(entries: list[dict], key) -> dict[str, dict[str, int]]:
    """Per key (month or department): 出力, 照会行数, 提供行数, 拒否, 失敗."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"出力": 0, "照会行数": 0, "提供行数": 0, "拒否": 0, "失敗": 0})
    for e in entries:
        ev = e.get("event")
        if ev == "出力":
            t = out[key(e)]
            t["出力"] += 1
            t["照会行数"] += _rows(e)
            t["提供行数"] += _provided(e)
        elif ev in ("拒否", "失敗"):
            out[key(e)][ev] += 1
    return dict(sorted(out.items()))


def _tally_section(title: str, label: str, tally: dict[str, dict[str, int]]) -> str:
    cats = list(tally)
    chart = bar_chart(f"{title}（件数）", cats, [(k, [tally[c][k] for c in cats]) for k in ("出力", "拒否", "失敗")])
    rows_chart = bar_chart(f"{title}（提供行数）", cats, [("提供行数", [tally[c]["提供行数"] for c in cats])], height=190)
    table = _table((label, "出力", "照会行数", "提供行数", "拒否", "失敗"),
                   [[c, *(tally[c][k] for k in ("出力", "照会行数", "提供行数", "拒否", "失敗"))] for c in cats],
                   numeric={1, 2, 3, 4, 5})
    return f'<div class="chart">{chart}</div><div class="chart">{rows_chart}</div>{table}'


def open_items(entries: list[dict]) -> list[list[object]]:
    """Open items as the ledger stands: outputs not handed over or not received, drives received
    and not erased since, drives lent, 受付 without end."""
    items: list[list[object]] = []
    handed, received, ends = cited_by(entries, ("受渡",)), cited_by(entries, ("受領確認",)), cited_by(entries, CLOSING)
    replaced = cited_by(entries, ("再発行",))
    for e in entries:
        ev, mid, seq = e.get("event"), e.get("media_id") or "", e.get("seq")
        if ev in OUTPUTS and not (ev == "出力" and seq in replaced):
            if seq not in handed:
                items.append(["受渡なし", seq, _day(e), mid, e.get("department") or ""])
            elif seq not in received:
                items.append(["受領確認なし", seq, _day(e), mid, e.get("department") or ""])
        elif ev == "受領確認" and mid and not any(x.get("event") == "消去" and x.get("media_id") == mid
                                               and x["seq"] > seq for x in entries):
            items.append(["消去なし", seq, _day(e), mid, e.get("department") or ""])
        elif ev == "受付" and seq not in ends:
            items.append(["受付の終了なし", seq, _day(e), mid, e.get("department") or ""])
    for st in media_states(entries).values():
        if st.loan and not st.disposed:
            items.append(["貸与中", st.loan["seq"], _day(st.loan), st.media_id, st.loan.get("department") or ""])
    return sorted(items, key=lambda r: (r[1], r[0]))


def render(r: ReportInput) -> str:
    period = [e for e in r.entries if _in_period(e, r)]
    v = r.verification
    span = f"{r.since.isoformat() if r.since else '最初の記録'} ～ {r.until.isoformat() if r.until else r.made_on[:10]}"
    verdict = (f'<span class="ok">正常</span>（{v.count:,} 件、署名 {v.signatures_checked:,} 件を検証）' if v.ok else
               f'<span class="bad">不正</span>（{v.first_bad} 番目の記録: {escape(v.reason)}）')
    parts = ["<h1>一括提供（媒体連携）監査報告書</h1>",
             '<table class="meta">'
             f"<tr><td>対象期間</td><td>{escape(span)}</td></tr>"
             f"<tr><td>作成日時</td><td>{escape(_shown_time(r.made_on))}（{escape(r.made_by)}）</td></tr>"
             f"<tr><td>端末ID</td><td>{escape(r.terminal_id)}</td></tr>"
             f'<tr><td>端末鍵</td><td class="hash">{escape(r.fingerprint)}</td></tr></table>',
             "<h2>1. 管理簿の検証</h2>",
             f'<table><tr><th>検証結果</th><td>{verdict}</td></tr>'
             f'<tr><th>チェックポイント</th><td class="hash">{escape(r.checkpoint)}</td></tr>'
             f"<tr><th>期間内の記録</th><td>{len(period):,} 件</td></tr>"
             + _oplog_rows(r.oplog) + "</table>"
             '<p class="note">チェックポイント（N:HASH）を控え、次回の監査で ledger verify --checkpoint に渡すと、'
             "それ以前の記録の書き換えと切り詰めを検出できます。</p>"]
    parts.append("<h2>2. 月別の出力・拒否・失敗</h2>")
    parts.append(_tally_section("月別", "月", _tally(period, lambda e: _day(e)[:7])))
    parts.append("<h2>3. 照会元別の出力・拒否・失敗</h2>")
    parts.append(_tally_section("照会元別", "照会元", _tally(period, lambda e: e.get("department") or "（なし）")))
    refusals = Counter(e.get("error_code") or "（なし）" for e in period if e.get("event") == "拒否")
    codes = sorted(refusals)
    parts.append("<h2>4. 拒否の理由（エラーコード別）</h2>")
    if codes:
        parts.append(f'<div class="chart">{bar_chart("拒否（エラーコード別）", codes, [("拒否", [refusals[c] for c in codes])], height=190)}</div>')
    parts.append(_table(("エラーコード", "件数"), [[c, refusals[c]] for c in codes], numeric={1}, empty="拒否はありません"))
    parts.append("<h2>5. 媒体と状態</h2>")
    states = media_states(r.entries)
    parts.append(_table(("媒体ID", "照会元", "状態", "登録", "最後の記録"),
                        [[st.media_id, st.department, st.label, _day(st.registered) if st.registered else "（記録なし）",
                          _last(r.entries, st.media_id)] for st in sorted(states.values(), key=lambda s: s.media_id)],
                        empty="登録された媒体はありません"))
    parts.append("<h2>6. 未了の事項</h2>")
    parts.append(_table(("事項", "管理簿番号", "日付", "媒体ID", "照会元"), open_items(r.entries), numeric={1},
                        empty="未了の事項はありません"))
    parts.append("<h2>7. 突合の所見</h2>")
    if r.findings is None:
        parts.append('<p class="note">棚卸表（--inventory）が指定されていないため、突合は行っていません。</p>')
    else:
        parts.append(_table(("コード", "重要度", "媒体ID", "管理簿番号", "内容"), [f.row() for f in r.findings],
                            classes=["high" if f.severity == "高" else "" for f in r.findings],
                            empty="所見はありません"))
    parts.append('<p class="note">この報告書に個人情報（氏名・番号・住所）は含まれません。所見の意味と対処: 監査手順書。</p>')
    return ('<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">'
            f"<title>監査報告書 {escape(span)}</title><style>{CSS}</style></head><body>"
            + "".join(parts) + "</body></html>\n")


def _oplog_rows(o: OplogReport | None) -> str:
    """The operation log's verification, beside the ledger's."""
    if o is None:
        return ""
    verdict = (f'<span class="ok">正常</span>（{o.count:,} 件）' if o.ok else
               f'<span class="bad">不正</span>（{escape(str(o.code))}: {o.bad} 番の記録 — {escape(o.reason)}）')
    return (f"<tr><th>操作履歴の検証</th><td>{verdict}</td></tr>"
            f'<tr><th>操作履歴のチェックポイント</th><td class="hash">{escape(o.checkpoint)}</td></tr>')


def _last(entries: list[dict], media_id: str) -> str:
    last = None
    for e in entries:
        if e.get("media_id") == media_id:
            last = e
    return f"{last['seq']} 番 {last.get('event')}（{_day(last)}）" if last else ""


def _shown_time(stamp: str) -> str:
    """「2026-12-03 19:09:51」, the zone named only when it is not Japan's (+09:00)."""
    zone = stamp[19:]
    return stamp[:19].replace("T", " ") + (f"（UTC{zone.replace('Z', '+00:00')}）" if zone and zone != "+09:00" else "")

