"""The work of one training micro-batch per device: forward, activation-gradient and
weight-gradient time and FLOPs of each layer (computed once per model shard and reused
for every pipeline split and data-parallel degree), the device's pipeline stage, the
model FLOPs for MFU, and the memory per device.

Sources: Dao 2023 (FlashAttention-2 backward = 2.5x forward matmul FLOPs); Korthikanti
et al. 2022 (activation memory s b h (34 + 5 a s / h), sequence parallelism, selective
recompute); Rajbhandari et al. 2020 (ZeRO memory); Ren et al. 2021 (ZeRO-Offload).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..analysis import analyze_graph
from ..engine.latency import graph_latency
from ..frontends.lower import Logits, Phase, Segment, Workload, lower, unroll
from ..frontends.lower.workload import runs_own_code
from ..frontends.spec import ModelSpec
from ..ir.dtypes import dtype as to_dtype
from ..ops import registry as R
from .layout import ParallelLayout, Recompute, TrainingRecipe
from .serving_memory import expert_params, shard

# backward time and FLOPs as multiples of the forward: a contraction's dgrad + wgrad are
# two products of its size; attention's backward recomputes QK^T (FlashAttention-2: 2.5x)
BACKWARD = {R.CONTRACTION: 2.0, R.CONV: 2.0, R.ATTENTION: 2.5}
BACKWARD_OTHER_TIME = 2.0  # elementwise / norm backward: read the saved input and the gradient
BACKWARD_OTHER_FLOPS = 1.0  # ~ the forward's arithmetic


@dataclass(frozen=True)
class Work:
    """Forward / backward seconds and FLOPs of some layers for one micro-batch; eager_s is
    the forward under the engine's eager-dispatch model (graph replay: fwd_s)."""

    fwd_s: float = 0.0
    bwd_s: float = 0.0
    attn_s: float = 0.0
    fwd_flops: float = 0.0
    bwd_flops: float = 0.0
    attn_flops: float = 0.0
    eager_s: float = 0.0

    def __add__(self, o: Work) -> Work:
        return Work(*(a + b for a, b in zip(self._t(), o._t())))

    def scale(self, k: float) -> Work:
        return Work(*(a * k for a in self._t()))

    def _t(self) -> tuple[float, ...]:
        return (self.fwd_s, self.bwd_s, self.attn_s, self.fwd_flops, self.bwd_flops, self.attn_flops, self.eager_s)


@dataclass(frozen=True)
class ModelWork:
    """Work of the embedding, of each layer (by index) and of the head."""

    embed: Work
    layers: tuple[Work, ...]
    head: Work

    def stage(self, layers: tuple[int, ...], first: bool, last: bool) -> Work:
        w = Work()
        for i in layers:
            w = w + self.layers[i]
        if first:
            w = w + self.embed
        if last:
            w = w + self.head
        return w


def device_spec(spec: ModelSpec, layout: ParallelLayout) -> ModelSpec:
    """One device's slice: TP-sharded, and under expert parallelism its share of experts."""
    s = shard(spec, layout.tp)
    if s.moe is not None and layout.ep > 1:
        s = replace(s, moe=replace(s.moe, num_experts=s.moe.num_experts // layout.ep))
    return s


def _eager_per_copy(seg: Segment, gc: Any, hw: Any) -> float:
    """The engine's eager-dispatch time (engine/latency.py) of one more copy of a segment
    in a stream of them: eager(two copies) - eager(one). In a long stream the host runs
    ahead of a busy GPU, so the pipeline fill of a lone graph is paid once per step, not
    once per layer; the marginal copy carries only the steady state (its GPU time, or
    its host dispatch time when that is longer)."""
    one = graph_latency(gc, hw, execution="eager").latency_s
    if not seg.layers:  # the embedding and the head run once per micro-batch
        return one
    two = analyze_graph(unroll([Segment(seg.name, seg.graph, (0, 1), "copy")], seg.name))
    return graph_latency(two, hw, execution="eager").latency_s - one


def _segment_work(seg: Segment, gc: Any, hw: Any, eager: bool) -> Work:
    gt = graph_latency(gc, hw, execution="graph")
    fwd = bwd = attn = ff = bf = af = 0.0
    for n, t in zip(gc.nodes, gt.nodes):
        if n.status != "costed":
            continue
        f = float(n.cost.flops)
        k = BACKWARD.get(n.kind)
        fwd += t.time_s
        bwd += t.time_s * (k or BACKWARD_OTHER_TIME)
        ff += f
        bf += f * (k or BACKWARD_OTHER_FLOPS)
        if n.kind == R.ATTENTION:
            attn += t.time_s
            af += f
    eager_s = _eager_per_copy(seg, gc, hw) if eager else fwd
    return Work(fwd, bwd, attn, ff, bf, af, eager_s)


_CACHE: dict[tuple[Any, ...], ModelWork] = {}


def model_work(spec: ModelSpec, layout: ParallelLayout, recipe: TrainingRecipe, hw: Any, eager: bool) -> ModelWork:
    """Per-layer work of one micro-batch on one device's shard (sequence / cp positions):
    each distinct layer graph is analysed and timed once, for every layout that shares
    the shard (tensor / expert degree, micro-batch, context split, precision, device)."""
    key = (spec, layout.tp, layout.ep, layout.micro_batch, recipe.seq_len // layout.cp, recipe.precision, id(hw), eager)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    act = to_dtype(recipe.facts.compute_dtype)
    wl = Workload(
        Phase.TRAIN, layout.micro_batch, recipe.seq_len // layout.cp, 0, Logits.ALL, act, eager_code=runs_own_code(spec)
    )
    embed = head = Work()
    per_layer: list[Work] = [Work()] * spec.num_layers
    main = ""  # the stack the layer indices count in (an encoder-decoder's decoder stack
    # runs whole on the last stage, with the head)
    for k, seg in enumerate(lower(device_spec(spec, layout), wl)):
        w = _segment_work(seg, analyze_graph(seg.graph), hw, eager)
        if seg.layers and main in ("", seg.stack):
            main = seg.stack
            for i in seg.layers:
                per_layer[i] = w
        elif k == 0:
            embed = w
        else:
            head = head + w.scale(seg.repeat)
    if len(_CACHE) > 4096:
        _CACHE.clear()
    hit = _CACHE[key] = ModelWork(embed, tuple(per_layer), head)
    return hit


_FLOPS: dict[tuple[Any, ...], tuple[float, float, float]] = {}


def model_flops(spec: ModelSpec, micro_batch: int, recipe: TrainingRecipe) -> tuple[float, float, float]:
    """(forward, backward, attention-forward) FLOPs of one micro-batch over the whole
    model (every layer once, embedding and head once, full sequence): MFU's numerator."""
    key = (spec, micro_batch, recipe.seq_len, recipe.precision)
    hit = _FLOPS.get(key)
    if hit is not None:
        return hit
    act = to_dtype(recipe.facts.compute_dtype)
    fwd = bwd = attn = 0.0
    for seg in lower(
        spec, Workload(Phase.TRAIN, micro_batch, recipe.seq_len, 0, Logits.ALL, act, eager_code=runs_own_code(spec))
    ):
        for n in analyze_graph(seg.graph).nodes:
            if n.status != "costed":
                continue
            f = float(n.cost.flops) * seg.repeat
            fwd += f
            bwd += f * BACKWARD.get(n.kind, BACKWARD_OTHER_FLOPS)
            if n.kind == R.ATTENTION:
                attn += f
    if len(_FLOPS) > 4096:
        _FLOPS.clear()
    hit = _FLOPS[key] = (fwd, bwd, attn)
    return hit


@dataclass(frozen=True)
class TrainMemory:
    """Bytes per device."""

    weights_bytes: int
    grads_bytes: int
    optimizer_bytes: int
    activation_bytes: int
    capacity_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.grads_bytes + self.optimizer_bytes + self.activation_bytes

    @property
    def fits(self) -> bool:
        return self.total_bytes <= self.capacity_bytes

    def to_dict(self) -> dict[str, int]:
        return {
            "weights_bytes": self.weights_bytes,
            "grads_bytes": self.grads_bytes,
            "optimizer_bytes": self.optimizer_bytes,
            "activation_bytes": self.activation_bytes,
            "total_bytes": self.total_bytes,
            "capacity_bytes": self.capacity_bytes,
        }


def activation_bytes_per_layer(spec: ModelSpec, layout: ParallelLayout, recipe: TrainingRecipe) -> float:
    """Korthikanti et al. 2022 (eq. 1-4) for 16-bit activations: s b h (34 + 5 a s / h)
    per layer without parallelism; flash attention never stores the scores (the 5as/h
    term); tensor parallelism divides 24 of the 34 (all 34 with sequence parallelism);
    full recompute keeps only the layer input (2 s b h)."""
    s, b, h, t = recipe.seq_len / layout.cp, layout.micro_batch, spec.hidden_size, layout.tp
    if recipe.recompute is Recompute.FULL:
        return 2 * s * b * h / (t if layout.sp else 1)
    if layout.sp or t == 1:
        per = s * b * h * 34 / t
    else:
        per = s * b * h * (10 + 24 / t)
    if recipe.recompute is Recompute.SELECTIVE:
        per = min(per, s * b * h * 34 / t)
    return per


def memory(
    spec: ModelSpec, layout: ParallelLayout, recipe: TrainingRecipe, params: int, microbatches: int, capacity: int
) -> TrainMemory:
    facts = recipe.facts
    local = params / (layout.tp * layout.pp)
    if spec.moe is not None and layout.ep > 1:
        expert = expert_params(spec)
        local = (params - expert) / (layout.tp * layout.pp) + expert / (layout.tp * layout.pp * layout.ep)
    dp = layout.dp
    weights = local * facts.weight_bytes / (dp if layout.zero >= 3 else 1)
    grads = local * facts.grad_bytes / (dp if layout.zero >= 2 else 1)
    opt = 0.0 if recipe.offload else local * recipe.optimizer_bytes / (dp if layout.zero >= 1 else 1)
    # the first stage holds pp micro-batches in flight (1F1B); interleaving adds (p-1)/(p v)
    inflight = spec.num_layers / layout.pp * min(layout.pp, microbatches)
    if layout.interleave > 1:
        inflight *= 1 + (layout.pp - 1) / (layout.pp * layout.interleave)
    acts = activation_bytes_per_layer(spec, layout, recipe) * inflight * facts.activation_scale
    # the loss on the last stage (vocab-parallel): at the peak (the loss backward) the
    # fp32 log-probabilities kept for backward (4 B), their gradient (4 B) and its 16-bit
    # cast for the LM-head backward (2 B) are live together: 10 bytes per logit
    if spec.vocab_size:
        acts += 10 * recipe.seq_len / layout.cp * layout.micro_batch * spec.vocab_size / layout.tp
    return TrainMemory(int(weights), int(grads), int(opt), int(acts), capacity)
