"""MoE serving with data-parallel attention and expert parallelism (the DeepSeek-V3
deployment: DeepSeek-AI 2024, sec. 3.4 — attention data-parallel across the engine's
devices, each routed expert whole on one device, tokens dispatched to their experts and
combined back by all-to-all in every MoE layer).

A replica of dp x tp devices serves B sequences: each attention group of tp devices holds
B / dp of them (their KV cache, their attention and dense layers, tp-sharded); the routed
experts are split ep = dp x tp ways, E / ep whole experts per device, and every device
runs the B x top_k / ep routed token-slots that land on its experts. Assumptions, stated:
routing is uniform over experts (DeepSeek balances load with its bias-based auxiliary-free
balancing and redundant experts; an unbalanced router makes the busiest device slower
than this), the batch and the prefill tokens spread evenly over the dp ranks, and the
shared experts and dense layers run tp-sharded inside each attention group."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..analysis import analyze_graph
from ..engine.latency import graph_latency
from ..errors import PlanError
from ..frontends.builder import GraphBuilder
from ..frontends.lower import Workload
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import MLPKind
from ..hardware.network import Tier
from ..hardware.systems import System
from ..ir.dtypes import DType
from .layout import ParallelLayout, ServingSetup
from .serving_memory import expert_params, kv_cache_bytes, shard
from .serving_records import StepCost, step_band
from .serving_steps import LOGIT_BYTES, decode_workload, dtypes, tp_comm_s
from .workload import WorkloadResult, run_workload

# dispatch + combine: one all-to-all each way per MoE layer
ALL_TO_ALLS_PER_MOE_LAYER = 2


def validate_ep_layout(spec: ModelSpec, layout: ParallelLayout) -> None:
    """Expert parallelism for serving splits the routed experts over every device of the
    replica (ep = dp x tp) and runs attention data-parallel (dp) inside it."""
    if layout.ep == 1 and layout.dp == 1:
        return
    n = layout.dp * layout.tp
    m = spec.moe
    if m is None:
        raise PlanError(f"{spec.name} has no experts: --ep / --dp (data-parallel attention) need a MoE model")
    if layout.ep != n:
        raise PlanError(
            f"--ep {layout.ep} must equal dp x tp = {n}: the routed experts are split over every device of the replica"
        )
    if m.num_experts % layout.ep:
        raise PlanError(f"num_experts {m.num_experts} is not divisible by --ep {layout.ep}")
    if layout.pp > 1 or layout.cp > 1:
        raise PlanError("expert-parallel serving is modelled without pipeline or context parallelism (--pp 1)")


def ep_all_to_all_s(nbytes: float, ep: int, system: System) -> float:
    """One all-to-all in which each device sends `nbytes` spread evenly over the ep
    devices: the share for peers on the node crosses the scale-up tier, the rest the
    scale-out tier, both at once. Each peer's chunk is posted together (NCCL's alltoall
    and DeepEP issue every peer's send in one kernel), so one latency per tier, not one
    per peer."""
    if ep <= 1 or nbytes <= 0:
        return 0.0
    local = min(ep, system.devices_per_node)
    intra = _leg(system.intra, nbytes * (local - 1) / ep)
    inter = _leg(system.inter, nbytes * (ep - local) / ep) if ep > local else 0.0
    return max(intra, inter)


def _leg(tier: Tier, nbytes: float) -> float:
    return tier.latency_s + tier.beta(nbytes) if nbytes > 0 else 0.0


_EXPERTS_CACHE: dict[tuple[Any, ...], tuple[Any, tuple[float, float, float]]] = {}


def _experts(
    spec: ModelSpec,
    experts: int,
    width: int,
    slots: int,
    top_k: int,
    act: DType,
    wdt: DType,
    hw: Any,
    how: tuple[str, str],
) -> tuple[float, float, float]:
    """(seconds, FLOPs, bytes) of one routed-experts kernel: `slots` token rows over
    `experts` experts of intermediate `width`, top_k each (the lowering's ExpertMLP
    node, costed and timed alone). Cached per device profile object (profiles are not
    hashable; the cache keeps the object so its id stays its own)."""
    key = (spec, experts, width, slots, top_k, act, wdt, id(hw), how)
    hit = _EXPERTS_CACHE.get(key)
    if hit is not None and hit[0] is hw:
        return hit[1]
    if len(_EXPERTS_CACHE) > 4096:
        _EXPERTS_CACHE.clear()
    value = _expert_kernel(spec, experts, width, slots, top_k, act, wdt, hw, how)
    _EXPERTS_CACHE[key] = (hw, value)
    return value


def _expert_kernel(
    spec: ModelSpec,
    experts: int,
    width: int,
    slots: int,
    top_k: int,
    act: DType,
    wdt: DType,
    hw: Any,
    how: tuple[str, str],
) -> tuple[float, float, float]:
    d = spec.hidden_size
    gated = spec.mlp is MLPKind.GATED
    b = GraphBuilder("experts")
    x = b.input("x", (slots, d), act)
    w_in = b.weight("w_in", (experts, d, (2 if gated else 1) * width), wdt)
    w_out = b.weight("w_out", (experts, width, d), wdt)
    b.output(
        b.node(
            "ExpertMLP",
            [x, w_in, w_out],
            domain="costmodel",
            name="experts",
            top_k=top_k,
            gated=int(gated),
            activation=spec.activation.value,
        )
    )
    gc = analyze_graph(b.build())
    dispatch, mode = how
    t = graph_latency(gc, hw, mode=mode, execution=dispatch).latency_s
    return t, float(gc.total.flops), float(gc.total.bytes)


def _ep_step(
    spec: ModelSpec,
    system: System,
    layout: ParallelLayout,
    setup: ServingSetup,
    r: WorkloadResult,
    local_tokens: int,
    engine_tokens: int,
    dispatch: str,
) -> StepCost:
    """A step of the replica as its busiest device sees it: the tp-sharded step of its
    attention group over `local_tokens` rows, with the group's routed experts swapped for
    this device's E / ep whole experts over engine_tokens x top_k / ep slots, plus the
    tensor-parallel all-reduces and the dispatch / combine all-to-alls."""
    m = spec.moe
    assert m is not None  # validate_ep_layout
    act, wdt, _ = dtypes(setup)
    how = (dispatch, setup.mode)
    hw = system.device
    moe_layers = sum(s.repeat for s in r.segments if s.layers and spec.is_moe_layer(s.layers[0]))
    width_tp = m.expert_intermediate_size // layout.tp
    rm_t, rm_f, rm_b = _experts(spec, m.num_experts, width_tp, local_tokens, m.top_k, act, wdt, hw, how)
    slots = math.ceil(engine_tokens * m.top_k / layout.ep)
    add_t, add_f, add_b = _experts(
        spec, m.num_experts // layout.ep, m.expert_intermediate_size, slots, 1, act, wdt, hw, how
    )
    sent = act.nbytes(math.ceil(local_tokens / layout.tp) * m.top_k * spec.hidden_size)
    a2a = ALL_TO_ALLS_PER_MOE_LAYER * moe_layers * ep_all_to_all_s(sent, layout.ep, system)
    comm = tp_comm_s(spec, system, ParallelLayout(tp=layout.tp), local_tokens, act) + a2a
    t = (r.latency_s or 0.0) + moe_layers * (add_t - rm_t)
    return StepCost(
        t + comm,
        float(r.flops) + moe_layers * (add_f - rm_f),
        float(r.bytes) + moe_layers * (add_b - rm_b),
        t,
        comm,
        r.kernels,
        step_band(r.band, r.latency_s or 0.0, t, comm),
    )


def ep_decode_step(
    spec: ModelSpec, system: System, layout: ParallelLayout, setup: ServingSetup, batch: int, context: int
) -> StepCost:
    """A decode step of `batch` sequences over the replica (batch / dp per attention
    group, rounded up: the busiest group)."""
    local = math.ceil(batch / layout.dp)
    r = run_workload(
        shard(spec, layout.tp),
        decode_workload(spec, local, context, setup, 0),
        system.device,
        dispatch=setup.decode_dispatch,
        mode=setup.mode,
        runtime=setup.runtime,
    )
    return _ep_step(spec, system, layout, setup, r, local, batch, setup.decode_dispatch)


def ep_prefill_run(
    spec: ModelSpec, system: System, layout: ParallelLayout, setup: ServingSetup, wl: Workload
) -> tuple[StepCost, WorkloadResult]:
    """A prefill of wl.batch sequences spread over the dp attention groups (one group
    prefills ceil(batch / dp) of them; every device runs its experts' share of all)."""
    local = math.ceil(wl.batch / layout.dp)
    local_wl = replace(wl, batch=local)
    r = run_workload(
        shard(spec, layout.tp),
        local_wl,
        system.device,
        dispatch=setup.prefill_dispatch,
        mode=setup.mode,
        runtime=setup.runtime,
    )
    step = _ep_step(spec, system, layout, setup, r, local * wl.seq, wl.batch * wl.seq, setup.prefill_dispatch)
    return step, r


def ep_weights_bytes(spec: ModelSpec, layout: ParallelLayout, setup: ServingSetup, r: WorkloadResult) -> int:
    """Weights per device: the attention group's tp-sharded weights with its share of
    the routed experts (1 / tp of each) swapped for E / ep whole experts."""
    wdt = dtypes(setup)[1]
    experts = expert_params(spec)
    return int(r.weight_bytes) - int(wdt.nbytes(experts // layout.tp)) + int(wdt.nbytes(experts // layout.ep))


def ep_sequence_bytes(
    spec: ModelSpec, layout: ParallelLayout, setup: ServingSetup, context: int, prompt_len: int
) -> tuple[int, int]:
    """Per device, per sequence of the replica: its KV cache (held by one attention
    group of the dp, so 1 / dp of a sequence per device on average) and the same with
    its fp32 logits row."""
    act, _, kvdt = dtypes(setup)
    dev = shard(spec, layout.tp)
    kv = kv_cache_bytes(dev, 1, context, kvdt, act, prompt_len)
    logits = LOGIT_BYTES * dev.vocab_size
    return math.ceil(kv / layout.dp), math.ceil((kv + logits) / layout.dp)
