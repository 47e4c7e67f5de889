"""Choosing for the user: the largest micro-batch that fits when none is given, and the
layout nearest to one that does not fit that does (`costmodel train`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import CostModelError
from ..frontends.spec import ModelSpec
from ..hardware.systems import System
from .layout import ParallelLayout, Recompute, TrainingRecipe
from .training import TrainPlan, estimate_training


def _per_rank_divisors(global_batch: int, dp: int) -> list[int]:
    per = global_batch // dp
    return [d for d in range(per, 0, -1) if per % d == 0]


def largest_fitting_micro_batch(
    spec: ModelSpec, system: System, lay: ParallelLayout, recipe: TrainingRecipe, kw: dict[str, Any]
) -> TrainPlan:
    """The largest micro-batch (a divisor of the per-rank batch) that fits; under
    pipelining, one that still leaves at least pp micro-batches when one does."""
    divs = _per_rank_divisors(recipe.global_batch, lay.dp)
    if lay.pp > 1:
        enough = [d for d in divs if recipe.global_batch // (d * lay.dp) >= lay.pp]
        divs = enough or divs
    first: TrainPlan | None = None
    for d in divs:
        p = estimate_training(spec, system, replace(lay, micro_batch=d), recipe, **kw)
        first = first or p
        if p.fits:
            note = f"micro-batch {d}: the largest that fits (no --micro-batch given)"
            return replace(p, notes=p.notes + (note,))
    assert first is not None
    last = estimate_training(spec, system, replace(lay, micro_batch=divs[-1]), recipe, **kw)
    return replace(last, notes=last.notes + (f"no micro-batch fits; shown at micro-batch {divs[-1]}",))


def describe(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items() if k not in ("step_s", "memory_bytes"))


def nearest_fitting(
    spec: ModelSpec, system: System, lay: ParallelLayout, recipe: TrainingRecipe, kw: dict[str, Any]
) -> dict[str, Any] | None:
    """The layout closest to `lay` (fewest changed options, then fastest) that fits, over
    smaller micro-batches, recompute, higher ZeRO stages and wider tensor / pipeline
    parallelism on the same devices."""
    gpus = lay.devices
    cands: list[tuple[int, float, dict[str, Any]]] = []
    rcs = [recipe.recompute] + [r for r in (Recompute.SELECTIVE, Recompute.FULL) if r != recipe.recompute]
    for tp_mult in (1, 2, 4, 8):
        for pp_mult in (1, 2, 4):
            tp, pp = lay.tp * tp_mult, lay.pp * pp_mult
            if tp > 8 or gpus % (tp * pp * lay.cp) or (spec.num_heads and spec.num_heads % tp):
                continue
            dp = gpus // (tp * pp * lay.cp)
            if pp > spec.num_layers or (lay.ep > 1 and dp % lay.ep):
                continue
            for z in range(lay.zero, 4):
                for rc in rcs:
                    for mb in [d for d in _per_rank_divisors(recipe.global_batch, dp) if d <= lay.micro_batch][:4]:
                        changes = (tp != lay.tp) + (pp != lay.pp) + (z != lay.zero) + (rc != recipe.recompute)
                        changes += mb != lay.micro_batch
                        if changes == 0:
                            continue
                        try:
                            new = replace(
                                lay,
                                tp=tp,
                                pp=pp,
                                dp=dp,
                                zero=z,
                                micro_batch=mb,
                                sp=lay.sp or tp > 1,
                                stage_split=lay.stage_split if pp == lay.pp else None,
                                shard_group=lay.shard_group if dp == lay.dp else 0,
                            )
                            p = estimate_training(spec, system, new, replace(recipe, recompute=rc), **kw)
                        except CostModelError:
                            continue
                        if p.fits:
                            label = {
                                "tp": tp,
                                "pp": pp,
                                "dp": dp,
                                "zero": z,
                                "recompute": rc.value,
                                "micro_batch": mb,
                                "step_s": p.step_latency_s,
                                "memory_bytes": p.memory.total_bytes,
                            }
                            cands.append((changes, p.step_latency_s, label))
    if not cands:
        return None
    cands.sort(key=lambda c: (c[0], c[1]))
    return cands[0][2]
