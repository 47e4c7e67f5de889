"""Renderers for `costmodel analyze`: rich table, JSON, CSV, markdown."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..ops.cost import ZERO
from ..symbolic import to_json_number
from .fmt import exact, nbytes, seconds, si


def to_json(report: Any, per_op: bool = True) -> str:
    return json.dumps(report.to_dict(per_op=per_op), indent=1, default=str)


def to_csv(report: Any) -> str:
    buf = io.StringIO()
    cols = [
        "name",
        "op_type",
        "domain",
        "kind",
        "status",
        "flops",
        "macs",
        "transcendentals",
        "params",
        "bytes_read",
        "bytes_written",
        "read_weights",
        "read_activations",
        "read_kv",
        "write_activations",
        "write_kv",
        "output_shapes",
        "dtype",
    ]
    timed = report.timing is not None
    if timed:
        cols += ["time_s", "bound", "attainable_flops", "arithmetic_intensity"]
    w = csv.writer(buf)
    w.writerow(cols)
    nodes = report.ops
    tnodes = report.timing.nodes if timed else [None] * len(nodes)
    for n, t in zip(nodes, tnodes):
        d = n.to_dict()
        if t is not None:
            d.update(t.to_dict())
        w.writerow([json.dumps(d.get(c)) if isinstance(d.get(c), (list, dict)) else d.get(c, "") for c in cols])
    return buf.getvalue()


def _rows_by_type(report: Any) -> list[tuple[str, Any, int]]:
    counts: dict[str, int] = {}
    for n in report.ops:
        k = n.op_type if not n.domain else f"{n.domain}::{n.op_type}"
        if n.status != "folded":
            counts[k] = counts.get(k, 0) + 1
    bt = report.graph_cost.by_type()
    rows = [(k, bt.get(k, ZERO), c) for k, c in counts.items()]
    rows.sort(key=lambda r: _key(r[1].flops), reverse=True)
    return rows


def _key(x: Any) -> float:
    try:
        return float(x)
    except TypeError:
        return float(x.subs({s: 1 for s in x.free_symbols}))


def to_markdown(report: Any) -> str:
    r = report
    lines = [f"# costmodel: {r.model}", "", "| quantity | value |", "|---|---|"]
    for k, v in _totals(r):
        lines.append(f"| {k} | {v} |")
    lines += ["", "| op type | count | FLOPs | MACs | bytes |", "|---|---:|---:|---:|---:|"]
    for k, c, n in _rows_by_type(r):
        lines.append(f"| {k} | {n} | {si(c.flops)} | {si(c.macs)} | {nbytes(c.bytes)} |")
    if r.unsupported:
        lines += ["", "## Unsupported ops (not counted)", ""]
        for u in r.unsupported:
            lines.append(f"- `{u['name']}` ({u['op_type']}): {u['reason']}")
    return "\n".join(lines) + "\n"


def _totals(r: Any, symbolic: bool = False) -> list[tuple[str, str]]:
    fmt = exact if symbolic else si
    out = [
        ("FLOPs", fmt(r.flops)),
        ("MACs", fmt(r.macs)),
        ("transcendentals", fmt(r.transcendentals)),
        ("params", fmt(r.params)),
        ("bytes read", exact(r.bytes_read) if symbolic else nbytes(r.bytes_read)),
        ("bytes written", exact(r.bytes_written) if symbolic else nbytes(r.bytes_written)),
        ("weights", nbytes(r.graph_cost.weight_bytes) if not symbolic else exact(r.graph_cost.weight_bytes)),
        (
            "peak live activations",
            nbytes(r.graph_cost.peak_activation_bytes) if not symbolic else exact(r.graph_cost.peak_activation_bytes),
        ),
    ]
    if r.timing is not None:
        t = r.timing
        out += [
            ("hardware", r.hardware.display_name),
            ("latency", seconds(t.latency_s)),
            ("mode", f"{t.mode}, {t.execution}, fusion={t.fusion}"),
        ]
        out.append(("time by bound", ", ".join(f"{k} {seconds(v)}" for k, v in t.by_bound().items())))
    if r.symbols:
        out.append(("symbols", ", ".join(r.symbols)))
    out.append(("coverage", f"{100 * r.graph_cost.coverage:.1f}% of ops costed"))
    return out


def render_table(
    report: Any, console: Any, *, per_op: bool = False, by_type: bool = True, symbolic: bool = False, top: int = 10
) -> None:
    from rich.table import Table

    r = report
    t = Table(title=f"costmodel: {r.model}", show_header=False, title_justify="left")
    t.add_column("quantity", style="bold")
    t.add_column("value")
    for k, v in _totals(r, symbolic):
        t.add_row(k, v)
    console.print(t)
    timed = r.timing is not None
    if by_type:
        bt = Table(title="by op type", title_justify="left")
        for c in ("op type", "count", "FLOPs", "MACs", "bytes"):
            bt.add_column(c, justify="right" if c != "op type" else "left")
        if timed:
            bt.add_column("time", justify="right")
            tt = r.timing.by_type()
        for k, c, n in _rows_by_type(r):
            row = [
                k,
                str(n),
                (exact if symbolic else si)(c.flops),
                (exact if symbolic else si)(c.macs),
                nbytes(c.bytes),
            ]
            if timed:
                row.append(seconds(tt.get(k)))
            bt.add_row(*row)
        console.print(bt)
    nodes = [n for n in r.ops if n.status != "folded"]
    tn = {id(n): t for n, t in zip(r.ops, r.timing.nodes)} if timed else {}
    if per_op:
        shown = nodes
        title = "per op"
    else:
        if timed:
            shown = sorted(nodes, key=lambda n: tn[id(n)].time_s, reverse=True)[:top]
        else:
            shown = sorted(nodes, key=lambda n: _key(n.cost.flops), reverse=True)[:top]
        title = f"top {len(shown)} ops"
    if shown:
        ot = Table(title=title, title_justify="left")
        cols = ["name", "op", "output", "FLOPs", "MACs", "bytes"]
        if timed:
            cols += ["time", "bound"]
        for c in cols:
            ot.add_column(c, justify="left" if c in ("name", "op", "output", "bound") else "right", overflow="fold")
        for n in shown:
            shape = (
                "x".join(str(d) for d in n.output_shapes[0])
                if n.output_shapes and n.output_shapes[0] is not None
                else "?"
            )
            row = [
                n.name,
                n.op_type,
                shape,
                (exact if symbolic else si)(n.cost.flops),
                (exact if symbolic else si)(n.cost.macs),
                nbytes(n.cost.bytes),
            ]
            if timed:
                nt = tn[id(n)]
                row += [seconds(nt.time_s), nt.bound]
            ot.add_row(*row)
        console.print(ot)
    if r.unsupported:
        ut = Table(
            title=f"unsupported ops ({len(r.unsupported)}): NOT counted in the totals",
            title_justify="left",
            title_style="bold red",
        )
        ut.add_column("name")
        ut.add_column("op")
        ut.add_column("reason")
        for u in r.unsupported:
            ut.add_row(u["name"], (u["domain"] + "::" if u["domain"] != "ai.onnx" else "") + u["op_type"], u["reason"])
        console.print(ut)


__all__ = ["render_table", "to_csv", "to_json", "to_json_number", "to_markdown"]
