"""One serving step on the devices of one replica: a decode step of a batch at a context,
a prefill (or one chunk of it) of some tokens after some cached ones, and the memory every
step needs. estimate_serving (llm.py) composes a request from these steps; the load model
(serving_load.py) samples them into tables; MoE layouts with expert parallelism take their
steps from serving_moe.py.

Conventions (design notes): prefill computes logits for the last position only; decode
at context c attends over c cached positions, the new one included; under pipeline
parallelism one batch passes every stage in turn (pipeline.stage_layers), memory is the
fullest stage's."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import PlanError
from ..frontends.lower import Logits, Phase, Workload
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import DecodeState, Lowering
from ..hardware.systems import System
from ..ir.dtypes import DType
from ..ir.dtypes import dtype as to_dtype
from .comm import TP_COLLECTIVES_FORWARD, pipeline_sends_s, tensor_parallel_s
from .layout import ParallelLayout, ServingSetup
from .pipeline import stage_layers
from .serving_memory import kv_cache_bytes, shard
from .serving_precision import recipe_dtypes
from .serving_records import StepCost, step_band
from .workload import WorkloadResult, run_workload

RUNTIME_RESERVED = 96 * 2**20  # CUDA context / cuBLAS workspace / allocator slack, bytes
# (H200 decode steps measured 94-230 MB above weights + KV cache:
#  benchmarks/data/h200-2026-11-28.json)
LOGIT_BYTES = 4  # serving engines sample from fp32 logits (vLLM's sampler upcasts)


def dtypes(setup: ServingSetup) -> tuple[DType, DType, DType]:
    """(activations, weights, KV cache) of a serving setup; under a precision recipe the
    weights are its block linears' and the KV cache its own unless kv_dtype is given."""
    act = to_dtype(setup.dtype)
    if setup.recipe is not None:
        if setup.weight_dtype:
            raise PlanError(f"--precision {setup.recipe} sets the weight dtype: drop --weight-dtype")
        wdt, _, _, kvdt = recipe_dtypes(setup.recipe, act)
        return act, wdt, to_dtype(setup.kv_dtype) if setup.kv_dtype else kvdt
    wdt = to_dtype(setup.weight_dtype) if setup.weight_dtype else act
    kvdt = to_dtype(setup.kv_dtype) if setup.kv_dtype else act
    return act, wdt, kvdt


def quantized(wl: Workload, setup: ServingSetup) -> Workload:
    """The workload with the setup's precision recipe's GEMM and attention dtypes."""
    if setup.recipe is None:
        return wl
    _, gemm, attention, _ = recipe_dtypes(setup.recipe, wl.dtype)
    return replace(wl, gemm_dtype=gemm, attention_dtype=attention)


def stages(spec: ModelSpec, pp: int) -> tuple[tuple[int, ...], ...]:
    if pp == 1:
        return (tuple(range(spec.num_layers)),)
    if spec.arch.lowering is Lowering.ENCODER_DECODER:
        raise PlanError(
            f"{spec.name}: pipeline stages of an encoder-decoder model are not modelled", where=f"--pp {pp}"
        )
    return stage_layers(spec.num_layers, pp)


def validate_serving_layout(spec: ModelSpec, layout: ParallelLayout) -> None:
    """A replica is tp x pp devices, or for a MoE model dp x tp with expert parallelism
    (serving_moe.validate_ep_layout); context parallelism is not modelled for serving."""
    if layout.cp > 1:
        raise PlanError("context parallelism is not modelled for serving (--cp 1)")
    if layout.dp > 1 or layout.ep > 1:
        from .serving_moe import validate_ep_layout

        validate_ep_layout(spec, layout)


def phase_cost(r: WorkloadResult, stage_list: tuple[tuple[int, ...], ...], comm: float) -> StepCost:
    """A phase as one device sees it: the time of the whole pipeline (one batch passes
    every stage in turn) plus communication; FLOPs, bytes and kernels of the busiest
    stage."""
    t = r.latency_s or 0.0
    band = step_band(r.band, t, t, comm)
    if len(stage_list) == 1:
        return StepCost(t + comm, float(r.flops), float(r.bytes), t, comm, r.kernels, band)
    last = len(stage_list) - 1
    per_stage = [
        (*r.stage_cost(s, k == 0, k == last), r.stage_sum("kernels", s, k == 0, k == last))
        for k, s in enumerate(stage_list)
    ]
    flops, nbytes, kernels = max(per_stage)
    return StepCost(t + comm, flops, nbytes, t, comm, int(kernels), band)


def tp_comm_s(spec: ModelSpec, system: System, layout: ParallelLayout, tokens: int, act: DType) -> float:
    """Tensor-parallel all-reduces of every layer (comm.tensor_parallel_s) over the
    activations of `tokens` positions, plus one send per stage boundary."""
    msg = act.nbytes(tokens * spec.hidden_size)
    tp = tensor_parallel_s(msg, layout.tp, system.tier_for(layout.tp), TP_COLLECTIVES_FORWARD * spec.num_layers)
    return tp + pipeline_sends_s(msg, layout.pp - 1, system.tier_for(layout.pp, layout.tp))


def decode_workload(spec: ModelSpec, batch: int, context: int, setup: ServingSetup, prompt_len: int) -> Workload:
    """A decode step of `batch` sequences at `context` positions (the new one included);
    an encoder-decoder's decoder context is the generated tokens, its cross-attention
    reads the prompt; a recurrent model carries a state instead. Attention fused or
    unfused as the setup says."""
    act, wdt, kvdt = dtypes(setup)
    if spec.arch.decode is DecodeState.CROSS:
        past = max(context - prompt_len - 1, 0) or 1
        wl = Workload(Phase.DECODE, batch, 1, past, Logits.LAST, act, wdt, kvdt, prompt_len, setup.attention)
    elif spec.arch.decode is DecodeState.RECURRENT:
        wl = Workload(Phase.DECODE, batch, 1, 0, Logits.LAST, act, wdt, kvdt, attention=setup.attention)
    else:
        wl = Workload(Phase.DECODE, batch, 1, context - 1, Logits.LAST, act, wdt, kvdt, attention=setup.attention)
    return quantized(wl, setup)


def decode_step(
    spec: ModelSpec,
    system: System,
    layout: ParallelLayout,
    setup: ServingSetup,
    batch: int,
    context: int,
    prompt_len: int,
) -> StepCost:
    """One decode step of `batch` sequences at `context` on one replica."""
    if layout.ep > 1:
        from .serving_moe import ep_decode_step

        return ep_decode_step(spec, system, layout, setup, batch, context)
    r = run_workload(
        shard(spec, layout.tp),
        decode_workload(spec, batch, context, setup, prompt_len),
        system.device,
        dispatch=setup.decode_dispatch,
        mode=setup.mode,
        runtime=setup.runtime,
    )
    return phase_cost(r, stages(spec, layout.pp), tp_comm_s(spec, system, layout, batch, dtypes(setup)[0]))


def prefill_run(
    spec: ModelSpec,
    system: System,
    layout: ParallelLayout,
    setup: ServingSetup,
    batch: int,
    tokens: int,
    past: int = 0,
) -> tuple[StepCost, WorkloadResult]:
    """A prefill of `tokens` new positions per sequence after `past` cached ones (a whole
    prompt, or one chunk of it), with the workload result it came from."""
    act, wdt, kvdt = dtypes(setup)
    wl = Workload(Phase.PREFILL, batch, tokens, past, Logits(setup.logits), act, wdt, kvdt, attention=setup.attention)
    wl = quantized(wl, setup)
    if layout.ep > 1:
        from .serving_moe import ep_prefill_run

        return ep_prefill_run(spec, system, layout, setup, wl)
    r = run_workload(
        shard(spec, layout.tp),
        wl,
        system.device,
        dispatch=setup.prefill_dispatch,
        mode=setup.mode,
        runtime=setup.runtime,
    )
    return phase_cost(r, stages(spec, layout.pp), tp_comm_s(spec, system, layout, batch * tokens, act)), r


# -- memory ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryBudget:
    """What a replica's devices hold apart from the sequences: the weights (fullest
    stage), the transients of one chunked-prefill step of `prefill_chunk` tokens (a
    serving engine reserves them up front: vLLM's profile run at max_num_batched_tokens)
    with the runtime's reserve, and the usable capacity."""

    weights_bytes: int
    step_transient_bytes: int
    capacity_bytes: int
    usable_bytes: float

    def max_batch(self, per_sequence_bytes: int) -> int:
        """Sequences whose KV cache (and state, and logits row) fit beside the weights and
        one chunked-prefill step; the same for every batch asked about."""
        free = self.usable_bytes - self.weights_bytes - self.step_transient_bytes
        return int(max(free // per_sequence_bytes, 0)) if per_sequence_bytes > 0 else 0


def weights_bytes(r: WorkloadResult, stage_list: tuple[tuple[int, ...], ...]) -> int:
    last = len(stage_list) - 1
    return int(max(r.stage_sum("weight_bytes", s, k == 0, k == last) for k, s in enumerate(stage_list)))


def activation_bytes(r: WorkloadResult, logit_rows: int, vocab: int) -> int:
    """Transient memory at a prefill peak: the live activations of the largest layer
    (liveness over its graph), the fp32 logits rows and the runtime's reserved
    workspace. (A serving engine prefills in chunks; the KV cache, not the prompt's
    activations, grows with the batch.)"""
    peak = max((float(s.peak_activation_bytes) for s in r.segments), default=0.0)
    return int(peak + LOGIT_BYTES * logit_rows * vocab + RUNTIME_RESERVED)


def sequence_bytes(
    spec: ModelSpec, layout: ParallelLayout, setup: ServingSetup, context: int, prompt_len: int
) -> tuple[int, int]:
    """(KV cache and state of one sequence at `context`, the same plus its fp32 logits
    row) per device, on the fullest pipeline stage (the head's stage holds the logits)."""
    if layout.ep > 1:
        from .serving_moe import ep_sequence_bytes

        return ep_sequence_bytes(spec, layout, setup, context, prompt_len)
    act, _, kvdt = dtypes(setup)
    dev = shard(spec, layout.tp)
    stage_list = stages(spec, layout.pp)
    last = len(stage_list) - 1
    per = [kv_cache_bytes(dev, 1, context, kvdt, act, prompt_len, s if layout.pp > 1 else None) for s in stage_list]
    logits = LOGIT_BYTES * dev.vocab_size
    return max(per), max(b + (logits if k == last else 0) for k, b in enumerate(per))


def memory_budget(spec: ModelSpec, system: System, layout: ParallelLayout, setup: ServingSetup) -> MemoryBudget:
    """The replica's fixed memory per device (MemoryBudget), independent of the batch."""
    _, full = prefill_run(spec, system, layout, setup, 1, setup.prefill_chunk)
    weights = _weights(spec, layout, setup, full)
    capacity = int(system.device.memory_capacity)
    return MemoryBudget(weights, activation_bytes(full, 0, 0), capacity, capacity * setup.memory_utilization)


def _weights(spec: ModelSpec, layout: ParallelLayout, setup: ServingSetup, r: WorkloadResult) -> int:
    if layout.ep > 1:
        from .serving_moe import ep_weights_bytes

        return ep_weights_bytes(spec, layout, setup, r)
    return weights_bytes(r, stages(spec, layout.pp))
