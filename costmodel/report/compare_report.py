"""A Comparison (costmodel/compare.py) as a report Document: one row per variant, the
axes that vary as the first columns, key numbers as typed columns and each one's ratio
to the first row ("1.00x" for the baseline); in HTML a bar chart per key number."""

from __future__ import annotations

from typing import Any

from .model import Chart, Column, Document, Field, KeyValues, Section, Series, Table, fraction

# kind -> [(key, label, kind, unit, priority, ratio?)]; a ratio column follows the
# metrics that have one: latency and throughput against the first row
_METRICS: dict[str, list[tuple[str, str, str, str, int, bool]]] = {
    "analyze": [
        ("flops", "FLOPs", "count", "", 0, True),
        ("params", "params", "count", "", 2, False),
        ("bytes", "bytes", "bytes", "", 2, True),
        ("weight_bytes", "weights", "bytes", "", 3, False),
        ("latency_s", "latency", "seconds", "", 0, True),
        ("attained", "attained", "rate", "FLOP/s", 3, False),
    ],
    "llm": [
        ("ttft_s", "TTFT", "seconds", "", 0, True),
        ("tpot_s", "TPOT", "seconds", "", 0, True),
        ("tokens_per_s", "tokens/s", "rate", "tokens/s", 1, True),
        ("total_bytes", "memory / device", "bytes", "", 2, False),
        ("fits", "fits", "bool", "", 1, False),
        ("max_batch", "max batch", "count", "", 3, False),
        ("usd_per_million_output_tokens", "$ / M out", "usd", "", 2, False),
    ],
}


def metrics(kind: str, r: Any) -> dict[str, Any]:
    if kind == "analyze":
        lat = r.latency_s
        try:
            attained = float(r.flops) / lat if lat else None
        except TypeError:
            attained = None
        return {
            "flops": r.flops,
            "params": r.params,
            "bytes": r.graph_cost.total.bytes,
            "weight_bytes": r.graph_cost.weight_bytes,
            "latency_s": lat,
            "attained": attained,
        }
    c = r.cost() or {}
    return {
        "ttft_s": r.prefill.latency_s,
        "tpot_s": r.decode.latency_s,
        "tokens_per_s": r.batch / r.decode.latency_s if r.decode.latency_s else None,
        "total_bytes": r.memory.total_bytes,
        "fits": r.fits,
        "max_batch": r.max_batch,
        "usd_per_million_output_tokens": c.get("usd_per_million_output_tokens"),
    }


def document(comp: Any, *, charts: bool = False) -> Document:
    kind = comp.kind
    vary = comp.varying or list(comp.axes)[:1]
    rows_m = [metrics(kind, v.result) for v in comp.variants]
    present = [m for m in _METRICS[kind] if any(r.get(m[0]) is not None for r in rows_m)]
    # a number the same in every row (FLOPs across devices) is stated once, not compared
    same = [m for m in present if len(comp.variants) > 1 and len({repr(r.get(m[0])) for r in rows_m}) == 1]
    specs = [m for m in present if m not in same]
    cols = [Column(a, a.replace("_", " "), "text", 0, elide=True) for a in vary]
    for key, label, k, unit, prio, ratio in specs:
        cols.append(Column(key, label, k, prio, unit))
        if ratio:
            cols.append(Column(f"{key}_ratio", f"{label} vs first", "ratio", prio + 1))
    base = rows_m[0]
    rows = []
    for v, m in zip(comp.variants, rows_m):
        row: list[Any] = [v.values[a] for a in vary]
        for key, _label, _k, _unit, _prio, ratio in specs:
            row.append(m.get(key))
            if ratio:
                row.append(fraction(m.get(key), base.get(key)))
        rows.append(tuple(row))
    what = " x ".join(vary)
    t = Table("compare", f"compared by {what} (ratios to the first row)", tuple(cols), tuple(rows))
    fixed = [Field(k, k.replace("_", " "), v) for k, v in comp.constant.items()]
    fixed += [Field(key, label, rows_m[0].get(key), k, unit) for key, label, k, unit, _p, _r in same]
    sections = []
    if fixed:
        sections.append(Section("", (KeyValues("fixed", "the same in every row", tuple(fixed)),)))
    sections.append(Section("", (t,)))
    if charts:
        labels = tuple(v.label(vary) for v in comp.variants)
        blocks = []
        for key, label, k, _unit, _prio, _ratio in specs:
            ys: list[float] = []
            for m in rows_m:
                y = m.get(key)
                if isinstance(y, bool) or not isinstance(y, (int, float)):
                    break
                ys.append(float(y))
            if k in ("bool", "text") or len(ys) != len(rows_m):
                continue
            blocks.append(
                Chart(
                    f"compare-{key}",
                    label,
                    what,
                    label,
                    (Series(label, tuple(float(i) for i in range(len(ys))), tuple(ys), "bars", labels),),
                    categories=labels,
                )
            )
        if blocks:
            sections.append(Section("charts", tuple(blocks)))
    data = {
        "schema_version": 1,
        "kind": kind,
        "axes": {a: list(vs) for a, vs in comp.axes.items()},
        "variants": [
            {
                **{a: v.values[a] for a in comp.axes},
                "metrics": m,
                "ratios": {key: fraction(m.get(key), base.get(key)) for key, _l, _k, _u, _p, ratio in specs if ratio},
                "result": v.result.to_dict(**({"per_op": False} if kind == "analyze" else {})),
            }
            for v, m in zip(comp.variants, rows_m)
        ],
    }
    title = "comparison of " + "; ".join(v.label(vary) for v in comp.variants)
    return Document(title, "compare", tuple(sections), data, csv_blocks=("compare",))
