"""`costmodel plan serve` (planners/search_serving.py) as a report Document: the best
configurations (replicas x layout x batch cap x weights) with their percentile TTFT / TPOT,
why the others failed, and (HTML) the devices-vs-latency Pareto chart. `--top` bounds the
candidates in every format, JSON included."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .model import Chart, Column, Document, Field, KeyValues, Section, Series, Table

_LABELS = (
    Column("hardware", "hardware", "text", 0, elide=True),
    Column("tp", "tp", "count", 1),
    Column("dp", "dp (attention)", "count", 2),
    Column("ep", "ep", "count", 2),
    Column("weights", "weights", "text", 1),
    Column("batch_cap", "batch cap", "count", 1),
)


def _metrics(pct: str) -> tuple[Column, ...]:
    return (
        Column("replicas", "replicas", "count", 0),
        Column("devices", "devices", "count", 0),
        Column("ttft_p_s", f"TTFT {pct}", "seconds", 0),
        Column("tpot_p_s", f"TPOT {pct}", "seconds", 0),
        Column("batch", "in flight / replica", "number", 2),
        Column("usd_per_hour", "$ / hour", "usd", 1),
    )


def _pct(p: float) -> str:
    return f"p{p * 100:g}"


def plan_serve_document(search: Any, load: Any, top: int, goal: str, charts: bool = False) -> Document:
    cands = search.candidates
    ok = [c for c in cands if c.ok]
    bad = [c for c in cands if not c.ok]
    pct = _pct(load.percentile)
    label_cols = [c for c in _LABELS if not (c.key in ("dp", "ep") and all(x.label[c.key] == 1 for x in cands))]
    metrics = [m for m in _metrics(pct) if m.key != "usd_per_hour" or any(c.summary.get(m.key) for c in ok)]
    shown = ok[:top]
    rows = tuple(tuple([c.label[k.key] for k in label_cols] + [c.summary.get(m.key) for m in metrics]) for c in shown)
    what = "devices" if goal == "devices" else "$ / hour"
    best = Table(
        "candidates",
        f"best {len(rows)} of {len(ok)} feasible configurations by {what} ({len(bad)} rejected)",
        (*label_cols, *metrics),
        rows,
    )
    reasons: dict[str, int] = {}
    for c in bad:
        r = re.sub(r"\d[\d.,]*", "N", c.reason.split(" (")[0])[:80]
        reasons[r] = reasons.get(r, 0) + 1
    rejected = sorted(reasons.items(), key=lambda kv: -kv[1])
    load_kv = KeyValues(
        "load",
        "load",
        (
            Field("rate", "requests per second", load.rate, "number"),
            Field("prompt_len", "prompt tokens (mean)", load.prompt.mean, "number"),
            Field("output_len", "output tokens (mean)", load.output.mean, "number"),
            Field("percentile", "SLO percentile", pct, "text"),
            Field("evaluated", "configurations evaluated", search.evaluated, "count"),
        ),
    )
    sections = [Section("", (load_kv, best))]
    if rejected:
        sections.append(
            Section(
                "",
                (
                    Table(
                        "rejected",
                        "why the rejected configurations failed",
                        (Column("reason", "reason", "text", 0), Column("count", "count", "count", 0)),
                        tuple(rejected[:12]),
                    ),
                ),
            )
        )
    chart = _pareto(ok) if charts else None
    if chart is not None:
        sections.append(Section("Pareto front", (chart,)))
    data = {
        "goal": goal,
        "load": {
            "rate": load.rate,
            "prompt": load.prompt.to_dict(),
            "output": load.output.to_dict(),
            "percentile": load.percentile,
        },
        "evaluated": search.evaluated,
        "feasible": len(ok),
        "rejected": len(bad),
        "candidates": [c.to_dict() for c in shown],
        "rejected_reasons": dict(rejected),
    }
    title = f"plan serve: {len(ok)} feasible of {len(cands)} configurations"
    return Document(title, "plan-serve", tuple(sections), data, csv_blocks=("candidates",))


def _pareto(ok: Sequence[Any]) -> Chart | None:
    """Devices against TTFT at the SLO percentile; the front drawn over the points."""
    pts = [
        (float(c.summary["devices"]), float(c.summary["ttft_p_s"]), ", ".join(f"{k} {v}" for k, v in c.label.items()))
        for c in ok
        if c.summary.get("ttft_p_s") is not None
    ]
    if not pts:
        return None
    front: list[tuple[float, float, str]] = []
    for x, y, lab in sorted(pts):
        if not front or y < front[-1][1]:
            front.append((x, y, lab))
    return Chart(
        "pareto",
        "devices vs time to first token",
        "devices",
        "TTFT at the SLO percentile (s)",
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
