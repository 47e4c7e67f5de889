"""Beyond one request: continuous batching at a load, HELM idealized runtime, reranker
FLOPs per query (E2R-FLOPs), speculative decoding, shared-prefix caching, and the cost
of a distribution of output lengths. All are built on `plan_llm`."""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Sequence

from ..errors import PlanError
from .llm import plan_llm


def continuous_batching(
    model: Any, hardware: Any, rate: float, prompt_len: int, output_len: int, max_batch: int | None = None, **kw: Any
) -> dict[str, Any]:
    """Steady state of an engine that admits requests every iteration (Orca / vLLM):
    with R requests/s each generating N tokens, Little's law puts B = R N T requests in
    flight for an iteration time T, and each iteration also prefills the R T P prompt
    tokens that arrived meanwhile (chunked prefill piggybacks on decode). Solve the fixed
    point T = t_decode(B) + R T P c_prefill, where c_prefill is the prefill cost per token.
    TTFT ~ the prefill of one prompt plus half an iteration of waiting."""
    if rate <= 0:
        raise PlanError("--rate must be positive")
    one = plan_llm(model, hardware, batch=1, prompt_len=prompt_len, output_len=2, **kw)
    c_pf = one.prefill.latency_s / prompt_len
    cap = max_batch or max(one.max_batch, 1)
    t = one.decode.latency_s
    b = 1
    for _ in range(50):
        b = max(1, min(cap, math.ceil(rate * output_len * t)))
        ctx = prompt_len + output_len // 2
        dec = plan_llm(model, hardware, batch=b, prompt_len=ctx, output_len=1, **kw).decode.latency_s
        load = rate * prompt_len * c_pf
        if load >= 1:
            return {"stable": False, "reason": f"prefill alone needs {load:.2f}x the device time", "batch": cap}
        t_new = dec / (1 - load)
        if abs(t_new - t) <= 1e-4 * t:
            t = t_new
            break
        t = t_new
    stable = rate * output_len * t <= cap
    return {
        "stable": stable,
        "batch": b,
        "tpot_s": t,
        "ttft_s": one.prefill.latency_s + t / 2,
        "throughput_tokens_per_s": b / t,
        "prefill_share": rate * prompt_len * c_pf,
        "reason": "" if stable else f"needs more than {cap} requests in flight (memory)",
    }


def helm_runtime(
    model: Any, hardware: Any, prompt_lens: Sequence[int] = (1, 16, 64, 256, 1024, 2048), **kw: Any
) -> dict[str, Any]:
    """HELM's idealized runtime (Liang et al. 2022, sec. 4.4 / Narayanan et al. 2023):
    runtime(p, o) = R_prompt(p) + g (o - 1), with a table of prompt costs and a per-token
    slope at batch 1. The cost-aware variant is accelerator-seconds (x devices)."""
    table = {}
    g = None
    devices = 1
    for p in prompt_lens:
        plan = plan_llm(model, hardware, batch=1, prompt_len=p, output_len=2, **kw)
        table[p] = plan.prefill.latency_s
        g = plan.decode.latency_s if g is None else g
        devices = plan.devices
    return {
        "prompt_runtime_s": table,
        "per_output_token_s": g,
        "devices": devices,
        "formula": "runtime(p, o) = R_prompt(p) + g * (o - 1)",
    }


def reranker_flops(model: Any, query_len: int, doc_len: int, docs: int, metric: float | None = None) -> dict[str, Any]:
    """E2R-FLOPs (Pradeep et al. 2025): FLOPs per reranking query = documents x one
    forward over query + document (logits of the last position). Counted exactly from
    the graph: the gated MLP's three matrices and full attention FLOPs (the paper's
    estimate drops the gate matrix and divides attention by the GQA ratio). QPP =
    queries per PetaFLOP; RPP = metric per PetaFLOP."""
    from ..frontends import load_model_spec
    from ..frontends.lower import Workload
    from .workload import run_workload

    if metric is not None and (isinstance(metric, bool) or not 0 <= metric < math.inf):
        raise PlanError(f"metric must be a finite number >= 0, got {metric!r}")
    spec = load_model_spec(model)
    if spec is None:
        raise PlanError(f"{model!r} is not a model spec")
    r = run_workload(spec, Workload("prefill", 1, query_len + doc_len, 0, "last"))
    per_query = float(r.flops) * docs
    out = {"flops_per_query": per_query, "queries_per_petaflop": 1e15 / per_query}
    if metric is not None:
        out["metric_per_petaflop"] = metric / (per_query / 1e15)
    return out


def speculative(
    target: Any, draft: Any, hardware: Any, k: int, acceptance: float, prompt_len: int, output_len: int, **kw: Any
) -> dict[str, Any]:
    """Speculative decoding (Leviathan et al. 2023, eq. 1): a draft proposes k tokens,
    the target verifies k + 1 at once; with acceptance rate a the expected tokens per
    step are (1 - a^(k+1)) / (1 - a). Step time = k draft decode steps + one target
    forward over k + 1 positions."""
    if not 0 <= acceptance < 1:
        raise PlanError("--acceptance must be in [0, 1)")
    if k < 1:
        raise PlanError("--spec-k must be >= 1")
    from ..frontends import load_model_spec
    from ..frontends.lower import Workload
    from ..hardware import get_profile
    from .workload import run_workload

    tgt = plan_llm(target, hardware, prompt_len=prompt_len, output_len=output_len, **kw)
    dft = plan_llm(draft, hardware, prompt_len=prompt_len, output_len=output_len, **kw)
    spec = load_model_spec(target)
    hw = get_profile(hardware)
    ctx = prompt_len + output_len // 2
    verify = run_workload(spec, Workload("decode", tgt.batch, k + 1, ctx - 1, "all"), hw, execution="graph")
    tokens = (1 - acceptance ** (k + 1)) / (1 - acceptance)
    step = k * dft.decode.latency_s + (verify.latency_s or 0.0)
    per_token = step / tokens
    return {
        "expected_tokens_per_step": tokens,
        "step_s": step,
        "per_token_s": per_token,
        "baseline_per_token_s": tgt.decode.latency_s,
        "speedup": tgt.decode.latency_s / per_token,
    }


def shared_prefix(
    model: Any, hardware: Any, context_len: int, question_len: int, calls: int, output_len: int, **kw: Any
) -> dict[str, Any]:
    """Many calls over one context (RAG, agents): without caching every call prefills
    context + question; with a prefix cache the context is prefilled once and each call
    prefills only its question against the cached context; the calls batch together."""
    from ..frontends import load_model_spec
    from ..frontends.lower import Workload
    from ..hardware import get_profile
    from .workload import run_workload

    naive = plan_llm(model, hardware, batch=calls, prompt_len=context_len + question_len, output_len=output_len, **kw)
    ctx = plan_llm(model, hardware, batch=1, prompt_len=context_len, output_len=1, **kw)
    spec = load_model_spec(model)
    q = run_workload(
        spec, Workload("prefill", calls, question_len, context_len, "last"), get_profile(hardware), execution="eager"
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
    model: Any,
    hardware: Any,
    prompt_len: int,
    lengths: Sequence[int],
    weights: Sequence[float] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """Expected request latency (and cost) when the output length follows a distribution
    (reasoning models): the mean over the given lengths (optionally weighted)."""
    if not lengths:
        raise PlanError("give at least one output length")
    w = list(weights) if weights else [1.0] * len(lengths)
    if len(w) != len(lengths) or any(x < 0 for x in w) or sum(w) <= 0:
        raise PlanError("weights must be non-negative, one per length")
    total = sum(w)
    plans = [plan_llm(model, hardware, prompt_len=prompt_len, output_len=n, **kw) for n in lengths]
    exp_latency = sum(wi * p.request_latency_s for wi, p in zip(w, plans)) / total
    out = {
        "expected_latency_s": exp_latency,
        "expected_output_tokens": sum(wi * n for wi, n in zip(w, lengths)) / total,
        "p_latency_s": {n: p.request_latency_s for n, p in zip(lengths, plans)},
    }
    price = plans[0].price_per_hour
    if price:
        out["expected_cost_usd"] = exp_latency * plans[0].devices * price / 3600 / plans[0].batch
    return out
