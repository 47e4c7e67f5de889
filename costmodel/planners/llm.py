"""LLM serving planner: prefill and per-token decode latency, memory, the largest batch
that fits, throughput and cost, for a model on one replica (tp x pp devices, or for a
MoE model dp x tp devices with data-parallel attention and expert parallelism).

A request is the prefill (which produces the first output token) plus N - 1 decode steps
(serving_steps.py has the steps and their conventions); KV cache = 2 x layers x kv_heads x
head_dim x context x batch x bytes (MLA: its compressed latent, once); GQA shrinks KV
bytes and K/V projections, not score/PV FLOPs. Prefill runs eagerly and decode as
CUDA-graph replay by default (as serving engines run them). `max_batch` is memory's
answer alone: the sequences at prompt + output tokens whose KV cache fits beside the
weights and one chunked-prefill step, whatever batch is asked about.

Entry points: `estimate_serving(spec, system, layout, setup)` on typed records, and
`plan_llm(model, hardware, batch=..., ...)`, the keyword convenience over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import PlanError
from ..frontends import load_model_spec
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import Head
from ..hardware.systems import System, get_system
from ..passes.runtimes import get_runtime
from .context_limit import check_context
from .layout import ParallelLayout, ServingSetup, require_positive
from .serving_memory import active_params, kv_bytes_per_token, kv_cache_bytes, shard, state_bytes
from .serving_records import LLMPlan, Memory, StepCost
from .serving_steps import (
    RUNTIME_RESERVED,
    activation_bytes,
    decode_step,
    dtypes,
    memory_budget,
    prefill_run,
    sequence_bytes,
    validate_serving_layout,
)
from .workload import param_count

__all__ = [
    "LLMPlan",
    "Memory",
    "RUNTIME_RESERVED",
    "StepCost",
    "ServingCase",
    "active_params",
    "estimate_serving",
    "kv_bytes_per_token",
    "kv_cache_bytes",
    "plan_llm",
    "shard",
    "state_bytes",
    "sweep_batches",
]

MEMORY_UTILIZATION = ServingSetup().memory_utilization
PREFILL_CHUNK = ServingSetup().prefill_chunk


def estimate_serving(
    spec: ModelSpec,
    system: System,
    layout: ParallelLayout,
    setup: ServingSetup,
    *,
    price_per_hour: float | None = None,
) -> LLMPlan:
    require_positive(
        batch=setup.batch, prompt_len=setup.prompt_len, output_len=setup.output_len, tp=layout.tp, pp=layout.pp
    )
    if not spec.arch.generates:
        raise PlanError(f"{spec.name} is a {spec.architecture} model: use `costmodel analyze` (no decode phase)")
    if spec.resolved_head is not Head.LM:
        raise PlanError(f"{spec.name} has a {spec.resolved_head.value} head, not an LM head: use `costmodel analyze`")
    validate_serving_layout(spec, layout)
    hw = system.device
    act, wdt, kvdt = dtypes(setup)
    batch, prompt, out = setup.batch, setup.prompt_len, setup.output_len
    notes = []
    past = check_context(spec, prompt, out, allow=setup.allow_past_context)
    if past:
        notes.append(past)
    if setup.implied_from is not None:
        notes.append(
            f"dtype {setup.implied_from} served as a {setup.recipe} checkpoint is: {setup.recipe} block linears, "
            f"{setup.dtype} embedding, LM head, norms and residual stream (--precision none: every tensor in "
            f"{setup.implied_from})"
        )
    prefill, pre = prefill_run(spec, system, layout, setup, batch, prompt)
    steps = max(out - 1, 1)
    contexts = _sample_contexts(prompt + 1, prompt + steps)
    decode = _average([decode_step(spec, system, layout, setup, batch, c, prompt) for c in contexts], contexts)
    request = prefill.latency_s + decode.latency_s * (out - 1)
    # the prefill's and the decode steps' errors on one device go the same way (one
    # calibration): their quantiles add, as those of comonotonic times do
    request_band = None
    if prefill.band and decode.band:
        request_band = (prefill.band[0] + decode.band[0] * (out - 1), prefill.band[1] + decode.band[1] * (out - 1))

    budget = memory_budget(spec, system, layout, setup)
    kv_seq, per_seq = sequence_bytes(spec, layout, setup, prompt + out, prompt)
    chunk_tokens = min(batch * prompt, setup.prefill_chunk)
    chunk_run = pre if chunk_tokens == batch * prompt else prefill_run(spec, system, layout, setup, 1, chunk_tokens)[1]
    vocab = shard(spec, layout.tp).vocab_size
    memory = Memory(
        budget.weights_bytes,
        kv_seq * batch,
        activation_bytes(chunk_run, min(batch, chunk_tokens), vocab),
        budget.capacity_bytes,
    )
    fits = memory.total_bytes <= budget.usable_bytes
    if not fits:
        notes.append(
            f"needs {memory.total_bytes / 2**30:.1f} GiB per device, {budget.usable_bytes / 2**30:.1f} GiB usable"
        )
    rows = tuple(
        {"segment": s.name, "repeat": s.repeat, "prefill_s": s.time_s, "prefill_flops": float(s.cost.flops)}
        for s in pre.segments
    )
    return LLMPlan(
        spec.name,
        hw.name,
        batch,
        prompt,
        out,
        layout.tp,
        layout.pp,
        act.name,
        wdt.name,
        kvdt.name,
        param_count(spec),
        active_params(spec),
        prefill,
        decode,
        request,
        memory,
        fits,
        budget.max_batch(per_seq),
        price_per_hour if price_per_hour is not None else hw.price_per_hour,
        rows,
        tuple(notes),
        dp=layout.dp,
        ep=layout.ep,
        request_band_s=request_band,
        precision=setup.recipe,
    )


@dataclass(frozen=True, kw_only=True)
class ServingCase:
    """Model x execution x system for serving: what estimate_serving takes, bundled so
    the planners built on it (llm_extras, search) vary one part at a time."""

    spec: ModelSpec
    system: System
    layout: ParallelLayout = field(default_factory=ParallelLayout)
    setup: ServingSetup = field(default_factory=ServingSetup)
    price_per_hour: float | None = None

    @classmethod
    def of(cls, model: Any, hardware: Any, **kw: Any) -> ServingCase:
        """From plan_llm's keywords: `model` a spec, file or built-in name, `hardware` a
        device or system; tp, pp, dp, ep (the replica's ParallelLayout), price_per_hour,
        and ServingSetup's fields (with the CLI's names prefill_execution /
        decode_execution for the dispatch modes)."""
        spec = load_model_spec(model)
        if spec is None:
            raise PlanError(f"{model!r} is not a model spec, config.json or built-in model name")
        layout = ParallelLayout(tp=kw.pop("tp", 1), pp=kw.pop("pp", 1), dp=kw.pop("dp", 1), ep=kw.pop("ep", 1))
        price = kw.pop("price_per_hour", None)
        renames = {"prefill_execution": "prefill_dispatch", "decode_execution": "decode_dispatch"}
        if kw.get("runtime") is not None:
            kw["runtime"] = get_runtime(kw["runtime"]).name
        else:
            kw.pop("runtime", None)
        try:
            setup = ServingSetup(**{renames.get(k, k): v for k, v in kw.items()})
        except TypeError as e:
            raise PlanError(f"unknown serving option: {e}") from None
        return cls(spec=spec, system=get_system(hardware), layout=layout, setup=setup, price_per_hour=price)

    def plan(self, **setup_changes: Any) -> LLMPlan:
        """The plan of this case, with some ServingSetup fields changed."""
        setup = replace(self.setup, **setup_changes) if setup_changes else self.setup
        return estimate_serving(self.spec, self.system, self.layout, setup, price_per_hour=self.price_per_hour)


def plan_llm(model: Any, hardware: Any, **kw: Any) -> LLMPlan:
    """Keyword convenience over estimate_serving (see ServingCase.of for the options:
    batch, prompt_len, output_len, tp, pp, dp, ep, dtype, weight_dtype, kv_dtype,
    precision, price_per_hour, prefill_execution, decode_execution, mode, memory_utilization,
    logits, prefill_chunk, allow_past_context, runtime)."""
    return ServingCase.of(model, hardware, **kw).plan()


def _sample_contexts(first: int, last: int) -> list[int]:
    if last - first <= 2:
        return list(range(first, last + 1))
    return [first, (first + last) // 2, last]


def _average(steps: list[StepCost], contexts: list[int]) -> StepCost:
    """Mean over the decode steps: every step when few, else Simpson's rule over the
    first, middle and last context (exact for costs quadratic in the context)."""
    if len(steps) == 1 or len(steps) != 3 or contexts[1] - contexts[0] != contexts[2] - contexts[1]:
        w = [1.0 / len(steps)] * len(steps)
    else:
        w = [1 / 6, 4 / 6, 1 / 6]

    def avg(attr: str) -> float:
        return float(sum(wi * getattr(p, attr) for wi, p in zip(w, steps)))

    # the steps err together (one device, one calibration): the mean's band is the mean of theirs
    bands = [p.band for p in steps if p.band is not None]
    band = None
    if len(bands) == len(steps):
        band = (sum(wi * b[0] for wi, b in zip(w, bands)), sum(wi * b[1] for wi, b in zip(w, bands)))
    return StepCost(
        avg("latency_s"),
        avg("flops"),
        avg("bytes"),
        avg("compute_s"),
        avg("comm_s"),
        int(round(avg("kernels"))),
        band,
    )


def sweep_batches(
    case: ServingCase, batches: list[int], on_progress: Callable[[int, int, str], None] | None = None
) -> list[LLMPlan]:
    """The throughput-latency curve: one plan per batch size; `on_progress(done, total,
    what)` is called after each."""
    plans = []
    for b in batches:
        plans.append(case.plan(batch=b))
        if on_progress is not None:
            on_progress(len(plans), len(batches), f"batch {b}")
    return plans
