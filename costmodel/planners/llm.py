"""LLM serving planner: prefill and per-token decode latency, memory, the largest batch
that fits, throughput and cost, for a model on P x T devices (pipeline x tensor parallel).

Conventions (design notes): prefill computes logits for the last position only; decode
step i attends over the P + i cached positions (the new token included); the request
is the prefill (which produces the first output token) plus N - 1 decode steps; KV cache
= 2 x layers x kv_heads x head_dim x context x batch x bytes (MLA: its compressed
latent, once); GQA shrinks KV bytes and K/V projections, not score/PV FLOPs. Prefill
runs eagerly and decode as CUDA-graph replay by default (as serving engines run them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..engine.collectives import all_reduce, scale_up_tier, send_recv
from ..errors import PlanError
from ..frontends.lower import Workload
from ..frontends.spec import ModelSpec
from ..hardware import get_profile
from ..ir.dtypes import DType, dtype as to_dtype
from .workload import WorkloadResult, param_count, require_positive, run_workload

MEMORY_UTILIZATION = 0.95  # fraction of device memory a serving engine may use
PREFILL_CHUNK = 2048  # tokens per prefill step for activation memory (chunked prefill,
# vLLM's max_num_batched_tokens default)
RUNTIME_RESERVED = 96 * 2**20  # CUDA context / cuBLAS workspace / allocator slack, bytes
# (H200 decode steps measured 94-230 MB above weights + KV cache:
#  benchmarks/data/h200-2026-11-28.json)


@dataclass(frozen=True)
class Phase:
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
    prefill: Phase
    decode: Phase
    request_latency_s: float
    memory: Memory  # per device
    fits: bool
    max_batch: int
    price_per_hour: float | None = None
    layers: tuple = ()
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
        d: dict[str, Any] = {
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
        return d


# -- parallel layouts ------------------------------------------------------------------


def shard(spec: ModelSpec, tp: int) -> ModelSpec:
    """The per-device slice of a tensor-parallel model (Megatron layout): heads, KV heads
    (replicated when fewer than tp), MLP width and vocabulary split tp ways."""
    if tp == 1:
        return spec
    where = f"--tp {tp}"
    if spec.num_heads and spec.num_heads % tp:
        raise PlanError(f"num_heads {spec.num_heads} is not divisible by tp {tp}", where=where)
    kv = spec.kv_heads
    if kv and kv >= tp and kv % tp:
        raise PlanError(f"num_kv_heads {kv} is not divisible by tp {tp}", where=where)
    inter = spec.intermediate_size
    if inter and inter % tp:
        raise PlanError(f"intermediate_size {inter} is not divisible by tp {tp}", where=where)
    kw: dict[str, Any] = {
        "num_heads": spec.num_heads // tp if spec.num_heads else 0,
        "num_kv_heads": max(kv // tp, 1) if kv else 0,
        "head_dim": spec.hd,
        "intermediate_size": inter // tp if inter else 0,
        "vocab_size": math.ceil(spec.vocab_size / tp) if spec.vocab_size else 0,
    }
    if spec.moe is not None:
        ei = spec.moe.expert_intermediate_size
        if ei % tp:
            raise PlanError(f"expert_intermediate_size {ei} is not divisible by tp {tp}", where=where)
        kw["moe"] = replace(
            spec.moe,
            expert_intermediate_size=ei // tp,
            shared_intermediate_size=spec.moe.shared_intermediate_size // tp,
        )
    return replace(spec, **kw)


def stage_spec(spec: ModelSpec, pp: int) -> ModelSpec:
    """The largest pipeline stage (layers split evenly, remainder on the first stages)."""
    if pp == 1:
        return spec
    if spec.num_layers < pp:
        raise PlanError(f"{spec.num_layers} layers cannot be split into {pp} pipeline stages", where=f"--pp {pp}")
    return replace(
        spec,
        num_layers=math.ceil(spec.num_layers / pp),
        layer_types=spec.layer_types[: math.ceil(spec.num_layers / pp)] if spec.layer_types else (),
    )


# -- memory ----------------------------------------------------------------------------


def kv_bytes_per_token(spec: ModelSpec, kv: DType, context: int | None = None) -> int:
    """KV-cache bytes per sequence position across all layers (per device for a sharded
    spec). MLA stores its latent once; sliding-window layers keep at most the window;
    SSM / RWKV layers keep a fixed state instead (see state_bytes)."""
    total = 0
    for i in range(spec.num_layers):
        kind = spec.layer_kind(i)
        if kind != "attention":
            continue
        if spec.mla is not None:
            per = spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim
        else:
            per = 2 * spec.kv_heads * spec.hd
        if context is not None and spec.is_sliding(i):
            total += kv.nbytes(per) * min(context, spec.sliding_window) / context
        else:
            total += kv.nbytes(per)
    if spec.architecture == "encoder-decoder":
        total = kv.nbytes(2 * spec.kv_heads * spec.hd) * spec.num_decoder_layers
    return int(math.ceil(total))


def state_bytes(spec: ModelSpec, act: DType) -> int:
    """Per-sequence recurrent state: Mamba (fp32 SSM state + conv window), RWKV (WKV state
    + two token-shift vectors)."""
    total = 0
    for i in range(spec.num_layers):
        kind = spec.layer_kind(i)
        if kind == "mamba":
            m, di = spec.ssm, spec.ssm.expand * spec.hidden_size
            conv_ch = di + (2 * m.ngroups * m.d_state if spec.architecture == "mamba2" else 0)
            total += 4 * di * m.d_state + act.nbytes(conv_ch * (m.d_conv - 1))
        elif kind == "rwkv":
            h = spec.hidden_size // spec.rwkv.head_size
            total += 4 * h * spec.rwkv.head_size**2 + act.nbytes(2 * spec.hidden_size)
        elif kind == "linear":
            total += 4 * spec.num_heads * spec.hd * spec.hd
    return total


def kv_cache_bytes(spec: ModelSpec, batch: int, context: int, kv: DType, act: DType, encoder_len: int = 0) -> int:
    per_tok = kv_bytes_per_token(spec, kv, context)
    total = per_tok * context * batch + state_bytes(spec, act) * batch
    if spec.architecture == "encoder-decoder" and encoder_len:
        total += kv.nbytes(2 * spec.kv_heads * spec.hd) * spec.num_decoder_layers * encoder_len * batch
    return int(total)


def active_params(spec: ModelSpec) -> int:
    """Parameters touched per token: all of them minus the routed experts not chosen."""
    total = param_count(spec)
    m = spec.moe
    if m is None:
        return total
    mult = 3 if spec.mlp == "gated" else 2
    per_expert = mult * spec.hidden_size * m.expert_intermediate_size
    moe_layers = sum(1 for i in range(spec.num_layers) if spec.is_moe_layer(i))
    return total - moe_layers * (m.num_experts - m.top_k) * per_expert


# -- the planner -----------------------------------------------------------------------


def _phase(r: WorkloadResult, comm: float) -> Phase:
    return Phase((r.latency_s or 0.0) + comm, float(r.flops), float(r.bytes), r.latency_s or 0.0, comm, r.kernels)


def _comm(spec: ModelSpec, hw: Any, batch: int, seq: int, act: DType, tp: int, pp: int) -> float:
    """Two all-reduces per layer under TP (after attention and after the MLP), one
    send/recv per stage boundary under PP."""
    tier = scale_up_tier(hw)
    msg = act.nbytes(batch * seq * spec.hidden_size)
    t = 2 * spec.num_layers * all_reduce(msg, tp, tier) if tp > 1 else 0.0
    if pp > 1:
        t += (pp - 1) * send_recv(msg, tier)
    return t


def plan_llm(
    model: Any,
    hardware: Any,
    *,
    batch: int = 1,
    prompt_len: int = 512,
    output_len: int = 128,
    tp: int = 1,
    pp: int = 1,
    dtype: str = "bf16",
    weight_dtype: str | None = None,
    kv_dtype: str | None = None,
    price_per_hour: float | None = None,
    prefill_execution: str = "eager",
    decode_execution: str = "graph",
    mode: str = "calibrated",
    memory_utilization: float = MEMORY_UTILIZATION,
    logits: str = "last",
    prefill_chunk: int = PREFILL_CHUNK,
) -> LLMPlan:
    from ..frontends import load_model_spec

    spec = load_model_spec(model)
    if spec is None:
        raise PlanError(f"{model!r} is not a model spec, config.json or built-in model name")
    require_positive(batch=batch, prompt_len=prompt_len, output_len=output_len, tp=tp, pp=pp)
    if spec.architecture in ("vit", "dit", "encoder"):
        raise PlanError(f"{spec.name} is a {spec.architecture} model: use `costmodel analyze` (no decode phase)")
    hw = get_profile(hardware)
    act = to_dtype(dtype)
    wdt = to_dtype(weight_dtype) if weight_dtype else act
    kvdt = to_dtype(kv_dtype) if kv_dtype else act
    dev_spec = stage_spec(shard(spec, tp), pp)
    notes = []
    ctx_max = prompt_len + output_len
    if spec.max_position and ctx_max > spec.max_position:
        notes.append(f"context {ctx_max} exceeds the model's max_position {spec.max_position}")

    pre = run_workload(
        dev_spec,
        Workload("prefill", batch, prompt_len, 0, logits, act, wdt, kvdt),
        hw,
        execution=prefill_execution,
        mode=mode,
    )
    prefill = _phase(pre, 0.0)
    steps = max(output_len - 1, 1)
    contexts = _sample_contexts(prompt_len + 1, prompt_len + steps)
    dec_runs = [
        run_workload(
            dev_spec, _decode_wl(spec, batch, c, act, wdt, kvdt, prompt_len), hw, execution=decode_execution, mode=mode
        )
        for c in contexts
    ]
    decode = _average([_phase(r, 0.0) for r in dec_runs], contexts)
    # one batch passes through every stage (each holds 1/pp of the layers), plus the
    # tensor-parallel all-reduces of every layer and the stage-to-stage sends
    comm_p = _comm(spec, hw, batch, prompt_len, act, tp, pp)
    comm_d = _comm(spec, hw, batch, 1, act, tp, pp)
    prefill = replace(prefill, latency_s=prefill.latency_s * pp + comm_p, comm_s=comm_p)
    decode = replace(decode, latency_s=decode.latency_s * pp + comm_d, comm_s=comm_d)
    request = prefill.latency_s + decode.latency_s * (output_len - 1)

    weights = int(pre.weight_bytes)
    per_seq = kv_cache_bytes(dev_spec, 1, ctx_max, kvdt, act, prompt_len)
    kv_total = per_seq * batch
    chunk_tokens = min(batch * prompt_len, prefill_chunk)
    if chunk_tokens < batch * prompt_len:
        chunk_run = run_workload(dev_spec, Workload("prefill", 1, chunk_tokens, 0, logits, act, wdt, kvdt))
    else:
        chunk_run = pre
    acts = int(_activation_bytes(chunk_run, dev_spec, min(batch, chunk_tokens), act))
    capacity = int(hw.memory_capacity)
    memory = Memory(weights, kv_total, acts, capacity)
    usable = capacity * memory_utilization
    fits = memory.total_bytes <= usable
    per_batch = per_seq + acts / batch
    max_batch = int(max((usable - weights - RUNTIME_RESERVED) // per_batch, 0)) if per_batch > 0 else 0
    if not fits:
        notes.append(f"needs {memory.total_bytes / 2**30:.1f} GiB per device, {usable / 2**30:.1f} GiB usable")
    layers = tuple(
        {"segment": s.name, "repeat": s.repeat, "prefill_s": s.time_s, "prefill_flops": float(s.cost.flops)}
        for s in pre.segments
    )
    return LLMPlan(
        spec.name,
        hw.name,
        batch,
        prompt_len,
        output_len,
        tp,
        pp,
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
        layers,
        tuple(notes),
    )


def _decode_wl(
    spec: ModelSpec, batch: int, context: int, act: DType, wdt: DType, kvdt: DType, prompt_len: int
) -> Workload:
    if spec.architecture == "encoder-decoder":
        # the decoder's own context is the generated tokens; cross-attention reads the prompt
        return Workload("decode", batch, 1, max(context - prompt_len - 1, 0) or 1, "last", act, wdt, kvdt, prompt_len)
    if spec.architecture in ("mamba", "mamba2", "rwkv", "linear-attention"):
        return Workload("decode", batch, 1, 0, "last", act, wdt, kvdt)
    return Workload("decode", batch, 1, context - 1, "last", act, wdt, kvdt)


def _sample_contexts(first: int, last: int) -> list[int]:
    if last - first <= 2:
        return list(range(first, last + 1))
    return [first, (first + last) // 2, last]


def _average(phases: list[Phase], contexts: list[int]) -> Phase:
    """Mean over the decode steps: every step when few, else Simpson's rule over the
    first, middle and last context (exact for costs quadratic in the context)."""
    if len(phases) == 1 or len(phases) != 3 or contexts[1] - contexts[0] != contexts[2] - contexts[1]:
        w = [1.0 / len(phases)] * len(phases)
    else:
        w = [1 / 6, 4 / 6, 1 / 6]

    def avg(attr: str) -> float:
        return sum(wi * getattr(p, attr) for wi, p in zip(w, phases))

    return Phase(
        avg("latency_s"), avg("flops"), avg("bytes"), avg("compute_s"), avg("comm_s"), int(round(avg("kernels")))
    )


def _activation_bytes(pre: WorkloadResult, spec: ModelSpec, batch: int, act: DType) -> float:
    """Transient memory at the prefill peak: the live activations of the largest layer
    (liveness over its graph) for one prefill chunk, the fp32 logits of the last
    positions, and the runtime's reserved workspace. (A serving engine prefills in
    chunks; the KV cache, not the prompt's activations, grows with the batch.)"""
    peak = max((float(s.peak_activation_bytes) for s in pre.segments), default=0.0)
    logits = 4 * batch * spec.vocab_size if spec.vocab_size else 0
    return peak + logits + RUNTIME_RESERVED


def sweep_batches(model: Any, hardware: Any, batches: list[int], **kw: Any) -> list[LLMPlan]:
    """The throughput-latency curve: one plan per batch size."""
    return [plan_llm(model, hardware, batch=b, **kw) for b in batches]
