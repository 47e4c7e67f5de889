"""Plain data (a parsed spec file, a Hugging Face import) -> a validated ModelSpec.

Integer fields take a number or an expression over other integer fields in the safe
expression language of `expr.py` (`head_dim: hidden_size // num_heads`); choices are
checked against their enums and the architecture table; every problem is a SpecError
naming the field.
"""

from __future__ import annotations

import math
import typing
from dataclasses import fields
from enum import StrEnum
from functools import cache
from typing import Any

from ...errors import ExpressionError, SpecError
from ...ir.activations import EAGER_FORMULAS
from ...limits import spec_limits
from .architectures import ARCHITECTURES, Head, LayerKind, Lowering
from .expr import evaluate_int, names_in
from .records import NESTED, LinearSpec, ModelSpec, RGLRUSpec, RWKVSpec, SSMSpec

ALIASES = {
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "num_key_value_heads": "num_kv_heads",
    "d_model": "hidden_size",
    "n_layer": "num_layers",
    "tie_word_embeddings": "tie_embeddings",
}
REQUIRED = ("name", "architecture", "hidden_size", "num_layers")
CLASSIFIERS = (Head.SEQUENCE_CLASSIFICATION, Head.TOKEN_CLASSIFICATION)


@cache
def field_kinds(cls: type) -> dict[str, Any]:
    """Field name -> "nested" | "bool" | "int" | "strings" | "text" | an enum class."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in fields(cls):
        t = hints[f.name]
        args = typing.get_args(t)
        if f.name in NESTED:
            out[f.name] = "nested"
        elif t is bool:
            out[f.name] = "bool"
        elif t is int:
            out[f.name] = "int"
        elif t is float:
            out[f.name] = "float"
        elif typing.get_origin(t) is tuple and args and args[0] is str:
            out[f.name] = "strings"
        elif typing.get_origin(t) is tuple and args and args[0] is int:
            out[f.name] = "ints"
        elif isinstance(t, type) and issubclass(t, StrEnum):
            out[f.name] = t
        else:
            out[f.name] = "text"
    return out


def choices(name: str, kind: Any) -> tuple[str, ...]:
    if name == "architecture":
        return tuple(ARCHITECTURES)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return tuple(m.value for m in kind)
    return ()


def _coerce(cls: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    kinds = field_kinds(cls)
    out: dict[str, Any] = {}
    pending: dict[str, Any] = {}
    for k, v in data.items():
        key = ALIASES.get(k, k) if isinstance(k, str) else k
        if key not in kinds:
            raise SpecError(f"unknown field {k!r}; allowed: {', '.join(sorted(kinds))}", where=where)
        kind = kinds[key]
        fw = f"{where}: {key}"
        if kind == "nested":
            if v is None:
                out[key] = None
                continue
            if not isinstance(v, dict):
                raise SpecError(f"{key} must be a mapping", where=where)
            out[key] = NESTED[key](**_coerce(NESTED[key], v, fw))
        elif kind == "bool":
            if not isinstance(v, bool):
                raise SpecError(f"must be true or false, got {v!r}", where=fw)
            out[key] = v
        elif kind == "int":
            pending[key] = v
        elif kind == "strings":
            if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
                raise SpecError("must be a list of strings", where=fw)
            out[key] = tuple(v)
        elif kind == "ints":
            if not isinstance(v, (list, tuple)) or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
                raise SpecError("must be a list of integers", where=fw)
            if any(x < 0 for x in v) or len(v) > 64:
                raise SpecError("must list at most 64 integers >= 0", where=fw)
            for x in v:
                spec_limits().check(key, x, fw)
            out[key] = tuple(v)
        elif kind == "float":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise SpecError(f"must be a finite number >= 0, got {v!r}", where=fw)
            out[key] = float(v)
        else:
            if not isinstance(v, str):
                raise SpecError(f"must be text, got {type(v).__name__}", where=fw)
            allowed = choices(key, kind)
            if allowed and v not in allowed:
                raise SpecError(f"{v!r} is not one of {', '.join(allowed)}", where=fw)
            out[key] = kind(v) if isinstance(kind, type) else v
    out.update(_integers(pending, where))
    return out


def _integers(pending: dict[str, Any], where: str) -> dict[str, int]:
    """Plain numbers first, then expressions over the known numbers, in dependency order."""
    out: dict[str, int] = {}
    for k, v in list(pending.items()):
        fw = f"{where}: {k}"
        if isinstance(v, bool):
            raise SpecError(f"must be an integer, got {v!r}", where=fw)
        if isinstance(v, int):
            out[k] = v
        elif isinstance(v, float):
            if not math.isfinite(v) or not v.is_integer():
                raise SpecError(f"must be an integer, got {v!r}", where=fw)
            out[k] = int(v)
        elif not isinstance(v, str):
            raise SpecError(f"must be an integer or an expression, got {type(v).__name__}", where=fw)
        else:
            continue
        del pending[k]
    while pending:
        ready = [k for k, v in pending.items() if names_in(v, f"{where}: {k}") <= out.keys()]
        if not ready:  # an unknown name or a cycle: evaluating one names the culprit
            k, v = next(iter(pending.items()))
            evaluate_int(v, out, where=f"{where}: {k}")
            raise SpecError(f"expressions refer to each other in a cycle ({', '.join(pending)})", where=where)
        for k in ready:
            try:
                out[k] = evaluate_int(pending.pop(k), out, where=f"{where}: {k}")
            except ExpressionError:
                raise
    limits = spec_limits()
    for k, val in out.items():
        if val < 0:
            raise SpecError(f"must be >= 0, got {val}", where=f"{where}: {k}")
        limits.check(k, val, f"{where}: {k}")
    return out


def plausible(key: str) -> str | None:
    """The plausible range of an integer spec or config.json field, for error messages
    (None for a key that is no integer field)."""
    name = ALIASES.get(key, key)
    for cls in (ModelSpec, *NESTED.values()):
        if field_kinds(cls).get(name) in ("int", "ints"):
            return spec_limits().describe(name)
    return None


def spec_from_dict(data: Any, where: str = "spec") -> ModelSpec:
    if not isinstance(data, dict):
        raise SpecError(f"a spec must be a mapping, got {type(data).__name__}", where=where)
    for req in REQUIRED:
        if req not in data and not any(ALIASES.get(k) == req for k in data):
            raise SpecError(f"missing required field {req!r}", where=where)
    spec = ModelSpec(**_coerce(ModelSpec, dict(data), where))
    return validate(spec, where)


def validate(s: ModelSpec, where: str = "spec") -> ModelSpec:
    """Check a spec against its architecture; returns it with the architecture's default
    sub-records filled in (an SSM block for Mamba layers, RWKV sizes for RWKV)."""

    def bad(msg: str) -> SpecError:
        return SpecError(msg, where=where)

    arch = ARCHITECTURES[s.architecture]
    if s.hidden_size <= 0 or s.num_layers <= 0:
        raise bad("hidden_size and num_layers must be positive")
    if s.layer_types:
        if len(s.layer_types) != s.num_layers:
            raise bad(f"layer_types has {len(s.layer_types)} entries for {s.num_layers} layers")
        for t in s.layer_types:
            if t not in {k.value for k in arch.layer_kinds}:
                allowed = ", ".join(sorted(k.value for k in arch.layer_kinds))
                raise bad(f"layer type {t!r} is not one of {allowed} (architecture {s.architecture})")
    kinds = arch.kinds(s.layer_types)
    if LayerKind.ATTENTION in kinds or LayerKind.LINEAR in kinds or LayerKind.RGLRU in kinds:
        if s.num_heads <= 0:
            raise bad("num_heads must be positive for an architecture with attention")
        if not s.head_dim and s.mla is None and s.hidden_size % s.num_heads:
            raise bad(f"num_heads {s.num_heads} does not divide hidden_size {s.hidden_size} (give head_dim explicitly)")
        if s.num_kv_heads and s.num_heads % s.num_kv_heads:
            raise bad(f"num_kv_heads {s.num_kv_heads} does not divide num_heads {s.num_heads}")
    if arch.needs_vocab and s.vocab_size <= 0:
        raise bad("vocab_size must be positive")
    if arch.mlp_after_mixer and s.intermediate_size <= 0 and s.moe is None:
        raise bad("intermediate_size must be positive")
    if s.moe is not None:
        m = s.moe
        if m.num_experts <= 0 or not 0 < m.top_k <= m.num_experts:
            raise bad("moe: need 0 < top_k <= num_experts")
        if m.expert_intermediate_size <= 0:
            raise bad("moe: expert_intermediate_size must be positive")
        if m.expert_parallel < 1 or m.num_experts % m.expert_parallel:
            raise bad(f"moe: expert_parallel {m.expert_parallel} must divide num_experts {m.num_experts}")
    if arch.patches and (s.image_size <= 0 or s.patch_size <= 0 or s.image_size % s.patch_size):
        raise bad("image_size must be a positive multiple of patch_size")
    if arch.image_input and s.image_size <= 0:
        raise bad("image_size must be positive")
    if s.num_frames and s.architecture != "dit":
        raise bad("num_frames is for video diffusion transformers (architecture dit)")
    if arch.lowering is Lowering.CONVNET:
        _check_cnn(s, bad)
    if arch.lowering in (Lowering.UNET, Lowering.VAE_DECODER):
        _check_unet(s, bad)
    if s.head not in arch.heads:
        allowed = ", ".join(sorted(h.value for h in arch.heads))
        raise bad(f"head {s.head.value!r} is not one of {allowed} (architecture {s.architecture})")
    if s.resolved_head in CLASSIFIERS and s.num_labels <= 0:
        raise bad(f"num_labels must be positive for a {s.resolved_head.value} head")
    if s.activation_formula and s.activation_formula not in EAGER_FORMULAS:
        raise bad(f"activation_formula {s.activation_formula!r} is not one of {', '.join(EAGER_FORMULAS)}")
    if s.architecture == "encoder-decoder" and s.num_decoder_layers <= 0:
        raise bad("encoder-decoder specs need num_decoder_layers")
    if s.ssm is not None and s.ssm.version not in (0, 1, 2):
        raise bad(f"ssm: version must be 1 or 2, got {s.ssm.version}")
    if LayerKind.RWKV in kinds and s.rwkv is not None and s.hidden_size % s.rwkv.head_size:
        raise bad(f"rwkv: head_size {s.rwkv.head_size} does not divide hidden_size {s.hidden_size}")
    if LayerKind.MAMBA in kinds and s.ssm is None:
        object.__setattr__(s, "ssm", SSMSpec())
    if LayerKind.RWKV in kinds and s.rwkv is None:
        object.__setattr__(s, "rwkv", RWKVSpec())
    if LayerKind.RGLRU in kinds:
        g = s.rglru or RGLRUSpec()
        width, heads = g.lru_width or s.hidden_size, g.heads or s.num_heads
        if heads < 1 or width % heads or g.conv_width < 1:
            raise bad(f"rglru: {heads} gate blocks must divide the recurrence width {width} (and conv_width >= 1)")
        object.__setattr__(s, "rglru", g)
    if LayerKind.LINEAR in kinds:
        lin = s.linear or LinearSpec()
        if lin.value_factor < 1:
            raise bad("linear: value_factor must be at least 1")
        object.__setattr__(s, "linear", lin)
    return s


CNN_BLOCKS = ("basic", "bottleneck", "inverted-residual", "fasternet")
CNN_STEMS = ("resnet", "patch")


def _check_cnn(s: ModelSpec, bad: Any) -> None:
    c = s.cnn
    if c is None:
        raise bad("a cnn model needs a cnn block (block, depths, widths)")
    if c.block not in CNN_BLOCKS:
        raise bad(f"cnn: block {c.block!r} is not one of {', '.join(CNN_BLOCKS)}")
    if c.stem not in CNN_STEMS:
        raise bad(f"cnn: stem {c.stem!r} is not one of {', '.join(CNN_STEMS)}")
    if not c.depths or len(c.depths) != len(c.widths) or (c.strides and len(c.strides) != len(c.depths)):
        raise bad("cnn: depths and widths (and strides, if given) need one entry per stage")
    if min(c.depths) < 1 or min(c.widths) < 1 or (c.strides and min(c.strides) < 1):
        raise bad("cnn: depths, widths and strides must be positive")
    if sum(c.depths) != s.num_layers:
        raise bad(f"num_layers {s.num_layers} must equal the blocks in all stages, {sum(c.depths)}")
    if min(c.expansion, c.partial_ratio, c.stem_kernel, c.merge_kernel) < 1:
        raise bad("cnn: expansion, partial_ratio, stem_kernel and merge_kernel must be positive")
    if c.block == "bottleneck" and any(w % c.expansion for w in c.widths):
        raise bad(f"cnn: bottleneck widths must be multiples of expansion {c.expansion}")
    if c.block == "fasternet" and any(w % c.partial_ratio for w in (s.hidden_size, *c.widths)):
        raise bad(f"cnn: fasternet widths must be multiples of partial_ratio {c.partial_ratio}")
    if s.num_classes <= 0:
        raise bad("a cnn classifier needs num_classes")


def _check_unet(s: ModelSpec, bad: Any) -> None:
    u = s.unet
    if u is None:
        raise bad(f"a {s.architecture} model needs a unet block (block_out_channels ...)")
    n = len(u.block_out_channels)
    if n < 1 or min(u.block_out_channels) < 1:
        raise bad("unet: block_out_channels must list positive channel counts")
    if s.hidden_size != u.block_out_channels[0]:
        raise bad(f"hidden_size {s.hidden_size} must equal unet.block_out_channels[0] {u.block_out_channels[0]}")
    if any(c % u.norm_groups for c in u.block_out_channels) or u.norm_groups < 1:
        raise bad(f"unet: channel counts must be multiples of norm_groups {u.norm_groups}")
    if s.architecture == "unet":
        if len(u.transformers) != n or len(u.heads) != n:
            raise bad("unet: transformers and heads need one entry per level of block_out_channels")
        for c, t, h in zip(u.block_out_channels, u.transformers, u.heads):
            if t and (h < 1 or c % h):
                raise bad(f"unet: {h} heads do not divide {c} channels")
        if s.image_size % 2 ** (n - 1):
            raise bad(f"image_size {s.image_size} must be divisible by 2^{n - 1} (the down-sampling levels)")
