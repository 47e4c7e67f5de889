"""Serving memory: the per-device slice of a tensor-parallel model, KV-cache and
recurrent-state bytes, parameters touched per token."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..errors import PlanError
from ..frontends.spec import LayerKind, ModelSpec
from ..frontends.spec.architectures import DecodeState
from ..ir.dtypes import DType
from .workload import param_count


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


def _layers(spec: ModelSpec, layers: Sequence[int] | None) -> Sequence[int]:
    return range(spec.num_layers) if layers is None else layers


def _attention_layers(spec: ModelSpec, layers: Sequence[int] | None) -> tuple[int, int]:
    """(global, sliding-window) attention layers among `layers`, asking the spec once per
    distinct layer (ModelSpec.representative_layer)."""
    kinds: dict[int, int] = {}  # 0: no KV cache, 1: global, 2: sliding
    counts = [0, 0, 0]
    for i in _layers(spec, layers):
        r = spec.representative_layer(i)
        k = kinds.get(r)
        if k is None:
            k = kinds[r] = 0 if spec.layer_kind(r) is not LayerKind.ATTENTION else 2 if spec.is_sliding(r) else 1
        counts[k] += 1
    return counts[1], counts[2]


def kv_bytes_per_token(
    spec: ModelSpec, kv: DType, context: int | None = None, layers: Sequence[int] | None = None
) -> int:
    """KV-cache bytes per sequence position across the layers (all, or those of one
    pipeline stage; per device for a sharded spec). MLA stores its latent once;
    sliding-window layers keep at most the window; SSM / RWKV layers keep a fixed state
    instead (see state_bytes)."""
    if spec.arch.decode is DecodeState.CROSS:
        return int(kv.nbytes(2 * spec.kv_heads * spec.hd) * spec.num_decoder_layers)
    n_global, n_sliding = _attention_layers(spec, layers)
    per = spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim if spec.mla is not None else 2 * spec.kv_heads * spec.hd
    total = kv.nbytes(per) * n_global
    if context is not None:
        total += kv.nbytes(per) * min(context, spec.sliding_window) / context * n_sliding
    else:
        total += kv.nbytes(per) * n_sliding
    return int(math.ceil(total))


def kv_bytes(spec: ModelSpec, kv: DType, context: int, layers: Sequence[int] | None = None) -> int:
    """KV-cache bytes of one sequence at `context` positions, exactly: each attention
    layer keeps every position, a sliding-window layer at most its window (MLA: its
    latent). The encoder-decoder's decoder self-attention cache as kv_bytes_per_token."""
    if spec.arch.decode is DecodeState.CROSS:
        return kv_bytes_per_token(spec, kv) * context
    n_global, n_sliding = _attention_layers(spec, layers)
    per = spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim if spec.mla is not None else 2 * spec.kv_heads * spec.hd
    return (
        int(kv.nbytes(per * context)) * n_global + int(kv.nbytes(per * min(context, spec.sliding_window))) * n_sliding
    )


def state_bytes(spec: ModelSpec, act: DType, layers: Sequence[int] | None = None) -> int:
    """Per-sequence recurrent state: Mamba (fp32 SSM state + conv window), RWKV (WKV state
    + two token-shift vectors), linear attention / retention (its K x V state per head,
    fp32), Griffin's RG-LRU (fp32 state + the conv window)."""
    reps: dict[int, int] = {}
    for i in _layers(spec, layers):
        r = spec.representative_layer(i)
        reps[r] = reps.get(r, 0) + 1
    return sum(_layer_state_bytes(spec, act, r) * n for r, n in reps.items())


def _layer_state_bytes(spec: ModelSpec, act: DType, i: int) -> int:
    kind = spec.layer_kind(i)
    if kind is LayerKind.MAMBA and spec.ssm is not None:
        m, di = spec.ssm, spec.ssm.expand * spec.hidden_size
        conv_ch = di + (2 * m.ngroups * m.d_state if spec.ssm_version() == 2 else 0)
        return int(4 * di * m.d_state + act.nbytes(conv_ch * (m.d_conv - 1)))
    if kind is LayerKind.RWKV and spec.rwkv is not None:
        h = spec.hidden_size // spec.rwkv.head_size
        return int(4 * h * spec.rwkv.head_size**2 + act.nbytes(2 * spec.hidden_size))
    if kind is LayerKind.LINEAR:
        vf = spec.linear.value_factor if spec.linear is not None else 1
        return int(4 * spec.num_heads * spec.hd * spec.hd * vf)
    if kind is LayerKind.RGLRU and spec.rglru is not None:
        width = spec.rglru.lru_width or spec.hidden_size
        return int(4 * width + act.nbytes(width * (spec.rglru.conv_width - 1)))
    return 0


def kv_cache_bytes(
    spec: ModelSpec,
    batch: int,
    context: int,
    kv: DType,
    act: DType,
    encoder_len: int = 0,
    layers: Sequence[int] | None = None,
) -> int:
    total = kv_bytes(spec, kv, context, layers) * batch + state_bytes(spec, act, layers) * batch
    if spec.arch.decode is DecodeState.CROSS and encoder_len:
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
    return total - spec.moe_layers() * (m.num_experts - m.top_k) * per_expert


def expert_params(spec: ModelSpec) -> int:
    """Parameters of the routed experts (what expert parallelism splits)."""
    m = spec.moe
    if m is None:
        return 0
    mult = 3 if spec.mlp == "gated" else 2
    return mult * spec.hidden_size * m.expert_intermediate_size * m.num_experts * spec.moe_layers()
