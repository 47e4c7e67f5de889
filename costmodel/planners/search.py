"""Capacity planning: search executions under memory and goal constraints.

Training: hardware x (tp, pp, dp) x micro-batch x recompute (x ZeRO) for the time or the
cost of training on N tokens with a fixed global batch. Every candidate is kept: feasible
ones ranked by the goal, rejected ones with the reason. (Serving: search_serving.py.)"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import CostModelError
from ..frontends import load_model_spec
from ..frontends.spec import ModelSpec
from ..hardware.systems import get_system
from .layout import ParallelLayout
from .training import TrainPlan, estimate_training, make_layout, make_recipe


@dataclass(frozen=True)
class Candidate:
    label: dict[str, Any]  # the configuration, as the JSON / table columns name it
    ok: bool
    score: float  # the goal (seconds or USD); inf when rejected
    reason: str
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.label,
            "ok": self.ok,
            "score": None if math.isinf(self.score) else self.score,
            "reason": self.reason,
            **self.summary,
        }


def _divisors(n: int, cap: int) -> list[int]:
    return [d for d in (1, 2, 4, 8, 16, 32, 64) if d <= cap and n % d == 0]


def _spec(model: Any) -> ModelSpec:
    spec = load_model_spec(model)
    if spec is None:
        raise CostModelError(f"{model!r} is not a model spec, config.json or built-in model name")
    return spec


def search_training(
    model: Any,
    hardware: list[str],
    gpus: list[int],
    global_batch: int,
    seq_len: int,
    tokens: float,
    goal: str = "time",
    price_per_hour: dict[str, float] | None = None,
    micro_batches: tuple[int, ...] = (1, 2, 4, 8),
    max_tp: int = 8,
    recomputes: tuple[str, ...] = ("none", "selective", "full"),
    zeros: tuple[int, ...] = (0, 1),
) -> list[Candidate]:
    spec = _spec(model)
    out: list[Candidate] = []
    for hw in hardware:
        system = get_system(hw)
        for g in gpus:
            for tp in _divisors(spec.num_heads or 1, min(max_tp, g)):
                for pp in _divisors(spec.num_layers, g // tp):
                    if g % (tp * pp):
                        continue
                    dp = g // (tp * pp)
                    for mb in micro_batches:
                        for rc in recomputes:
                            for z in zeros:
                                label = {
                                    "hardware": hw,
                                    "gpus": g,
                                    "tp": tp,
                                    "pp": pp,
                                    "dp": dp,
                                    "micro_batch": mb,
                                    "recompute": rc,
                                    "zero": z,
                                }
                                try:
                                    layout = make_layout(
                                        spec,
                                        g,
                                        global_batch,
                                        seq_len,
                                        micro_batch=mb,
                                        tp=tp,
                                        pp=pp,
                                        dp=dp,
                                        sequence_parallel=tp > 1,
                                        zero=z,
                                    )
                                    recipe = make_recipe(global_batch, seq_len, recompute=rc)
                                    plan = estimate_training(spec, system, layout, recipe, tokens=int(tokens))
                                except CostModelError as e:
                                    out.append(Candidate(label, False, math.inf, str(e), {}))
                                    continue
                                out.append(_judge_train(plan, label, layout, goal, price_per_hour))
    return _rank(out)


def _judge_train(plan: TrainPlan, label: dict[str, Any], layout: ParallelLayout, goal: str, prices: Any) -> Candidate:
    run = plan.training
    assert run is not None  # the search always plans with a token count
    price = (prices or {}).get(label["hardware"]) or plan.price_per_hour
    cost = run.time_s * layout.devices / 3600 * price if price else None
    mem = plan.memory
    summary = {
        "step_s": plan.step_latency_s,
        "mfu": plan.mfu,
        "days": run.days,
        "memory_gib": mem.total_bytes / 2**30,
        "cost_usd": cost,
    }
    if not plan.fits:
        reason = f"memory: {mem.total_bytes / 2**30:.1f} GiB > {mem.capacity_bytes / 2**30:.1f} GiB"
        return Candidate(label, False, math.inf, reason, summary)
    if goal == "cost":
        if cost is None:
            return Candidate(label, False, math.inf, "no price for this hardware (give --price-per-hour)", summary)
        return Candidate(label, True, cost, "", summary)
    return Candidate(label, True, run.time_s, "", summary)


def _rank(cands: list[Candidate]) -> list[Candidate]:
    return sorted(cands, key=lambda c: (not c.ok, c.score))
