"""The work of one training micro-batch per device: forward, activation-gradient and
weight-gradient time and FLOPs of each layer (computed once per model shard and reused
for every pipeline split and data-parallel degree), the parameters each layer holds
(dense and expert), and the model FLOPs for MFU.

Precision recipes (precision.py) choose the dtype each kernel's time comes from: GEMMs in
the recipe's GEMM dtype (fp8 under Transformer Engine), norms and residual adds in fp32
under PyTorch autocast (autocast runs layer_norm in fp32 and the residual stream stays in
the fp32 of the embedding), everything else in the compute dtype; and they add the cast
kernels their frameworks launch (autocast: each fp32 weight and each fp32 norm output cast
to bf16 before its GEMM, and the gradients cast back; Transformer Engine: GEMM inputs cast
to fp8, output gradients cast-transposed, saved fp8 inputs transposed for the weight
gradient, weights cast to fp8 once per step).

Sources: Dao 2023 (FlashAttention-2 backward = 2.5x forward matmul FLOPs); the PyTorch
autocast op reference (CUDA ops that autocast to float32: layer_norm, group_norm,
cross_entropy, log_softmax, ...); NVIDIA Transformer Engine documentation (FP8 delayed
scaling, LayerNormLinear fusing the norm with the cast of the GEMM input).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..analysis import analyze_graph
from ..engine.calibration import for_profile
from ..engine.cpu import is_cpu
from ..engine.devicemodel import load_model
from ..engine.latency import graph_latency
from ..engine.uncertainty import family_of, graph_band
from ..frontends.lower import SHARED_WEIGHTS, Logits, Phase, Segment, Workload, lower
from ..frontends.lower.workload import runs_own_code
from ..frontends.spec import ModelSpec
from ..ir.dtypes import dtype as to_dtype
from ..ops import registry as R
from .layout import ParallelLayout, TrainingRecipe
from .precision import PrecisionFacts
from .serving_memory import shard
from .training_host import BACKWARD_HOST, FORWARD_HOST, lead

# backward time and FLOPs as multiples of the forward: a contraction's dgrad + wgrad are
# two products of its size; attention's backward recomputes QK^T (FlashAttention-2: 2.5x)
BACKWARD = {R.CONTRACTION: 2.0, R.CONV: 2.0, R.ATTENTION: 2.5}
BACKWARD_OTHER_TIME = 2.0  # elementwise / norm backward: read the saved input and the gradient
BACKWARD_OTHER_FLOPS = 1.0  # ~ the forward's arithmetic
# the attention core of the unfused lowering (frontends/lower/attention.py,
# unfused_attention): what selective recompute repeats, and products without weights
UNFUSED_CORE = (".scores", ".softmax", ".context")


def _replicated(n: Any) -> bool:
    """Work tensor parallelism alone repeats on every rank (the layer norms and residual
    adds; Korthikanti et al. 2022, sec. 4.2.2), which sequence parallelism splits. The
    attention's softmax is already split by heads and the loss by the vocabulary."""
    return n.op_type == "Add" or (n.kind == R.NORMALIZATION and "Softmax" not in n.op_type)


@dataclass(frozen=True)
class Work:
    """Seconds and FLOPs of some layers for one micro-batch. bwd_s is the whole backward
    (activation and weight gradients), wgrad_s its weight-gradient part; gemm_s the
    forward GEMMs (what tensor-parallel overlap hides communication behind); attn_s the
    attention core (what selective recompute repeats); under eager dispatch host_f_s the
    host time of the forward and (drift, peak lead) of the forward's and the backward's
    host-vs-GPU streams (training_host.py; one copy of the segment: stage_block chains
    them); step_cast_s casts paid once per optimizer step (fp8 weight casts);
    params / expert_params the parameters held."""

    fwd_s: float = 0.0
    bwd_s: float = 0.0
    wgrad_s: float = 0.0
    attn_s: float = 0.0
    gemm_s: float = 0.0
    fwd_flops: float = 0.0
    bwd_flops: float = 0.0
    attn_flops: float = 0.0
    host_f_s: float = 0.0
    drift_f: float = 0.0
    peak_f: float = 0.0
    drift_b: float = 0.0
    peak_b: float = 0.0
    step_cast_s: float = 0.0
    params: float = 0.0
    expert_params: float = 0.0
    gemm_params: float = 0.0  # parameters that are GEMM weights (cast by autocast / fp8)
    tensors: float = 0.0  # parameter tensors
    # the forward and backward kernels' time and its 80% band (engine/uncertainty.py; 0
    # where the device has no band: a CPU); summed over layers, the bands of layers that
    # err together (one device, one calibration)
    kernel_s: float = 0.0
    kernel_lo_s: float = 0.0
    kernel_hi_s: float = 0.0

    def __add__(self, o: Work) -> Work:
        return Work(*(a + b for a, b in zip(self._t(), o._t())))

    def scale(self, k: float) -> Work:
        return Work(*(a * k for a in self._t()))

    def _t(self) -> tuple[float, ...]:
        return (
            self.fwd_s,
            self.bwd_s,
            self.wgrad_s,
            self.attn_s,
            self.gemm_s,
            self.fwd_flops,
            self.bwd_flops,
            self.attn_flops,
            self.host_f_s,
            self.drift_f,
            self.peak_f,
            self.drift_b,
            self.peak_b,
            self.step_cast_s,
            self.params,
            self.expert_params,
            self.gemm_params,
            self.tensors,
            self.kernel_s,
            self.kernel_lo_s,
            self.kernel_hi_s,
        )


@dataclass(frozen=True)
class ModelWork:
    """Work of the embedding, of each layer (by index) and of the head; `shared` the
    parameters the head and the embedding share (tied embeddings), counted once when one
    stage holds both."""

    embed: Work
    layers: tuple[Work, ...]
    head: Work
    shared: float = 0.0

    def band_ratio(self) -> tuple[float, float] | None:
        """The 80% band of the model's forward and backward kernels (every layer, the
        embedding and the head) relative to their time; None without a band."""
        w = self.embed + self.head
        for layer in self.layers:
            w = w + layer
        if w.kernel_s <= 0 or w.kernel_hi_s <= 0:
            return None
        return (w.kernel_lo_s / w.kernel_s, w.kernel_hi_s / w.kernel_s)

    def stage(self, layers: tuple[int, ...], first: bool, last: bool) -> Work:
        w = Work()
        for i in layers:
            w = w + self.layers[i]
        if first:
            w = w + self.embed
        if last:
            w = w + self.head
        if first and last and self.shared:
            w = replace(
                w, params=w.params - self.shared, gemm_params=w.gemm_params - self.shared, tensors=w.tensors - 1
            )
        return w


def device_spec(spec: ModelSpec, layout: ParallelLayout) -> ModelSpec:
    """One device's slice: TP-sharded, and under expert parallelism its share of experts."""
    s = shard(spec, layout.tp)
    if s.moe is not None and layout.ep > 1:
        s = replace(s, moe=replace(s.moe, num_experts=s.moe.num_experts // layout.ep))
    return s


def _numel(shape: Any) -> float:
    n = 1.0
    for d in shape or ():
        n *= float(d)
    return n


def _params(seg: Segment) -> tuple[float, float, float, float]:
    """(all, expert, GEMM-weight) parameters and parameter tensors of one copy of a
    segment (scalar constants are no parameters)."""
    total = expert = gemm = tensors = 0.0
    for name, init in seg.graph.initializers.items():
        n = _numel(init.shape)
        if n <= 1:
            continue
        tensors += 1
        total += n
        if "experts" in name:
            expert += n
        if len(init.shape or ()) >= 2:
            gemm += n
    return total, expert, gemm, tensors


def _shared(seg: Segment) -> float:
    return sum(_numel(i.shape) for k, i in seg.graph.initializers.items() if k in SHARED_WEIGHTS)


def _segment_work(
    seg: Segment,
    graphs: dict[str, Any],
    facts: PrecisionFacts,
    hw: Any,
    eager: bool,
    first: bool,
    seq_split: int = 1,
) -> Work:
    """`graphs`: the segment analysed in each dtype the recipe times kernels in
    ("compute", "gemm", "fp32"). `seq_split`: under sequence parallelism the norms and
    residual adds, which tensor parallelism alone replicates on every rank, run on
    1 / tp of the sequence (Korthikanti et al. 2022, sec. 4.2.2)."""
    cal = for_profile(hw)
    bw = hw.memory_bandwidth * cal.stream_bandwidth_fraction
    gc = graphs["compute"]
    timed: dict[int, Any] = {}
    for g in graphs.values():
        if id(g) not in timed:
            timed[id(g)] = graph_latency(g, hw, execution="graph").nodes
    times = {k: timed[id(g)] for k, g in graphs.items()}
    fwd = bwd = wgrad = attn = gemm = ff = bf = af = 0.0
    fwd_cast = bwd_cast = 0.0  # bytes of the cast kernels of each pass
    fwd_casts = bwd_casts = 0
    stream: list[tuple[float, float, float]] = []  # (inference dispatch, forward, backward seconds)
    kernel_times: list[float] = []  # forward + backward of each kernel, and its family
    kernel_fams: list[str] = []
    act_b = to_dtype(facts.compute_dtype).nbytes(1)
    produced_by_norm: set[str] = set()
    for i, n in enumerate(gc.nodes):
        if n.status != "costed":
            continue
        if n.kind == R.NORMALIZATION:
            produced_by_norm.update(n.output_names)
        src = "compute"
        if n.kind == R.CONTRACTION:
            src = "gemm"
        elif facts.autocast_casts and (n.kind == R.NORMALIZATION or n.op_type == "Add" or first):
            src = "fp32"  # autocast: norms in fp32, the residual stream in the embedding's fp32
        t = times[src][i].time_s
        f = float(n.cost.flops)
        if seq_split > 1 and _replicated(n):
            t, f = t / seq_split, f / seq_split
        k = BACKWARD.get(n.kind)
        fwd += t
        bwd += t * (k or BACKWARD_OTHER_TIME)
        stream.append((cal.dispatch(n.kind, n.op_type), t, t * (k or BACKWARD_OTHER_TIME)))
        kernel_times.append(t * (1 + (k or BACKWARD_OTHER_TIME)))
        kernel_fams.append(family_of(n.kind, n.op_type))
        ff += f
        bf += f * (k or BACKWARD_OTHER_FLOPS)
        core = n.kind == R.ATTENTION or n.name.endswith(UNFUSED_CORE)
        if core:
            attn += t
            af += f
        if n.kind != R.CONTRACTION or core:
            continue
        gemm += t
        wgrad += t  # the weight gradient: one product the size of the forward's
        x = _numel(n.input_shapes[0]) if n.input_shapes else 0.0
        y = _numel(n.output_shapes[0]) if n.output_shapes else 0.0
        after_norm = bool(n.input_names) and n.input_names[0] in produced_by_norm
        if facts.autocast_casts and after_norm:
            # the fp32 norm output cast to bf16 (read 4, write 2); in the backward its
            # gradient cast back (read 2, write 4)
            fwd_cast += 6 * x
            bwd_cast += 6 * x
            fwd_casts += 1
            bwd_casts += 1
        if facts.fp8_casts:
            # forward: the input cast to fp8 (read 2, write 1) unless the norm before it
            # writes fp8 itself (LayerNormLinear); backward: the output gradient
            # cast-transposed (read 2, write 1 + 1) and the saved fp8 input transposed for
            # the weight gradient (read 1, write 1)
            if not after_norm:
                fwd_cast += (act_b + 1) * x
                fwd_casts += 1
            bwd_cast += (act_b + 2) * y + 2 * x
            bwd_casts += 2
    params, expert, gemm_params, tensors = _params(seg)
    gemms = sum(1 for n in gc.nodes if n.status == "costed" and n.kind == R.CONTRACTION)
    step_cast_s = 0.0
    if facts.autocast_casts:
        # every forward casts each fp32 GEMM weight to bf16 (read 4, write 2); the backward
        # casts its bf16 gradient to fp32 (read 2, write 4) for AccumulateGrad
        fwd_cast += 6 * gemm_params
        bwd_cast += 6 * gemm_params
        fwd_casts += gemms
        bwd_casts += gemms
    if facts.fp8_casts:
        # once per step: each GEMM weight cast to fp8 and transposed (read 2, write 1 + 1)
        step_cast_s = (act_b + 2) * gemm_params / bw + gemms * cal.kernel_overhead_s
    fwd += fwd_cast / bw + fwd_casts * cal.kernel_overhead_s
    bwd += bwd_cast / bw + bwd_casts * cal.kernel_overhead_s
    host_f = drift_f = peak_f = drift_b = peak_b = 0.0
    if eager and stream:
        # the cast kernels run with the ops that launch them (autocast inside each op)
        kf = fwd / max(sum(x[1] for x in stream), 1e-30)
        kb = bwd / max(sum(x[2] for x in stream), 1e-30)
        # PyTorch AMP's multipliers were measured (training_host.py); other recipes'
        # frameworks (Megatron-LM, Transformer Engine) keep the engine's dispatch per
        # forward op and two per backward op
        hf, hb = (FORWARD_HOST, BACKWARD_HOST) if facts.autocast_casts else (1.0, 2.0)
        host_f = sum(x[0] for x in stream) * hf
        drift_f, peak_f = lead((h * hf, f * kf) for h, f, _ in stream)
        drift_b, peak_b = lead((h * hb, b * kb) for h, _, b in reversed(stream))
    kernel_s = float(sum(kernel_times))
    lo = hi = 0.0
    if kernel_s > 0 and not is_cpu(hw):  # the residuals are GPU kernels' (uncertainty.py)
        lo, hi = graph_band(kernel_times, kernel_fams, cal, load_model().residuals)
    return Work(
        kernel_s=kernel_s,
        kernel_lo_s=lo,
        kernel_hi_s=hi,
        fwd_s=fwd,
        bwd_s=bwd,
        wgrad_s=wgrad,
        attn_s=attn,
        gemm_s=gemm,
        fwd_flops=ff,
        bwd_flops=bf,
        attn_flops=af,
        host_f_s=host_f,
        drift_f=drift_f,
        peak_f=peak_f,
        drift_b=drift_b,
        peak_b=peak_b,
        step_cast_s=step_cast_s,
        params=params,
        expert_params=expert,
        gemm_params=gemm_params,
        tensors=tensors,
    )


_CACHE: dict[tuple[Any, ...], ModelWork] = {}


def _dtypes(facts: PrecisionFacts) -> dict[str, str]:
    d = {"compute": facts.compute_dtype, "gemm": facts.gemm_dtype}
    if facts.autocast_casts:
        d["fp32"] = "fp32"
    return d


def model_work(spec: ModelSpec, layout: ParallelLayout, recipe: TrainingRecipe, hw: Any, eager: bool) -> ModelWork:
    """Per-layer work of one micro-batch on one device's shard (sequence / cp positions):
    each distinct layer graph is analysed (as the recipe's runtime runs it) and timed once
    per dtype the recipe uses, for every layout that shares the shard (tensor / expert
    degree, sequence parallelism, micro-batch, context split, precision, runtime, device)."""
    split = layout.tp if layout.sp else 1
    key: tuple[Any, ...] = (spec, layout.tp, layout.ep, split, layout.micro_batch, layout.cp, recipe.seq_len)
    key += (recipe.precision, recipe.runtime, recipe.attention, id(hw), eager)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    facts = recipe.facts
    dev = device_spec(spec, layout)
    lowered: dict[str, Any] = {}
    for role, dt in _dtypes(facts).items():
        if dt in lowered.values():
            lowered[role] = next(v for k, v in lowered.items() if _dtypes(facts)[k] == dt)
            continue
        wl = Workload(
            Phase.TRAIN,
            layout.micro_batch,
            recipe.seq_len // layout.cp,
            0,
            Logits.ALL,
            to_dtype(dt),
            eager_code=runs_own_code(spec),
            attention=recipe.attention,
        )
        lowered[role] = lower(dev, wl)
    base = lowered["compute"]
    embed = head = Work()
    shared = 0.0
    per_layer: list[Work] = [Work()] * spec.num_layers
    main = ""  # the stack the layer indices count in (an encoder-decoder's decoder stack
    # runs whole on the last stage, with the head)
    analysed: dict[int, Any] = {}
    for k, seg in enumerate(base):
        graphs = {}
        for role, low in lowered.items():
            g = low[k].graph
            if id(g) not in analysed:
                analysed[id(g)] = analyze_graph(g, runtime=recipe.runtime)
            graphs[role] = analysed[id(g)]
        w = _segment_work(seg, graphs, facts, hw, eager, first=k == 0, seq_split=split)
        if seg.layers and main in ("", seg.stack):
            main = seg.stack
            for i in seg.layers:
                per_layer[i] = w
        elif k == 0:
            embed = w
        else:
            head = head + w.scale(seg.repeat)
            shared += _shared(seg)
    if len(_CACHE) > 4096:
        _CACHE.clear()
    hit = _CACHE[key] = ModelWork(embed, tuple(per_layer), head, min(shared, _shared(base[0])))
    return hit


_FLOPS: dict[tuple[Any, ...], tuple[float, float, float]] = {}


def model_flops(spec: ModelSpec, micro_batch: int, recipe: TrainingRecipe) -> tuple[float, float, float]:
    """(forward, backward, attention-forward) FLOPs of one micro-batch over the whole
    model (every layer once, embedding and head once, full sequence): MFU's numerator."""
    key = (spec, micro_batch, recipe.seq_len)
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
