"""A Document as ONE self-contained HTML page that opens offline: inline CSS, inline
JavaScript (plotly.js, inlined from the `plotly` Python package, which ships it; a few
lines of our own for sortable tables), the report's JSON inline, no remote script,
style, font or image. A Content-Security-Policy forbids any network load, so a page
that tried one would fail loudly instead of silently phoning home.

plotly was chosen because it is a well-kept (MIT) library installable with pip whose
package carries the minified plotly.js, so nothing is vendored into this repository;
it draws log-log rooflines with hover labels per op, zoom and a second y axis as SVG
that works offline and in headless browsers.

Every user string goes through html_text; JSON inside <script> has <, > and & escaped."""

from __future__ import annotations

import json
import re
from typing import Any

from .cells import human, sort_key
from .model import Chart, Document, KeyValues, Notes, Table, json_ready
from .text import html_text

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'"
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em auto;max-width:1200px;
padding:0 1em;color:#1b1f24;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #d0d7de}
h3{font-size:1em;margin:1.2em 0 .4em}
table{border-collapse:collapse;font-size:.85em;margin:.3em 0 1em}
th,td{border:1px solid #d0d7de;padding:.2em .5em;vertical-align:top}
th{background:#f6f8fa;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:after{content:" \\2195";color:#8c959f}
table.kv th{width:16em;background:#f6f8fa}
.note{color:#57606a;font-size:.85em}.warn{color:#b42318}
.chart{width:100%;height:460px}
nav a{margin-right:1em}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var tb=t.tBodies[0],rs=Array.prototype.slice.call(tb.rows),asc=th.dataset.dir!=='asc';
      t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir});th.dataset.dir=asc?'asc':'desc';
      rs.sort(function(a,b){var x=a.cells[i],y=b.cells[i],u=x.dataset.v,v=y.dataset.v,r;
        if(u!==undefined&&v!==undefined&&u!==''&&v!==''){r=parseFloat(u)-parseFloat(v)}
        else{r=x.textContent.localeCompare(y.textContent)}return asc?r:-r});
      rs.forEach(function(r){tb.appendChild(r)});
    });
  });
});
"""


def _script_json(x: Any) -> str:
    s = json.dumps(json_ready(x), allow_nan=False, ensure_ascii=True)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _num_attr(v: Any) -> str:
    """The exact value for sorting and for readers of the page (an int stays exact)."""
    if type(v) is int:
        return f' data-v="{v}"'
    k = sort_key(v)
    return f' data-v="{k!r}"' if k is not None else ""


def _table(t: Table, symbolic: bool, section: str = "") -> list[str]:
    out = [f"<h3>{html_text(t.title)}</h3>"] if t.title != section else []
    if not t.rows:
        return out + ['<p class="note">none</p>']
    cls = "tree" if t.levels is not None else "sortable"
    out.append(f'<table class="{cls}" data-key="{html_text(t.key)}"><thead><tr>')
    out += [
        f'<th data-col="{html_text(c.key)}" title="{html_text(c.key)}">{html_text(c.label)}</th>' for c in t.columns
    ]
    out.append("</tr></thead><tbody>")
    for k, r in enumerate(t.rows):
        lvl = t.levels[k] if t.levels is not None else 0
        cells = []
        for j, (v, c) in enumerate(zip(r, t.columns)):
            text = html_text(human(v, c.kind, c.unit, symbolic=symbolic))
            numeric = c.kind not in ("text", "shape", "formula", "bool")
            style = f' style="padding-left:{0.5 + 1.2 * lvl:.1f}em"' if (j == 0 and lvl) else ""
            cells.append(f"<td{' class=n' if numeric else ''}{_num_attr(v) if numeric else ''}{style}>{text}</td>")
        out.append(f'<tr data-level="{lvl}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if t.note:
        out.append(f'<p class="note">{html_text(t.note)}</p>')
    return out


def _kv(b: KeyValues, symbolic: bool, section: str = "") -> list[str]:
    out = [f"<h3>{html_text(b.title)}</h3>"] if b.title and b.title != section else []
    out.append(f'<table class="kv" data-key="{html_text(b.key)}">')
    for f in b.fields:
        text = html_text(human(f.value, f.kind, f.unit, symbolic=symbolic))
        numeric = f.kind not in ("text", "shape", "formula", "bool")
        out.append(
            f'<tr data-key="{html_text(f.key)}"><th>{html_text(f.label)}</th>'
            f"<td{' class=n' if numeric else ''}{_num_attr(f.value) if numeric else ''}>{text}</td></tr>"
        )
    out.append("</table>")
    if b.note:
        out.append(f'<p class="note">{html_text(b.note)}</p>')
    return out


def _figure(ch: Chart) -> dict[str, Any]:
    traces = []
    for s in ch.series:
        tr: dict[str, Any] = {"name": html_text(s.name), "x": list(s.x), "y": list(s.y)}
        if s.mode == "bars":
            tr["type"] = "bar"
            tr["textposition"] = "none"
            if ch.categories:
                tr["x"] = [html_text(ch.categories[int(i)]) for i in s.x]
        else:
            tr["type"] = "scatter"
            tr["mode"] = s.mode
        if s.labels:
            tr["text"] = [html_text(label) for label in s.labels]
            tr["hovertemplate"] = "%{text}<br>x %{x:.3g}<br>y %{y:.3g}<extra>" + html_text(s.name) + "</extra>"
        if s.axis == "y2":
            tr["yaxis"] = "y2"
        traces.append(tr)
    layout: dict[str, Any] = {
        "title": {"text": html_text(ch.title)},
        "xaxis": {
            "title": {"text": html_text(ch.x_label)},
            "type": "category" if ch.categories else ("log" if ch.x_log else "linear"),
        },
        "yaxis": {"title": {"text": html_text(ch.y_label)}, "type": "log" if ch.y_log else "linear"},
        "hovermode": "closest",
        "margin": {"t": 50, "r": 60},
        "legend": {"orientation": "h", "y": -0.2},
    }
    if any(s.axis == "y2" for s in ch.series):
        layout["yaxis2"] = {
            "title": {"text": html_text(ch.y2_label)},
            "overlaying": "y",
            "side": "right",
            "type": "log" if ch.y2_log else "linear",
        }
    return {"id": f"chart-{ch.key}", "data": traces, "layout": layout}


def plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        from ..errors import CostModelError

        raise CostModelError("--format html needs plotly (pip install plotly)") from None
    return _JS_UNSAFE.sub(_js_escape, str(get_plotlyjs()))


# plotly.js carries a few raw control and invisible characters inside its string and
# regex literals; written as \x / \u escapes (the same characters to JavaScript) the page
# has no raw control byte for a terminal that prints it (`cat report.html`)
_JS_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _js_escape(m: re.Match[str]) -> str:
    o = ord(m.group(0))
    return f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}"


def to_html(doc: Document, *, symbolic: bool = False) -> str:
    body: list[str] = [f"<h1>{html_text(doc.title)}</h1>"]
    secs = [s for s in doc.sections if s.blocks]
    titled = [(i, s) for i, s in enumerate(secs) if s.title]
    if len(titled) > 1:
        body.append("<nav>" + "".join(f'<a href="#s{i}">{html_text(s.title)}</a>' for i, s in titled) + "</nav>")
    figures = []
    for i, sec in enumerate(secs):
        body.append(f'<section id="s{i}">')
        if sec.title:
            body.append(f"<h2>{html_text(sec.title)}</h2>")
        for b in sec.blocks:
            if isinstance(b, Table):
                body += _table(b, symbolic, sec.title)
            elif isinstance(b, KeyValues):
                body += _kv(b, symbolic, sec.title)
            elif isinstance(b, Notes) and b.lines:
                cls = "warn" if b.warning else "note"
                body.append(f'<h3 class="{cls}">{html_text(b.title)}</h3><ul>')
                body += [f"<li>{html_text(line)}</li>" for line in b.lines]
                body.append("</ul>")
            elif isinstance(b, Chart):
                fig = _figure(b)
                figures.append(fig)
                n = sum(len(s.x) for s in b.series)
                body.append(f'<div class="chart" id="{fig["id"]}" data-points="{n}"></div>')
        body.append("</section>")
    scripts = [f'<script type="application/json" id="costmodel-json">{_script_json(doc.data)}</script>']
    scripts.append(f"<script>{_SORT_JS}</script>")
    if figures:
        scripts.append(f"<script>{plotly_js()}</script>")
        scripts.append(
            "<script>var FIGS=" + _script_json(figures) + ";FIGS.forEach(function(f){"
            "Plotly.newPlot(f.id,f.data,f.layout,{displaylogo:false,responsive:true});});</script>"
        )
    head = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="costmodel">'
        f"<title>{html_text(doc.title)}</title><style>{_CSS}</style></head><body>"
    )
    return head + "\n".join(body) + "\n" + "\n".join(scripts) + "\n</body></html>\n"
