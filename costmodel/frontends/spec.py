"""Declarative model specs: architectures described at the level users think in.

A spec is a YAML, TOML or JSON mapping (JSON Schema: `costmodel spec-schema`, also in
docs/spec.schema.json). Integer fields take a number or an expression over other fields
in the safe expression language of `expr.py`, e.g. `head_dim: hidden_size // num_heads`.
Files are read with `yaml.safe_load` (aliases limited) / `tomllib` / `json` only.

Example (Llama-3-8B):

    name: llama-3-8b
    source: https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json
    architecture: decoder
    vocab_size: 128256
    hidden_size: 4096
    num_layers: 32
    num_heads: 32
    num_kv_heads: 8
    intermediate_size: 14336
    mlp: gated
    activation: silu
    norm: rmsnorm
    position: rope
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..errors import SpecError
from ..limits import spec_limits
from .expr import evaluate_int

ARCHITECTURES = (
    "decoder",
    "encoder",
    "encoder-decoder",
    "vit",
    "mamba",
    "mamba2",
    "rwkv",
    "hybrid",
    "linear-attention",
    "dit",
)
ACTIVATIONS = ("silu", "gelu", "gelu_tanh", "relu", "relu2", "quick_gelu")
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class MoESpec:
    num_experts: int
    top_k: int
    expert_intermediate_size: int
    num_shared_experts: int = 0
    shared_intermediate_size: int = 0  # total width of the shared expert MLP(s)
    shared_expert_gate: bool = False  # Qwen2-MoE: sigmoid gate d -> 1 on the shared expert
    first_dense_layers: int = 0  # DeepSeek first_k_dense_replace
    layer_freq: int = 1  # every layer_freq-th layer (after the dense ones) is MoE
    router_bias: bool = False  # DeepSeek-V3 e_score_correction_bias (one per expert)
    expert_parallel: int = 1


@dataclass(frozen=True)
class MLASpec:
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    q_lora_rank: int = 0  # 0: q is projected directly from the hidden state


@dataclass(frozen=True)
class SSMSpec:
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int = 0  # 0: ceil(hidden / 16) (Mamba-1 default)
    headdim: int = 64  # Mamba-2
    ngroups: int = 1  # Mamba-2
    chunk_size: int = 256  # Mamba-2 SSD chunk
    conv_bias: bool = True
    proj_bias: bool = False


@dataclass(frozen=True)
class RWKVSpec:
    head_size: int = 64
    time_mix_extra_dim: int = 32
    time_decay_extra_dim: int = 64


@dataclass(frozen=True)
class ModelSpec:
    name: str
    architecture: str
    hidden_size: int
    num_layers: int
    vocab_size: int = 0
    num_heads: int = 0
    num_kv_heads: int = 0
    head_dim: int = 0
    intermediate_size: int = 0
    mlp: str = "gated"  # gated | plain
    activation: str = "silu"
    norm: str = "rmsnorm"  # rmsnorm | layernorm
    norm_bias: bool = True  # layernorm with a bias
    norm_position: str = "pre"  # pre | post (BERT)
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    lm_head_bias: bool = False
    tie_embeddings: bool = False
    position: str = "rope"  # rope | learned | alibi | relative | none
    max_position: int = 0
    position_offset: int = 0  # OPT keeps 2 extra learned positions
    token_types: int = 0  # BERT type vocabulary
    embedding_norm: bool = False  # BLOOM word_embeddings_layernorm, BERT embeddings LN
    parallel_block: bool = False  # attention and MLP read the same input (GPT-J, NeoX)
    shared_block_norm: bool = False  # parallel block with one norm (GPT-J, Falcon-7B)
    sandwich_norms: bool = False  # extra norms after attention and MLP (Gemma-2)
    qk_norm: bool = False  # per-head RMSNorm on q and k (Qwen3, OLMo-2)
    final_norm: bool = True
    pooler: bool = False  # BERT pooler (d x d + bias)
    sliding_window: int = 0
    global_every: int = 0  # with sliding_window: every N-th layer is global
    layer_types: tuple[str, ...] = ()  # hybrid: "attention" | "mamba" | "linear" per layer
    fused_qkv: bool = True  # one QKV GEMM (serving engines fuse; params unchanged)
    fused_gate_up: bool = True
    num_decoder_layers: int = 0  # encoder-decoder
    relative_buckets: int = 0  # T5 relative attention buckets (layer 0 of each stack)
    image_size: int = 0  # ViT / DiT (DiT: latent size)
    patch_size: int = 0
    num_channels: int = 3
    num_classes: int = 0
    class_token: bool = True
    diffusion_steps: int = 0  # DiT: sampling steps
    learn_sigma: bool = True  # DiT: output channels doubled
    guidance: bool = True  # DiT: classifier-free guidance doubles the batch
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    ssm: SSMSpec | None = None
    rwkv: RWKVSpec | None = None
    source: str = ""
    notes: str = ""

    @property
    def kv_heads(self) -> int:
        return self.num_kv_heads or self.num_heads

    @property
    def hd(self) -> int:
        return self.head_dim or (self.hidden_size // self.num_heads if self.num_heads else 0)

    def layer_kind(self, i: int) -> str:
        if self.layer_types:
            return self.layer_types[i]
        if self.architecture in ("mamba", "mamba2"):
            return "mamba"
        if self.architecture == "rwkv":
            return "rwkv"
        if self.architecture == "linear-attention":
            return "linear"
        return "attention"

    def is_moe_layer(self, i: int) -> bool:
        m = self.moe
        if m is None or i < m.first_dense_layers:
            return False
        return (i - m.first_dense_layers) % max(m.layer_freq, 1) == 0 if m.layer_freq > 1 else True

    def is_sliding(self, i: int) -> bool:
        if not self.sliding_window:
            return False
        if self.global_every:
            return (i + 1) % self.global_every != 0
        return True


_NESTED = {"moe": MoESpec, "mla": MLASpec, "ssm": SSMSpec, "rwkv": RWKVSpec}
_CHOICES = {
    "architecture": ARCHITECTURES,
    "mlp": ("gated", "plain"),
    "activation": ACTIVATIONS,
    "norm": ("rmsnorm", "layernorm"),
    "norm_position": ("pre", "post"),
    "position": ("rope", "learned", "alibi", "relative", "none"),
}
_ALIASES = {
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "num_key_value_heads": "num_kv_heads",
    "d_model": "hidden_size",
    "n_layer": "num_layers",
    "tie_word_embeddings": "tie_embeddings",
}


def _type_of(cls: type, name: str) -> str:
    for f in fields(cls):
        if f.name == name:
            return str(f.type)
    return ""


def _coerce(cls: type, data: dict[str, Any], where: str, ints: dict[str, Any]) -> dict[str, Any]:
    allowed = {f.name: f for f in fields(cls)}
    out: dict[str, Any] = {}
    pending: dict[str, Any] = {}
    for k, v in data.items():
        key = _ALIASES.get(k, k)
        if key not in allowed:
            raise SpecError(f"unknown field {k!r}; allowed: {', '.join(sorted(allowed))}", where=where)
        t = _type_of(cls, key)
        fw = f"{where}: {key}"
        if key in _NESTED:
            if v is None:
                out[key] = None
                continue
            if not isinstance(v, dict):
                raise SpecError(f"{key} must be a mapping", where=where)
            out[key] = _NESTED[key](**_coerce(_NESTED[key], v, fw, dict(ints)))
        elif t.startswith("bool"):
            if not isinstance(v, bool):
                raise SpecError(f"must be true or false, got {v!r}", where=fw)
            out[key] = v
        elif t.startswith("int"):
            pending[key] = v
        elif t.startswith("tuple"):
            if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
                raise SpecError("must be a list of strings", where=fw)
            out[key] = tuple(v)
        else:
            if not isinstance(v, str):
                raise SpecError(f"must be text, got {type(v).__name__}", where=fw)
            if key in _CHOICES and v not in _CHOICES[key]:
                raise SpecError(f"{v!r} is not one of {', '.join(_CHOICES[key])}", where=fw)
            out[key] = v
    # integers: plain numbers first, then expressions over the known numbers (in rounds)
    names = dict(ints)
    for k, v in list(pending.items()):
        if isinstance(v, bool):
            raise SpecError(f"must be an integer, got {v!r}", where=f"{where}: {k}")
        if isinstance(v, int):
            names[k] = v
            out[k] = v
            del pending[k]
        elif isinstance(v, float):
            if not math.isfinite(v) or not v.is_integer():
                raise SpecError(f"must be an integer, got {v!r}", where=f"{where}: {k}")
            names[k] = int(v)
            out[k] = int(v)
            del pending[k]
        elif not isinstance(v, str):
            raise SpecError(f"must be an integer or an expression, got {type(v).__name__}", where=f"{where}: {k}")
    for _ in range(len(pending) + 1):
        progress = False
        for k, v in list(pending.items()):
            try:
                val = evaluate_int(v, names, where=f"{where}: {k}")
            except SpecError:
                raise
            except Exception as e:  # unknown name: maybe defined by a later expression
                if "unknown name" in str(e):
                    continue
                raise SpecError(str(e), where=f"{where}: {k}") from None
            names[k] = val
            out[k] = val
            del pending[k]
            progress = True
        if not pending or not progress:
            break
    if pending:
        k, v = next(iter(pending.items()))
        evaluate_int(v, names, where=f"{where}: {k}")  # raises with the unknown name
    limits = spec_limits()
    for k in list(out):
        if _type_of(cls, k).startswith("int"):
            if out[k] < 0:
                raise SpecError(f"must be >= 0, got {out[k]}", where=f"{where}: {k}")
            limits.check(k, out[k], f"{where}: {k}")
    return out


def spec_from_dict(data: Any, where: str = "spec") -> ModelSpec:
    if not isinstance(data, dict):
        raise SpecError(f"a spec must be a mapping, got {type(data).__name__}", where=where)
    data = dict(data)
    for req in ("name", "architecture", "hidden_size", "num_layers"):
        if req not in data and not any(_ALIASES.get(k) == req for k in data):
            raise SpecError(f"missing required field {req!r}", where=where)
    kw = _coerce(ModelSpec, data, where, {})
    spec = ModelSpec(**kw)
    validate(spec, where)
    return spec


def validate(s: ModelSpec, where: str = "spec") -> None:
    def bad(msg: str) -> SpecError:
        return SpecError(msg, where=where)

    if s.hidden_size <= 0 or s.num_layers <= 0:
        raise bad("hidden_size and num_layers must be positive")
    attn = s.architecture not in ("mamba", "mamba2", "rwkv") and (not s.layer_types or "attention" in s.layer_types)
    if attn:
        if s.num_heads <= 0:
            raise bad("num_heads must be positive for an architecture with attention")
        if not s.head_dim and s.mla is None and s.hidden_size % s.num_heads:
            raise bad(f"num_heads {s.num_heads} does not divide hidden_size {s.hidden_size} (give head_dim explicitly)")
        if s.num_kv_heads and s.num_heads % s.num_kv_heads:
            raise bad(f"num_kv_heads {s.num_kv_heads} does not divide num_heads {s.num_heads}")
    if (
        s.architecture
        in ("decoder", "encoder", "encoder-decoder", "hybrid", "mamba", "mamba2", "rwkv", "linear-attention")
        and s.vocab_size <= 0
    ):
        raise bad("vocab_size must be positive")
    if s.architecture not in ("mamba", "mamba2", "rwkv") and s.intermediate_size <= 0 and s.moe is None:
        raise bad("intermediate_size must be positive")
    if s.layer_types:
        if len(s.layer_types) != s.num_layers:
            raise bad(f"layer_types has {len(s.layer_types)} entries for {s.num_layers} layers")
        for t in s.layer_types:
            if t not in ("attention", "mamba", "linear", "rwkv"):
                raise bad(f"unknown layer type {t!r}")
    if s.moe is not None:
        m = s.moe
        if m.num_experts <= 0 or not 0 < m.top_k <= m.num_experts:
            raise bad("moe: need 0 < top_k <= num_experts")
        if m.expert_intermediate_size <= 0:
            raise bad("moe: expert_intermediate_size must be positive")
    if s.architecture in ("vit", "dit"):
        if s.image_size <= 0 or s.patch_size <= 0 or s.image_size % s.patch_size:
            raise bad("image_size must be a positive multiple of patch_size")
    if s.architecture == "encoder-decoder" and s.num_decoder_layers <= 0:
        raise bad("encoder-decoder specs need num_decoder_layers")
    if (
        s.architecture in ("mamba", "mamba2", "hybrid")
        and (s.ssm is None)
        and (s.architecture != "hybrid" or "mamba" in s.layer_types)
    ):
        object.__setattr__(s, "ssm", SSMSpec())
    if s.architecture == "rwkv" and s.rwkv is None:
        object.__setattr__(s, "rwkv", RWKVSpec())


def read_mapping(path: str) -> Any:
    """YAML / TOML / JSON file → plain data, safely and with a size limit."""
    from ..readfile import check_long_numbers, read_text

    text = read_text(path, max_bytes=MAX_FILE_BYTES, error=SpecError, what="spec file")
    check_long_numbers(text, path, SpecError, _plausible)
    low = path.lower()
    if low.endswith(".toml"):
        import tomllib

        try:
            return tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as e:
            raise SpecError(f"invalid TOML: {' '.join(str(e).split())[:200]}", where=path) from None
    if low.endswith(".json"):
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as e:
            raise SpecError(f"invalid JSON: {e}", where=path) from None
    return safe_yaml(text, path)


def _plausible(key: str) -> str | None:
    """The plausible range of an integer spec or config.json field, for error messages."""
    name = _ALIASES.get(key, key)
    for cls in (ModelSpec, *_NESTED.values()):
        if _type_of(cls, name).startswith("int"):
            return spec_limits().describe(name)
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid number")


MAX_YAML_NODES = 100_000


def safe_yaml(text: str, where: str) -> Any:
    """yaml.safe_load with alias expansion bounded (billion-laughs inputs are rejected)."""
    import yaml

    if text.count("*") > 1000 or text.count("&") > 1000:
        raise SpecError("too many YAML aliases", where=where)
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as e:  # also impossible dates
        msg = " ".join(str(e).split())[:200]
        raise SpecError(f"invalid YAML: {msg}", where=where) from None
    _bounded(data, where)
    return data


def _bounded(data: Any, where: str) -> None:
    stack, seen = [data], 0
    while stack:
        x = stack.pop()
        seen += 1
        if seen > MAX_YAML_NODES:
            raise SpecError("document expands to too many nodes (YAML alias bomb?)", where=where)
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, float) and not math.isfinite(x):
            raise SpecError(f"{x!r} is not a finite number", where=where)


def load_spec(path: str) -> ModelSpec:
    data = read_mapping(path)
    if isinstance(data, dict) and "model_type" in data and "architecture" not in data:
        from .hf_config import spec_from_hf

        stem = os.path.splitext(os.path.basename(path))[0]
        if stem == "config":
            stem = os.path.basename(os.path.dirname(os.path.abspath(path))) or stem
        return spec_from_hf(data, where=path, name=data.get("_name_or_path") or stem)
    return spec_from_dict(data, where=path)


def with_overrides(spec: ModelSpec, **kw: Any) -> ModelSpec:
    return replace(spec, **kw)


__all__ = [
    "ModelSpec",
    "MoESpec",
    "MLASpec",
    "SSMSpec",
    "RWKVSpec",
    "spec_from_dict",
    "load_spec",
    "read_mapping",
    "field",
]
