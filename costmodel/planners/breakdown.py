"""Where an LLM's prefill and decode time goes: attention (token mixing: attention, SSM
scan, RWKV time-mix), MLP (dense or MoE), norms, residual adds, embedding, LM head and
communication (TP all-reduces, PP sends), each with FLOPs, bytes, arithmetic intensity
and the bound that dominates its time; per op on request.

Built from the same per-segment analysis the serving planner runs (lower the per-device
spec, analyse each distinct layer once, time it, scale by the layer count), reading only
LLMPlan's public fields, so the categories add up to the plan's phase latency. Decode is
averaged over the same contexts the planner samples (the first, middle and last step,
Simpson's rule); any difference from the plan's figure is shown as its own row rather
than hidden."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..analysis import NodeCost, analyze_graph
from ..engine.latency import graph_latency
from ..engine.roofline import NodeTiming
from ..frontends.lower import Logits, Phase, Workload, lower
from ..ir.dtypes import dtype as to_dtype

CATEGORIES = ("embedding", "attention", "mlp", "norm", "residual", "head", "other", "communication")
LABELS = {
    "embedding": "embedding",
    "attention": "attention / token mixing",
    "mlp": "MLP / experts",
    "norm": "norms",
    "residual": "residual adds",
    "head": "LM head",
    "other": "other",
    "communication": "communication (TP all-reduce, PP send)",
    "unattributed": "difference to the plan",
}
_NORM_OPS = {
    "LayerNormalization",
    "RMSNormalization",
    "GroupNormalization",
    "SimplifiedLayerNormalization",
    "SkipLayerNormalization",
    "SkipSimplifiedLayerNormalization",
    "BatchNormalization",
    "InstanceNormalization",
}
_ATTENTION = ("attn", "self", "cross", "att", "mixer", "relative_bias", "attention")
_MLP = ("mlp", "ff", "ffn", "moe", "expert", "experts", "router", "shared")


def classify(segment: str, node: str, op_type: str) -> str:
    """The category of one op of a lowered segment, by op type and name."""
    seg = segment.split("[", 1)[0].rsplit(".", 1)[-1]
    leaf = node.rsplit("/", 1)[-1]
    head = leaf.split(".", 1)[0]
    if seg == "embed":
        return "embedding"
    if op_type in _NORM_OPS or head.startswith(("ln", "norm", "post_attn_norm", "post_mlp_norm")):
        return "norm"
    if seg == "head":
        return "head"
    if head in _ATTENTION:
        return "attention"
    if head in _MLP:
        return "mlp"
    if head.startswith(("residual", "add_branches")):
        return "residual"
    return "other"


@dataclass(frozen=True)
class OpRow:
    segment: str
    repeat: int
    category: str
    node: NodeCost
    timing: NodeTiming  # per copy; decode: the middle sampled context


@dataclass(frozen=True)
class Part:
    category: str
    time_s: float  # per phase, all copies of repeated layers, x pipeline stages
    flops: float  # per device and stage, like LLMPlan's phase FLOPs
    bytes: float
    bound: str  # the bound holding most of this category's time
    ops: int

    @property
    def label(self) -> str:
        return LABELS.get(self.category, self.category)

    @property
    def intensity(self) -> float | None:
        return self.flops / self.bytes if self.bytes else None


@dataclass(frozen=True)
class PhaseBreakdown:
    phase: str
    latency_s: float  # the plan's figure
    parts: tuple[Part, ...]
    ops: tuple[OpRow, ...]


@dataclass(frozen=True)
class LLMBreakdown:
    prefill: PhaseBreakdown
    decode: PhaseBreakdown
    context: int  # the decode context of the per-op rows


def _run(
    dev_spec: Any, wl: Workload, hw: Any, execution: str, mode: str, runtime: str = "none"
) -> list[tuple[str, int, Any, Any]]:
    out = []
    for seg in lower(dev_spec, wl):
        gc = analyze_graph(seg.graph, runtime=runtime)
        gt = graph_latency(gc, hw, mode=mode, execution=execution)
        out.append((seg.name, seg.repeat, gc, gt))
    return out


def _accumulate(runs: list[tuple[str, int, Any, Any]], weight: float, acc: dict[str, list[Any]]) -> None:
    """acc[category] = [time_s, flops, bytes, {bound: time_s}], weighted, all copies."""
    for name, repeat, gc, gt in runs:
        for n, t in zip(gc.nodes, gt.nodes):
            if n.status == "folded":
                continue
            a = acc.setdefault(classify(name, n.name, n.op_type), [0.0, 0.0, 0.0, {}])
            a[0] += weight * t.time_s * repeat
            a[1] += weight * float(n.cost.flops) * repeat
            a[2] += weight * float(n.cost.bytes) * repeat
            if t.time_s:
                a[3][t.bound] = a[3].get(t.bound, 0.0) + weight * t.time_s * repeat


def _phase(
    phase: str,
    samples: list[tuple[float, list[tuple[str, int, Any, Any]]]],
    comm_s: float,
    latency_s: float,
    rows_from: list[tuple[str, int, Any, Any]],
) -> PhaseBreakdown:
    acc: dict[str, list[Any]] = {}
    for w, runs in samples:
        _accumulate(runs, w, acc)
    op_rows = []
    n_ops: dict[str, int] = {}
    for name, repeat, gc, gt in rows_from:
        for n, t in zip(gc.nodes, gt.nodes):
            if n.status == "folded":
                continue
            cat = classify(name, n.name, n.op_type)
            n_ops[cat] = n_ops.get(cat, 0) + repeat
            op_rows.append(OpRow(name, repeat, cat, n, t))
    parts = []
    for cat in CATEGORIES:
        if cat == "communication":
            if comm_s:
                parts.append(Part(cat, comm_s, 0.0, 0.0, "communication", 0))
            continue
        a = acc.get(cat)
        if a is None:
            continue
        bound = max(a[3].items(), key=lambda kv: kv[1])[0] if a[3] else "none"
        parts.append(Part(cat, a[0], a[1], a[2], bound, n_ops.get(cat, 0)))
    diff = latency_s - sum(p.time_s for p in parts)
    if abs(diff) > 1e-9 * max(latency_s, 1e-12):
        parts.append(Part("unattributed", diff, 0.0, 0.0, "none", 0))
    return PhaseBreakdown(phase, latency_s, tuple(parts), tuple(op_rows))


def _weights(ctx: list[int]) -> list[float]:
    """The serving planner's weights over its sampled decode contexts (llm._average:
    Simpson's rule over three evenly spaced contexts, else a plain mean)."""
    if len(ctx) == 3 and ctx[1] - ctx[0] == ctx[2] - ctx[1]:
        return [1 / 6, 4 / 6, 1 / 6]
    return [1.0 / len(ctx)] * len(ctx)


def llm_breakdown(
    model: Any,
    hardware: Any,
    plan: Any,
    *,
    prefill_execution: str = "eager",
    decode_execution: str = "graph",
    mode: str = "calibrated",
    logits: str = "last",
    runtime: str = "none",
) -> LLMBreakdown:
    """Split `plan` (an LLMPlan of this model on this hardware, priced as `runtime` runs
    it) by component."""
    from ..frontends import load_model_spec
    from ..hardware import get_profile
    from .layout import ServingSetup
    from .llm import _sample_contexts
    from .serving_memory import shard
    from .serving_steps import decode_workload, quantized

    spec = load_model_spec(model)
    hw = get_profile(hardware)
    act = to_dtype(plan.dtype)
    wdt = to_dtype(plan.weight_dtype)
    kvdt = to_dtype(plan.kv_dtype)
    # Under pipeline parallelism one batch passes every stage in turn (the serving
    # planner's latency): the whole sharded model's kernels, not one stage's.
    dev = shard(spec, plan.tp)
    setup = ServingSetup(
        dtype=plan.dtype,
        weight_dtype=None if plan.precision else plan.weight_dtype,
        kv_dtype=plan.kv_dtype,
        precision=plan.precision,
    )
    pre = _run(
        dev,
        quantized(Workload(Phase.PREFILL, plan.batch, plan.prompt_len, 0, Logits(logits), act, wdt, kvdt), setup),
        hw,
        prefill_execution,
        mode,
        runtime,
    )
    prefill = _phase("prefill", [(1.0, pre)], plan.prefill.comm_s, plan.prefill.latency_s, pre)
    steps = max(plan.output_len - 1, 1)
    ctxs = _sample_contexts(plan.prompt_len + 1, plan.prompt_len + steps)
    weights = _weights(ctxs)
    runs = [
        _run(dev, decode_workload(spec, plan.batch, c, setup, plan.prompt_len), hw, decode_execution, mode, runtime)
        for c in ctxs
    ]
    mid = len(ctxs) // 2
    decode = _phase("decode", list(zip(weights, runs)), plan.decode.comm_s, plan.decode.latency_s, runs[mid])
    return LLMBreakdown(prefill, decode, ctxs[mid])
