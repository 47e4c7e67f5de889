"""A Document on a terminal (rich). Tables fit the console width: at 80 columns (pipes,
CI logs, where rich assumes 80 unless COLUMNS says otherwise) low-priority columns are
dropped and long names are shortened in the middle instead of wrapping; on a wide
terminal everything is shown. Every string is made inert (report/text.py)."""

from __future__ import annotations

import math
from typing import Any

from .cells import elide, human
from .model import Chart, Document, KeyValues, Notes, Table
from .text import inert, markup

_COMFORT = 24  # names are not squeezed below this while low-priority columns can go
_MIN_NAME = 12  # narrowest an elided name column gets before priority-1 columns go


def render(doc: Document, console: Any, *, symbolic: bool = False) -> None:
    first = next((b for sec in doc.sections for b in sec.blocks), None)
    if first is None or not getattr(first, "title", ""):  # else the first block's title heads it
        console.print(markup(doc.title), style="bold")
    for sec in doc.sections:
        for b in sec.blocks:
            if isinstance(b, Table):
                _table(b, console, symbolic)
            elif isinstance(b, KeyValues):
                _kv(b, console, symbolic)
            elif isinstance(b, Chart):
                _chart(b, console)
            elif isinstance(b, Notes):
                _notes(b, console)


def _cell_len(s: str) -> int:
    from rich.cells import cell_len

    return cell_len(s)


def fit_columns(
    widths: list[int], priorities: list[int], elidable: list[bool], width: int
) -> tuple[list[int], list[int]]:
    """(kept column indices, width of each kept column) so the table fits `width`.
    First columns of priority 2 and above are dropped (largest number, rightmost first)
    while elidable names would be squeezed below _COMFORT; then names may shrink to
    _MIN_NAME before priority-1 columns go; priority 0 columns always stay."""
    kept = list(range(len(widths)))

    def need(cols: list[int], floor: int) -> int:
        w = sum(min(widths[i], floor) if elidable[i] else widths[i] for i in cols)
        return w + 3 * len(cols) + 1  # padding 1+1 and one border per column, plus the edge

    for floor, lowest in ((_COMFORT, 2), (_MIN_NAME, 1)):
        while need(kept, floor) > width:
            droppable = [i for i in kept if priorities[i] >= lowest]
            if not droppable:
                break
            kept.remove(max(droppable, key=lambda i: (priorities[i], i)))
    out = [widths[i] for i in kept]
    deficit = need(kept, 10**6) - width
    el = [k for k, i in enumerate(kept) if elidable[i]]
    while deficit > 0 and el:  # shrink the widest name column, one cell at a time
        k = max(el, key=lambda k: out[k])
        if out[k] <= min(widths[kept[k]], _MIN_NAME):
            el.remove(k)
            continue
        out[k] -= 1
        deficit -= 1
    return kept, out


def _table(t: Table, console: Any, symbolic: bool) -> None:
    from rich.table import Table as RichTable

    if not t.rows:
        console.print(markup(f"{t.title}: none"))
        return
    cols = t.columns
    cells = [[inert(human(v, c.kind, c.unit, symbolic=symbolic)) for v, c in zip(r, cols)] for r in t.rows]
    if t.levels is not None:
        for r, lvl in zip(cells, t.levels):
            r[0] = "  " * lvl + r[0]
    widths = [max([_cell_len(c.label)] + [_cell_len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    kept, fitted = fit_columns(
        widths, [c.priority for c in cols], [c.elide or c.kind == "text" for c in cols], console.width
    )
    hidden = [cols[i].label for i in range(len(cols)) if i not in kept]
    rt = RichTable(title=markup(t.title), title_justify="left", min_width=min(_cell_len(t.title), console.width))
    for i, w in zip(kept, fitted):
        c = cols[i]
        right = c.kind not in ("text", "shape", "formula", "bool")
        wrap = c.kind == "formula"  # formulas wrap at spaces, never inside a token
        rt.add_column(
            markup(c.label),
            justify="right" if right else "left",
            no_wrap=not wrap,
            overflow="ellipsis",
            min_width=min(w, widths[i]) if not wrap else None,
            max_width=w if (c.elide or c.kind == "text") else None,
        )
    for r in cells:
        row = []
        for i, w in zip(kept, fitted):
            c = cols[i]
            s = r[i]
            if (c.elide or c.kind == "text") and _cell_len(s) > w:
                lead = len(s) - len(s.lstrip(" ")) if (t.levels is not None and i == 0) else 0
                s = s[:lead] + elide(s[lead:], w - lead)
            row.append(markup(s))
        rt.add_row(*row)
    console.print(rt)
    notes = []
    if t.note:
        notes.append(inert(t.note))
    if hidden:
        notes.append(f"hidden at {console.width} columns: {', '.join(hidden)} (COLUMNS=200 or --format html shows all)")
    for n in notes:
        console.print(markup(n), style="dim")


def _kv(b: KeyValues, console: Any, symbolic: bool) -> None:
    from rich.table import Table as RichTable

    rt = RichTable(
        title=markup(b.title) if b.title else None,
        show_header=False,
        title_justify="left",
        min_width=min(_cell_len(b.title), console.width),
    )
    rt.add_column("", style="bold", no_wrap=True)
    rt.add_column("", overflow="fold")
    for f in b.fields:
        rt.add_row(markup(f.label), markup(human(f.value, f.kind, f.unit, symbolic=symbolic)))
    console.print(rt)
    if b.note:
        console.print(markup(b.note), style="dim")


def _notes(b: Notes, console: Any) -> None:
    if not b.lines:
        return
    style = "bold red" if b.warning else "bold"
    console.print(markup(b.title), style=style)
    for line in b.lines:
        console.print("  " + markup(line))


def _chart(ch: Chart, console: Any) -> None:
    """Log-log (or linear) character plot: curves as '.', points as their series marker.
    Only charts whose points are not all in a table elsewhere are drawn (rooflines)."""
    if not (ch.x_log and ch.y_log):
        return
    pts = [(s, x, y) for s in ch.series for x, y in zip(s.x, s.y) if x > 0 and y > 0]
    if not pts:
        return
    w = max(min(console.width - 2, 100), 30)
    h = 18
    xs = [math.log10(x) for _, x, _ in pts]
    ys = [math.log10(y) for _, _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 - x0 < 1e-9:
        x0, x1 = x0 - 1, x1 + 1
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 1, y1 + 1
    grid = [[" "] * w for _ in range(h)]

    def put(x: float, y: float, ch_: str, over: bool) -> None:
        c = round((x - x0) / (x1 - x0) * (w - 1))
        r = round((y1 - y) / (y1 - y0) * (h - 1))
        if 0 <= r < h and 0 <= c < w and (over or grid[r][c] == " "):
            grid[r][c] = ch_

    for s in ch.series:
        if s.mode == "lines" and len(s.x) >= 2:
            for k in range(len(s.x) - 1):
                ax, bx = math.log10(s.x[k]), math.log10(s.x[k + 1])
                ay, by = math.log10(s.y[k]), math.log10(s.y[k + 1])
                for j in range(w):
                    x = x0 + (x1 - x0) * j / (w - 1)
                    if min(ax, bx) <= x <= max(ax, bx) and bx != ax:
                        put(x, ay + (by - ay) * (x - ax) / (bx - ax), ".", False)
    for s in ch.series:
        if s.mode != "lines":
            for x, y in zip(s.x, s.y):
                if x > 0 and y > 0:
                    put(math.log10(x), math.log10(y), s.marker, True)
    console.print(markup(ch.title), style="bold")
    console.print("\n".join("".join(r).rstrip() for r in grid), markup=False, highlight=False)
    legend = ", ".join(f"{s.marker} {s.name}" for s in ch.series if s.mode != "lines")
    curves = ", ".join(s.name for s in ch.series if s.mode == "lines")
    console.print(
        markup(
            f"x: {ch.x_label} 10^{x0:.1f}..10^{x1:.1f}; y: {ch.y_label} 10^{y0:.1f}..10^{y1:.1f}; "
            f"{legend}; dotted: {curves}"
        ),
        style="dim",
    )
