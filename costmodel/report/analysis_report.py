"""`costmodel analyze` as a report Document: the summary, the breakdown by op type (with
time, grouped by the same `domain::op` key as the costs), the slowest / largest ops or
every op (with % of the total FLOPs, bytes and time, input and output shapes), the
module / scope tree, the unsupported ops, and (HTML) the roofline."""

from __future__ import annotations

from typing import Any

from ..ops.cost import ZERO
from . import fmt
from . import tree as _tree
from .model import Column, Document, Field, KeyValues, Notes, Section, Table, fraction

VIEWS = ("top", "per_op", "by_type", "full")  # full: by type and every op (the HTML default)
FULL_LIMIT = 20_000  # ops listed one by one in a full view; the rest are one "other" row


def type_key(n: Any) -> str:
    return n.op_type if not n.domain else f"{n.domain}::{n.op_type}"


def _sort_value(x: Any) -> float:
    try:
        return float(x)
    except TypeError:  # a formula: order by its value with every symbol at 1
        return float(x.subs({s: 1 for s in x.free_symbols}))


def by_type_time(report: Any) -> dict[str, float]:
    """Time per op type, keyed like GraphCost.by_type (domain::op for other domains)."""
    out: dict[str, float] = {}
    if report.timing is None:
        return out
    for n, t in zip(report.ops, report.timing.nodes):
        k = type_key(n)
        out[k] = out.get(k, 0.0) + t.time_s
    return out


def summary(r: Any) -> KeyValues:
    gc = r.graph_cost
    f = [
        Field("model", "model", r.model),
        Field("flops", "FLOPs", r.flops, "count"),
        Field("macs", "MACs", r.macs, "count"),
        Field("transcendentals", "transcendentals", r.transcendentals, "count"),
        Field("params", "params", r.params, "count"),
        Field("bytes_read", "bytes read", r.bytes_read, "bytes"),
        Field("bytes_written", "bytes written", r.bytes_written, "bytes"),
        Field("weight_bytes", "weights", gc.weight_bytes, "bytes"),
        Field("peak_activation_bytes", "peak live activations", gc.peak_activation_bytes, "bytes"),
    ]
    if r.dtype:
        f.append(Field("dtype", "dtype", r.dtype))
    f.append(Field("runtime", "runtime", gc.runtime))
    if r.timing is not None:
        t = r.timing
        f += [
            Field("hardware", "hardware", r.hardware.display_name),
            Field("latency_s", "latency", t.latency_s, "seconds"),
        ]
        if t.band:  # the 80% prediction interval (engine/uncertainty.py)
            f.append(Field("latency_band_s", "80% band", fmt.band(t.band, t.latency_s)))
        f += [
            Field("mode", "mode", f"{t.mode}, {t.execution} execution"),
            Field("kernels", "kernels", t.kernels, "count"),
        ]
        for bound, secs in sorted(t.by_bound().items(), key=lambda kv: -kv[1]):
            f.append(Field(f"time_{bound}_s", f"{bound}-bound ops", secs, "seconds"))
    if r.symbols:
        f.append(Field("symbols", "free symbols", ", ".join(_with_original(s) for s in r.symbols)))
    if r.bindings:
        f.append(Field("bindings", "bindings", ", ".join(f"{k}={v}" for k, v in r.bindings.items())))
    f.append(Field("coverage", "ops costed", gc.coverage, "percent"))
    if gc.unsupported:
        f.append(Field("unsupported", "unsupported ops (not counted)", len(gc.unsupported), "count"))
    return KeyValues("summary", "", tuple(f))


def _with_original(name: str) -> str:
    """A symbol and, when the file's dim name was escaped to make it, that name."""
    from ..symnames import original_name

    orig = original_name(name)
    return name if orig == name else f"{name} (dim {orig!r})"


def by_type_table(r: Any) -> Table:
    counts: dict[str, int] = {}
    for n in r.ops:
        if n.status != "folded":
            counts[type_key(n)] = counts.get(type_key(n), 0) + n.repeat
    bt = r.graph_cost.by_type()
    tt = by_type_time(r)
    timed = r.timing is not None
    total_t = r.timing.latency_s if timed else None
    cols = [
        Column("op_type", "op type", "text", 0, elide=True),
        Column("count", "count", "count", 2),
        Column("flops", "FLOPs", "count", 0),
        Column("flops_share", "% FLOPs", "percent", 3),
        Column("macs", "MACs", "count", 4),
        Column("bytes", "bytes", "bytes", 1),
        Column("bytes_share", "% bytes", "percent", 4),
    ]
    if timed:
        cols += [Column("time_s", "time", "seconds", 0), Column("time_share", "% time", "percent", 1)]
    rows = []
    for k, n in counts.items():
        c = bt.get(k, ZERO)
        row: list[Any] = [
            k,
            n,
            c.flops,
            fraction(c.flops, r.flops),
            c.macs,
            c.bytes,
            fraction(c.bytes, r.graph_cost.total.bytes),
        ]
        if timed:
            row += [tt.get(k, 0.0), fraction(tt.get(k, 0.0), total_t)]
        rows.append(tuple(row))
    rows.sort(key=lambda row: -(row[7] if timed else _sort_value(row[2])))
    return Table("by_type", "by op type", tuple(cols), tuple(rows))


def ops_table(r: Any, view: str, top: int) -> Table:
    timed = r.timing is not None
    pairs = [(n, t) for n, t in zip(r.ops, r.timing.nodes if timed else [None] * len(r.ops)) if n.status != "folded"]
    if view == "per_op":
        shown = pairs
        title = f"every op ({len(pairs)})"
    else:
        key = (lambda p: p[1].time_s) if timed else (lambda p: _sort_value(p[0].cost.flops))
        shown = sorted(pairs, key=key, reverse=True)[:top]
        title = f"top {len(shown)} of {len(pairs)} ops by {'time' if timed else 'FLOPs'}"
    total_t = r.timing.latency_s if timed else None
    cols = [
        Column("name", "name", "text", 0, elide=True),
        Column("op_type", "op", "text", 1, elide=True),
        Column("input_shapes", "inputs", "shape", 6),
        Column("output_shapes", "outputs", "shape", 3),
        Column("covers", "graph nodes", "count", 6),
    ]
    repeated = any(n.repeat > 1 for n, _ in pairs)
    if repeated:  # a spec's layer groups: one row per distinct layer's node, for all its copies
        cols.append(Column("repeat", "copies", "count", 2))
    cols += [
        Column("flops", "FLOPs", "count", 0),
        Column("flops_share", "% FLOPs", "percent", 2),
        Column("macs", "MACs", "count", 7),
        Column("bytes", "bytes", "bytes", 1),
        Column("bytes_share", "% bytes", "percent", 5),
    ]
    if timed:
        cols += [
            Column("time_s", "time", "seconds", 0),
            Column("time_share", "% time", "percent", 2),
            Column("bound", "bound", "text", 4),
            Column("arithmetic_intensity", "FLOP/B", "number", 8),
        ]
    # the rest of each op's record (shown on wide terminals, always in CSV / HTML)
    cols += [
        Column("bytes_read", "bytes read", "bytes", 9),
        Column("bytes_written", "bytes written", "bytes", 9),
        Column("transcendentals", "transcendentals", "count", 10),
        Column("params", "params", "count", 9),
        Column("dtype", "dtype", "text", 10),
        Column("kind", "kind", "text", 10),
        Column("status", "status", "text", 10),
    ]

    def row(n: Any, name: str, c: Any, t: Any) -> tuple[Any, ...]:
        ins = list(n.input_shapes) if n is not None else None
        outs = list(n.output_shapes) if n is not None else None
        covers = len(n.covered) if n is not None else covered_rest
        cells: list[Any] = [name, type_key(n) if n is not None else "", ins, outs, covers]
        if repeated:
            cells.append(n.repeat if n is not None else repeat_rest)
        cells.append(c.flops)
        cells += [fraction(c.flops, r.flops), c.macs, c.bytes, fraction(c.bytes, r.graph_cost.total.bytes)]
        if timed:
            ts = t.time_s if t is not None else None
            cells += [ts, fraction(ts, total_t)]
            cells += [t.bound if t is not None else "", t.arithmetic_intensity if t is not None else None]
        cells += [c.bytes_read, c.bytes_written, c.transcendentals, c.params]
        cells += [n.dtype, n.kind, n.status] if n is not None else [None, "", ""]
        return tuple(cells)

    covered_rest = repeat_rest = 0
    rows = [row(n, n.name, n.cost, t) for n, t in shown]
    note = ""
    if view == "top" and len(shown) < len(pairs):
        ids = {id(s[0]) for s in shown}
        rest = [p for p in pairs if id(p[0]) not in ids]
        covered_rest = sum(len(p[0].covered) for p in rest)
        repeat_rest = sum(p[0].repeat for p in rest)
        from ..analysis_records import sum_costs

        c = sum_costs(p[0].cost for p in rest)
        other = None
        if timed:

            class _T:  # the rest's time, so the column adds up to the latency
                time_s = sum(p[1].time_s for p in rest)
                bound = ""
                arithmetic_intensity = None

            other = _T()
        rows.append(row(None, f"({len(rest)} other ops)", c, other))
        note = "the time column adds up to the latency" if timed else ""
    elif timed:
        note = "times include each kernel's launch overhead and add up to the latency"
    if repeated:
        each = "a row of a layer group (`copies` > 1) counts all its copies"
        note = f"{note}; {each}" if note else each
    return Table("ops", title, tuple(cols), tuple(rows), note=note)


def unsupported_table(r: Any) -> Table:
    cols = (
        Column("name", "name", "text", 0, elide=True),
        Column("op_type", "op", "text", 0),
        Column("reason", "reason", "text", 1),
    )
    rows = tuple(
        (u["name"], (u["domain"] + "::" if u["domain"] != "ai.onnx" else "") + u["op_type"], u["reason"])
        for u in r.unsupported
    )
    return Table("unsupported", f"unsupported ops ({len(rows)}): NOT counted in the totals", cols, rows)


def document(
    r: Any,
    *,
    view: str = "top",
    top: int = 10,
    tree_depth: int | None = None,
    charts: bool = False,
    tree_optional: bool = False,
) -> Document:
    """`tree_optional`: leave the tree out when the graph has no scopes (only its root)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}")
    sections = [Section("", (summary(r),))]
    if view in ("top", "by_type", "full"):
        sections.append(Section("by op type", (by_type_table(r),)))
    if view in ("top", "per_op"):
        sections.append(Section("ops", (ops_table(r, view, top),)))
    if view == "full":
        n = sum(1 for n in r.ops if n.status != "folded")
        sections.append(Section("ops", (ops_table(r, "per_op" if n <= FULL_LIMIT else "top", FULL_LIMIT),)))
    data = r.to_dict(per_op=True)
    tt = by_type_time(r)
    if r.timing is not None:
        for k, v in data["by_type"].items():
            v["time_s"] = tt.get(k, 0.0)
    tree_t = None
    if tree_depth:
        gc = r.graph_cost
        tree_t = _tree.table(
            r.ops,
            r.timing.nodes if r.timing is not None else None,
            tree_depth,
            total_params=gc.params,
            module_types=dict(getattr(gc, "module_types", {}) or {}) or None,
        )
        if tree_optional and len(tree_t.rows) <= 1:
            tree_t = None
        else:
            sections.append(Section("module tree", (tree_t,)))
            data["tree"] = _tree.to_json(tree_t)
    if r.unsupported:
        sections.append(Section("unsupported", (unsupported_table(r),)))
    notes = list(r.timing.notes) if r.timing is not None else []
    notes += list(getattr(r.graph_cost, "notes", ()) or ())
    if notes:
        sections.append(Section("", (Notes("notes", "notes", tuple(notes)),)))
    if charts and r.timing is not None:
        from . import roofline as _rl

        rl = _rl.of_report(r)
        dt = rl.main.split()[-1]
        ch = _rl.chart(rl, f"roofline: {r.model} on {r.hardware.display_name} ({dt})")
        sections.append(Section("roofline", (ch, _rl.summary(rl, r.hardware.display_name))))
    csv = ("tree",) if (tree_t is not None and view != "full") else (("by_type",) if view == "by_type" else ("ops",))
    title = f"costmodel: {r.model}" + (f" on {r.hardware.display_name}" if r.timing is not None else "")
    return Document(title, "analyze", tuple(sections), data, csv_blocks=csv)
