"""Compute-optimal training: how many parameters N and tokens D a compute budget buys,
what a run of N parameters on D tokens costs in FLOPs, and how long it takes on a
cluster (through the training planner).

Sources:
- Kaplan et al. 2020, "Scaling Laws for Neural Language Models", sec. 2.1: training
  compute C ~ 6 N D (2 N per token forward, 4 N backward; attention over the context
  adds 6 L n_ctx d_attn per token, which `exact_training_flops` counts from the graph).
- Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models" (Chinchilla):
  Approaches 1 and 2 find N and D scaling equally with compute (a = b ~ 0.5), about
  20 tokens per parameter (Table 3: 67B / 1.5T and 63B / 1.4T at Gopher's 5.76e23
  FLOPs; Chinchilla itself is 70B on 1.4T). With C = 6 N D and D = k N:
  N = sqrt(C / (6 k)), D = k N. The parametric fit of Approach 3 (sec. 3.3, eq. 2 with
  E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28) predicts the final loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import PlanError
from ..frontends.spec import ModelSpec, spec_from_dict

TOKENS_PER_PARAM = 20.0  # Hoffmann et al. 2022, Approaches 1-2 (see the module notes)
# Approach 3's fitted loss L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, eq. 10)
LOSS_E, LOSS_A, LOSS_B, LOSS_ALPHA, LOSS_BETA = 1.69, 406.4, 410.7, 0.34, 0.28
# Shape of a synthesized model: width / depth ~ 100 (Chinchilla 70B: 8192 / 80 = 102;
# Kaplan et al. 2020 fig. 5: loss within a few percent over aspect ratios 20-200),
# 128-wide heads, a 4x GELU MLP and Chinchilla's 32,000-token vocabulary.
ASPECT_RATIO = 100
HEAD_DIM = 128
VOCAB = 32_000


def six_nd(params: float, tokens: float) -> float:
    """Training compute C = 6 N D (Kaplan et al. 2020, sec. 2.1)."""
    return 6.0 * params * tokens


def compute_optimal(compute_flops: float, tokens_per_param: float = TOKENS_PER_PARAM) -> tuple[float, float]:
    """(N, D) for a budget C under C = 6 N D and D = k N: N = sqrt(C / (6 k))."""
    if not (compute_flops > 0 and math.isfinite(compute_flops)):
        raise PlanError(f"--flops must be a positive finite number, got {compute_flops!r}")
    if not (tokens_per_param > 0 and math.isfinite(tokens_per_param)):
        raise PlanError(f"--tokens-per-param must be positive, got {tokens_per_param!r}")
    n = math.sqrt(compute_flops / (6.0 * tokens_per_param))
    return n, tokens_per_param * n


def chinchilla_optimal(compute_flops: float) -> dict[str, float]:
    """{params, tokens, flops} at 20 tokens per parameter (Hoffmann et al. 2022)."""
    n, d = compute_optimal(compute_flops)
    return {"params": n, "tokens": d, "flops": compute_flops}


def parametric_loss(params: float, tokens: float) -> float:
    """Hoffmann et al. 2022's Approach-3 fit of the final training loss (nats/token on
    MassiveText): a guide to the trade-off, not a prediction for another data set."""
    return float(LOSS_E + LOSS_A / params**LOSS_ALPHA + LOSS_B / tokens**LOSS_BETA)


def synthesize_spec(params: float, name: str | None = None) -> ModelSpec:
    """A decoder of about `params` parameters with Chinchilla's proportions (see the
    constants): 12 L d^2 ~ N with d ~ ASPECT_RATIO x L, d a multiple of HEAD_DIM."""
    if not (params >= 1e6 and math.isfinite(params)):
        raise PlanError(f"a model of {params:.3g} parameters is too small to shape (at least 1e6)")
    # widths of 1024 multiples (8 heads at a time) and depths of 4 multiples above 16, so
    # tensor parallelism up to 8 and pipelines up to 4 stages (more at the common depths) split evenly
    d = (params * ASPECT_RATIO / 12) ** (1 / 3)
    grain = 1024 if d >= 4096 else HEAD_DIM
    d = max(HEAD_DIM, grain * round(d / grain))
    layers = max(1, round(params / (12 * d * d)))
    if layers > 16:
        layers = 4 * round(layers / 4)
    return spec_from_dict(
        {
            "name": name or f"chinchilla-shaped-{params / 1e9:.3g}b",
            "source": "synthesized by costmodel scale: Chinchilla proportions (Hoffmann et al. 2022)",
            "architecture": "decoder",
            "vocab_size": VOCAB,
            "hidden_size": d,
            "num_layers": layers,
            "num_heads": d // HEAD_DIM,
            "intermediate_size": 4 * d,
            "mlp": "plain",
            "activation": "gelu",
            "norm": "rmsnorm",
            "position": "rope",
        },
        where="scale",
    )


def exact_training_flops(spec: ModelSpec, tokens: float, seq_len: int) -> float:
    """Forward + backward FLOPs of training on `tokens` tokens in sequences of seq_len,
    counted from the graph (attention over the context, the LM head, every norm): the
    training planner's MFU numerator per sequence, times the sequences."""
    from .layout import make_recipe
    from .training_cost import model_flops

    fwd, bwd, _ = model_flops(spec, 1, make_recipe(1, seq_len))
    return (fwd + bwd) * tokens / seq_len


@dataclass(frozen=True, kw_only=True)
class ClusterRun:
    """Training on a cluster: the layout the search picked and its time and cost."""

    system: str
    gpus: int
    tp: int
    pp: int
    dp: int
    recompute: str
    mfu: float
    step_s: float
    days: float
    gpu_hours: float
    cost_usd: float | None
    peak_flops: float  # per device, the precision's dense matrix peak


def train_on_cluster(
    spec: ModelSpec,
    tokens: float,
    hardware: str,
    gpus: int,
    *,
    seq_len: int = 2048,
    global_batch: int = 1024,
    tp: int | None = None,
    pp: int | None = None,
    precision: str = "bf16-mixed",
    price_per_hour: float | None = None,
) -> ClusterRun:
    """Time to train `spec` on `tokens` through the training planner: the layout given
    (tp, pp), else the fastest one that fits among tp in 1..8 and pp over divisors of the
    layer count (sequence parallel with tp > 1, ZeRO-1, selective or full recompute)."""
    from ..errors import CostModelError
    from ..hardware.systems import get_system
    from .layout import make_layout, make_recipe
    from .training import estimate_training

    system = get_system(hardware)
    tps = [tp] if tp else [t for t in (1, 2, 4, 8) if t <= gpus and spec.num_heads % t == 0]
    pps = [pp] if pp else [p for p in (1, 2, 4, 8, 16, 32, 64) if p <= spec.num_layers]
    best = None
    reasons: list[str] = []
    for t in tps:
        for p in pps:
            if gpus % (t * p):
                continue
            for rc in ("selective", "full"):
                try:
                    lay = make_layout(spec, gpus, global_batch, seq_len, tp=t, pp=p, sequence_parallel=t > 1, zero=1)
                    rec = make_recipe(global_batch, seq_len, precision=precision, recompute=rc)
                    plan = estimate_training(spec, system, lay, rec, tokens=int(tokens), price_per_hour=price_per_hour)
                except CostModelError as e:
                    reasons.append(str(e))
                    continue
                if not plan.fits:
                    reasons.append(f"tp {t} x pp {p}: {plan.memory.total_bytes / 2**30:.0f} GiB per device")
                    continue
                if best is None or plan.step_latency_s < best.step_latency_s:
                    best = plan
    if best is None:
        memory = [r for r in reasons if "GiB" in r]
        why = (memory or reasons or ["no tp x pp divides the GPU count"])[-1]
        raise PlanError(f"no layout of {spec.name} fits on {gpus} x {system.device.name} (last: {why})")
    run = best.training
    assert run is not None  # planned with a token count
    return ClusterRun(
        system=system.name,
        gpus=gpus,
        tp=best.layout.tp,
        pp=best.layout.pp,
        dp=best.layout.dp,
        recompute=best.recipe.recompute.value,
        mfu=best.mfu,
        step_s=best.step_latency_s,
        days=run.days,
        gpu_hours=run.device_hours,
        cost_usd=run.cost_usd,
        peak_flops=system.device.matrix_peak(best.recipe.facts.compute_dtype),
    )


def budget_from_hours(gpu_hours: float, peak_flops: float, mfu: float) -> float:
    """FLOPs that `gpu_hours` deliver at a model-FLOPs utilization."""
    return gpu_hours * 3600.0 * peak_flops * mfu


def optimal_for_hours(
    gpu_hours: float,
    hardware: str,
    gpus: int,
    *,
    tokens_per_param: float = TOKENS_PER_PARAM,
    mfu: float | None = None,
    **cluster: Any,
) -> tuple[float, ClusterRun | None, float]:
    """(compute, the run of the compute-optimal model, the MFU used) for a budget in
    GPU-hours: the MFU depends on the model the budget buys, so iterate budget -> N ->
    planned MFU -> budget until the MFU settles (a fixed MFU when given)."""
    from ..hardware.systems import get_system
    from .layout import PRECISIONS, Precision, choice

    precision = choice(Precision, cluster.get("precision", "bf16-mixed"), "precision")
    peak = get_system(hardware).device.matrix_peak(PRECISIONS[precision].compute_dtype)
    u = mfu if mfu is not None else 0.4  # first guess; replaced by the planner's MFU
    run = None
    for _ in range(8):
        c = budget_from_hours(gpu_hours, peak, u)
        n, d = compute_optimal(c, tokens_per_param)
        if mfu is not None:
            return c, None, u
        run = train_on_cluster(synthesize_spec(n), d, hardware, gpus, **cluster)
        if abs(run.mfu - u) <= 0.005:
            return c, run, run.mfu
        u = run.mfu
    return budget_from_hours(gpu_hours, peak, u), run, u
