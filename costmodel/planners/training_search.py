"""`plan train`: search training layouts at array speed.

The space, per system and device count: tensor (1-8, dividing the heads; with and without
sequence parallelism), context (cp, while each rank keeps >= 2,048 positions), pipeline
(1-32 stages, uneven splits allowed, interleaved 1 / 2 / 4 chunks), expert (MoE models:
dividing the experts and dp), ZeRO 0-3 (3 = FSDP full shard), micro-batches up to the
largest that fits, recompute none / selective / full, optimizer offload on and off.

How it stays fast (issue 17): the per-layer work is computed once per model shard (tensor
/ expert / context degree, micro-batch, precision: training_cost.py) and summed per
pipeline split once (training_inputs.py); every candidate is then a row of numpy arrays
(training_core.py). Memory is evaluated for all of them first and only those that fit are
timed. `estimate_training` runs the same array code on one row, so the search ranks the
layouts exactly as a loop over estimate_training would (tests/test_training_search.py).
"""

from __future__ import annotations

from collections.abc import Callable

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CostModelError, PlanError
from ..frontends import load_model_spec
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import Lowering
from ..hardware.systems import System, get_system
from ..passes.runtimes import get_runtime
from .layout import ParallelLayout, Recompute, TrainingRecipe, make_recipe
from .pipeline import Schedule
from .training_core import RECOMPUTE_CODES, SCHEDULE_CODES, evaluate
from .training_memory import memory
from .training_cost import model_flops
from .training_inputs import K, make_columns, model_facts, recipe_facts, stage_block

MICRO_BATCHES = (1, 2, 4, 8, 16, 32, 64)
TENSOR = (1, 2, 4, 8)
PIPELINE = (1, 2, 4, 8, 16, 32)
INTERLEAVE = (1, 2, 4)
CONTEXT = (1, 2, 4, 8)
MIN_CP_POSITIONS = 2048
RECOMPUTES = ("none", "selective", "full")
ZEROS = (0, 1, 2, 3)


@dataclass(frozen=True)
class TrainCandidate:
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


@dataclass
class SearchResult:
    """The ranked feasible candidates (all of them, best first) and how many were
    evaluated and rejected, by reason."""

    candidates: list[TrainCandidate]
    evaluated: int
    rejected: dict[str, int]
    rejected_examples: list[TrainCandidate]


def _spec(model: Any) -> ModelSpec:
    spec: ModelSpec | None = load_model_spec(model)
    if spec is None:
        raise CostModelError(f"{model!r} is not a model spec, config.json or built-in model name")
    return spec


def _tp_ok(spec: ModelSpec, tp: int) -> bool:
    if spec.num_heads and spec.num_heads % tp:
        return False
    kv = spec.kv_heads
    if kv and kv >= tp and kv % tp:
        return False
    if spec.intermediate_size and spec.intermediate_size % tp:
        return False
    return not (spec.moe is not None and spec.moe.expert_intermediate_size % tp)


def _structures(spec: ModelSpec, system: System, g: int, global_batch: int, seq_len: int) -> list[dict[str, int]]:
    """(tp, cp, pp, v, ep, dp, mb) combinations that can exist on g devices."""
    out = []
    no_pp = spec.arch.lowering is Lowering.ENCODER_DECODER
    for tp in TENSOR:
        if tp > min(g, system.devices_per_node) or not _tp_ok(spec, tp):
            continue
        for cp in CONTEXT:
            if seq_len % cp or (cp > 1 and seq_len // cp < MIN_CP_POSITIONS):
                continue
            for pp in PIPELINE:
                if g % (tp * cp * pp) or pp > spec.num_layers or (pp > 1 and no_pp):
                    continue
                dp = g // (tp * cp * pp)
                if global_batch % dp:
                    continue
                eps = [1]
                if spec.moe is not None:
                    eps = [e for e in (1, 2, 4, 8, 16, 32, 64) if spec.moe.num_experts % e == 0 and dp % e == 0]
                for v in INTERLEAVE:
                    if v > 1 and (pp == 1 or pp * v > spec.num_layers):
                        continue
                    for ep in eps:
                        for mb in MICRO_BATCHES:
                            if (global_batch // dp) % mb:
                                continue
                            if pp > 1 and global_batch // (dp * mb) < pp:
                                continue  # fewer micro-batches than stages: the pipeline never fills
                            out.append({"tp": tp, "cp": cp, "pp": pp, "v": v, "ep": ep, "dp": dp, "mb": mb})
    return out


def search_systems(hardware: list[str], prices: dict[str, float] | None) -> list[System]:
    """The systems searched, checked before any search on what no candidate could fix: an
    unknown hardware name (else every candidate is rejected with the same error and the
    search "succeeds" with none), a price that is not a positive finite number (a negative
    one would rank first) or a price for hardware not searched (a typo)."""
    if not hardware:
        raise PlanError("no hardware to search over")
    systems = [get_system(h) for h in hardware]
    searched = {h.lower() for h in hardware}
    for name, price in (prices or {}).items():
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not 0 < price < math.inf:
            raise PlanError(f"price for {name!r} must be a positive finite USD per device-hour, got {price!r}")
        if name.lower() not in searched:
            raise PlanError(
                f"price given for {name!r}, which is not among the hardware searched: {', '.join(hardware)}"
            )
    return systems


def search_training(
    model: Any,
    hardware: list[str],
    gpus: list[int],
    global_batch: int,
    seq_len: int,
    tokens: float,
    goal: str = "time",
    price_per_hour: dict[str, float] | None = None,
    *,
    precision: str | None = None,
    optimizer: str = "adamw",
    dispatch: str = "eager",
    recomputes: tuple[str, ...] = RECOMPUTES,
    zeros: tuple[int, ...] = ZEROS,
    offloads: tuple[bool, ...] = (False, True),
    sequence_parallel: tuple[bool, ...] = (True, False),
    executor: Any = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    runtime: str | None = None,
) -> SearchResult:
    """Every layout of the space above on each system and device count, ranked by the
    time (or cost) of training on `tokens`. A cost goal needs a price for every system
    (--price NAME=USD or the profile's price_per_hour): without one it is a usage error.

    Each (system, device count) is one task of array arithmetic over all its layouts:
    `executor` (costmodel.parallel: a process pool or Dask) runs the tasks elsewhere, None
    here; `on_progress(done, total, what)` is called as each task completes.

    `runtime` (passes/runtimes.py) is whose kernels each layer is priced as; `precision`
    defaults to bf16-autocast under runtime "pytorch" (PyTorch AMP), bf16-mixed otherwise."""
    if goal not in ("time", "cost"):
        raise PlanError(f"--goal must be time or cost, got {goal!r}")
    runtime = get_runtime(runtime).name
    if precision is None:
        precision = "bf16-autocast" if runtime == "pytorch" else "bf16-mixed"
    spec = _spec(model)
    systems = search_systems(hardware, price_per_hour)
    prices: dict[str, float | None] = {}
    for h, s in zip(hardware, systems):
        prices[h] = (price_per_hour or {}).get(h.lower()) or s.device.price_per_hour
    if goal == "cost":
        missing = [h for h, p in prices.items() if not p]
        if missing:
            raise PlanError(
                f"--goal cost needs a price per device-hour for {', '.join(missing)}: give --price NAME=USD"
            )
    steps = math.ceil(tokens / (global_batch * seq_len))
    feasible: list[tuple[float, tuple[Any, ...], TrainCandidate]] = []
    rejected: dict[str, int] = {}
    examples: list[TrainCandidate] = []
    evaluated = 0
    tasks = [
        (
            spec,
            system,
            hw,
            g,
            global_batch,
            seq_len,
            steps,
            prices[hw],
            goal,
            precision,
            optimizer,
            dispatch,
            recomputes,
            zeros,
            offloads,
            sequence_parallel,
            runtime,
        )
        for hw, system in zip(hardware, systems)
        for g in gpus
    ]
    for n, f, rej, ex in _map_tasks(tasks, executor, on_progress):
        evaluated += n
        feasible += f
        for k, c in rej.items():
            rejected[k] = rejected.get(k, 0) + c
        examples += ex[: max(0, 20 - len(examples))]
    feasible.sort(key=lambda t: (t[0], t[1]))
    return SearchResult([c for _, _, c in feasible], evaluated, rejected, examples)


_Found = tuple[int, list[tuple[float, tuple[Any, ...], "TrainCandidate"]], dict[str, int], list["TrainCandidate"]]


def _run_task(task: tuple[Any, ...]) -> _Found:
    """One (system, device count) task (module-level and picklable: it may run on a worker)."""
    return _search_one(*task)


def _map_tasks(
    tasks: list[tuple[Any, ...]], executor: Any, on_progress: Callable[[int, int, str], None] | None
) -> list[_Found]:
    total = len(tasks)
    if executor is None:
        out = []
        for i, t in enumerate(tasks):
            out.append(_run_task(t))
            if on_progress is not None:
                on_progress(i + 1, total, "ok")
        return out
    from ..parallel import map_ordered

    done = 0

    def step(_i: int, _r: _Found) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total, "ok")

    with executor:
        return list(map_ordered(_run_task, tasks, executor, on_done=step))


def _search_one(
    spec: ModelSpec,
    system: System,
    hw_name: str,
    g: int,
    global_batch: int,
    seq_len: int,
    steps: int,
    price: float | None,
    goal: str,
    precision: str,
    optimizer: str,
    dispatch: str,
    recomputes: tuple[str, ...],
    zeros: tuple[int, ...],
    offloads: tuple[bool, ...],
    sps: tuple[bool, ...],
    runtime: str = "none",
) -> tuple[int, list[tuple[float, tuple[Any, ...], TrainCandidate]], dict[str, int], list[TrainCandidate]]:
    eager = dispatch == "eager"
    structs = _structures(spec, system, g, global_batch, seq_len)
    # one recipe per recompute choice (the rest of the recipe is shared)
    recipes = {
        rc: make_recipe(global_batch, seq_len, precision=precision, optimizer=optimizer, recompute=rc, runtime=runtime)
        for rc in recomputes
    }
    base = recipes[recomputes[0]]
    rf = recipe_facts(base)
    mf = model_facts(spec)
    capacity = float(system.device.memory_capacity)
    evaluated = 0
    out: list[tuple[float, tuple[Any, ...], TrainCandidate]] = []
    rejected: dict[str, int] = {}
    examples: list[TrainCandidate] = []
    by_pp: dict[int, list[dict[str, int]]] = {}
    for s in structs:
        by_pp.setdefault(s["pp"], []).append(s)
    for pp, group in sorted(by_pp.items()):
        blocks: list[np.ndarray] = []
        rows: list[dict[str, Any]] = []
        for s in group:
            for sp in sps if s["tp"] > 1 else (False,):
                lay = ParallelLayout(
                    tp=s["tp"],
                    pp=pp,
                    dp=s["dp"],
                    ep=s["ep"],
                    cp=s["cp"],
                    sp=sp,
                    interleave=s["v"],
                    micro_batch=s["mb"],
                    schedule=Schedule.INTERLEAVED if s["v"] > 1 else Schedule.ONE_F_ONE_B,
                )
                try:
                    blk = stage_block(spec, system, lay, base, eager)
                except CostModelError as e:
                    rejected[str(e)[:80]] = rejected.get(str(e)[:80], 0) + 1
                    continue
                bi = len(blocks)
                blocks.append(blk)
                for z in zeros:
                    if z and s["dp"] * s["cp"] == 1:
                        continue  # nothing to shard over
                    for rc in recomputes:
                        rows.append({**s, "sp": sp, "zero": z, "offload": False, "rc": rc, "block": bi})
        if not rows:
            continue
        cols = _columns(rows, np.stack(blocks), rf, mf, capacity, global_batch)
        w, gr, o, a = memory(cols)
        total = w + gr + o + a
        fits = total <= capacity
        if True in offloads:
            # offload is a memory tool: tried only where the layout does not fit without it
            # (the host-side optimizer time is not modelled, so it would otherwise look free)
            extra = [dict(rows[i], offload=True) for i in np.flatnonzero(~fits)]
            if extra:
                rows = rows + extra
                cols = _columns(rows, np.stack(blocks), rf, mf, capacity, global_batch)
                w, gr, o, a = memory(cols)
                total = w + gr + o + a
                fits = total <= capacity
        evaluated += len(rows)
        for i in np.flatnonzero(~fits)[:5]:
            if len(examples) < 20:
                examples.append(_rejected(rows[i], hw_name, g, total[i], capacity))
        nbad = int((~fits).sum())
        if nbad:
            key = "memory: needs more than the device holds"
            rejected[key] = rejected.get(key, 0) + nbad
        keep = np.flatnonzero(fits)
        if not len(keep):
            continue
        sub = _take(cols, keep)
        res = evaluate(sub, system)
        for j, i in enumerate(keep):
            r = rows[i]
            step = float(res.step_s[j])
            label = _label(r, hw_name, g)
            rec = recipes[r["rc"]]
            f_fwd, f_bwd, _ = model_flops(spec, r["mb"], rec)
            m = global_batch // (r["mb"] * r["dp"])
            mflops = (f_fwd + f_bwd) * m * r["dp"]
            peak = system.device.matrix_peak(rec.facts.compute_dtype) * g
            time_s = steps * step
            cost = time_s * g / 3600 * price if price else None
            summary = {
                "step_s": step,
                "mfu": mflops / (step * peak),
                "days": time_s / 86400,
                "tokens_per_s": global_batch * seq_len / step,
                "memory_gib": float(total[i]) / 2**30,
                "cost_usd": cost,
            }
            score = cost if goal == "cost" and cost is not None else time_s
            out.append((score, _tiebreak(label), TrainCandidate(label, True, score, "", summary)))
    return evaluated, out, rejected, examples


def _columns(
    rows: list[dict[str, Any]], blocks: np.ndarray, rf: dict[str, float], mf: dict[str, float], capacity: float, gb: int
) -> Any:
    def arr(key: str) -> np.ndarray:
        return np.array([r[key] for r in rows], dtype=float)

    idx = np.array([r["block"] for r in rows], dtype=int)
    stages = blocks[idx]
    dp, mb = arr("dp"), arr("mb")
    values: dict[str, Any] = {**mf, **rf}
    values.update(
        m=np.floor(gb / (mb * dp)),
        pp=arr("pp"),
        v=arr("v"),
        dp=dp,
        tp=arr("tp"),
        cp=arr("cp"),
        ep=arr("ep"),
        sp=arr("sp"),
        mb=mb,
        zero=arr("zero"),
        shard=dp * arr("cp"),
        recompute=np.array([RECOMPUTE_CODES[r["rc"]] for r in rows], dtype=float),
        schedule=np.where(arr("v") > 1, SCHEDULE_CODES["interleaved"], SCHEDULE_CODES["1f1b"]).astype(float),
        offload=arr("offload"),
        capacity=capacity,
    )
    return make_columns(stages.reshape(len(rows), -1, K), values, len(rows))


def _take(cols: Any, keep: np.ndarray) -> Any:
    from dataclasses import fields, replace

    return replace(cols, **{f.name: getattr(cols, f.name)[keep] for f in fields(cols)})


def _label(r: dict[str, Any], hw: str, g: int) -> dict[str, Any]:
    return {
        "hardware": hw,
        "gpus": g,
        "tp": r["tp"],
        "pp": r["pp"],
        "dp": r["dp"],
        "cp": r["cp"],
        "ep": r["ep"],
        "interleave": r["v"],
        "micro_batch": r["mb"],
        "sequence_parallel": bool(r["sp"]),
        "recompute": r["rc"],
        "zero": r["zero"],
        "offload": bool(r["offload"]),
    }


def _tiebreak(label: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(v) if isinstance(v, str) else v for v in label.values())


def _rejected(r: dict[str, Any], hw: str, g: int, need: float, cap: float) -> TrainCandidate:
    reason = f"memory: {need / 2**30:.1f} GiB > {cap / 2**30:.1f} GiB"
    return TrainCandidate(_label(r, hw, g), False, math.inf, reason, {"memory_gib": need / 2**30})


def recipe_for(
    label: dict[str, Any], global_batch: int, seq_len: int, **kw: Any
) -> tuple[ParallelLayout, TrainingRecipe]:
    """The layout and recipe a candidate label stands for (what estimate_training takes)."""
    lay = ParallelLayout(
        tp=label["tp"],
        pp=label["pp"],
        dp=label["dp"],
        ep=label["ep"],
        cp=label["cp"],
        sp=label["sequence_parallel"],
        interleave=label["interleave"],
        zero=label["zero"],
        micro_batch=label["micro_batch"],
        schedule=Schedule.INTERLEAVED if label["interleave"] > 1 else Schedule.ONE_F_ONE_B,
    )
    rec = make_recipe(global_batch, seq_len, recompute=label["recompute"], offload=label["offload"], **kw)
    return lay, rec


__all__ = ["Recompute", "SearchResult", "TrainCandidate", "recipe_for", "search_training"]
