"""LLM serving planner: prefill and per-token decode latency, memory, the largest batch
that fits, throughput and cost, for a model on pp x tp devices.

Conventions (design notes): prefill computes logits for the last position only; decode
step i attends over the P + i cached positions (the new token included); the request
is the prefill (which produces the first output token) plus N - 1 decode steps; KV cache
= 2 x layers x kv_heads x head_dim x context x batch x bytes (MLA: its compressed
latent, once); GQA shrinks KV bytes and K/V projections, not score/PV FLOPs. Prefill
runs eagerly and decode as CUDA-graph replay by default (as serving engines run them).
Under pipeline parallelism one batch passes through every stage in turn (the layers of
pipeline.stage_layers); memory is the fullest stage's.

Entry points: `estimate_serving(spec, system, layout, setup)` on typed records, and
`plan_llm(model, hardware, batch=..., ...)`, the keyword convenience over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import PlanError
from ..frontends import load_model_spec
from ..frontends.lower import Logits, Phase, Workload
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import DecodeState, Head, Lowering
from ..hardware.systems import System, get_system
from ..ir.dtypes import DType
from ..ir.dtypes import dtype as to_dtype
from .context_limit import check_context
from .comm import TP_COLLECTIVES_FORWARD, pipeline_sends_s, tensor_parallel_s
from .layout import ParallelLayout, ServingSetup, require_positive
from .pipeline import stage_layers
from .serving_memory import active_params, kv_bytes_per_token, kv_cache_bytes, shard, state_bytes
from .workload import WorkloadResult, param_count, run_workload

__all__ = [
    "LLMPlan",
    "Memory",
    "StepCost",
    "active_params",
    "estimate_serving",
    "kv_bytes_per_token",
    "kv_cache_bytes",
    "plan_llm",
    "ServingCase",
    "shard",
    "state_bytes",
    "sweep_batches",
]

MEMORY_UTILIZATION = ServingSetup().memory_utilization
PREFILL_CHUNK = ServingSetup().prefill_chunk
RUNTIME_RESERVED = 96 * 2**20  # CUDA context / cuBLAS workspace / allocator slack, bytes
# (H200 decode steps measured 94-230 MB above weights + KV cache:
#  benchmarks/data/h200-2026-11-28.json)


@dataclass(frozen=True)
class StepCost:
    """One phase of a request (the prefill, or the mean decode step), per device."""

    latency_s: float
    flops: float
    bytes: float
    compute_s: float = 0.0
    comm_s: float = 0.0
    kernels: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_s": self.latency_s,
            "flops": self.flops,
            "bytes": self.bytes,
            "comm_s": self.comm_s,
            "kernels": self.kernels,
        }


@dataclass(frozen=True)
class Memory:
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    capacity_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.activation_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "activation_bytes": self.activation_bytes,
            "total_bytes": self.total_bytes,
            "capacity_bytes": self.capacity_bytes,
        }


@dataclass(frozen=True)
class LLMPlan:
    model: str
    hardware: str
    batch: int
    prompt_len: int
    output_len: int
    tp: int
    pp: int
    dtype: str
    weight_dtype: str
    kv_dtype: str
    params: int
    active_params: int
    prefill: StepCost
    decode: StepCost
    request_latency_s: float
    memory: Memory  # per device
    fits: bool
    max_batch: int
    price_per_hour: float | None = None
    layers: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def devices(self) -> int:
        return self.tp * self.pp

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second for the whole batch over the request."""
        return self.batch * self.output_len / self.request_latency_s if self.request_latency_s else 0.0

    def cost(self) -> dict[str, Any] | None:
        if not self.price_per_hour:
            return None
        per_s = self.price_per_hour * self.devices / 3600.0
        inp = self.batch * self.prompt_len / self.prefill.latency_s
        out = self.batch / self.decode.latency_s
        return {
            "price_per_device_hour": self.price_per_hour,
            "devices": self.devices,
            "usd_per_million_input_tokens": per_s / inp * 1e6,
            "usd_per_million_output_tokens": per_s / out * 1e6,
            "usd_per_request": per_s * self.request_latency_s / self.batch,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "model": self.model,
            "hardware": self.hardware,
            "batch": self.batch,
            "prompt_len": self.prompt_len,
            "output_len": self.output_len,
            "tp": self.tp,
            "pp": self.pp,
            "devices": self.devices,
            "dtype": self.dtype,
            "weight_dtype": self.weight_dtype,
            "kv_dtype": self.kv_dtype,
            "params": self.params,
            "active_params": self.active_params,
            "prefill": self.prefill.to_dict(),
            "decode": self.decode.to_dict(),
            "request": {
                "latency_s": self.request_latency_s,
                "tokens_per_s": self.tokens_per_s,
                "ttft_s": self.prefill.latency_s,
            },
            "memory": self.memory.to_dict(),
            "fits": self.fits,
            "max_batch": self.max_batch,
            "cost": self.cost(),
            "layers": list(self.layers),
            "notes": list(self.notes),
        }


# -- the planner -----------------------------------------------------------------------


def _stages(spec: ModelSpec, pp: int) -> tuple[tuple[int, ...], ...]:
    if pp == 1:
        return (tuple(range(spec.num_layers)),)
    if spec.arch.lowering is Lowering.ENCODER_DECODER:
        raise PlanError(
            f"{spec.name}: pipeline stages of an encoder-decoder model are not modelled", where=f"--pp {pp}"
        )
    return stage_layers(spec.num_layers, pp)


def _step(r: WorkloadResult, stages: tuple[tuple[int, ...], ...], comm: float) -> StepCost:
    """A phase as one device sees it: the time of the whole pipeline (one batch passes
    every stage in turn) plus communication; FLOPs, bytes and kernels of the busiest
    stage."""
    t = r.latency_s or 0.0
    if len(stages) == 1:
        return StepCost(t + comm, float(r.flops), float(r.bytes), t, comm, r.kernels)
    last = len(stages) - 1
    per_stage = [
        (*r.stage_cost(s, k == 0, k == last), r.stage_sum("kernels", s, k == 0, k == last))
        for k, s in enumerate(stages)
    ]
    flops, nbytes, kernels = max(per_stage)
    return StepCost(t + comm, flops, nbytes, t, comm, int(kernels))


def _comm_s(spec: ModelSpec, system: System, layout: ParallelLayout, batch: int, seq: int, act: DType) -> float:
    """Tensor-parallel all-reduces of every layer (comm.tensor_parallel_s) plus one
    send per stage boundary."""
    msg = act.nbytes(batch * seq * spec.hidden_size)
    tp = tensor_parallel_s(msg, layout.tp, system.tier_for(layout.tp), TP_COLLECTIVES_FORWARD * spec.num_layers)
    return tp + pipeline_sends_s(msg, layout.pp - 1, system.tier_for(layout.pp, layout.tp))


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
    hw = system.device
    act = to_dtype(setup.dtype)
    wdt = to_dtype(setup.weight_dtype) if setup.weight_dtype else act
    kvdt = to_dtype(setup.kv_dtype) if setup.kv_dtype else act
    dev_spec = shard(spec, layout.tp)
    stages = _stages(spec, layout.pp)
    notes = []
    batch, prompt, out = setup.batch, setup.prompt_len, setup.output_len
    ctx_max = prompt + out
    past_context = check_context(spec, prompt, out, allow=setup.allow_past_context)
    if past_context:
        notes.append(past_context)
    pre = run_workload(
        dev_spec,
        Workload(Phase.PREFILL, batch, prompt, 0, Logits(setup.logits), act, wdt, kvdt, attention=setup.attention),
        system.device,
        dispatch=setup.prefill_dispatch,
        mode=setup.mode,
    )
    steps = max(out - 1, 1)
    contexts = _sample_contexts(prompt + 1, prompt + steps)
    comm_d = _comm_s(spec, system, layout, batch, 1, act)
    dec_runs = [
        run_workload(
            dev_spec,
            replace(_decode_wl(spec, batch, c, act, wdt, kvdt, prompt), attention=setup.attention),
            system.device,
            dispatch=setup.decode_dispatch,
            mode=setup.mode,
        )
        for c in contexts
    ]
    decode = _average([_step(r, stages, comm_d) for r in dec_runs], contexts)
    prefill = _step(pre, stages, _comm_s(spec, system, layout, batch, prompt, act))
    request = prefill.latency_s + decode.latency_s * (out - 1)

    last = len(stages) - 1
    weights = int(max(pre.stage_sum("weight_bytes", s, k == 0, k == last) for k, s in enumerate(stages)))
    per_seq = max(kv_cache_bytes(dev_spec, 1, ctx_max, kvdt, act, prompt, s if layout.pp > 1 else None) for s in stages)
    chunk_tokens = min(batch * prompt, setup.prefill_chunk)
    if chunk_tokens < batch * prompt:
        chunk_run = run_workload(
            dev_spec, Workload(Phase.PREFILL, 1, chunk_tokens, 0, Logits(setup.logits), act, wdt, kvdt)
        )
    else:
        chunk_run = pre
    acts = int(_activation_bytes(chunk_run, dev_spec, min(batch, chunk_tokens)))
    capacity = int(hw.memory_capacity)
    memory = Memory(weights, per_seq * batch, acts, capacity)
    usable = capacity * setup.memory_utilization
    fits = memory.total_bytes <= usable
    per_batch = per_seq + acts / batch
    max_batch = int(max((usable - weights - RUNTIME_RESERVED) // per_batch, 0)) if per_batch > 0 else 0
    if not fits:
        notes.append(f"needs {memory.total_bytes / 2**30:.1f} GiB per device, {usable / 2**30:.1f} GiB usable")
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
        max_batch,
        price_per_hour if price_per_hour is not None else hw.price_per_hour,
        rows,
        tuple(notes),
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
        device or system; tp, pp, price_per_hour, and ServingSetup's fields (with the
        CLI's names prefill_execution / decode_execution for the dispatch modes)."""
        spec = load_model_spec(model)
        if spec is None:
            raise PlanError(f"{model!r} is not a model spec, config.json or built-in model name")
        layout = ParallelLayout(tp=kw.pop("tp", 1), pp=kw.pop("pp", 1))
        price = kw.pop("price_per_hour", None)
        renames = {"prefill_execution": "prefill_dispatch", "decode_execution": "decode_dispatch"}
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
    batch, prompt_len, output_len, tp, pp, dtype, weight_dtype, kv_dtype, price_per_hour,
    prefill_execution, decode_execution, mode, memory_utilization, logits,
    prefill_chunk)."""
    return ServingCase.of(model, hardware, **kw).plan()


def _decode_wl(
    spec: ModelSpec, batch: int, context: int, act: DType, wdt: DType, kvdt: DType, prompt_len: int
) -> Workload:
    if spec.arch.decode is DecodeState.CROSS:
        # the decoder's own context is the generated tokens; cross-attention reads the prompt
        past = max(context - prompt_len - 1, 0) or 1
        return Workload(Phase.DECODE, batch, 1, past, Logits.LAST, act, wdt, kvdt, prompt_len)
    if spec.arch.decode is DecodeState.RECURRENT:
        return Workload(Phase.DECODE, batch, 1, 0, Logits.LAST, act, wdt, kvdt)
    return Workload(Phase.DECODE, batch, 1, context - 1, Logits.LAST, act, wdt, kvdt)


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
        return sum(wi * getattr(p, attr) for wi, p in zip(w, steps))

    return StepCost(
        avg("latency_s"), avg("flops"), avg("bytes"), avg("compute_s"), avg("comm_s"), int(round(avg("kernels")))
    )


def _activation_bytes(pre: WorkloadResult, spec: ModelSpec, batch: int) -> float:
    """Transient memory at the prefill peak: the live activations of the largest layer
    (liveness over its graph) for one prefill chunk, the fp32 logits of the last
    positions, and the runtime's reserved workspace. (A serving engine prefills in
    chunks; the KV cache, not the prompt's activations, grows with the batch.)"""
    peak = max((float(s.peak_activation_bytes) for s in pre.segments), default=0.0)
    logits = 4 * batch * spec.vocab_size if spec.vocab_size else 0
    return peak + logits + RUNTIME_RESERVED


def sweep_batches(case: ServingCase, batches: list[int]) -> list[LLMPlan]:
    """The throughput-latency curve: one plan per batch size."""
    return [case.plan(batch=b) for b in batches]
