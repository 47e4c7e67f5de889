"""Training step model: per-op forward, activation-gradient and weight-gradient work,
recompute, 3D parallelism (data, tensor with sequence parallelism, pipeline 1F1B /
interleaved / ZB-H1 / DualPipe over even or uneven stages, expert, context), ZeRO / FSDP
(full or hybrid shard), communication by network tier with what overlap hides, precision
recipes, memory per device, MFU and HFU (PaLM's definitions), time and cost to train on
N tokens.

Sources: Narayanan et al. 2021 (Megatron-LM 3D parallelism, interleaved schedule);
Korthikanti et al. 2022 (sequence parallelism, selective recompute); Rajbhandari et al.
2020 (ZeRO); Chowdhery et al. 2022 (PaLM MFU); the step formulas: training_core.py.

Entry points: `estimate_training(spec, system, layout, recipe)` on typed records
(model x execution x system), and `plan_training(model, hardware, gpus, batch, seq_len,
tp=..., ...)`, the keyword convenience over it (what `costmodel train` parses into).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import PlanError
from ..frontends import load_model_spec
from ..frontends.spec import ModelSpec
from ..hardware.systems import System, get_system
from .layout import ParallelLayout, Recompute, TrainingRecipe, default_precision, make_layout, make_recipe
from .pipeline import stage_layers
from .training_core import evaluate
from .training_cost import model_flops, model_work
from .training_inputs import single
from .workload import param_count

COMM_KINDS = ("tp", "cp", "ep", "pp", "dp")


@dataclass(frozen=True, kw_only=True)
class CommPart:
    """One kind of communication over a step on the busiest device: its time, the part
    of it compute does not hide, and the bytes each device sends."""

    time_s: float
    exposed_s: float
    bytes: float

    @property
    def hidden_s(self) -> float:
        return max(self.time_s - self.exposed_s, 0.0)

    def to_dict(self) -> dict[str, float]:
        return {"time_s": self.time_s, "exposed_s": self.exposed_s, "hidden_s": self.hidden_s, "bytes": self.bytes}


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
    comm: dict[str, CommPart] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "compute_s": self.compute_s,
            "recompute_s": self.recompute_s,
            "exposed_comm_s": self.exposed_comm_s,
            "tp_comm_s": self.tp_comm_s,
            "pp_p2p_s": self.pp_p2p_s,
            "dp_comm_s": self.dp_comm_s,
            "bubble_s": self.bubble_s,
            "optimizer_s": self.optimizer_s,
            "comm": {k: v.to_dict() for k, v in self.comm.items()},
        }


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
    nearest: dict[str, Any] | None = None  # when it does not fit: the closest layout that does
    step_band_s: tuple[float, float] | None = None  # 80% prediction interval of step_latency_s
    stage_sizes: tuple[int, ...] = ()  # layers per pipeline stage

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
                "schedule": lay.schedule.value,
                "stage_layers": list(self.stage_sizes),
                "zero": lay.zero,
                "shard_group": lay.shard,
                "recompute": rec.recompute.value,
                "precision": rec.precision.value,
                "optimizer": rec.optimizer,
                "optimizer_impl": rec.optimizer_impl.value,
                "offload": rec.offload,
                "overlap": rec.overlap.names(),
            },
            "microbatches": self.microbatches,
            "step": {
                "latency_s": self.step_latency_s,
                "latency_band_s": list(self.step_band_s) if self.step_band_s else None,
                "flops": self.model_flops,
                "hardware_flops": self.hardware_flops,
                "tokens_per_s": self.tokens_per_step / self.step_latency_s,
                "tokens_per_s_per_device": self.tokens_per_step / self.step_latency_s / lay.devices,
            },
            "mfu": self.mfu,
            "hfu": self.hfu,
            "breakdown": self.breakdown.to_dict(),
            "memory": self.memory.to_dict(),
            "fits": self.fits,
            "notes": list(self.notes),
        }
        if self.nearest is not None:
            d["nearest_fitting"] = self.nearest
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
    """One optimizer step of `recipe` under `layout` on `system` (see training_core.py)."""
    hw = system.device
    lay = layout
    r = evaluate(single(spec, system, lay, recipe, dispatch == "eager"), system)
    m = recipe.global_batch // (lay.micro_batch * lay.dp)
    params = param_count(spec)
    step = float(r.step_s[0])
    f_fwd, f_bwd, f_attn = model_flops(spec, lay.micro_batch, recipe)
    mbs = m * lay.dp
    mflops = (f_fwd + f_bwd) * mbs
    extra = {Recompute.NONE: 0.0, Recompute.SELECTIVE: f_attn, Recompute.FULL: f_fwd}[recipe.recompute]
    hflops = mflops + extra * mbs
    peak = hw.matrix_peak(recipe.facts.compute_dtype) * lay.devices
    mem = TrainMemory(
        int(r.weights_bytes[0]),
        int(r.grads_bytes[0]),
        int(r.optimizer_bytes[0]),
        int(r.activation_bytes[0]),
        int(hw.memory_capacity),
    )
    notes = []
    if not mem.fits:
        notes.append(f"needs {mem.total_bytes / 2**30:.1f} GiB per device of {mem.capacity_bytes / 2**30:.1f}")
    comm = {
        k: CommPart(
            time_s=float(r.comm_total[k][0]), exposed_s=float(r.comm_exposed[k][0]), bytes=float(r.comm_bytes[k][0])
        )
        for k in COMM_KINDS
    }
    breakdown = StepBreakdown(
        compute_s=float(r.compute_s[0]),
        recompute_s=float(r.recompute_s[0]),
        exposed_comm_s=sum(c.exposed_s for c in comm.values()),
        tp_comm_s=comm["tp"].time_s,
        pp_p2p_s=comm["pp"].time_s,
        dp_comm_s=comm["dp"].time_s,
        bubble_s=float(r.bubble_s[0]),
        optimizer_s=float(r.optimizer_s[0]),
        comm=comm,
    )
    # the kernels' relative band applies to the step's kernel time and the pipeline bubble
    # (idle time in proportion to it); communication and the optimizer step are added as
    # modelled (no measured residuals of their own)
    band = None
    ratio = model_work(spec, lay, recipe, hw, dispatch == "eager").band_ratio()
    if ratio is not None:
        scaled = breakdown.compute_s + breakdown.recompute_s + breakdown.bubble_s
        rest = max(step - scaled, 0.0)
        band = (rest + scaled * ratio[0], rest + scaled * ratio[1])
    return TrainPlan(
        stage_sizes=tuple(len(s) for s in stage_layers(spec.num_layers, lay.pp, lay.interleave, lay.stage_split)),
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
        step_band_s=band,
    )


LAYOUT_OPTIONS = (
    "micro_batch",
    "tp",
    "pp",
    "dp",
    "ep",
    "cp",
    "sequence_parallel",
    "interleave",
    "zero",
    "schedule",
    "stage_layers",
    "fsdp",
    "shard_group",
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
    precision: str | None = None,
    optimizer: str = "adamw",
    optimizer_impl: str | None = None,
    recompute: str = "none",
    offload: bool = False,
    overlap: str | None = None,
    runtime: str | None = None,
    attention: str = "fused",
    **layout: Any,
) -> TrainPlan:
    """Keyword convenience over estimate_training: `model` a spec, file or built-in name,
    `hardware` a system or device; layout options micro_batch, tp, pp, dp, ep, cp,
    sequence_parallel, interleave, zero, schedule, stage_layers, fsdp, shard_group
    (make_layout); `attention` fused (FlashAttention) or unfused (the scores through
    memory, as Megatron-LM ran before it); `execution` the dispatch mode ("eager" framework dispatch or "graph"
    replay); `runtime` whose kernels are priced (passes/runtimes.py); `precision`
    defaults to bf16-autocast on one eager device or under runtime "pytorch" (PyTorch
    AMP: its weight and norm casts are priced), bf16-mixed otherwise. Without a
    micro-batch the largest that fits is taken (and said); a layout that does not fit
    carries the nearest one that does."""
    spec = load_model_spec(model)
    if spec is None:
        raise PlanError(f"{model!r} is not a model spec, config.json or built-in model name")
    system = get_system(hardware)
    unknown = set(layout) - set(LAYOUT_OPTIONS)
    if unknown:
        raise PlanError(f"unknown layout option(s): {', '.join(sorted(unknown))}")
    if precision is None:
        precision = default_precision(gpus, execution, runtime)
    chosen_mb = layout.get("micro_batch") is None
    lay = make_layout(spec, gpus, global_batch, seq_len, **layout)
    recipe = make_recipe(
        global_batch,
        seq_len,
        precision=precision,
        optimizer=optimizer,
        recompute=recompute,
        offload=offload,
        optimizer_impl=optimizer_impl,
        overlap=overlap,
        schedule=lay.schedule,
        runtime=runtime,
        attention=attention,
    )
    from .training_fit import describe, largest_fitting_micro_batch, nearest_fitting

    kw: dict[str, Any] = {"dispatch": execution, "tokens": tokens, "price_per_hour": price_per_hour}
    if chosen_mb:
        plan = largest_fitting_micro_batch(spec, system, lay, recipe, kw)
    else:
        plan = estimate_training(spec, system, lay, recipe, **kw)
    if not plan.fits:
        near = nearest_fitting(spec, system, plan.layout, recipe, kw)
        if near is not None:
            plan = replace(
                plan,
                nearest=near,
                notes=plan.notes + (f"nearest layout that fits: {describe(near)}",),
            )
        else:
            plan = replace(plan, notes=plan.notes + ("no layout near this one fits on these devices",))
    return plan
