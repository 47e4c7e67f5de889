"""Training step model: per-op forward, activation-gradient and weight-gradient work,
recompute, 3D parallelism (data, tensor with sequence parallelism, pipeline 1F1B /
interleaved, expert, context), ZeRO / FSDP, communication by network tier, memory per
device, MFU and HFU (PaLM's definitions), time and cost to train on N tokens.

Sources: Narayanan et al. 2021 (Megatron-LM 3D parallelism, interleaved schedule,
bubble (p-1)/(v m)); Korthikanti et al. 2022 (sequence parallelism, selective
recompute); Rajbhandari et al. 2020 (ZeRO); Chowdhery et al. 2022 (PaLM MFU).

Entry points: `estimate_training(spec, system, layout, recipe)` on typed records
(model x execution x system), and `plan_training(model, hardware, gpus, batch, seq_len,
tp=..., ...)`, the keyword convenience over it (what `costmodel train` parses into).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..engine.calibration import for_profile
from ..engine.collectives import all_gather, all_reduce, all_to_all, reduce_scatter, send_recv
from ..errors import PlanError
from ..frontends import load_model_spec
from ..frontends.spec import ModelSpec
from ..hardware.network import ASSUMED_PCIE_BANDWIDTH, BUS_EFFICIENCY
from ..hardware.systems import System, get_system
from ..ir.dtypes import dtype as to_dtype
from .comm import TP_COLLECTIVES_BACKWARD, TP_COLLECTIVES_FORWARD, tensor_parallel_s
from .layout import OPTIMIZERS, ParallelLayout, Recompute, TrainingRecipe, make_layout, make_recipe
from .pipeline import stage_layers
from .training_cost import TrainMemory, memory, model_flops, model_work
from .workload import param_count

# ZeRO-3 all-gathers the weights again in the forward and the backward of every
# micro-batch; prefetching hides most of it behind compute: the exposed share is an
# assumption of this model, not a measurement
ZERO3_EXPOSED = 0.3


@dataclass(frozen=True, kw_only=True)
class StepBreakdown:
    """Seconds of one optimizer step on the busiest device."""

    compute_s: float
    recompute_s: float
    exposed_comm_s: float
    tp_comm_s: float
    pp_p2p_s: float
    dp_comm_s: float
    bubble_s: float
    optimizer_s: float

    def to_dict(self) -> dict[str, float]:
        return {
            "compute_s": self.compute_s,
            "recompute_s": self.recompute_s,
            "exposed_comm_s": self.exposed_comm_s,
            "tp_comm_s": self.tp_comm_s,
            "pp_p2p_s": self.pp_p2p_s,
            "dp_comm_s": self.dp_comm_s,
            "bubble_s": self.bubble_s,
            "optimizer_s": self.optimizer_s,
        }


@dataclass(frozen=True, kw_only=True)
class TrainingRun:
    """Training on `tokens`: steps, wall time, device-hours and (with a price) cost."""

    tokens: int
    steps: int
    time_s: float
    device_hours: float
    cost_usd: float | None

    @property
    def days(self) -> float:
        return self.time_s / 86400


@dataclass(frozen=True, kw_only=True)
class TrainPlan:
    model: str
    system: str
    layout: ParallelLayout
    recipe: TrainingRecipe
    step_latency_s: float
    model_flops: float  # per step, all devices (fwd + bwd, no recompute)
    hardware_flops: float  # including recompute
    mfu: float
    hfu: float
    breakdown: StepBreakdown
    memory: TrainMemory  # per device
    params: int
    tokens: int | None = None
    price_per_hour: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def microbatches(self) -> int:
        return self.recipe.global_batch // (self.layout.micro_batch * self.layout.dp)

    @property
    def tokens_per_step(self) -> int:
        return self.recipe.global_batch * self.recipe.seq_len

    @property
    def fits(self) -> bool:
        return self.memory.fits

    @property
    def training(self) -> TrainingRun | None:
        if not self.tokens:
            return None
        steps = math.ceil(self.tokens / self.tokens_per_step)
        secs = steps * self.step_latency_s
        hours = secs * self.layout.devices / 3600
        return TrainingRun(
            tokens=self.tokens,
            steps=steps,
            time_s=secs,
            device_hours=hours,
            cost_usd=hours * self.price_per_hour if self.price_per_hour else None,
        )

    def to_dict(self) -> dict[str, Any]:
        lay, rec = self.layout, self.recipe
        d: dict[str, Any] = {
            "schema_version": 1,
            "model": self.model,
            "hardware": self.system,
            "params": self.params,
            "execution": {
                "gpus": lay.devices,
                "tp": lay.tp,
                "pp": lay.pp,
                "dp": lay.dp,
                "ep": lay.ep,
                "cp": lay.cp,
                "micro_batch": lay.micro_batch,
                "global_batch": rec.global_batch,
                "seq_len": rec.seq_len,
                "sequence_parallel": lay.sp,
                "interleave": lay.interleave,
                "zero": lay.zero,
                "recompute": rec.recompute.value,
                "precision": rec.precision.value,
                "optimizer": rec.optimizer,
                "offload": rec.offload,
            },
            "microbatches": self.microbatches,
            "step": {
                "latency_s": self.step_latency_s,
                "flops": self.model_flops,
                "hardware_flops": self.hardware_flops,
                "tokens_per_s": self.tokens_per_step / self.step_latency_s,
            },
            "mfu": self.mfu,
            "hfu": self.hfu,
            "breakdown": self.breakdown.to_dict(),
            "memory": self.memory.to_dict(),
            "fits": self.fits,
            "notes": list(self.notes),
        }
        run = self.training
        if run is not None:
            d["training"] = {
                "tokens": run.tokens,
                "steps": run.steps,
                "time_s": run.time_s,
                "days": run.days,
                "device_hours": run.device_hours,
            }
            if run.cost_usd is not None:
                d["training"]["cost_usd"] = run.cost_usd
        return d


def estimate_training(
    spec: ModelSpec,
    system: System,
    layout: ParallelLayout,
    recipe: TrainingRecipe,
    *,
    dispatch: str = "eager",
    tokens: int | None = None,
    price_per_hour: float | None = None,
) -> TrainPlan:
    """One optimizer step of `recipe` under `layout` on `system` (see the module notes)."""
    hw = system.device
    facts = recipe.facts
    act = to_dtype(facts.compute_dtype)
    params = param_count(spec)
    lay = layout
    m = recipe.global_batch // (lay.micro_batch * lay.dp)
    stages = stage_layers(spec.num_layers, lay.pp, lay.interleave)
    work = model_work(spec, lay, recipe, hw, eager=dispatch == "eager")
    last = len(stages) - 1
    dev = max(
        (work.stage(s, k == 0, k == last) for k, s in enumerate(stages)), key=lambda w: (w.fwd_s + w.bwd_s, w.fwd_s)
    )
    fwd, bwd = dev.fwd_s, dev.bwd_s
    if dispatch == "eager" and dev.fwd_s > 0:
        # the engine's eager-dispatch model (engine/latency.py) on the forward; the
        # backward dispatches ~2 kernels per op, each ~ the forward op's GPU time, so it
        # is host-bound in the same proportion
        k = max(dev.eager_s / dev.fwd_s, 1.0)
        fwd, bwd = fwd * k, bwd * k
    rec = {Recompute.NONE: 0.0, Recompute.SELECTIVE: dev.attn_s, Recompute.FULL: fwd}[recipe.recompute]
    layers_dev = spec.num_layers / lay.pp
    seq = recipe.seq_len // lay.cp
    msg = act.nbytes(lay.micro_batch * seq * spec.hidden_size)
    n_tp = (TP_COLLECTIVES_FORWARD + TP_COLLECTIVES_BACKWARD) * layers_dev
    if recipe.recompute is Recompute.FULL:
        n_tp += TP_COLLECTIVES_FORWARD * layers_dev
    tp_comm = tensor_parallel_s(msg, lay.tp, system.tier_for(lay.tp), 1, lay.sp) * n_tp
    # context parallel: K/V all-gather per layer (forward) and reduce-scatter of their grads
    cp_comm = 0.0
    if lay.cp > 1:
        kvb = act.nbytes(2 * lay.micro_batch * recipe.seq_len * spec.kv_heads * spec.hd // lay.tp)
        cp_comm = layers_dev * 2 * all_gather(kvb, lay.cp, system.tier_for(lay.cp, lay.tp))
    # pipeline: activations sent forward and gradients backward per micro-batch and chunk
    pp_tier = system.tier_for(lay.pp, lay.tp * lay.cp * lay.dp) if lay.pp > 1 else system.intra
    p2p = 2 * lay.interleave * send_recv(msg / (lay.tp if lay.sp else 1), pp_tier) if lay.pp > 1 else 0.0
    # expert parallel: two all-to-alls per MoE layer forward and two backward
    ep_comm = 0.0
    if lay.ep > 1 and spec.moe is not None:
        routed = act.nbytes(lay.micro_batch * recipe.seq_len * spec.hidden_size * spec.moe.top_k)
        ep_comm = 4 * spec.moe_layers() / lay.pp * all_to_all(routed, lay.ep, system.tier_for(lay.ep))
    per_mb = fwd + bwd + rec + tp_comm + cp_comm + ep_comm + p2p
    bubble = (lay.pp - 1) / lay.interleave * per_mb if lay.pp > 1 else 0.0
    compute = m * (fwd + bwd + rec)
    comm_exposed = m * (tp_comm + cp_comm + ep_comm + p2p)
    # data parallel: gradient reduction after the last micro-batch's backward (ZeRO-2/3:
    # reduce-scatter; ZeRO-1+ all-gathers the updated weights)
    local = params / (lay.tp * lay.pp)
    dp_tier = system.tier_for(lay.dp, lay.tp * lay.pp * lay.cp)
    if lay.zero >= 2:
        dp_comm = reduce_scatter(local * facts.grad_bytes, lay.dp, dp_tier)
    else:
        dp_comm = all_reduce(local * facts.grad_bytes, lay.dp, dp_tier)
    if lay.zero >= 1:
        dp_comm += all_gather(local * facts.weight_bytes, lay.dp, dp_tier)
    if lay.zero == 3:
        comm_exposed += 2 * m * all_gather(local * facts.weight_bytes, lay.dp, dp_tier) * ZERO3_EXPOSED
    opt_shard = local / (lay.dp if lay.zero >= 1 else 1)
    if recipe.offload:
        # ZeRO-Offload (Ren et al. 2021): gradients go to the host and updated weights come
        # back over PCIe each step; the CPU optimizer overlaps with those transfers
        pcie = float(hw.pcie.bandwidth) if hw.pcie is not None else ASSUMED_PCIE_BANDWIDTH
        optimizer_s = opt_shard * (facts.grad_bytes + facts.weight_bytes) / (BUS_EFFICIENCY * pcie)
    else:
        # the update streams the master weights, grads and states once (read + write)
        opt_bytes = opt_shard * (OPTIMIZERS[recipe.optimizer] * 2 + 4 + 4 + 2)
        optimizer_s = opt_bytes / (hw.memory_bandwidth * for_profile(hw).stream_bandwidth_fraction)
    step = compute + comm_exposed + bubble + dp_comm + optimizer_s
    f_fwd, f_bwd, f_attn = model_flops(spec, lay.micro_batch, recipe)
    mbs = m * lay.dp
    mflops = (f_fwd + f_bwd) * mbs
    hflops = mflops + {Recompute.NONE: 0.0, Recompute.SELECTIVE: f_attn, Recompute.FULL: f_fwd}[recipe.recompute] * mbs
    peak = hw.matrix_peak(facts.compute_dtype) * lay.devices
    mem = memory(spec, lay, recipe, params, m, int(hw.memory_capacity))
    notes = []
    if not mem.fits:
        notes.append(f"needs {mem.total_bytes / 2**30:.1f} GiB per device of {mem.capacity_bytes / 2**30:.1f}")
    breakdown = StepBreakdown(
        compute_s=compute,
        recompute_s=m * rec,
        exposed_comm_s=comm_exposed + dp_comm,
        tp_comm_s=m * tp_comm,
        pp_p2p_s=m * p2p,
        dp_comm_s=dp_comm,
        bubble_s=bubble,
        optimizer_s=optimizer_s,
    )
    return TrainPlan(
        model=spec.name,
        system=system.name,
        layout=lay,
        recipe=recipe,
        step_latency_s=step,
        model_flops=mflops,
        hardware_flops=hflops,
        mfu=mflops / (step * peak),
        hfu=hflops / (step * peak),
        breakdown=breakdown,
        memory=mem,
        params=params,
        tokens=tokens,
        price_per_hour=price_per_hour if price_per_hour is not None else hw.price_per_hour,
        notes=tuple(notes),
    )


def plan_training(
    model: Any,
    hardware: Any,
    gpus: int,
    global_batch: int,
    seq_len: int,
    *,
    tokens: int | None = None,
    price_per_hour: float | None = None,
    execution: str = "eager",
    precision: str = "bf16-mixed",
    optimizer: str = "adamw",
    recompute: str = "none",
    offload: bool = False,
    **layout: Any,
) -> TrainPlan:
    """Keyword convenience over estimate_training: `model` a spec, file or built-in name,
    `hardware` a system or device; layout options micro_batch, tp, pp, dp, ep, cp,
    sequence_parallel, interleave, zero (make_layout); `execution` the dispatch mode
    ("eager" framework dispatch or "graph" replay)."""
    spec = load_model_spec(model)
    if spec is None:
        raise PlanError(f"{model!r} is not a model spec, config.json or built-in model name")
    system = get_system(hardware)
    try:
        lay = make_layout(spec, gpus, global_batch, seq_len, **layout)
    except TypeError as e:
        raise PlanError(f"unknown layout option: {e}") from None
    recipe = make_recipe(
        global_batch, seq_len, precision=precision, optimizer=optimizer, recompute=recompute, offload=offload
    )
    return estimate_training(
        spec, system, lay, recipe, dispatch=execution, tokens=tokens, price_per_hour=price_per_hour
    )
