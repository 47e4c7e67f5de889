"""`costmodel llm` as a report Document: the serving plan, prefill by segment, the
prefill and decode breakdown by component (attention / MLP / norms / embedding / head /
communication) with bound and intensity, per-op tables on request, the decode roofline,
the throughput-latency sweep, and every extra analysis (--rate, --draft,
--shared-prefix, --output-lens, --reranker-docs) with readable labels and units."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .llm_extras_report import extras_blocks
from . import fmt
from .model import Chart, Column, Document, Field, KeyValues, Notes, Section, Series, Table, fraction, integral


def plan_summary(p: Any) -> KeyValues:
    f = [
        Field("model", "model", p.model),
        Field("hardware", "hardware", f"{p.hardware} x {p.devices} (tp {p.tp}, pp {p.pp})"),
        Field("params", "params", p.params, "count"),
        Field("active_params", "active params / token", p.active_params, "count"),
        Field("batch", "batch", p.batch, "count"),
        Field("prompt_len", "prompt tokens", p.prompt_len, "count"),
        Field("output_len", "output tokens", p.output_len, "count"),
        Field(
            "dtypes",
            "dtypes (act / weight / KV)",
            f"{p.dtype} / {p.weight_dtype} / {p.kv_dtype}" + (f" ({p.precision} recipe)" if p.precision else ""),
        ),
        Field("ttft_s", "prefill = time to first token", p.prefill.latency_s, "seconds"),
        *_band("ttft_band_s", p.prefill.band, p.prefill.latency_s),
        Field("prefill_flops", "prefill FLOPs / device", integral(p.prefill.flops), "count", "FLOP"),
        Field("prefill_bytes", "prefill bytes / device", integral(p.prefill.bytes), "bytes"),
        Field("tpot_s", "decode = time per output token", p.decode.latency_s, "seconds"),
        *_band("tpot_band_s", p.decode.band, p.decode.latency_s),
        Field("decode_flops", "decode FLOPs / token / device", integral(p.decode.flops), "count", "FLOP"),
        Field("decode_bytes", "decode bytes / token / device", integral(p.decode.bytes), "bytes"),
        Field("request_s", "request latency", p.request_latency_s, "seconds"),
        *_band("request_band_s", p.request_band_s, p.request_latency_s),
        Field("tokens_per_s", "throughput (whole request)", p.tokens_per_s, "rate", "tokens/s"),
        Field(
            "decode_tokens_per_s",
            "throughput (decode)",
            p.batch / p.decode.latency_s if p.decode.latency_s else None,
            "rate",
            "tokens/s",
        ),
        Field("weights_bytes", "weights / device", p.memory.weights_bytes, "bytes"),
        Field("kv_cache_bytes", "KV cache / device", p.memory.kv_cache_bytes, "bytes"),
        Field("activation_bytes", "activations / device", p.memory.activation_bytes, "bytes"),
        Field("total_bytes", "memory / device", p.memory.total_bytes, "bytes"),
        Field("capacity_bytes", "device memory", p.memory.capacity_bytes, "bytes"),
        Field("fits", "fits", p.fits, "bool"),
        Field("max_batch", "largest batch that fits", p.max_batch, "count"),
    ]
    c = p.cost()
    if c:
        f += [
            Field("usd_per_million_input_tokens", "$ / M input tokens", c["usd_per_million_input_tokens"], "usd"),
            Field("usd_per_million_output_tokens", "$ / M output tokens", c["usd_per_million_output_tokens"], "usd"),
            Field("usd_per_request", "$ / request", c["usd_per_request"], "usd"),
        ]
    return KeyValues("plan", "", tuple(f))


def _band(key: str, band: Any, point: float) -> tuple[Field, ...]:
    """The 80% band row under a time (none in ideal mode or on a CPU profile)."""
    return (Field(key, "  80% band", fmt.band(band, point)),) if band else ()


def segments_table(p: Any) -> Table:
    cols = (
        Column("segment", "segment", "text", 0, elide=True),
        Column("repeat", "copies", "count", 1),
        Column("prefill_s", "time / copy", "seconds", 2),
        Column("prefill_total_s", "time", "seconds", 0),
        Column("prefill_share", "% prefill", "percent", 1),
        Column("prefill_flops", "FLOPs / copy", "count", 2),
    )
    rows = []
    total = p.prefill.latency_s
    for s in p.layers:
        t = (s["prefill_s"] or 0.0) * s["repeat"]
        rows.append((s["segment"], s["repeat"], s["prefill_s"], t, fraction(t, total), integral(s["prefill_flops"])))
    return Table("segments", "prefill by segment (one pipeline stage, one device)", cols, tuple(rows))


def breakdown_table(ph: Any, key: str) -> Table:
    cols = (
        Column("component", "component", "text", 0, elide=True),
        Column("ops", "ops", "count", 4),
        Column("time_s", "time", "seconds", 0),
        Column("share", "% of " + ph.phase, "percent", 0),
        Column("flops", "FLOPs", "count", 2),
        Column("bytes", "bytes", "bytes", 2),
        Column("intensity", "FLOP/B", "number", 3),
        Column("bound", "bound", "text", 1),
    )
    rows = tuple(
        (
            x.label,
            x.ops,
            x.time_s,
            fraction(x.time_s, ph.latency_s),
            integral(x.flops),
            integral(x.bytes),
            x.intensity,
            x.bound,
        )
        for x in ph.parts
    )
    what = "prefill" if ph.phase == "prefill" else "decode step (mean over the output)"
    return Table(
        key,
        f"{what} by component",
        cols,
        rows,
        note="times add up to the plan's latency; FLOPs and bytes are per device and pipeline stage",
    )


def per_op_table(ph: Any, key: str, top: int | None = None) -> Table:
    cols = (
        Column("segment", "segment", "text", 3, elide=True),
        Column("name", "op", "text", 0, elide=True),
        Column("component", "component", "text", 2),
        Column("op_type", "type", "text", 4),
        Column("repeat", "copies", "count", 1),
        Column("time_s", "time / copy", "seconds", 6),
        Column("total_s", "time, all copies", "seconds", 0),
        Column("share", "% of " + ph.phase, "percent", 1),
        Column("flops", "FLOPs / copy", "count", 2),
        Column("bytes", "bytes / copy", "bytes", 3),
        Column("intensity", "FLOP/B", "number", 5),
        Column("bound", "bound", "text", 1),
    )
    rows = []
    for r in ph.ops:
        t = r.timing
        rows.append(
            (
                r.segment,
                r.node.name,
                r.category,
                r.node.op_type,
                r.repeat,
                t.time_s,
                t.time_s * r.repeat,
                fraction(t.time_s * r.repeat, ph.latency_s),
                r.node.cost.flops,
                r.node.cost.bytes,
                t.arithmetic_intensity,
                t.bound,
            )
        )
    if top is not None:
        rows = sorted(rows, key=lambda row: -row[6])[:top]
    what = "prefill" if ph.phase == "prefill" else "decode step"
    return Table(key, f"{what}: every op (one device, one stage)", cols, tuple(rows))


def decode_roofline(bd: Any, hw: Any, dtype: str, title: str) -> tuple[Chart, Any]:
    from . import roofline

    ops = [r.node for r in bd.decode.ops]
    tim = [r.timing for r in bd.decode.ops]
    rl = roofline.from_ops(ops, tim, hw, dtype)
    return roofline.chart(rl, title, key="decode_roofline"), rl


def sweep_table(sweep: Sequence[Any]) -> Table:
    cols = (
        Column("batch", "batch", "count", 0),
        Column("decode_latency_s", "time / token", "seconds", 0),
        Column("tokens_per_s", "decode tokens/s", "rate", 0, "tokens/s"),
        Column("ttft_s", "TTFT", "seconds", 2),
        Column("request_latency_s", "request", "seconds", 1),
        Column("total_bytes", "memory", "bytes", 2),
        Column("fits", "fits", "bool", 1),
    )
    rows = tuple(
        (
            s.batch,
            s.decode.latency_s,
            s.batch / s.decode.latency_s,
            s.prefill.latency_s,
            s.request_latency_s,
            s.memory.total_bytes,
            s.fits,
        )
        for s in sweep
    )
    return Table("sweep", "throughput vs batch", cols, rows)


def sweep_chart(sweep: Sequence[Any]) -> Chart:
    """Latency per token and throughput against the batch, each on its own labelled axis."""
    b = tuple(float(s.batch) for s in sweep)
    return Chart(
        "sweep",
        f"{sweep[0].model} on {sweep[0].hardware}: decode latency and throughput vs batch",
        "batch (sequences)",
        "decode time per token (s)",
        (
            Series(
                "time per token (s)",
                b,
                tuple(s.decode.latency_s for s in sweep),
                "lines+markers",
                tuple(f"batch {s.batch}" for s in sweep),
            ),
            Series(
                "decode tokens/s",
                b,
                tuple(s.batch / s.decode.latency_s for s in sweep),
                "lines+markers",
                tuple(f"batch {s.batch}" for s in sweep),
                axis="y2",
                marker="t",
            ),
        ),
        x_log=True,
        y2_label="decode throughput (tokens/s)",
    )


def pareto_chart(sweep: Sequence[Any]) -> Chart:
    """Throughput against latency per token: each batch size is one point of the curve."""
    return Chart(
        "pareto",
        "throughput vs latency (each point a batch size)",
        "decode time per token (s)",
        "decode throughput (tokens/s)",
        (
            Series(
                "batch sizes",
                tuple(s.decode.latency_s for s in sweep),
                tuple(s.batch / s.decode.latency_s for s in sweep),
                "lines+markers",
                tuple(f"batch {s.batch}" + ("" if s.fits else " (does not fit)") for s in sweep),
            ),
        ),
    )


def plan_json(p: Any) -> dict[str, Any]:
    """LLMPlan.to_dict with exact integer counts (FLOPs and bytes are averaged as floats)."""
    d: dict[str, Any] = p.to_dict()
    for phase in ("prefill", "decode"):
        for k in ("flops", "bytes"):
            d[phase][k] = integral(d[phase][k])
    for layer in d.get("layers", []):
        if "prefill_flops" in layer:
            layer["prefill_flops"] = integral(layer["prefill_flops"])
    return d


def breakdown_json(bd: Any, per_op: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"decode_context": bd.context}
    for ph in (bd.prefill, bd.decode):
        d: dict[str, Any] = {
            "latency_s": ph.latency_s,
            "components": {
                x.category: {
                    "time_s": x.time_s,
                    "share": fraction(x.time_s, ph.latency_s),
                    "flops": integral(x.flops),
                    "bytes": integral(x.bytes),
                    "arithmetic_intensity": x.intensity,
                    "bound": x.bound,
                    "ops": x.ops,
                }
                for x in ph.parts
            },
        }
        if per_op:
            d["ops"] = [
                {
                    "segment": r.segment,
                    "name": r.node.name,
                    "component": r.category,
                    "op_type": r.node.op_type,
                    "repeat": r.repeat,
                    "time_s": r.timing.time_s,
                    "flops": r.node.cost.flops,
                    "bytes": r.node.cost.bytes,
                    "bound": r.timing.bound,
                }
                for r in ph.ops
            ]
        out[ph.phase] = d
    return out


def document(
    plan: Any,
    *,
    sweep: Sequence[Any] | None = None,
    extras: Mapping[str, Any] | None = None,
    breakdown: Any = None,
    per_op: bool = False,
    hardware: Any = None,
    charts: bool = False,
) -> Document:
    title = f"LLM serving plan: {plan.model} on {plan.hardware}"
    sections = [Section("", (plan_summary(plan),))]
    if plan.notes:
        sections.append(Section("", (Notes("notes", "notes", tuple(plan.notes), warning=not plan.fits),)))
    sections.append(Section("prefill by segment", (segments_table(plan),)))
    data = plan_json(plan)
    if breakdown is not None:
        blocks: list[Any] = [breakdown_table(breakdown.prefill, "prefill_breakdown")]
        blocks.append(breakdown_table(breakdown.decode, "decode_breakdown"))
        sections.append(Section("where the time goes", tuple(blocks)))
        if per_op:
            sections.append(
                Section(
                    "per op",
                    (
                        per_op_table(breakdown.decode, "decode_ops"),
                        per_op_table(breakdown.prefill, "prefill_ops"),
                    ),
                )
            )
        if charts and hardware is not None:
            ch, _ = decode_roofline(
                breakdown, hardware, plan.dtype, f"decode roofline: {plan.model} on {plan.hardware} ({plan.dtype})"
            )
            sections.append(Section("decode roofline", (ch,)))
        data["breakdown"] = breakdown_json(breakdown, per_op)
    if sweep:
        blocks = [sweep_table(sweep)]
        if charts:
            blocks += [sweep_chart(sweep), pareto_chart(sweep)]
        sections.append(Section("batch sweep", tuple(blocks)))
        data["sweep"] = [
            {
                "batch": s.batch,
                "decode_latency_s": s.decode.latency_s,
                "tokens_per_s": s.batch / s.decode.latency_s,
                "request_latency_s": s.request_latency_s,
                "ttft_s": s.prefill.latency_s,
                "total_bytes": s.memory.total_bytes,
                "fits": s.fits,
            }
            for s in sweep
        ]
    if extras:
        sections.append(Section("beyond one request", tuple(extras_blocks(extras))))
        data["extras"] = {k: dict(v) for k, v in extras.items()}
        if "reranker" in data["extras"]:
            rr = data["extras"]["reranker"]
            rr["flops_per_query"] = integral(rr["flops_per_query"])
    return Document(title, "llm", tuple(sections), data)
