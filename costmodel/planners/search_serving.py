"""plan serve: the cheapest replicas x layout x batch cap x weight quantization that serve a
request rate within TTFT / TPOT SLOs at a percentile.

Every configuration is judged by the continuous-batching load model that `llm --rate`
uses (serving_load.py), so the two agree: plan serve's answer for a layout is the fewest
replicas `llm --rate ... --ttft --tpot` reports for it. The engine's step times are
sampled once per (device, layout, weight dtype) into a StepTable; the batch caps and
replica counts of that replica type are then evaluated as one array (issue 17's "planner
search at array speed"). With exhaustive=True every configuration is evaluated on its own
— a fresh table and one load-model call per (cap, replicas) — the reference the array path
is tested against."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import CostModelError, PlanError
from ..frontends import load_model_spec
from ..frontends.spec import ModelSpec
from ..hardware.systems import System
from ..ir.dtypes import dtype as to_dtype
from ..passes.runtimes import get_runtime
from .layout import ParallelLayout, ServingSetup, implied_recipe
from .context_limit import check_context
from .llm import ServingCase
from .serving_lengths import Lengths
from .serving_load import REASONS, Load, evaluate, meets
from .serving_table import StepTable, step_table
from .training_search import search_systems

GOALS = ("devices", "cost")
DEFAULT_CAPS = (16, 32, 64, 128, 256, 512, 0)  # 0: as many as memory holds
DEFAULT_WEIGHTS = (None, "fp8", "int4")


@dataclass(frozen=True)
class ServeCandidate:
    """One replica type with one batch cap, at the fewest replicas meeting the SLOs."""

    label: dict[str, Any]  # hardware, tp, dp, ep, weights, batch_cap
    ok: bool
    score: float  # the goal (devices or USD / hour); inf when rejected
    reason: str
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.label,
            "ok": self.ok,
            "score": None if math.isinf(self.score) else self.score,
            "reason": self.reason,
            **self.summary,
        }


@dataclass(frozen=True)
class ServeSearch:
    candidates: tuple[ServeCandidate, ...]  # feasible first, best first
    evaluated: int  # configurations (replica type x cap x replicas) the load model judged
    seconds: float


def _layouts(spec: ModelSpec, system: System, tps: tuple[int, ...], max_devices: int) -> list[ParallelLayout]:
    """Tensor-parallel replicas within a node; for a MoE model also data-parallel
    attention with the experts split over every device (ep = dp), up to max_devices."""
    out = [ParallelLayout(tp=tp) for tp in tps if tp <= system.devices_per_node]
    m = spec.moe
    if m is not None:
        n = 2
        while n <= max_devices and n <= m.num_experts:
            if m.num_experts % n == 0:
                out.append(ParallelLayout(dp=n, ep=n))
            n *= 2
    return out


def _price(prices: dict[str, float] | None, name: str, system: System) -> float | None:
    p = (prices or {}).get(name.strip().lower())
    return p if p is not None else system.device.price_per_hour


def search_serving(
    model: Any,
    hardware: list[str],
    prompt: Lengths | int,
    output: Lengths | int,
    rate: float,
    ttft_slo: float | None,
    tpot_slo: float | None,
    price_per_hour: dict[str, float] | None = None,
    *,
    goal: str = "devices",
    percentile: float = 0.99,
    tps: tuple[int, ...] = (1, 2, 4, 8),
    weight_dtypes: tuple[str | None, ...] = DEFAULT_WEIGHTS,
    caps: tuple[int, ...] = DEFAULT_CAPS,
    max_devices: int = 512,
    allow_past_context: bool = False,
    exhaustive: bool = False,
    runtime: str | None = None,
) -> ServeSearch:
    """`runtime` (passes/runtimes.py): whose kernels each step is priced as."""
    start = time.perf_counter()
    rt = get_runtime(runtime).name
    spec = load_model_spec(model)
    if spec is None:
        raise PlanError(f"{model!r} is not a model spec, config.json or built-in model name")
    if goal not in GOALS:
        raise PlanError(f"--goal must be one of {', '.join(GOALS)}, got {goal!r}")
    lp = prompt if isinstance(prompt, Lengths) else Lengths.fixed(prompt)
    lo = output if isinstance(output, Lengths) else Lengths.fixed(output)
    # the limit is on prompt + output: the longest pair is the one to check (the
    # distributions may list 100,000 lengths each)
    check_context(spec, max(lp.values), max(lo.values), allow=allow_past_context)
    load = Load(rate, lp, lo, percentile)
    for wd in weight_dtypes:
        if wd is not None:
            to_dtype(wd)  # an unknown dtype is a usage error, not a rejected configuration
    # unknown hardware, a bad price or one for hardware not searched: exit 2 here
    systems = list(zip(hardware, search_systems(hardware, price_per_hour)))
    # A configuration meeting the TPOT SLO keeps at most rate x (E[N] - 1) x tpot_slo
    # sequences decoding (Little's law; twice that bounds its mean TPOT for any SLO
    # percentile >= 50): step tables need no larger batches.
    batch_top = 2 * rate * (lo.mean - 1) * tpot_slo + 2 if tpot_slo is not None else None
    if goal == "cost":
        missing = [hw for hw, sys_ in systems if _price(price_per_hour, hw, sys_) is None]
        if missing:
            raise PlanError(
                f"--goal cost needs a price for {', '.join(missing)}: give --price NAME=USD_PER_HOUR", where="--goal"
            )
    out: list[ServeCandidate] = []
    evaluated = 0
    for hw, system in systems:
        price = _price(price_per_hour, hw, system)
        for layout in _layouts(spec, system, tps, max_devices):
            for wd in weight_dtypes:
                label = {
                    "hardware": hw,
                    "tp": layout.tp,
                    "dp": layout.dp,
                    "ep": layout.ep,
                    "weights": wd or "bf16",
                }
                setup = _setup(wd, system, allow_past_context, rt)
                case = ServingCase(spec=spec, system=system, layout=layout, setup=setup, price_per_hour=price)
                try:
                    table = step_table(case, lp, lo, batch_top)
                except CostModelError as e:
                    out.append(ServeCandidate({**label, "batch_cap": None}, False, math.inf, str(e)))
                    continue
                if table.fits():
                    out.append(ServeCandidate({**label, "batch_cap": None}, False, math.inf, table.fits()))
                    continue
                most = max(max_devices // table.devices, 1)
                cap_list = sorted({min(c, table.max_batch) if c else table.max_batch for c in caps})
                if exhaustive:
                    found = [_one_by_one(case, lp, lo, batch_top, load, c, most, ttft_slo, tpot_slo) for c in cap_list]
                else:
                    found = _judge(table, load, cap_list, most, ttft_slo, tpot_slo)
                evaluated += len(cap_list) * most
                for cap, (reps, row, why) in zip(cap_list, found):
                    out.append(_candidate({**label, "batch_cap": cap}, table, load, reps, row, why, goal, price))
    return ServeSearch(_best_per_replica_type(out), evaluated, time.perf_counter() - start)


def _setup(wd: str | None, system: System, allow_past_context: bool, runtime: str) -> ServingSetup:
    """Weights in `wd`: an fp8 / fp4 checkpoint on a device with tensor cores for that
    dtype runs its recipe (quantized GEMM inputs, 16-bit head and residual stream), as
    vLLM does on compute capability >= 8.9 ("FP8 computation is supported on NVIDIA GPUs
    with compute capability > 8.9"); elsewhere it is weight-only (vLLM: "W8A16, utilizing
    FP8 Marlin" on Ampere), the 16-bit GEMMs reading quantized weights."""
    recipe = implied_recipe(wd) if wd else None
    if recipe is not None and system.device.matrix_flops.get(recipe):  # recipe names are peak keys
        return ServingSetup(precision=recipe, allow_past_context=allow_past_context, runtime=runtime)
    return ServingSetup(weight_dtype=wd, allow_past_context=allow_past_context, runtime=runtime)


def _rank_key(c: ServeCandidate) -> tuple[Any, ...]:
    return (not c.ok, c.score, c.summary.get("usd_per_hour") or 0.0, c.summary.get("ttft_p_s") or 0.0)


def _best_per_replica_type(cands: list[ServeCandidate]) -> tuple[ServeCandidate, ...]:
    """One row per replica type (hardware, layout, weights): its best batch cap (a cap
    above what the load keeps in flight changes nothing), ranked by the goal."""
    best: dict[tuple[Any, ...], ServeCandidate] = {}
    for c in cands:
        key = (c.label["hardware"], c.label["tp"], c.label["dp"], c.label["ep"], c.label["weights"])
        cur = best.get(key)
        if cur is None or _rank_key(c) < _rank_key(cur):
            best[key] = c
    return tuple(sorted(best.values(), key=_rank_key))


Row = dict[str, float]


def _pick(r: dict[str, np.ndarray], i: int) -> Row:
    return {
        "batch": float(r["batch"][i]),
        "ttft_s": float(r["ttft_s"][i]),
        "tpot_s": float(r["tpot_s"][i]),
        "ttft_p_s": float(r["ttft_p"][i]),
        "tpot_p_s": float(r["tpot_p"][i]),
    }


def _judge(
    table: StepTable, load: Load, cap_list: list[int], most: int, ttft: float | None, tpot: float | None
) -> list[tuple[int | None, Row, str]]:
    """For each cap, the fewest replicas (1..most) meeting the SLOs: all evaluated at once."""
    reps = np.tile(np.arange(1, most + 1), len(cap_list))
    capv = np.repeat(np.asarray(cap_list), most)
    r = evaluate(table, load, capv, reps, detail=False)
    ok = meets(r, ttft, tpot).reshape(len(cap_list), most)
    found: list[tuple[int | None, Row, str]] = []
    for k in range(len(cap_list)):
        hit = np.flatnonzero(ok[k])
        if hit.size:
            i = k * most + int(hit[0])
            found.append((int(hit[0]) + 1, _pick(r, i), ""))
        else:
            i = k * most + most - 1  # the lightest load tried, for the reason
            found.append((None, _pick(r, i), _why(r, i, ttft, tpot, most)))
    return found


def _one_by_one(
    case: ServingCase,
    lp: Lengths,
    lo: Lengths,
    batch_top: float | None,
    load: Load,
    cap: int,
    most: int,
    ttft: float | None,
    tpot: float | None,
) -> tuple[int | None, Row, str]:
    """The exhaustive reference: a fresh table, one configuration per load-model call."""
    table = step_table(case, lp, lo, batch_top)
    r: dict[str, np.ndarray] = {}
    for n in range(1, most + 1):
        r = evaluate(table, load, np.asarray([cap]), np.asarray([n]), detail=False)
        if meets(r, ttft, tpot)[0]:
            return n, _pick(r, 0), ""
    return None, _pick(r, 0), _why(r, 0, ttft, tpot, most)


def _why(r: dict[str, np.ndarray], i: int, ttft: float | None, tpot: float | None, most: int) -> str:
    where = f"at {most} replica{'s' if most > 1 else ''}"
    if not r["stable"][i]:
        return f"{REASONS[int(r['reason'][i])]} {where}"
    if ttft is not None and not r["ttft_p"][i] <= ttft:
        return f"TTFT {r['ttft_p'][i] * 1e3:.0f} ms > {ttft * 1e3:.0f} ms {where}"
    return f"TPOT {r['tpot_p'][i] * 1e3:.1f} ms > {(tpot or 0) * 1e3:.1f} ms {where}"


def _candidate(
    label: dict[str, Any],
    table: StepTable,
    load: Load,
    reps: int | None,
    row: Row,
    why: str,
    goal: str,
    price: float | None,
) -> ServeCandidate:
    if reps is None:
        return ServeCandidate(label, False, math.inf, why, {k: _finite(v) for k, v in row.items()})
    devices = reps * table.devices
    usd = devices * price if price is not None else None
    summary = {
        "replicas": reps,
        "devices": devices,
        **{k: _finite(v) for k, v in row.items()},
        "max_batch": table.max_batch,
        "tokens_per_s_per_device": load.rate * load.output.mean / devices,
        "usd_per_hour": usd,
    }
    score = float(devices) if goal == "devices" else float(usd if usd is not None else math.inf)
    return ServeCandidate(label, True, score, "", summary)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None
