"""Beyond one request: continuous batching at a load, reranker FLOPs per query
(E2R-FLOPs), speculative decoding, shared-prefix caching, and the cost of a
distribution of output lengths (HELM's idealized runtimes: helm.py). All are built on
the serving planner, on one ServingCase (model x execution x system)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import PlanError
from ..frontends.lower import Logits, Phase, Workload
from ..frontends.spec import ModelSpec
from .context_limit import check_context
from .llm import ServingCase
from .serving_lengths import Lengths
from .serving_load import REASONS, Load, at_rate, evaluate, meets, replicas_needed
from .serving_table import step_table
from .workload import request_flops, run_workload


def continuous_batching(
    case: ServingCase,
    rate: float,
    prompt_len: int,
    output_len: int,
    max_batch: int | None = None,
    *,
    prompt: Lengths | None = None,
    output: Lengths | None = None,
    replicas: int = 1,
    ttft: float | None = None,
    tpot: float | None = None,
    percentile: float = 0.99,
    simulate_requests: int = 0,
) -> dict[str, Any]:
    """Replicas of this case serving Poisson arrivals of `rate` requests/s with
    chunked-prefill continuous batching (serving_load.py): mean and percentile TTFT and
    TPOT, the decoding batch, whether the load is stable; with SLOs, whether they hold at
    `percentile` and the fewest replicas that meet them (the answer plan serve gives for
    this configuration); with simulate_requests, the step-by-step simulation of the same
    engine beside it (serving_sim.py)."""
    lp = prompt or Lengths.fixed(prompt_len)
    lo = output or Lengths.fixed(output_len)
    for p in lp.values:
        for n in lo.values:
            check_context(case.spec, p, n, allow=case.setup.allow_past_context)
    load = Load(rate, lp, lo, percentile)
    table = step_table(case, lp, lo)
    out = at_rate(table, load, max_batch, replicas)
    out["percentile"] = percentile
    if ttft is not None or tpot is not None:
        r = evaluate(table, load, np.asarray([out["max_batch"]]), np.asarray([replicas]))
        need = replicas_needed(table, load, ttft, tpot, out["max_batch"])
        out["meets_slo"] = bool(meets(r, ttft, tpot)[0])
        out["replicas_needed"] = need
        out["devices_needed"] = need * table.devices if need is not None else None
    if simulate_requests:
        from .serving_sim import simulate

        out["simulated"] = simulate(table, load, max_batch, replicas, requests=simulate_requests)
    return out


def capacity(
    case: ServingCase,
    prompt: Lengths,
    output: Lengths,
    max_batch: int | None = None,
    table: Any = None,
) -> dict[str, Any]:
    """The most one replica sustains: the highest request rate the load model of
    continuous_batching calls stable (the offline "maximum throughput" benchmarks
    measure this: every request queued at once, the engine always full), found by a
    geometric scan of rates and a second, finer one between the last stable rate and the
    first unstable. Returns the rate, the output and total token throughput, and what
    limits it there (prefill compute, the prefill token budget, or memory)."""
    tab = table if table is not None else step_table(case, prompt, output)
    cap = tab.max_batch if max_batch is None else min(max_batch, tab.max_batch)
    lo_rate, hi_rate = 1e-4, 1e6
    limit = ""
    for points in (241, 121):
        rates = np.geomspace(lo_rate, hi_rate, points)
        load = Load(1.0, prompt, output)
        r = evaluate(tab, load, np.full(points, cap), 1.0 / rates, detail=False)
        stable = r["stable"]
        if not stable[0]:
            return {"stable": False, "rate": 0.0, "output_tokens_per_s": 0.0, "limit": REASONS[int(r["reason"][0])]}
        k = int(np.flatnonzero(stable)[-1])
        if k == points - 1:
            break
        lo_rate, hi_rate = float(rates[k]), float(rates[k + 1])
        limit = REASONS[int(r["reason"][k + 1])]
    rate = lo_rate
    return {
        "stable": True,
        "rate": rate,
        "output_tokens_per_s": rate * output.mean,
        "total_tokens_per_s": rate * (output.mean + prompt.mean),
        "max_batch": cap,
        "limit": limit,
    }


def reranker_flops(
    spec: ModelSpec, query_len: int, doc_len: int, docs: int, metric: float | None = None, output_len: int = 1
) -> dict[str, Any]:
    """Pointwise reranking FLOPs per query as E2R-FLOPs defines them (Peng et al. 2025,
    arXiv 2507.06223): documents x one call over query + document that generates
    `output_len` tokens, counted exactly from the graph (planners/rerank.py, where the
    other strategies and E2R's closed form live). QPP = queries per PetaFLOP; RPP =
    metric per PetaFLOP."""
    from .workload import request_flops

    if metric is not None and (isinstance(metric, bool) or not 0 <= metric < math.inf):
        raise PlanError(f"metric must be a finite number >= 0, got {metric!r}")
    flops, macs = request_flops(spec, query_len + doc_len, output_len if spec.arch.generates else 0)
    per_query = flops * docs
    out = {
        "flops_per_query": per_query,
        "macs_per_query": macs * docs,
        "output_tokens_per_query": output_len * docs if spec.arch.generates else 0,
        "queries_per_petaflop": 1e15 / per_query,
    }
    if metric is not None:
        out["metric_per_petaflop"] = metric / (per_query / 1e15)
    return out


def speculative(
    target: ServingCase,
    draft: ServingCase,
    k: int,
    acceptance: float | Sequence[float],
    prompt_len: int,
    output_len: int,
) -> dict[str, Any]:
    """Speculative decoding with a draft model (Leviathan et al. 2023, eq. 1): the draft
    proposes k tokens, the target verifies k + 1 at once; with acceptance rate a the
    expected tokens per step are (1 - a^(k+1)) / (1 - a) (one rate per position is the
    chain case of speculative.expected_tokens). Step time = k draft decode steps + one
    target forward over k + 1 positions. A draft with another vocabulary is flagged."""
    from .speculative import expected_tokens, tokenizer_warning

    rates = [acceptance] * k if isinstance(acceptance, (int, float)) else list(acceptance)
    if len(rates) == 1:
        rates = rates * k
    if any(not 0 <= a < 1 for a in rates):
        raise PlanError("--acceptance must be in [0, 1)")
    if k < 1:
        raise PlanError("--spec-k must be >= 1")
    if len(rates) != k:
        raise PlanError(f"give one acceptance rate, or one per draft position ({k})")
    tgt = target.plan(prompt_len=prompt_len, output_len=output_len)
    dft = draft.plan(prompt_len=prompt_len, output_len=output_len)
    ctx = prompt_len + output_len // 2
    verify = run_workload(
        target.spec,
        Workload(Phase.DECODE, tgt.batch, k + 1, ctx - 1, Logits.ALL),
        target.system.device,
        dispatch="graph",
        runtime=target.setup.runtime,
    )
    tokens = expected_tokens(rates)
    step = k * dft.decode.latency_s + (verify.latency_s or 0.0)
    per_token = step / tokens
    out: dict[str, Any] = {
        "expected_tokens_per_step": tokens,
        "step_s": step,
        "per_token_s": per_token,
        "baseline_per_token_s": tgt.decode.latency_s,
        "speedup": tgt.decode.latency_s / per_token,
    }
    warning = tokenizer_warning(target.spec, draft.spec)
    if warning:
        out["warning"] = warning
    return out


def shared_prefix(
    case: ServingCase, context_len: int, question_len: int, calls: int, output_len: int
) -> dict[str, Any]:
    """Many calls over one context (RAG, agents): without caching every call prefills
    context + question; with a prefix cache the context is prefilled once and each call
    prefills only its question against the cached context; the calls batch together."""
    naive = case.plan(batch=calls, prompt_len=context_len + question_len, output_len=output_len)
    ctx = case.plan(batch=1, prompt_len=context_len, output_len=1)
    q = run_workload(
        case.spec,
        Workload(Phase.PREFILL, calls, question_len, context_len, Logits.LAST),
        case.system.device,
        dispatch="eager",
        runtime=case.setup.runtime,
    )
    cached_prefill = ctx.prefill.latency_s + (q.latency_s or 0.0)
    cached = cached_prefill + naive.decode.latency_s * (output_len - 1)
    return {
        "without_cache_s": naive.request_latency_s,
        "with_cache_s": cached,
        "prefill_without_s": naive.prefill.latency_s,
        "prefill_with_s": cached_prefill,
        "speedup": naive.request_latency_s / cached if cached else None,
    }


def output_length_distribution(
    case: ServingCase, prompt_len: int, lengths: Sequence[int], weights: Sequence[float] | None = None
) -> dict[str, Any]:
    """Expected cost of a query when the output length follows a distribution (reasoning
    models): FLOPs per query (from the graph, one sequence), request latency at the
    case's batch, and cost, each the weighted mean over the given lengths. A length past
    the model's context is refused unless the case allows it (context_limit)."""
    if not lengths:
        raise PlanError("give at least one output length")
    w = list(weights) if weights else [1.0] * len(lengths)
    if len(w) != len(lengths) or any(not math.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
        raise PlanError("weights must be non-negative, one per length")
    total = sum(w)
    plans = [case.plan(prompt_len=prompt_len, output_len=n) for n in lengths]
    flops = [request_flops(case.spec, prompt_len, n)[0] for n in lengths]
    exp_latency = sum(wi * p.request_latency_s for wi, p in zip(w, plans)) / total
    out: dict[str, Any] = {
        "expected_latency_s": exp_latency,
        "expected_output_tokens": sum(wi * n for wi, n in zip(w, lengths)) / total,
        "expected_flops": sum(wi * f for wi, f in zip(w, flops)) / total,
        "p_latency_s": {n: p.request_latency_s for n, p in zip(lengths, plans)},
        "p_flops": dict(zip(lengths, flops)),
        "weights": dict(zip(lengths, (wi / total for wi in w))),
    }
    price = plans[0].price_per_hour
    if price:
        out["expected_cost_usd"] = exp_latency * plans[0].devices * price / 3600 / plans[0].batch
    return out
