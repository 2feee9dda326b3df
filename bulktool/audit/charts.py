"""Static SVG bar charts for the audit report: no script, no font file, no network; a chart is a
string to inline in the HTML. Pure."""
from __future__ import annotations

from html import escape

PALETTE = ("#1f5a99", "#d08a1a", "#b03030", "#4a8a4a")


def _nice_max(value: float) -> int:
    """A round upper bound for the axis at or above `value`: four equal whole steps of 1, 2 or 5
    × 10^k each (0 1 2 3 4, 0 5 10 15 20, …)."""
    need = max(value, 1) / 4
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= need:
                return 4 * m * step
        step *= 10


def bar_chart(title: str, categories: list[str], series: list[tuple[str, list[int]]], *, width: int = 680,
              height: int = 230) -> str:
    """A grouped vertical bar chart: one group per category, one bar per series, a legend and a
    light grid with four steps. Empty data gives a chart that says so."""
    left, right, top, bottom = 48, 12, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" font-size="12">',
           f'<text x="{left}" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    legend_x = left + 14 * len(title) + 24
    for i, (name, _) in enumerate(series):
        x = legend_x + i * 110
        out.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
                   f'<text x="{x + 16}" y="16">{escape(name)}</text>')
    top_value = _nice_max(max((v for _, vals in series for v in vals), default=0))
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{top_value * k // 4:,}</text>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>')
    if not categories:
        out.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#777">'
                   '（この期間の記録はありません）</text></svg>')
        return "".join(out)
    group_w = plot_w / len(categories)
    bar_w = max(2.0, min(28.0, group_w * 0.8 / max(1, len(series))))
    for c, label in enumerate(categories):
        gx = left + c * group_w + (group_w - bar_w * len(series)) / 2
        for i, (name, vals) in enumerate(series):
            v = vals[c] if c < len(vals) else 0
            h = plot_h * v / top_value
            x, y = gx + i * bar_w, top + plot_h - h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                       f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)} {escape(name)} {v:,}</title></rect>')
            if v:
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="10">{v:,}</text>')
        out.append(f'<text x="{left + c * group_w + group_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                   f'{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)
