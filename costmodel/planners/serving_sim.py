"""The continuous-batching engine of serving_load.py simulated step by step: Poisson
arrivals, prompt / output lengths drawn from their distributions, and an iteration-level
scheduler as vLLM's runs it with chunked prefill — every step first gives each running
sequence its decode token, then fills the rest of the token budget with prompt tokens,
first come first served, admitting a new request only while fewer than `cap` sequences
hold KV cache. Step times come from the same StepTable the analytic model reads, so the
simulation checks the queueing formulas, not the engine.

Seeded and deterministic; meant for tests and for `llm --rate --simulate`, not for the
search (its cost grows with the requests simulated)."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from .serving_load import QUANTILES, Load
from .serving_table import StepTable


def simulate(
    table: StepTable,
    load: Load,
    cap: int | None = None,
    replicas: int = 1,
    requests: int = 2000,
    warmup: float = 0.1,
    seed: int = 0,
    samples: bool = False,
) -> dict[str, Any]:
    """Serve `requests` arrivals at load.rate / replicas on one replica; TTFT and TPOT
    statistics over the requests after the first `warmup` fraction (with `samples`, the
    per-request arrays too)."""
    rng = np.random.default_rng(seed)
    lam = load.rate / replicas
    cap_v = table.max_batch if cap is None else min(cap, table.max_batch)
    arrive = np.cumsum(rng.exponential(1 / lam, requests))
    prompt = rng.choice(load.prompt.values, size=requests, p=load.prompt.weights)
    output = rng.choice(load.output.values, size=requests, p=load.output.weights)
    first = np.full(requests, np.nan)
    done = np.full(requests, np.nan)
    budget = table.budget

    waiting: deque[int] = deque()  # arrived, not yet holding KV cache
    filling: deque[list[int]] = deque()  # [request, prompt tokens left], holding KV
    run_req: list[int] = []  # decoding: request, tokens left, context
    run_left: list[int] = []
    run_ctx: list[int] = []
    t, nxt, steps, batch_sum = 0.0, 0, 0, 0.0
    while nxt < requests or waiting or filling or run_req:
        while nxt < requests and arrive[nxt] <= t:
            waiting.append(nxt)
            nxt += 1
        if not (waiting or filling or run_req):
            t = float(arrive[nxt])
            continue
        b = len(run_req)
        room = budget - b
        took: list[tuple[list[int], int]] = []
        for item in filling:
            if room <= 0:
                break
            k = min(item[1], room)
            took.append((item, k))
            room -= k
        while room > 0 and waiting and len(filling) + b < cap_v:
            item = [waiting.popleft(), 0]
            item[1] = int(prompt[item[0]])
            filling.append(item)
            k = min(item[1], room)
            took.append((item, k))
            room -= k
        p = sum(k for _, k in took)
        ctx = float(np.mean(run_ctx)) if b else 0.0
        dt = float(table.mixed_s(np.asarray(float(b)), np.asarray(float(p)), ctx))
        t += dt
        steps += 1
        batch_sum += b
        # decodes: one token each
        keep = [i for i in range(b) if run_left[i] > 1]
        for i in range(b):
            if run_left[i] <= 1:
                done[run_req[i]] = t
        run_req = [run_req[i] for i in keep]
        run_left = [run_left[i] - 1 for i in keep]
        run_ctx = [run_ctx[i] + 1 for i in keep]
        # prompt chunks (first come first served, so the finished ones lead the queue):
        # a finished prompt emits its first token now
        for item, k in took:
            item[1] -= k
        while filling and filling[0][1] == 0:
            r = filling.popleft()[0]
            first[r] = t
            if output[r] > 1:
                run_req.append(r)
                run_left.append(int(output[r]) - 1)
                run_ctx.append(int(prompt[r]) + 1)
            else:
                done[r] = t

    keep_from = int(requests * warmup)
    ttft = (first - arrive)[keep_from:]
    multi = output[keep_from:] > 1
    tpot = ((done - first)[keep_from:][multi]) / (output[keep_from:][multi] - 1)
    out: dict[str, Any] = {
        "requests": requests - keep_from,
        "steps": steps,
        "batch": batch_sum / steps if steps else 0.0,
        "ttft_s": float(np.mean(ttft)),
        "tpot_s": float(np.mean(tpot)) if tpot.size else 0.0,
    }
    for q in QUANTILES:
        out[f"ttft_p{round(q * 100)}_s"] = float(np.quantile(ttft, q))
    for q in QUANTILES:
        out[f"tpot_p{round(q * 100)}_s"] = float(np.quantile(tpot, q)) if tpot.size else 0.0
    if samples:
        out["ttft_samples"] = ttft
        out["tpot_samples"] = tpot
    return out
