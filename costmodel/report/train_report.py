"""`costmodel train` (one training layout) and `costmodel plan train` (a search over
layouts) as report Documents: key numbers as typed columns, never a raw
`step_s 2.16, mfu 0.375` blob, and (HTML) the plan's Pareto chart. (`plan serve` has its
own: serve_report.py.)"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import fmt
from .model import Chart, Column, Document, Field, KeyValues, Notes, Section, Series, Table, fraction, integral

_BREAKDOWN_LABELS = {
    "compute_s": "compute (forward + backward)",
    "recompute_s": "recompute",
    "exposed_comm_s": "communication not hidden by compute",
    "tp_comm_s": "tensor-parallel communication",
    "pp_p2p_s": "pipeline sends",
    "dp_comm_s": "data-parallel gradient sync",
    "bubble_s": "pipeline bubble",
    "optimizer_s": "optimizer step",
}
_COMM_LABELS = {
    "tp": "tensor parallel",
    "cp": "context parallel (ring attention)",
    "ep": "expert parallel all-to-all",
    "pp": "pipeline sends",
    "dp": "data parallel / ZeRO",
}
_MEMORY_LABELS = {
    "weights_bytes": "weights",
    "grads_bytes": "gradients",
    "optimizer_bytes": "optimizer states",
    "activation_bytes": "activations",
}


def train_document(plan: Any) -> Document:
    d = plan.to_dict()
    for k in ("flops", "hardware_flops"):  # FLOP counts computed through floats: exact ints in JSON
        d["step"][k] = integral(d["step"][k])
    e = d["execution"]
    f = [
        Field("model", "model", plan.model),
        Field("hardware", "system", plan.system),
        Field("params", "params", plan.params, "count"),
        Field("gpus", "devices", e["gpus"], "count"),
        Field(
            "layout",
            "layout",
            f"tp {e['tp']} x pp {e['pp']} x dp {e['dp']} x cp {e['cp']} (ep {e['ep']}), "
            f"interleave {e['interleave']}, sequence parallel {'on' if e['sequence_parallel'] else 'off'}",
        ),
        Field("schedule", "pipeline schedule", e.get("schedule", "1f1b")),
        Field("stage_layers", "layers per stage", ", ".join(str(n) for n in e.get("stage_layers", []))),
        Field("zero", "ZeRO stage", e["zero"], "count"),
        Field("recompute", "recompute", e["recompute"]),
        Field(
            "precision",
            "precision / optimizer",
            f"{e['precision']} / {e['optimizer']} ({e.get('optimizer_impl', 'fused')})",
        ),
        Field("global_batch", "global batch (sequences)", e["global_batch"], "count"),
        Field("seq_len", "sequence length", e["seq_len"], "count"),
        Field("micro_batch", "micro-batch", e["micro_batch"], "count"),
        Field("microbatches", "microbatches per step", d["microbatches"], "count"),
        Field("step_s", "step time", d["step"]["latency_s"], "seconds"),
        *(
            (Field("step_band_s", "  80% band", fmt.band(plan.step_band_s, plan.step_latency_s)),)
            if plan.step_band_s
            else ()
        ),
        Field("step_flops", "model FLOPs / step", d["step"]["flops"], "count", "FLOP"),
        Field("tokens_per_s", "throughput", d["step"]["tokens_per_s"], "rate", "tokens/s"),
        Field("mfu", "MFU (model FLOPs utilization)", d["mfu"], "percent"),
        Field("hfu", "HFU (hardware FLOPs utilization)", d["hfu"], "percent"),
        Field("total_bytes", "memory / device", d["memory"]["total_bytes"], "bytes"),
        Field("capacity_bytes", "device memory", d["memory"]["capacity_bytes"], "bytes"),
        Field("fits", "fits", d["fits"], "bool"),
    ]
    if "training" in d:
        tr = d["training"]
        f += [
            Field("tokens", "tokens to train", tr["tokens"], "count"),
            Field("steps", "steps", tr["steps"], "count"),
            Field("time_s", "time to train", tr["time_s"], "seconds"),
            Field("device_hours", "device-hours", tr["device_hours"], "number"),
        ]
        if "cost_usd" in tr:
            f.append(Field("cost_usd", "cost", tr["cost_usd"], "usd"))
    step = d["step"]["latency_s"]
    bt = Table(
        "step_breakdown",
        "step time by part",
        (
            Column("part", "part", "text", 0, elide=True),
            Column("time_s", "time / step", "seconds", 0),
            Column("share", "% of step", "percent", 1),
        ),
        tuple(
            (_BREAKDOWN_LABELS.get(k, k.removesuffix("_s").replace("_", " ")), v, fraction(v, step))
            for k, v in d["breakdown"].items()
            if not isinstance(v, dict)
        ),
        note="parts overlap (communication runs partly under compute), so they need not add up to the step",
    )
    comm = d["breakdown"].get("comm", {})
    ct = Table(
        "communication",
        "communication per step: exposed vs hidden behind compute",
        (
            Column("kind", "communication", "text", 0),
            Column("time_s", "time / step", "seconds", 0),
            Column("exposed_s", "exposed", "seconds", 0),
            Column("hidden_s", "hidden", "seconds", 1),
            Column("bytes", "bytes / device", "bytes", 2),
        ),
        tuple(
            (_COMM_LABELS.get(k, k), c["time_s"], c["exposed_s"], c["hidden_s"], integral(c["bytes"]))
            for k, c in comm.items()
            if c["time_s"] > 0
        ),
        note="overlap: " + (", ".join(e.get("overlap", [])) or "none"),
    )
    cap = d["memory"]["capacity_bytes"]
    mt = Table(
        "memory",
        "memory per device",
        (
            Column("part", "part", "text", 0),
            Column("bytes", "bytes", "bytes", 0),
            Column("share", "% of device memory", "percent", 1),
        ),
        tuple(
            (label, d["memory"][k], fraction(d["memory"][k], cap))
            for k, label in _MEMORY_LABELS.items()
            if k in d["memory"]
        )
        + (("total", d["memory"]["total_bytes"], fraction(d["memory"]["total_bytes"], cap)),),
    )
    tables = (bt, ct, mt) if ct.rows else (bt, mt)
    sections = [Section("", (KeyValues("plan", "", tuple(f)),)), Section("", tables)]
    if d["notes"]:
        sections.append(Section("", (Notes("notes", "notes", tuple(d["notes"]), warning=not d["fits"]),)))
    return Document(f"training plan: {plan.model} on {plan.system}", "train", tuple(sections), d)


# -- plan train -------------------------------------------------------------------------

_TRAIN_METRICS = (
    Column("step_s", "step", "seconds", 3),
    Column("mfu", "MFU", "percent", 2),
    Column("time_s", "time to train", "seconds", 0),
    Column("memory_bytes", "memory / device", "bytes", 3),
    Column("cost_usd", "cost", "usd", 1),
)
_LABEL_PRIORITY = {
    "hardware": 0,
    "gpus": 0,
    "tp": 1,
    "pp": 1,
    "dp": 2,
    "micro_batch": 1,
    "recompute": 1,
    "zero": 2,
}


def _metric(c: Any, key: str) -> Any:
    s = c.summary
    if key == "time_s":
        return s["days"] * 86400 if s.get("days") is not None else None
    if key == "memory_bytes":
        return s["memory_gib"] * 2**30 if s.get("memory_gib") is not None else None
    v = s.get(key)
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _pareto(points: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Points no other point beats on both axes (smaller is better on both)."""
    front: list[tuple[float, float, str]] = []
    for x, y, lab in sorted(points):
        if not front or y < front[-1][1]:
            front.append((x, y, lab))
    return front


def _label_text(c: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.label.items())


def plan_document(
    kind: str,
    cands: Sequence[Any],
    top: int,
    goal: str = "time",
    charts: bool = False,
    *,
    evaluated: int | None = None,
    rejected: dict[str, int] | None = None,
) -> Document:
    """The best `top` feasible configurations (in every format: JSON lists those too,
    with how many were evaluated and why the others were rejected). `cands` holds the
    feasible ones ranked and any rejected ones; `evaluated` / `rejected` give the counts
    when the caller kept only examples of the rejected. `kind` names the document
    ("train": plan-train)."""
    import re

    ok = [c for c in cands if c.ok]
    bad = [c for c in cands if not c.ok]
    keys = list(ok[0].label) if ok else (list(bad[0].label) if bad else [])
    metrics: tuple[Column, ...] = _TRAIN_METRICS
    first = (ok or bad)[0].label if (ok or bad) else {}
    cols = [
        Column(
            k,
            k.replace("_", "-"),
            "count" if isinstance(first.get(k), int) and not isinstance(first.get(k), bool) else "text",
            _LABEL_PRIORITY.get(k, 3),
            elide=k == "hardware",
        )
        for k in keys
    ]
    # a metric no configuration has (cost without prices) is left out, not shown as "-"
    cols += [m for m in metrics if any(_metric(c, m.key) is not None for c in ok)]
    metrics = tuple(c for c in cols if c in metrics)
    shown = ok[:top]
    rows = [tuple([_cell(c.label[k]) for k in keys] + [_metric(c, m.key) for m in metrics]) for c in shown]
    n_eval = evaluated if evaluated is not None else len(cands)
    if rejected is None:
        reasons: dict[str, int] = {}
        for c in bad:
            r = re.sub(r"\d[\d.,]*", "N", c.reason.split(" (")[0])[:70]
            reasons[r] = reasons.get(r, 0) + 1
    else:
        reasons = dict(rejected)
    n_bad = sum(reasons.values())
    what = "time" if goal == "time" else "cost"
    t = Table(
        "candidates",
        f"best {len(rows)} of {n_eval} configurations by {what} ({n_bad} rejected)",
        tuple(cols),
        tuple(rows),
    )
    rt = Table(
        "rejected",
        "why the rejected configurations failed",
        (Column("reason", "reason", "text", 0), Column("count", "count", "count", 0)),
        tuple(sorted(reasons.items(), key=lambda kv: -kv[1])[:12]),
    )
    sections = [Section("", (t,))]
    if reasons:
        sections.append(Section("", (rt,)))
    chart = _plan_chart(ok) if charts else None
    if chart is not None:
        sections.append(Section("Pareto front", (chart,)))
    data = {
        "evaluated": n_eval,
        "feasible": len(ok) if evaluated is None else n_eval - n_bad,
        "rejected": reasons,
        "top": top,
        "candidates": [c.to_dict() for c in shown],
    }
    title = f"plan {kind}: {data['feasible']} feasible of {n_eval} configurations"
    return Document(title, f"plan-{kind}", tuple(sections), data, csv_blocks=("candidates",))


def _cell(v: Any) -> Any:
    return ("yes" if v else "no") if isinstance(v, bool) else v


def _plan_chart(ok: Sequence[Any]) -> Chart | None:
    """Cost (or device-hours) vs time to train; the Pareto front is drawn as a line over
    the points."""
    pts = []
    for c in ok:
        t = c.summary.get("days")
        if t is None:
            continue
        cost = c.summary.get("cost_usd")
        y = cost if cost is not None else c.label.get("gpus", 1) * t * 24
        pts.append((t * 86400, float(y), _label_text(c)))
    ylab = "cost (USD)" if any(c.summary.get("cost_usd") is not None for c in ok) else "device-hours"
    xlab, title = "time to train (s)", "cost vs time to train"
    front = _pareto(pts)
    if not pts:
        return None
    return Chart(
        "pareto",
        title,
        xlab,
        ylab,
        (
            Series(
                "configurations", tuple(p[0] for p in pts), tuple(p[1] for p in pts), labels=tuple(p[2] for p in pts)
            ),
            Series(
                "Pareto front",
                tuple(p[0] for p in front),
                tuple(p[1] for p in front),
                "lines+markers",
                tuple(p[2] for p in front),
            ),
        ),
        x_log=True,
        y_log=True,
    )
