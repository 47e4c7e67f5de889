"""Capacity planning: search executions under memory and goal constraints.

Training: hardware x (tp, pp, dp) x micro-batch x recompute (x ZeRO) for the time or the
cost of training on N tokens with a fixed global batch. Serving: hardware x tp x batch x
weight quantization under TTFT / TPOT SLOs at a request rate. Every candidate is kept:
feasible ones ranked by the goal, rejected ones with the reason."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import CostModelError


@dataclass(frozen=True)
class Candidate:
    label: dict
    ok: bool
    score: float  # the goal (seconds or USD); inf when rejected
    reason: str
    summary: dict

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.label,
            "ok": self.ok,
            "score": None if math.isinf(self.score) else self.score,
            "reason": self.reason,
            **self.summary,
        }


def _check(hardware: list[str], prices: dict[str, float] | None, resolve: Any) -> None:
    """Fail before searching on what no candidate could fix: an unknown hardware name (else
    every candidate is rejected with the same error and the search "succeeds" with none)
    or a price that is not a positive finite number (a negative one would rank first)."""
    if not hardware:
        raise CostModelError("no hardware to search over")
    for hw in hardware:
        resolve(hw)
    for name, price in (prices or {}).items():
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not 0 < price < math.inf:
            raise CostModelError(f"price for {name!r} must be a positive finite USD per device-hour, got {price!r}")
        if name not in hardware:
            raise CostModelError(
                f"price given for {name!r}, which is not among the hardware searched: {', '.join(hardware)}"
            )


def _divisors(n: int, cap: int) -> list[int]:
    return [d for d in (1, 2, 4, 8, 16, 32, 64) if d <= cap and n % d == 0]


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
    from ..frontends import load_model_spec
    from .training import plan_training

    from ..hardware.systems import get_system

    spec = load_model_spec(model)
    if spec is None:
        raise CostModelError(f"{model!r} is not a model spec, config.json or built-in model name")
    _check(hardware, price_per_hour, get_system)
    out: list[Candidate] = []
    for hw in hardware:
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
                                out.append(
                                    _eval_train(
                                        plan_training, model, label, global_batch, seq_len, tokens, goal, price_per_hour
                                    )
                                )
    return _rank(out)


def _eval_train(plan_training, model, label, global_batch, seq_len, tokens, goal, prices) -> Candidate:
    try:
        p = plan_training(
            model,
            label["hardware"],
            label["gpus"],
            global_batch,
            seq_len,
            micro_batch=label["micro_batch"],
            tp=label["tp"],
            pp=label["pp"],
            dp=label["dp"],
            sequence_parallel=label["tp"] > 1,
            recompute=label["recompute"],
            zero=label["zero"],
            tokens=int(tokens),
        )
    except CostModelError as e:
        return Candidate(label, False, math.inf, str(e), {})
    d = p.to_dict()
    secs = d["training"]["time_s"]
    price = (prices or {}).get(label["hardware"]) or p.price_per_hour
    cost = secs * label["gpus"] / 3600 * price if price else None
    summary = {
        "step_s": p.step_latency_s,
        "mfu": p.mfu,
        "days": secs / 86400,
        "memory_gib": p.memory["total_bytes"] / 2**30,
        "cost_usd": cost,
    }
    if not d["fits"]:
        return Candidate(
            label,
            False,
            math.inf,
            f"memory: {p.memory['total_bytes'] / 2**30:.1f} GiB > {p.memory['capacity_bytes'] / 2**30:.1f} GiB",
            summary,
        )
    if goal == "cost":
        if cost is None:
            return Candidate(label, False, math.inf, "no price for this hardware (give --price-per-hour)", summary)
        return Candidate(label, True, cost, "", summary)
    return Candidate(label, True, secs, "", summary)


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
    from ..frontends import load_model_spec
    from ..hardware import get_profile
    from .llm import plan_llm

    if load_model_spec(model) is None:
        raise CostModelError(f"{model!r} is not a model spec, config.json or built-in model name")
    _check(hardware, price_per_hour, get_profile)
    out: list[Candidate] = []
    for hw in hardware:
        for tp in tps:
            for wd in weight_dtypes:
                for b in batches:
                    label = {"hardware": hw, "tp": tp, "batch": b, "weights": wd or "bf16"}
                    try:
                        p = plan_llm(
                            model, hw, batch=b, prompt_len=prompt_len, output_len=output_len, tp=tp, weight_dtype=wd
                        )
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
                        out.append(
                            Candidate(
                                label,
                                False,
                                math.inf,
                                f"TTFT {p.prefill.latency_s * 1e3:.0f} ms > {ttft_slo * 1e3:.0f} ms",
                                summary,
                            )
                        )
                        continue
                    if p.decode.latency_s > tpot_slo:
                        out.append(
                            Candidate(
                                label,
                                False,
                                math.inf,
                                f"TPOT {p.decode.latency_s * 1e3:.1f} ms > {tpot_slo * 1e3:.1f} ms",
                                summary,
                            )
                        )
                        break  # TPOT only grows with the batch
                    score = devices * price if price else float(devices)
                    out.append(Candidate(label, True, score, "", summary))
    return _rank(out)


def _rank(cands: list[Candidate]) -> list[Candidate]:
    return sorted(cands, key=lambda c: (not c.ok, c.score))
