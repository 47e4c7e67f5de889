"""Training step model: per-op forward, activation-gradient and weight-gradient work,
recompute, 3D parallelism (data, tensor with sequence parallelism, pipeline 1F1B /
interleaved, expert, context), ZeRO / FSDP, communication by network tier, memory per
device, MFU and HFU (PaLM's definitions), time and cost to train on N tokens.

Sources: Narayanan et al. 2021 (Megatron-LM 3D parallelism, interleaved schedule,
bubble (p-1)/(v m)); Korthikanti et al. 2022 (sequence parallelism, selective
recompute, activation memory s b h (34 + 5 a s / h)); Rajbhandari et al. 2020 (ZeRO
memory: 2 + 2 + 12 bytes per parameter for mixed-precision Adam); Chowdhery et al.
2022 (PaLM MFU); Dao 2023 (FlashAttention-2 backward = 2.5x forward matmul FLOPs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..analysis import analyze_graph
from ..engine.collectives import all_gather, all_reduce, reduce_scatter, send_recv
from ..engine.latency import graph_latency
from ..errors import PlanError
from ..frontends.lower import Workload, lower
from ..frontends.spec import ModelSpec
from ..hardware.systems import System, get_system
from ..ir.dtypes import dtype as to_dtype
from ..ops import registry as R
from .llm import shard
from .workload import param_count, require_positive

RECOMPUTE = ("none", "selective", "full")
PRECISIONS = {
    "bf16-mixed": ("bf16", 2, 4),
    "fp16-mixed": ("fp16", 2, 4),
    "fp8": ("fp8_e4m3", 1, 4),
    "fp32": ("fp32", 4, 4),
}
# optimizer state bytes per parameter (beyond the weights and grads), per ZeRO's table
OPTIMIZERS = {"adamw": 12, "adam": 12, "sgd": 4, "sgd-momentum": 8, "adafactor": 4, "adam8bit": 6, "lion": 8}
BACKWARD = {R.CONTRACTION: 2.0, R.CONV: 2.0, R.ATTENTION: 2.5}  # x forward (dgrad + wgrad; FA2)


@dataclass(frozen=True)
class Execution:
    gpus: int
    tp: int = 1
    pp: int = 1
    dp: int = 1
    ep: int = 1
    cp: int = 1
    micro_batch: int = 1
    global_batch: int = 1
    seq_len: int = 2048
    sequence_parallel: bool = False
    interleave: int = 1
    zero: int = 0
    recompute: str = "none"
    precision: str = "bf16-mixed"
    optimizer: str = "adamw"
    offload: bool = False  # optimizer states and master weights in host memory (ZeRO-Offload)

    @property
    def microbatches(self) -> int:
        return self.global_batch // (self.micro_batch * self.dp)


def make_execution(
    spec: ModelSpec,
    gpus: int,
    global_batch: int,
    seq_len: int,
    *,
    micro_batch: int | None = None,
    tp: int = 1,
    pp: int = 1,
    dp: int | None = None,
    ep: int = 1,
    cp: int = 1,
    sequence_parallel: bool = False,
    interleave: int = 1,
    zero: int = 0,
    recompute: str = "none",
    precision: str = "bf16-mixed",
    optimizer: str = "adamw",
    offload: bool = False,
) -> Execution:
    """Validate a layout; every inconsistency is a PlanError naming the option."""
    require_positive(gpus=gpus, batch=global_batch, seq_len=seq_len, tp=tp, pp=pp, ep=ep, cp=cp, interleave=interleave)
    if dp is None:
        if gpus % (tp * pp * cp):
            raise PlanError(f"--gpus {gpus} is not divisible by tp x pp x cp = {tp * pp * cp}")
        dp = gpus // (tp * pp * cp)
    require_positive(dp=dp)
    if micro_batch is None:
        # no gradient accumulation unless asked (with pipelining: one sample per microbatch)
        micro_batch = max(global_batch // dp, 1) if pp == 1 else 1
    require_positive(micro_batch=micro_batch)
    if tp * pp * dp * cp != gpus:
        raise PlanError(f"tp x pp x dp x cp = {tp}x{pp}x{dp}x{cp} = {tp * pp * dp * cp} != --gpus {gpus}")
    if spec.num_heads and spec.num_heads % tp:
        raise PlanError(f"num_heads {spec.num_heads} is not divisible by --tp {tp}")
    if spec.num_layers % (pp * interleave):
        raise PlanError(f"num_layers {spec.num_layers} is not divisible by pp x interleave = {pp * interleave}")
    if interleave > 1 and pp == 1:
        raise PlanError("--interleave needs pipeline parallelism (--pp > 1)")
    if global_batch % (micro_batch * dp):
        raise PlanError(f"--batch {global_batch} is not divisible by micro-batch x dp = {micro_batch * dp}")
    if ep > 1 and (spec.moe is None or spec.moe.num_experts % ep or dp % ep):
        raise PlanError(f"--ep {ep} needs a MoE model whose expert count and dp are divisible by it")
    if seq_len % cp:
        raise PlanError(f"--seq-len {seq_len} is not divisible by --cp {cp}")
    if zero not in (0, 1, 2, 3):
        raise PlanError(f"--zero must be 0-3, got {zero}")
    if recompute not in RECOMPUTE:
        raise PlanError(f"--recompute must be one of {', '.join(RECOMPUTE)}")
    if precision not in PRECISIONS:
        raise PlanError(f"--precision must be one of {', '.join(PRECISIONS)}")
    if optimizer not in OPTIMIZERS:
        raise PlanError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
    if sequence_parallel and tp == 1:
        sequence_parallel = False
    return Execution(
        gpus,
        tp,
        pp,
        dp,
        ep,
        cp,
        micro_batch,
        global_batch,
        seq_len,
        sequence_parallel,
        interleave,
        zero,
        recompute,
        precision,
        optimizer,
        offload,
    )


@dataclass(frozen=True)
class TrainPlan:
    model: str
    system: str
    execution: Execution
    step_latency_s: float
    model_flops: float  # per step, all devices (fwd + bwd, no recompute)
    hardware_flops: float  # including recompute
    mfu: float
    hfu: float
    breakdown: dict[str, float]
    memory: dict[str, int]  # per device
    params: int
    tokens: int | None = None
    price_per_hour: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tokens_per_step(self) -> int:
        return self.execution.global_batch * self.execution.seq_len

    def to_dict(self) -> dict[str, Any]:
        e = self.execution
        d: dict[str, Any] = {
            "schema_version": 1,
            "model": self.model,
            "hardware": self.system,
            "params": self.params,
            "execution": {
                k: getattr(e, k)
                for k in (
                    "gpus",
                    "tp",
                    "pp",
                    "dp",
                    "ep",
                    "cp",
                    "micro_batch",
                    "global_batch",
                    "seq_len",
                    "sequence_parallel",
                    "interleave",
                    "zero",
                    "recompute",
                    "precision",
                    "optimizer",
                    "offload",
                )
            },
            "microbatches": e.microbatches,
            "step": {
                "latency_s": self.step_latency_s,
                "flops": self.model_flops,
                "hardware_flops": self.hardware_flops,
                "tokens_per_s": self.tokens_per_step / self.step_latency_s,
            },
            "mfu": self.mfu,
            "hfu": self.hfu,
            "breakdown": self.breakdown,
            "memory": self.memory,
            "fits": self.memory["total_bytes"] <= self.memory["capacity_bytes"],
            "notes": list(self.notes),
        }
        if self.tokens:
            steps = math.ceil(self.tokens / self.tokens_per_step)
            secs = steps * self.step_latency_s
            d["training"] = {
                "tokens": self.tokens,
                "steps": steps,
                "time_s": secs,
                "days": secs / 86400,
                "device_hours": secs * e.gpus / 3600,
            }
            if self.price_per_hour:
                d["training"]["cost_usd"] = secs * e.gpus / 3600 * self.price_per_hour
        return d


def _stage(spec: ModelSpec, ex: Execution) -> ModelSpec:
    """One device's share of one pipeline chunk: TP-sharded, layers / (pp x interleave)."""
    s = shard(spec, ex.tp)
    layers = spec.num_layers // (ex.pp * ex.interleave)
    s = replace(s, num_layers=layers, layer_types=spec.layer_types[:layers] if spec.layer_types else ())
    if s.moe is not None and ex.ep > 1:
        s = replace(s, moe=replace(s.moe, num_experts=s.moe.num_experts // ex.ep))
    return s


_CACHE: dict[tuple, Any] = {}


def _cached(fn):
    """Layouts that share (shard, micro-batch, precision, device) share their analysis:
    a search over thousands of layouts analyses each distinct shard once."""

    def wrapper(spec: ModelSpec, ex: Execution, hw: Any):
        key = (
            fn.__name__,
            spec,
            ex.tp,
            ex.pp,
            ex.interleave,
            ex.micro_batch,
            ex.cp,
            ex.ep,
            ex.seq_len,
            ex.precision,
            id(hw),
        )
        hit = _CACHE.get(key)
        if hit is None:
            if len(_CACHE) > 4096:
                _CACHE.clear()
            hit = _CACHE[key] = fn(spec, ex, hw)
        return hit

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@_cached
def _fwd_bwd(spec: ModelSpec, ex: Execution, hw: Any) -> dict[str, float]:
    """Per-microbatch forward / backward time and FLOPs on the busiest device (the last
    pipeline stage: its layers in all interleaved chunks, plus the LM head)."""
    act = to_dtype(PRECISIONS[ex.precision][0])
    seq = ex.seq_len // ex.cp
    wl = Workload("train", ex.micro_batch, seq, 0, "all", act)
    chunk = _stage(spec, ex)
    out = {
        "fwd_s": 0.0,
        "bwd_s": 0.0,
        "attn_s": 0.0,
        "fwd_flops": 0.0,
        "bwd_flops": 0.0,
        "attn_flops": 0.0,
        "host_s": 0.0,
    }
    from ..engine.calibration import for_profile

    cal = for_profile(hw)
    for seg in lower(chunk, wl):
        is_layer = seg.repeat > 1 or "layers" in seg.name
        if not is_layer and seg.name == "embed" and ex.pp > 1:
            continue  # the embedding lives on the first stage, the head on the last
        rep = seg.repeat * ex.interleave if is_layer else 1
        gc = analyze_graph(seg.graph)
        gt = graph_latency(gc, hw, execution="graph")
        for n, t in zip(gc.nodes, gt.nodes):
            if n.status != "costed":
                continue
            f = float(n.cost.flops)
            k = BACKWARD.get(n.kind, 2.0)
            out["fwd_s"] += t.time_s * rep
            out["bwd_s"] += t.time_s * k * rep
            # eager frameworks dispatch every forward kernel and ~2 backward kernels per op
            out["host_s"] += 3 * cal.dispatch(n.kind) * rep
            out["fwd_flops"] += f * rep
            # backward FLOPs: contractions dgrad + wgrad = 2x; attention 2.5x (FA2 recomputes
            # QK^T); elementwise / norms ~1x of their forward arithmetic
            out["bwd_flops"] += f * (k if n.kind in BACKWARD else 1.0) * rep
            if n.kind == R.ATTENTION:
                out["attn_s"] += t.time_s * rep
                out["attn_flops"] += f * rep
    return out


@_cached
def _model_flops(spec: ModelSpec, ex: Execution, hw: Any) -> tuple[float, float, float]:
    """(forward, backward, attention-forward) FLOPs of one microbatch over the whole
    model, for MFU: every layer once, embedding and head once."""
    act = to_dtype(PRECISIONS[ex.precision][0])
    wl = Workload("train", ex.micro_batch, ex.seq_len, 0, "all", act)
    fwd = bwd = attn = 0.0
    for seg in lower(spec, wl):
        gc = analyze_graph(seg.graph)
        for n in gc.nodes:
            if n.status != "costed":
                continue
            f = float(n.cost.flops) * seg.repeat
            fwd += f
            bwd += f * (BACKWARD[n.kind] if n.kind in BACKWARD else 1.0)
            if n.kind == R.ATTENTION:
                attn += f
    return fwd, bwd, attn


def _memory(spec: ModelSpec, ex: Execution, sysm: System, params: int) -> dict[str, int]:
    _, wbytes, gbytes = PRECISIONS[ex.precision]
    local = params / (ex.tp * ex.pp)
    if spec.moe is not None and ex.ep > 1:
        mult = 3 if spec.mlp == "gated" else 2
        expert = (
            mult
            * spec.hidden_size
            * spec.moe.expert_intermediate_size
            * spec.moe.num_experts
            * sum(1 for i in range(spec.num_layers) if spec.is_moe_layer(i))
        )
        local = (params - expert) / (ex.tp * ex.pp) + expert / (ex.tp * ex.pp * ex.ep)
    weights = local * wbytes / (ex.dp if ex.zero >= 3 else 1)
    grads = local * gbytes / (ex.dp if ex.zero >= 2 else 1)
    opt = local * OPTIMIZERS[ex.optimizer] / (ex.dp if ex.zero >= 1 else 1)
    if ex.precision == "fp32":
        opt = local * (OPTIMIZERS[ex.optimizer] - 4) / (ex.dp if ex.zero >= 1 else 1)
    if ex.offload:
        opt = 0.0  # in host memory (ZeRO-Offload, Ren et al. 2021)
    # activations (Korthikanti et al. 2022, eq. 1-4), per layer, 16-bit activations:
    s, b, h = ex.seq_len / ex.cp, ex.micro_batch, spec.hidden_size
    t = ex.tp
    flash = 0.0  # attention scores are never stored with flash attention (the 5as/h term)
    if ex.recompute == "full":
        per_layer = 2 * s * b * h / (t if ex.sequence_parallel else 1)
    elif ex.sequence_parallel or t == 1:
        per_layer = s * b * h * (34 + flash) / t
    else:
        per_layer = s * b * h * (10 + 24 / t + flash)
    if ex.recompute == "selective":
        per_layer = min(per_layer, s * b * h * 34 / t)
    # the first stage holds pp microbatches in flight (1F1B), interleaving adds (p-1)/(p v)
    inflight_layers = spec.num_layers / ex.pp * min(ex.pp, ex.microbatches)
    if ex.interleave > 1:
        inflight_layers *= 1 + (ex.pp - 1) / (ex.pp * ex.interleave)
    acts = per_layer * inflight_layers * (act_bytes_scale(ex.precision))
    # the loss on the last stage (vocab-parallel): at the peak (the loss backward) the
    # fp32 log-probabilities kept for backward (4 B), their gradient (4 B) and its 16-bit
    # cast for the LM-head backward (2 B) are live together: 10 bytes per logit
    if spec.vocab_size:
        acts += 10 * s * b * spec.vocab_size / t
    cap = int(sysm.device.memory_capacity)
    total = int(weights + grads + opt + acts)
    return {
        "weights_bytes": int(weights),
        "grads_bytes": int(grads),
        "optimizer_bytes": int(opt),
        "activation_bytes": int(acts),
        "total_bytes": total,
        "capacity_bytes": cap,
    }


def act_bytes_scale(precision: str) -> float:
    return {"fp32": 2.0, "fp8": 1.0}.get(precision, 1.0)


def plan_training(
    model: Any,
    hardware: Any,
    gpus: int,
    global_batch: int,
    seq_len: int,
    *,
    micro_batch: int | None = None,
    tp: int = 1,
    pp: int = 1,
    dp: int | None = None,
    ep: int = 1,
    cp: int = 1,
    sequence_parallel: bool = False,
    interleave: int = 1,
    zero: int = 0,
    recompute: str = "none",
    precision: str = "bf16-mixed",
    optimizer: str = "adamw",
    offload: bool = False,
    tokens: int | None = None,
    price_per_hour: float | None = None,
    execution: str = "eager",
) -> TrainPlan:
    from ..frontends import load_model_spec

    spec = load_model_spec(model)
    if spec is None:
        raise PlanError(f"{model!r} is not a model spec, config.json or built-in model name")
    sysm = get_system(hardware)
    hw = sysm.device
    ex = make_execution(
        spec,
        gpus,
        global_batch,
        seq_len,
        micro_batch=micro_batch,
        tp=tp,
        pp=pp,
        dp=dp,
        ep=ep,
        cp=cp,
        sequence_parallel=sequence_parallel,
        interleave=interleave,
        zero=zero,
        recompute=recompute,
        precision=precision,
        optimizer=optimizer,
        offload=offload,
    )
    act = to_dtype(PRECISIONS[ex.precision][0])
    params = param_count(spec)
    w = _fwd_bwd(spec, ex, hw)
    chunks = ex.interleave
    fwd, bwd = w["fwd_s"], w["bwd_s"]
    if execution == "eager" and w["host_s"] > fwd + bwd:
        # host-bound: the GPU waits for the framework's dispatch
        scale = w["host_s"] / (fwd + bwd)
        fwd, bwd = fwd * scale, bwd * scale
    rec = {"none": 0.0, "selective": w["attn_s"], "full": fwd}[ex.recompute]
    # tensor parallel: 2 all-reduces per layer forward, 2 backward (+2 in a full-recompute
    # forward); sequence parallelism replaces each by reduce-scatter + all-gather (same bytes)
    layers_dev = spec.num_layers / ex.pp
    msg = act.nbytes(ex.micro_batch * ex.seq_len // ex.cp * spec.hidden_size)
    tp_tier = sysm.tier_for(ex.tp)
    n_ar = 4 + (2 if ex.recompute == "full" else 0)
    if ex.sequence_parallel:
        one = reduce_scatter(msg, ex.tp, tp_tier) + all_gather(msg, ex.tp, tp_tier)
    else:
        one = all_reduce(msg, ex.tp, tp_tier)
    tp_comm = n_ar * layers_dev * one if ex.tp > 1 else 0.0
    # context parallel: K/V all-gather per layer (forward) and reduce-scatter of their grads
    cp_comm = 0.0
    if ex.cp > 1:
        kvb = act.nbytes(2 * ex.micro_batch * ex.seq_len * spec.kv_heads * spec.hd // ex.tp)
        cp_comm = layers_dev * 2 * all_gather(kvb, ex.cp, sysm.tier_for(ex.cp, ex.tp))
    # pipeline: activations sent forward and gradients backward per microbatch and chunk
    pp_tier = sysm.tier_for(ex.pp, ex.tp * ex.cp * ex.dp) if ex.pp > 1 else sysm.intra
    p2p = 2 * chunks * send_recv(msg / (ex.tp if ex.sequence_parallel else 1), pp_tier) if ex.pp > 1 else 0.0
    # expert parallel: two all-to-alls per MoE layer forward and two backward
    ep_comm = 0.0
    if ex.ep > 1 and spec.moe is not None:
        moe_layers = sum(1 for i in range(spec.num_layers) if spec.is_moe_layer(i)) / ex.pp
        routed = act.nbytes(ex.micro_batch * ex.seq_len * spec.hidden_size * spec.moe.top_k)
        ep_comm = 4 * moe_layers * all_to_all_time(routed, ex.ep, sysm)
    per_mb = fwd + bwd + rec + tp_comm + cp_comm + ep_comm + p2p
    m = ex.microbatches
    bubble = (ex.pp - 1) / ex.interleave * per_mb if ex.pp > 1 else 0.0
    compute = m * (fwd + bwd + rec)
    comm_exposed = m * (tp_comm + cp_comm + ep_comm + p2p)
    # data parallel: gradient reduction after the last microbatch's backward (ZeRO-2/3:
    # reduce-scatter; ZeRO-3 also all-gathers weights forward and backward)
    local_params = params / (ex.tp * ex.pp)
    gb = PRECISIONS[ex.precision][2]
    dp_tier = sysm.tier_for(ex.dp, ex.tp * ex.pp * ex.cp)
    if ex.zero >= 2:
        dp_comm = reduce_scatter(local_params * gb, ex.dp, dp_tier)
    else:
        dp_comm = all_reduce(local_params * gb, ex.dp, dp_tier)
    if ex.zero >= 1:
        dp_comm += all_gather(local_params * PRECISIONS[ex.precision][1], ex.dp, dp_tier)
    if ex.zero == 3:
        comm_exposed += 2 * m * all_gather(local_params * PRECISIONS[ex.precision][1], ex.dp, dp_tier) * 0.3
    # the optimizer step streams the local master weights, grads and states once
    opt_bytes = local_params / (ex.dp if ex.zero >= 1 else 1) * (OPTIMIZERS[ex.optimizer] * 2 + 4 + 4 + 2)
    from ..engine.calibration import for_profile

    optimizer_s = opt_bytes / (hw.memory_bandwidth * for_profile(hw).stream_bandwidth_fraction)
    if ex.offload:
        # ZeRO-Offload (Ren et al. 2021): gradients go to the host and updated 16-bit weights
        # come back over PCIe each step; the CPU optimizer overlaps with those transfers, so
        # the step waits for PCIe (a CPU slower than the link would add its own time)
        shard = local_params / (ex.dp if ex.zero >= 1 else 1)
        pcie = hw.pcie.bandwidth if hw.pcie is not None else 25e9
        optimizer_s = shard * (PRECISIONS[ex.precision][2] + PRECISIONS[ex.precision][1]) / (0.8 * pcie)
    step = compute + comm_exposed + bubble + dp_comm + optimizer_s
    # FLOPs of the step over all devices: model FLOPs (no recompute) and hardware FLOPs
    f_fwd, f_bwd, f_attn = _model_flops(spec, ex, hw)
    mbs = m * ex.dp
    model_flops = (f_fwd + f_bwd) * mbs
    hw_flops = model_flops + {"none": 0.0, "selective": f_attn, "full": f_fwd}[ex.recompute] * mbs
    peak = hw.matrix_peak(PRECISIONS[ex.precision][0]) * ex.gpus
    mem = _memory(spec, ex, sysm, params)
    notes = []
    if mem["total_bytes"] > mem["capacity_bytes"]:
        notes.append(f"needs {mem['total_bytes'] / 2**30:.1f} GiB per device of {mem['capacity_bytes'] / 2**30:.1f}")
    breakdown = {
        "compute_s": compute,
        "recompute_s": m * rec,
        "exposed_comm_s": comm_exposed + dp_comm,
        "tp_comm_s": m * tp_comm,
        "pp_p2p_s": m * p2p,
        "dp_comm_s": dp_comm,
        "bubble_s": bubble,
        "optimizer_s": optimizer_s,
    }
    return TrainPlan(
        spec.name,
        sysm.name,
        ex,
        step,
        model_flops,
        hw_flops,
        model_flops / (step * peak),
        hw_flops / (step * peak),
        breakdown,
        mem,
        params,
        tokens,
        price_per_hour if price_per_hour is not None else hw.price_per_hour,
        tuple(notes),
    )


def all_to_all_time(nbytes: float, n: int, sysm: System) -> float:
    from ..engine.collectives import all_to_all

    return all_to_all(nbytes, n, sysm.tier_for(n))


# -- helpers: Chinchilla and 6ND --------------------------------------------------------


def six_nd(params: float, tokens: float) -> float:
    """Training compute C = 6 N D (Kaplan et al. 2020; Hoffmann et al. 2022)."""
    return 6.0 * params * tokens


def chinchilla_optimal(compute_flops: float) -> dict[str, float]:
    """Compute-optimal model size and tokens for a budget C with D = 20 N and C = 6 N D
    (Hoffmann et al. 2022): N = sqrt(C / 120), D = 20 N."""
    n = math.sqrt(compute_flops / 120.0)
    return {"params": n, "tokens": 20.0 * n, "flops": compute_flops}
