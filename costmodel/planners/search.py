"""Capacity planning: search executions under memory and goal constraints.

Training: training_search.py (re-exported here). Serving: hardware x tp x batch x
weight quantization under TTFT / TPOT SLOs at a request rate. Every candidate is kept:
feasible ones ranked by the goal, rejected ones with the reason."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import CostModelError
from ..frontends import load_model_spec
from ..frontends.spec import ModelSpec
from .layout import ParallelLayout, ServingSetup
from .llm import estimate_serving
from .training_search import search_systems, search_training

__all__ = ["Candidate", "search_serving", "search_training"]


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
    systems = search_systems(hardware, price_per_hour)
    out: list[Candidate] = []
    for hw, system in zip(hardware, systems):
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
                    price = (price_per_hour or {}).get(hw.lower()) or p.price_per_hour
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
