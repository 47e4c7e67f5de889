"""Capacity planning: search executions under memory and goal constraints.

Training: hardware x (tp, pp, dp) x micro-batch x recompute (x ZeRO) for the time or the
cost of training on N tokens with a fixed global batch. Serving: hardware x tp x batch x
weight quantization under TTFT / TPOT SLOs at a request rate. Every candidate is kept:
feasible ones ranked by the goal, rejected ones with the reason."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import CostModelError
from ..frontends import load_model_spec
from ..frontends.spec import ModelSpec
from ..hardware.systems import System, get_system
from .layout import ParallelLayout, ServingSetup
from .llm import estimate_serving
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
    executor: Any = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> list[Candidate]:
    """`executor` (from costmodel.parallel: a process pool, Dask) evaluates the candidates
    elsewhere; None evaluates them here. `on_progress(done, total, what)` is called as
    each is evaluated."""
    spec = _spec(model)
    items: list[tuple[_TrainTask, dict[str, Any]]] = []
    for hw in hardware:
        system = get_system(hw)
        task = _TrainTask(spec, system, global_batch, seq_len, tokens, goal, price_per_hour)
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
                                items.append((task, label))
    return _rank(map_candidates(_train_candidate, items, executor, on_progress))


@dataclass(frozen=True)
class _TrainTask:
    """What every training candidate shares (sent once per candidate to a worker: the spec
    and the system travel resolved, so a worker needs neither the files nor the names)."""

    spec: ModelSpec
    system: System
    global_batch: int
    seq_len: int
    tokens: float
    goal: str
    prices: dict[str, float] | None


def map_candidates(
    fn: Callable[[Any], Candidate],
    items: list[Any],
    executor: Any = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> list[Candidate]:
    """The seam where a search is distributed: `fn(item)` for every item, results in
    order, on `executor` (costmodel.parallel: a process pool or Dask) or here when None.
    `on_progress(done, total, what)` after each ("ok" or "rejected")."""
    total = len(items)
    done = 0

    def step(_i: int, c: Candidate) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total, "ok" if c.ok else "rejected")

    if executor is None:
        out: list[Candidate] = []
        for i, item in enumerate(items):
            out.append(fn(item))
            step(i, out[-1])
        return out
    from ..parallel import map_ordered

    with executor:
        return list(map_ordered(fn, items, executor, on_done=step))


def _train_candidate(item: tuple[_TrainTask, dict[str, Any]]) -> Candidate:
    """One training candidate (module-level and picklable: it may run on a worker)."""
    t, label = item
    try:
        layout = make_layout(
            t.spec,
            label["gpus"],
            t.global_batch,
            t.seq_len,
            micro_batch=label["micro_batch"],
            tp=label["tp"],
            pp=label["pp"],
            dp=label["dp"],
            sequence_parallel=label["tp"] > 1,
            zero=label["zero"],
        )
        recipe = make_recipe(t.global_batch, t.seq_len, recompute=label["recompute"])
        plan = estimate_training(t.spec, t.system, layout, recipe, tokens=int(t.tokens))
    except CostModelError as e:
        return Candidate(label, False, math.inf, str(e), {})
    return _judge_train(plan, label, layout, t.goal, t.prices)


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


def search_serving(
    model: Any,
    hardware: list[str],
    prompt_len: int,
    output_len: int,
    rate: float,
    ttft_slo: float,
    tpot_slo: float,
    price_per_hour: dict[str, float] | None = None,
    tps: tuple[int, ...] = (1, 2, 4, 8),
    batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    weight_dtypes: tuple[str | None, ...] = (None, "fp8", "int4"),
) -> list[Candidate]:
    """Replicas of (tp devices, batch) serve `rate` requests/s: each replica generates
    batch / TPOT tokens/s, so replicas = ceil(rate x output_len / that)."""
    spec = _spec(model)
    out: list[Candidate] = []
    for hw in hardware:
        system = get_system(hw)
        for tp in tps:
            for wd in weight_dtypes:
                for b in batches:
                    label = {"hardware": hw, "tp": tp, "batch": b, "weights": wd or "bf16"}
                    setup = ServingSetup(batch=b, prompt_len=prompt_len, output_len=output_len, weight_dtype=wd)
                    try:
                        p = estimate_serving(spec, system, ParallelLayout(tp=tp), setup)
                    except CostModelError as e:
                        out.append(Candidate(label, False, math.inf, str(e), {}))
                        break
                    per_replica = b / p.decode.latency_s
                    replicas = max(1, math.ceil(rate * output_len / per_replica))
                    devices = replicas * tp
                    price = (price_per_hour or {}).get(hw) or p.price_per_hour
                    summary = {
                        "ttft_s": p.prefill.latency_s,
                        "tpot_s": p.decode.latency_s,
                        "replicas": replicas,
                        "devices": devices,
                        "usd_per_hour": devices * price if price else None,
                    }
                    if not p.fits:
                        out.append(Candidate(label, False, math.inf, "does not fit in memory", summary))
                        break  # larger batches do not fit either
                    if p.prefill.latency_s > ttft_slo:
                        reason = f"TTFT {p.prefill.latency_s * 1e3:.0f} ms > {ttft_slo * 1e3:.0f} ms"
                        out.append(Candidate(label, False, math.inf, reason, summary))
                        continue
                    if p.decode.latency_s > tpot_slo:
                        reason = f"TPOT {p.decode.latency_s * 1e3:.1f} ms > {tpot_slo * 1e3:.1f} ms"
                        out.append(Candidate(label, False, math.inf, reason, summary))
                        break  # TPOT only grows with the batch
                    score = devices * price if price else float(devices)
                    out.append(Candidate(label, True, score, "", summary))
    return _rank(out)


def _rank(cands: list[Candidate]) -> list[Candidate]:
    return sorted(cands, key=lambda c: (not c.ok, c.score))
