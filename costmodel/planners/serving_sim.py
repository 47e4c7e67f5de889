"""The continuous-batching engine of serving_load.py simulated step by step: requests
arrive (Poisson, or all at once for an offline run), and an iteration-level scheduler
runs as vLLM's and TensorRT-LLM's do with chunked prefill — every step first gives each
running sequence its decode token, then fills the rest of the token budget with prompt
tokens, first come first served, admitting a new request only while fewer than `cap`
sequences hold KV cache. Step times come from the same StepTable the analytic model
reads, so the simulation checks the queueing formulas, not the engine.

Seeded and deterministic; for tests, for `llm --rate --simulate`, and for offline
benchmarks of a finite number of requests (whose start and drain the steady-state model
leaves out), not for the search (its cost grows with the requests simulated)."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ..errors import PlanError
from .serving_lengths import Lengths
from .serving_load import QUANTILES, Load
from .serving_table import StepTable


def _run(
    table: StepTable, arrive: np.ndarray, prompt: np.ndarray, output: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """The engine over these requests: (first-token times, finish times, steps, the sum of
    decode batch sizes over steps)."""
    requests = len(arrive)
    first = np.full(requests, np.nan)
    done = np.full(requests, np.nan)
    budget = table.budget
    waiting: deque[int] = deque()  # arrived, not yet holding KV cache
    filling: deque[list[int]] = deque()  # [request, prompt tokens left], holding KV
    # decoding: request, the step its last token ends, its context when it started
    # decoding and that step (its context now is start + steps since)
    run_req = np.zeros(0, dtype=np.int64)
    run_end = np.zeros(0, dtype=np.int64)
    run_start = np.zeros(0, dtype=np.int64)
    run_from = np.zeros(0, dtype=np.int64)
    finish_step = [1 << 62]  # the earliest run_end
    ctx_sum = 0.0  # the running sequences' contexts, summed
    t, nxt, steps, batch_sum = 0.0, 0, 0, 0.0
    while nxt < requests or waiting or filling or run_req.size:
        while nxt < requests and arrive[nxt] <= t:
            waiting.append(nxt)
            nxt += 1
        if not (waiting or filling or run_req.size):
            t = float(arrive[nxt])
            continue
        b = int(run_req.size)
        room = budget - b
        took: list[tuple[list[int], int]] = []
        for item in filling:
            if room <= 0:
                break
            k = min(item[1], room)
            took.append((item, k))
            room -= k
        while room > 0 and waiting and len(filling) + b < cap:
            r = waiting.popleft()
            item = [r, int(prompt[r])]
            filling.append(item)
            k = min(item[1], room)
            took.append((item, k))
            room -= k
        p = sum(k for _, k in took)
        ctx = ctx_sum / b if b else 0.0
        t += table.mixed_one(b, p, ctx)
        steps += 1
        batch_sum += b
        if b:  # decodes: one token each; finish times are known on entry (finish_step)
            ctx_sum += b
            if finish_step[0] <= steps:
                fin = run_end == steps
                if fin.any():
                    done[run_req[fin]] = t
                    keep = ~fin
                    ctx_sum -= float((run_start[fin] + steps - run_from[fin]).sum())
                    run_req, run_end, run_start, run_from = (
                        run_req[keep],
                        run_end[keep],
                        run_start[keep],
                        run_from[keep],
                    )
                    finish_step[0] = int(run_end.min()) if run_end.size else 1 << 62
        for item, k in took:
            item[1] -= k
        # first come first served, so the finished prompts lead the queue: each emits its
        # first token now and decodes from the next step
        new: list[int] = []
        while filling and filling[0][1] == 0:
            r = filling.popleft()[0]
            first[r] = t
            if output[r] > 1:
                new.append(r)
            else:
                done[r] = t
        if new:
            idx = np.asarray(new, dtype=np.int64)
            end = steps + output[idx] - 1  # the step whose end emits its last token
            run_req = np.concatenate([run_req, idx])
            run_end = np.concatenate([run_end, end])
            run_start = np.concatenate([run_start, prompt[idx] + 1])
            run_from = np.concatenate([run_from, np.full(idx.size, steps)])
            ctx_sum += float((prompt[idx] + 1).sum())
            finish_step[0] = min(finish_step[0], int(end.min()))
    return first, done, steps, batch_sum


# Tokens a simulation may process (requests x mean prompt + output length): every decode
# step is one pass of the Python loop above, and 6.4e7 tokens (100,000 requests of 512 + 128)
# took 12 s on the 2-core development machine; past this bound a run would take minutes
# to hours (one request of 2^30 output tokens is 2^30 steps), the analytic model does not.
MAX_SIMULATED_TOKENS = 2e8


def _check_work(requests: int, prompt: Lengths, output: Lengths) -> None:
    tokens = requests * (prompt.mean + output.mean)
    if tokens > MAX_SIMULATED_TOKENS:
        raise PlanError(
            f"simulating {requests:,} requests of {prompt.mean + output.mean:,.0f} tokens on average is "
            f"{tokens:.3g} tokens, past the {MAX_SIMULATED_TOKENS:.0e} a simulation may process; "
            "simulate fewer requests (the analytic load model has no such limit)"
        )


def _cap(table: StepTable, cap: int | None) -> int:
    return table.max_batch if cap is None else min(cap, table.max_batch)


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
    """Serve `requests` Poisson arrivals at load.rate / replicas on one replica; TTFT and
    TPOT statistics over the requests after the first `warmup` fraction (with `samples`,
    the per-request arrays too)."""
    _check_work(requests, load.prompt, load.output)
    rng = np.random.default_rng(seed)
    arrive = np.cumsum(rng.exponential(replicas / load.rate, requests))
    prompt = rng.choice(np.asarray(load.prompt.values), size=requests, p=load.prompt.weights)
    output = rng.choice(np.asarray(load.output.values), size=requests, p=load.output.weights)
    first, done, steps, batch_sum = _run(table, arrive, prompt, output, _cap(table, cap))
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


def simulate_offline(
    table: StepTable, prompt: Lengths, output: Lengths, requests: int, cap: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """An offline benchmark: `requests` requests queued at once, served from an empty
    engine until the last finishes. Its throughput includes the engine filling up and
    draining, which a steady-state rate does not (a run of a few batches' worth of
    requests ends with a shrinking batch)."""
    _check_work(requests, prompt, output)
    rng = np.random.default_rng(seed)
    p = rng.choice(np.asarray(prompt.values), size=requests, p=prompt.weights)
    n = rng.choice(np.asarray(output.values), size=requests, p=output.weights)
    _, done, steps, batch_sum = _run(table, np.zeros(requests), p, n, _cap(table, cap))
    makespan = float(np.nanmax(done))
    return {
        "requests": requests,
        "seconds": makespan,
        "steps": steps,
        "batch": batch_sum / steps if steps else 0.0,
        "output_tokens_per_s": float(n.sum()) / makespan,
        "total_tokens_per_s": float(n.sum() + p.sum()) / makespan,
    }
