"""A replica's step times as tables: the serving planner's own decode and prefill steps
(serving_steps.py) sampled once per replica and load, so the load model evaluates
thousands of configurations as array arithmetic instead of re-running the engine.

- decode_s(B, c): a decode step of B sequences at mean context c. Sampled at B = 1, 2,
  4, ... up to the replica's largest batch at the longest context a request of this load
  reaches, and at the shortest for B = 1 and 64 (the KV-cache reads the context adds are
  linear in B); linear in the context between the two, and linear in B between samples —
  the table is the model: the exhaustive path, the array path and llm --rate read the
  same samples.
- forward_s(m): a step that runs m new prompt tokens in one pass after `past` cached
  ones, sampled at m = 1, 8, 64, 256, 512, 1024, 2048, ... past the engine's token budget;
  `past` is the mean offset of a prompt chunk (0 when prompts fit one chunk), so the
  attention of chunked prefill is counted at the offsets where it runs.

A mixed step (B decodes plus p prompt tokens, as chunked prefill schedules them) costs
decode_s(B) + forward_s(B + p) - forward_s(B): the prompt tokens' marginal cost over a
pass that already reads every weight for the decodes. Under a per-kernel roofline that is
exact for the GEMMs: memory-bound GEMMs absorb the extra rows for free, compute-bound ones
pay per row."""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .serving_steps import (
    MemoryBudget,
    decode_step,
    memory_budget,
    prefill_run,
    sequence_bytes,
    validate_serving_layout,
)

if TYPE_CHECKING:
    from .llm import ServingCase
    from .serving_lengths import Lengths


@dataclass(frozen=True, eq=False)
class StepTable:
    """One replica's sampled steps (see the module doc), memory and price."""

    batches: np.ndarray  # sampled decode batch sizes, ascending, from 1
    decode_lo: np.ndarray  # seconds per decode step at ctx_lo, per batch
    decode_hi: np.ndarray  # ... at ctx_hi
    ctx_lo: float
    ctx_hi: float
    tokens: np.ndarray  # sampled token counts of one pass, from 0
    forward: np.ndarray  # seconds per pass over that many new tokens
    budget: int  # tokens per engine step (chunked prefill's max_num_batched_tokens)
    max_batch: int  # sequences the KV cache holds at this load's mean context
    devices: int
    price_per_hour: float | None
    memory: MemoryBudget

    def fits(self) -> str:
        """Empty when a sequence fits beside the weights, else why not."""
        if self.max_batch >= 1:
            return ""
        m = self.memory
        return (
            f"does not fit: weights {m.weights_bytes / 2**30:.1f} GiB + one step "
            f"{m.step_transient_bytes / 2**30:.1f} GiB + a sequence's KV cache exceed "
            f"{m.usable_bytes / 2**30:.1f} GiB usable per device"
        )

    def mixed_one(self, batch: int, prompt_tokens: int, ctx: float) -> float:
        """mixed_s for one step, in plain floats (the simulator's inner loop)."""
        xs, fw, bs, lo_s, hi_s = self._lists()
        step = _interp1(float(batch + prompt_tokens), xs, fw) - _interp1(float(batch), xs, fw)
        if batch <= 0:
            return step
        lo = _interp1(float(batch), bs, lo_s)
        hi = _interp1(float(batch), bs, hi_s)
        f = 0.0 if self.ctx_hi == self.ctx_lo else (ctx - self.ctx_lo) / (self.ctx_hi - self.ctx_lo)
        return lo + f * (hi - lo) + step

    def _lists(self) -> tuple[list[float], list[float], list[float], list[float], list[float]]:
        cached = self.__dict__.get("_cached_lists")
        if cached is None:
            arrays = (self.tokens, self.forward, self.batches, self.decode_lo, self.decode_hi)
            cached = tuple(a.tolist() for a in arrays)
            object.__setattr__(self, "_cached_lists", cached)
        return cached

    def decode_s(self, batch: np.ndarray, ctx: np.ndarray | float) -> np.ndarray:
        lo = interp(batch, self.batches, self.decode_lo)
        hi = interp(batch, self.batches, self.decode_hi)
        if self.ctx_hi == self.ctx_lo:
            return hi
        f = (np.asarray(ctx, dtype=float) - self.ctx_lo) / (self.ctx_hi - self.ctx_lo)
        step: np.ndarray = lo + f * (hi - lo)
        return step

    def forward_s(self, tokens: np.ndarray) -> np.ndarray:
        return interp(tokens, self.tokens, self.forward)

    def mixed_s(self, batch: np.ndarray, prompt_tokens: np.ndarray, ctx: np.ndarray | float) -> np.ndarray:
        """One engine step of `batch` decodes and `prompt_tokens` prompt tokens."""
        b = np.asarray(batch, dtype=float)
        step: np.ndarray = (
            np.where(b > 0, self.decode_s(np.maximum(b, 1.0), ctx), 0.0)
            + self.forward_s(b + prompt_tokens)
            - self.forward_s(b)
        )
        return step


def _interp1(x: float, xs: list[float], ys: list[float]) -> float:
    """interp() for one value, without numpy's per-call overhead (the simulator's steps)."""
    k = bisect_right(xs, x)
    if k == 0:
        return ys[0]
    if k == len(xs):
        k -= 1
        if len(xs) < 2 or x == xs[-1]:
            return ys[-1]
    x0, x1 = xs[k - 1], xs[k]
    return ys[k - 1] + (x - x0) * (ys[k] - ys[k - 1]) / (x1 - x0)


def _batch_grid(top: int, step: int = 1) -> list[int]:
    """step x (1, 2, 4, ...) below `top`, then `top`: the same points for every top, so
    two tables of one replica agree wherever both reach."""
    out, v = [], step
    while v < top:
        out.append(v)
        v *= 2
    return [*out, max(top, step)]


# one pass over m new tokens is flat while its GEMMs are memory-bound (up to ~300 rows
# on current GPUs: peak FLOP/s over bandwidth) and linear beyond, so the grid is sparse
# below 256 tokens
TOKEN_GRID = (1, 8, 64, 256, 512, 1024)
CONTEXT_SLOPE_BATCH = 64


def _token_grid(top: int, budget: int) -> list[int]:
    """TOKEN_GRID, then powers of two, with the token budget, up to the first >= top."""
    out = {t for t in TOKEN_GRID if t < top} | {budget}
    v = 2048
    while v < top:
        out.add(v)
        v *= 2
    out.add(v)
    return sorted(out)


def interp(x: np.ndarray | float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Piecewise-linear through the samples, extended linearly past the last one (a
    configuration beyond the sampled range still gets a growing step time)."""
    x = np.asarray(x, dtype=float)
    y: np.ndarray = np.interp(x, xs, ys)
    if len(xs) < 2:
        return y
    slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    extended: np.ndarray = np.where(x > xs[-1], ys[-1] + (x - xs[-1]) * slope, y)
    return extended


def chunk_offset(prompt: Lengths, budget: int) -> int:
    """Mean position a prompt token's chunk starts at, token-weighted: a prompt of P
    tokens prefilled in chunks of `budget` has chunks at 0, budget, ... whose mean start
    is (P - min(P, budget)) / 2; a prompt that fits one chunk starts at 0."""
    num = sum(w * p * (p - min(p, budget)) / 2 for p, w in zip(prompt.values, prompt.weights))
    den = sum(w * p for p, w in zip(prompt.values, prompt.weights))
    return int(num / den) if den else 0


def step_table(case: ServingCase, prompt: Lengths, output: Lengths, batch_top: float | None = None) -> StepTable:
    """Sample the replica of `case` for requests of these prompt / output lengths:
    decode steps up to the batch memory holds (or only up to `batch_top`, when the caller
    knows no configuration it judges runs more), passes up to the token budget beyond."""
    spec, system, layout, setup = case.spec, case.system, case.layout, case.setup
    validate_serving_layout(spec, layout)
    budget_tokens = setup.prefill_chunk
    mem = memory_budget(spec, system, layout, setup)
    mean_ctx = prompt.mean + output.mean
    _, per_seq = sequence_bytes(spec, layout, setup, max(1, round(mean_ctx)), round(prompt.mean))
    cap = mem.max_batch(per_seq)
    step = layout.dp if layout.ep > 1 else 1
    top = max(cap, step) if batch_top is None else max(min(cap, math.ceil(batch_top)), step)
    batches = _batch_grid(top, step)
    lo = min(prompt.values) + 1
    hi = max(lo, max(prompt.values) + max(output.values) - 1)
    p_ref = round(prompt.mean)
    dec_hi = [decode_step(spec, system, layout, setup, b, hi, p_ref).latency_s for b in batches]
    sampled = dict(zip(batches, dec_hi))

    def dec_hi_at(b: int) -> float:
        return sampled[b] if b in sampled else decode_step(spec, system, layout, setup, b, hi, p_ref).latency_s

    if hi == lo:
        dec_lo = dec_hi
    else:
        # the longer context costs KV-cache reads, linear in the batch: its difference is
        # sampled at two fixed batches (the same for every table of this replica)
        pair = (step, CONTEXT_SLOPE_BATCH * step)
        diff = [dec_hi_at(b) - decode_step(spec, system, layout, setup, b, lo, p_ref).latency_s for b in pair]
        dec_lo = [
            d - (diff[0] + (diff[1] - diff[0]) * (b - pair[0]) / (pair[1] - pair[0])) for b, d in zip(batches, dec_hi)
        ]
    past = chunk_offset(prompt, budget_tokens)
    toks = _token_grid(budget_tokens + batches[-1] + 1, budget_tokens)
    fwd = [0.0] + [_pass(case, m, past) for m in toks]
    price = case.price_per_hour if case.price_per_hour is not None else system.device.price_per_hour
    return StepTable(
        np.asarray(batches, dtype=float),
        np.asarray(dec_lo),
        np.asarray(dec_hi),
        float(lo),
        float(hi),
        np.asarray([0, *toks], dtype=float),
        np.asarray(fwd),
        budget_tokens,
        cap,
        layout.devices,
        price,
        mem,
    )


def _pass(case: ServingCase, tokens: int, past: int) -> float:
    """One pass over `tokens` new prompt tokens (spread over the dp attention groups of
    an expert-parallel replica), dispatched as the decode steps it joins are: the table
    takes differences of passes as the prompt tokens' cost inside a mixed step, and an
    eager pass's host overhead would hide that cost at small token counts."""
    seqs = min(case.layout.dp, tokens) if case.layout.ep > 1 else 1
    setup = replace(case.setup, prefill_dispatch=case.setup.decode_dispatch)
    step, _ = prefill_run(case.spec, case.system, case.layout, setup, seqs, math.ceil(tokens / seqs), past)
    return step.latency_s
