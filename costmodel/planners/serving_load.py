"""Continuous batching at a request rate: mean and percentile TTFT / TPOT of replicas
serving Poisson arrivals, for `llm --rate` and `plan serve` alike.

The engine (Orca / vLLM iteration-level scheduling with chunked prefill, Sarathi-Serve:
Agrawal et al. 2024): every step runs all B decoding sequences one token each, and fills
the rest of a token budget C with prompt tokens, first come first served; a step of B
decodes and p prompt tokens costs decode(B) + fwd(B + p) - fwd(B) (serving_table.py).
A request is admitted while fewer than `cap` sequences hold KV cache (cap from memory at
the load's mean context: the reservation TensorRT-LLM's default GUARANTEED_NO_EVICT
scheduler makes).

The model is analytic (queueing approximations), not a simulation, because plan serve
evaluates thousands of configurations as arrays; serving_sim.py simulates the same engine
step by step, and tests/test_serving_load.py holds these formulas to it (docs/serving.md
lists the agreement measured). Assumptions:
- Decoding batch by Little's law, B = λ (E[N] - 1) T, solved as a fixed point with
  T = decode(B + 1) / (1 - λ E[P] c): a decoding request runs beside Poisson(B) others
  (M/G/inf occupancy seen on arrival), c is the marginal cost of a prompt token.
- Prefill is an M/G/1 queue of prompts. A prompt that finds it idle runs its own steps
  unpacked (own); one that queues is packed into full chunks (fluid: P t_full / (C - B),
  t_full the step full of prompt tokens); the service mixes the two by the probability of
  queueing. The mean wait is Pollaczek-Khinchine's; decode-only steps are the server's
  vacations (Fuhrmann-Cooper: add half a decode step). Waiting for a KV slot is Erlang C
  (M/M/cap). Stable only while the prompt tokens' fluid load, the decoding batch and
  the sequences holding KV stay below what one replica has.
- The wait's distribution: an atom at zero and an exponential tail with the same mean
  (exact for M/M/1, the usual heavy-traffic form for M/G/1); TTFT = wait + residual
  step + the request's own chunks.
- TPOT of a request = decode(batch it runs in) + c (prompt tokens arriving over its N - 1
  steps) / (N - 1): compound-Poisson prompt tokens and Poisson batch-mates, its quantile
  by Cornish-Fisher (mean, variance, skew).
Percentiles are over requests, as vLLM's benchmark_serving reports them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PlanError
from .queueing import erlang_c_wait, tpot_quantile, ttft_quantile
from .serving_lengths import Lengths
from .serving_table import StepTable

FIXED_POINT_ITERATIONS = 60


@dataclass(frozen=True)
class Load:
    rate: float  # requests per second offered to the whole service
    prompt: Lengths
    output: Lengths
    percentile: float = 0.99  # the SLO percentile (MLPerf Inference's LLM server scenario: p99)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise PlanError("--rate must be a positive number of requests per second")
        if not 0.5 <= self.percentile < 1:
            raise PlanError("--percentile must be in [50, 100)")


QUANTILES = (0.5, 0.9, 0.99)


def evaluate(
    table: StepTable, load: Load, caps: np.ndarray, replicas: np.ndarray, detail: bool = True
) -> dict[str, np.ndarray]:
    """The load model for every (cap, replicas) pair given as equal-length arrays: keys
    stable, reason (0 ok, 1 prefill compute, 2 prefill budget, 3 memory), batch, tpot_s,
    ttft_s (means), ttft_p / tpot_p (at load.percentile), ttft_q / tpot_q (rows for
    QUANTILES; empty without `detail`), prefill_share, slots_used."""
    with np.errstate(all="ignore"):  # unstable configurations carry inf / NaN on purpose
        return _evaluate(table, load, caps, replicas, detail)


def _evaluate(
    table: StepTable, load: Load, caps: np.ndarray, replicas: np.ndarray, detail: bool
) -> dict[str, np.ndarray]:
    lam = load.rate / np.asarray(replicas, dtype=float)
    cap = np.minimum(np.asarray(caps, dtype=float), table.max_batch)
    P, N = load.prompt, load.output
    ep, ep2, ep3 = P.moment(1), P.moment(2), P.moment(3)
    en1 = N.mean - 1.0
    dec_steps = N.moment(2) - N.mean  # E[N (N - 1)]
    ctx = ep + (dec_steps / (2 * en1) if en1 > 0 else 0.0)
    budget = float(table.budget)
    x_typ = min(ep, budget)

    def seen(batch: np.ndarray) -> np.ndarray:
        # the batch a decoding request runs in: itself and the others, Poisson around the
        # mean (M/G/inf occupancy, PASTA): one more than the time-average
        return np.clip(batch + 1.0, 1.0, np.maximum(cap, 1.0))

    def marginal(batch: np.ndarray) -> np.ndarray:
        slope: np.ndarray = (table.forward_s(batch + x_typ) - table.forward_s(batch)) / x_typ
        return slope

    # each configuration iterates on its own until it converges (and then stays put), so
    # a configuration's answer does not depend on the others evaluated with it
    b = lam * en1 * table.decode_s(np.ones_like(lam), ctx)
    t = np.zeros_like(b)
    done = np.zeros(b.shape, dtype=bool)
    for _ in range(FIXED_POINT_ITERATIONS):
        bs = seen(b)
        share = lam * ep * marginal(bs)
        t_new = np.where(share < 1, table.decode_s(bs, ctx) / np.maximum(1 - share, 1e-12), np.inf)
        b_new = np.where(np.isfinite(t_new), lam * en1 * t_new, cap + 1)
        t = np.where(done, t, t_new)
        settled = np.isclose(b_new, b, rtol=1e-9, atol=1e-9) | (b_new > cap)
        b = np.where(done, b, b_new)
        done |= settled
        if done.all():
            break
    bc = np.clip(b, 0.0, cap)
    bs = seen(bc)
    d = table.decode_s(bs, ctx)
    c = marginal(bs)
    room = budget - bc  # prompt tokens one step can take
    room1 = np.maximum(room, 1.0)
    t_full = table.mixed_s(bc, np.maximum(room, 0.0), ctx)
    rho = np.where(room > 0, lam * ep * t_full / room1, np.inf)

    # each prompt's own chunks: (k - 1) full steps and the remainder's step
    own = []
    for p in P.values:
        k = np.ceil(p / room1)
        own.append((k - 1) * t_full + table.mixed_s(bc, p - (k - 1) * room1, ctx))
    own_arr = np.stack(own)  # (prompt values, candidates)
    pw = np.asarray(P.weights)
    own_mean = (pw[:, None] * own_arr).sum(axis=0)
    slots = lam * (own_mean + en1 * t)  # sequences holding KV (Little)

    reason = np.zeros(lam.shape, dtype=int)
    reason[~np.isfinite(t)] = 1
    reason[(reason == 0) & ~(b < cap)] = 3  # the decoding batch alone outgrows the KV cache
    reason[(reason == 0) & ~(rho < 1)] = 2
    reason[(reason == 0) & ~(slots < cap)] = 3
    stable = reason == 0
    s = np.where(stable, 1.0, np.nan)  # NaN out every figure of an unstable case

    # prefill as an M/G/1 queue of prompts: a prompt that finds the queue empty runs
    # unpacked, its own steps (own); one that queues packs into full chunks (fluid:
    # P t_full / room). Busy with probability pi = lam E[S], S the mix of the two:
    # pi = lam E[own] / (1 + lam E[own] - lam E[fluid]).
    fluid = np.stack([p * t_full / room1 for p in P.values])
    lo = lam * own_mean
    pi = np.clip(lo / (1 + lo - lam * (pw[:, None] * fluid).sum(axis=0)), 0.0, 1.0)
    service = own_arr * (1 - pi) + fluid * pi
    w_pf = lam * (pw[:, None] * service**2).sum(axis=0) / (2 * np.maximum(1 - pi, 1e-12))
    p_slot, w_slot = erlang_c_wait(cap, slots, lam)
    p_wait = 1 - (1 - pi) * (1 - p_slot)
    m_wait = (w_pf + w_slot) * s
    # plus the decode-only step in progress (Fuhrmann-Cooper: the vacation's residual)
    ttft_mean = m_wait + d / 2 + own_mean
    qs = [*QUANTILES, load.percentile] if detail else [load.percentile]
    ttft_q = [ttft_quantile(q, p_wait, m_wait, ((np.ones_like(d), d),), own_arr, P.weights) for q in qs]

    slope = (table.decode_s(np.minimum(bs + 1, np.maximum(cap, 1.0)), ctx) - d) / np.maximum(
        np.minimum(bs + 1, np.maximum(cap, 1.0)) - bs, 1e-9
    )
    tpot_q = [tpot_quantile(q, t * s, c, lam, (ep, ep2, ep3), N, slope, bc) for q in qs]
    return {
        "stable": stable,
        "reason": reason,
        "batch": b * s,
        "tpot_s": t * s,
        "ttft_s": ttft_mean,
        "ttft_q": np.stack(ttft_q[:-1]) if detail else np.zeros((0, *lam.shape)),
        "tpot_q": np.stack(tpot_q[:-1]) if detail else np.zeros((0, *lam.shape)),
        "ttft_p": ttft_q[-1],
        "tpot_p": tpot_q[-1],
        "prefill_share": lam * ep * c,
        "prefill_load": rho,
        "slots_used": slots,
    }


REASONS = {
    1: "prefill alone needs more than the device time",
    2: "prompt tokens arrive faster than the token budget prefills them",
    3: "memory: more sequences in flight than the KV cache holds",
}


def at_rate(table: StepTable, load: Load, cap: int | None = None, replicas: int = 1) -> dict[str, Any]:
    """The load model for one configuration, JSON-ready (llm --rate)."""
    cap_v = table.max_batch if cap is None else min(cap, table.max_batch)
    r = evaluate(table, load, np.asarray([cap_v]), np.asarray([replicas]))
    one = {k: v[..., 0] for k, v in r.items()}
    lam = load.rate / replicas
    stable = bool(one["stable"])
    out: dict[str, Any] = {
        "stable": stable,
        "replicas": replicas,
        "rate_per_replica": lam,
        "batch": _f(one["batch"]),
        "max_batch": cap_v,
        "tpot_s": _f(one["tpot_s"]),
        "ttft_s": _f(one["ttft_s"]),
    }
    for i, q in enumerate(QUANTILES):
        out[f"ttft_p{round(q * 100)}_s"] = _f(one["ttft_q"][i])
    for i, q in enumerate(QUANTILES):
        out[f"tpot_p{round(q * 100)}_s"] = _f(one["tpot_q"][i])
    out["throughput_tokens_per_s"] = lam * load.output.mean if stable else None
    out["prefill_share"] = float(one["prefill_share"])
    out["slots_used"] = _f(one["slots_used"])
    out["reason"] = "" if stable else _reason(int(one["reason"]), one, lam, load, cap_v)
    return out


def _f(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def _reason(code: int, one: dict[str, Any], lam: float, load: Load, cap: int) -> str:
    if code == 1:
        return f"prefill alone needs {float(one['prefill_share']):.2f}x the device time"
    if code == 2:
        return f"prefill: prompt tokens arrive at {float(one['prefill_load']):.2f}x the rate chunked prefill takes them"
    need = float(one["slots_used"])
    what = f"{need:.0f}" if math.isfinite(need) and need > cap else f"more than {cap}"
    return f"memory: needs {what} sequences in flight, the KV cache holds {cap}"


def meets(r: dict[str, np.ndarray], ttft: float | None, tpot: float | None) -> np.ndarray:
    """Stable and within the SLOs at the load's percentile."""
    ok = r["stable"].copy()
    if ttft is not None:
        ok &= np.nan_to_num(r["ttft_p"], nan=np.inf) <= ttft
    if tpot is not None:
        ok &= np.nan_to_num(r["tpot_p"], nan=np.inf) <= tpot
    return ok


def replicas_needed(
    table: StepTable, load: Load, ttft: float | None, tpot: float | None, cap: int | None = None, most: int = 1024
) -> int | None:
    """The fewest replicas of this configuration that meet the SLOs (None: not within
    `most`, or never: a replica alone misses the SLO at any load)."""
    reps = np.arange(1, most + 1)
    cap_v = table.max_batch if cap is None else min(cap, table.max_batch)
    ok = meets(evaluate(table, load, np.full(reps.shape, cap_v), reps), ttft, tpot)
    return int(reps[ok][0]) if ok.any() else None
