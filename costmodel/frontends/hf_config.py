"""Hugging Face `config.json` → ModelSpec, through an explicit table per `model_type`.

Each table names the config keys (with HF's defaults, from the transformers
`configuration_*.py` of that model) and the architecture facts that are fixed for that
model family (which projections carry biases, which norm, parallel blocks...). Nothing
is guessed from ratios. An unknown `model_type` or a missing required key is an error
naming what is supported. No downloads: the user passes a file or a mapping.
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Callable

from ..errors import SpecError
from .spec import ModelSpec, MLASpec, MoESpec, SSMSpec, spec_from_dict

_REQ = object()


def _get(cfg: dict, where: str, *keys: str, default: Any = _REQ) -> Any:
    for k in keys:
        if k in cfg and cfg[k] is not None:
            return cfg[k]
    if default is _REQ:
        raise SpecError(f"missing field {keys[0]!r} for model_type {cfg.get('model_type')!r}", where=where)
    return default


def _act(name: str) -> str:
    name = (name or "silu").lower()
    table = {
        "silu": "silu",
        "swish": "silu",
        "gelu": "gelu",
        "gelu_new": "gelu_tanh",
        "gelu_fast": "gelu_tanh",
        "gelu_pytorch_tanh": "gelu_tanh",
        "gelu_python": "gelu",
        "bloom_gelu": "gelu_tanh",
        "relu": "relu",
        "quick_gelu": "quick_gelu",
        "relu2": "relu2",
    }
    if name not in table:
        raise SpecError(f"unsupported activation {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def _llama_like(cfg: dict, w: str, **fixed: Any) -> dict:
    h = _get(cfg, w, "num_attention_heads")
    d = _get(cfg, w, "hidden_size")
    out = dict(
        architecture="decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=d,
        num_layers=_get(cfg, w, "num_hidden_layers"),
        num_heads=h,
        num_kv_heads=_get(cfg, w, "num_key_value_heads", default=h),
        head_dim=_get(cfg, w, "head_dim", default=0) or 0,
        intermediate_size=_get(cfg, w, "intermediate_size"),
        mlp="gated",
        activation=_act(_get(cfg, w, "hidden_act", "hidden_activation", default="silu")),
        norm="rmsnorm",
        qkv_bias=bool(_get(cfg, w, "attention_bias", default=False)),
        o_bias=bool(_get(cfg, w, "attention_bias", default=False)),
        mlp_bias=bool(_get(cfg, w, "mlp_bias", default=False)),
        tie_embeddings=bool(_get(cfg, w, "tie_word_embeddings", default=False)),
        position="rope",
        max_position=_get(cfg, w, "max_position_embeddings", default=0),
    )
    out.update(fixed)
    return out


def _mistral(cfg: dict, w: str) -> dict:
    out = _llama_like(cfg, w)
    if cfg.get("sliding_window"):
        out["sliding_window"] = int(cfg["sliding_window"])
    return out


def _mixtral(cfg: dict, w: str) -> dict:
    out = _mistral(cfg, w)
    out["moe"] = dict(
        num_experts=_get(cfg, w, "num_local_experts"),
        top_k=_get(cfg, w, "num_experts_per_tok"),
        expert_intermediate_size=out["intermediate_size"],
    )
    return out


def _qwen2(cfg: dict, w: str) -> dict:
    out = _llama_like(cfg, w, qkv_bias=True, o_bias=False)
    if cfg.get("use_sliding_window") and cfg.get("sliding_window"):
        out["sliding_window"] = int(cfg["sliding_window"])
    return out


def _qwen2_moe(cfg: dict, w: str) -> dict:
    out = _qwen2(cfg, w)
    step = int(_get(cfg, w, "decoder_sparse_step", default=1))
    only = set(_get(cfg, w, "mlp_only_layers", default=[]) or [])
    if only:
        raise SpecError("qwen2_moe with mlp_only_layers is not supported yet", where=w)
    out["moe"] = dict(
        num_experts=_get(cfg, w, "num_experts"),
        top_k=_get(cfg, w, "num_experts_per_tok"),
        expert_intermediate_size=_get(cfg, w, "moe_intermediate_size"),
        shared_intermediate_size=_get(cfg, w, "shared_expert_intermediate_size", default=0),
        shared_expert_gate=True,
        layer_freq=step,
    )
    return out


def _qwen3(cfg: dict, w: str) -> dict:
    return _llama_like(cfg, w, qk_norm=True)


def _gemma(cfg: dict, w: str) -> dict:
    out = _llama_like(cfg, w, tie_embeddings=bool(_get(cfg, w, "tie_word_embeddings", default=True)))
    out["activation"] = _act(_get(cfg, w, "hidden_activation", "hidden_act", default="gelu_pytorch_tanh"))
    return out


def _gemma2(cfg: dict, w: str) -> dict:
    out = _gemma(cfg, w)
    out["sandwich_norms"] = True
    if cfg.get("sliding_window"):
        out["sliding_window"] = int(cfg["sliding_window"])
        out["global_every"] = 2  # Gemma-2 alternates local (even layers) and global attention
    return out


def _phi3(cfg: dict, w: str) -> dict:
    out = _llama_like(cfg, w)
    if cfg.get("sliding_window"):
        out["sliding_window"] = int(cfg["sliding_window"])
    return out


def _gpt2(cfg: dict, w: str) -> dict:
    d = _get(cfg, w, "n_embd", "hidden_size")
    return dict(
        architecture="decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=d,
        num_layers=_get(cfg, w, "n_layer", "num_hidden_layers"),
        num_heads=_get(cfg, w, "n_head"),
        intermediate_size=_get(cfg, w, "n_inner", default=4 * d) or 4 * d,
        mlp="plain",
        activation=_act(_get(cfg, w, "activation_function", default="gelu_new")),
        norm="layernorm",
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        tie_embeddings=True,
        position="learned",
        max_position=_get(cfg, w, "n_positions", "max_position_embeddings"),
    )


def _gpt_neox(cfg: dict, w: str) -> dict:
    return dict(
        architecture="decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=_get(cfg, w, "hidden_size"),
        num_layers=_get(cfg, w, "num_hidden_layers"),
        num_heads=_get(cfg, w, "num_attention_heads"),
        intermediate_size=_get(cfg, w, "intermediate_size"),
        mlp="plain",
        activation=_act(_get(cfg, w, "hidden_act", default="gelu")),
        norm="layernorm",
        qkv_bias=bool(_get(cfg, w, "attention_bias", default=True)),
        o_bias=bool(_get(cfg, w, "attention_bias", default=True)),
        mlp_bias=True,
        parallel_block=bool(_get(cfg, w, "use_parallel_residual", default=True)),
        tie_embeddings=bool(_get(cfg, w, "tie_word_embeddings", default=False)),
        position="rope",
    )


def _gptj(cfg: dict, w: str) -> dict:
    d = _get(cfg, w, "n_embd")
    return dict(
        architecture="decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=d,
        num_layers=_get(cfg, w, "n_layer"),
        num_heads=_get(cfg, w, "n_head"),
        intermediate_size=_get(cfg, w, "n_inner", default=4 * d) or 4 * d,
        mlp="plain",
        activation=_act(_get(cfg, w, "activation_function", default="gelu_new")),
        norm="layernorm",
        mlp_bias=True,
        lm_head_bias=True,
        parallel_block=True,
        shared_block_norm=True,
        tie_embeddings=bool(_get(cfg, w, "tie_word_embeddings", default=False)),
        position="rope",
    )


def _falcon(cfg: dict, w: str) -> dict:
    d = _get(cfg, w, "hidden_size")
    h = _get(cfg, w, "num_attention_heads")
    new_arch = bool(_get(cfg, w, "new_decoder_architecture", default=False))
    if new_arch:
        kv = _get(cfg, w, "num_kv_heads", default=h)
    else:
        kv = 1 if _get(cfg, w, "multi_query", default=True) else h
    bias = bool(_get(cfg, w, "bias", default=False))
    return dict(
        architecture="decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=d,
        num_layers=_get(cfg, w, "num_hidden_layers"),
        num_heads=h,
        num_kv_heads=kv,
        intermediate_size=_get(cfg, w, "ffn_hidden_size", default=4 * d) or 4 * d,
        mlp="plain",
        activation="gelu",
        norm="layernorm",
        qkv_bias=bias,
        o_bias=bias,
        mlp_bias=bias,
        parallel_block=bool(_get(cfg, w, "parallel_attn", default=True)),
        shared_block_norm=not new_arch and bool(_get(cfg, w, "parallel_attn", default=True)),
        tie_embeddings=bool(_get(cfg, w, "tie_word_embeddings", default=True)),
        position="alibi" if _get(cfg, w, "alibi", default=False) else "rope",
    )


def _opt(cfg: dict, w: str) -> dict:
    d = _get(cfg, w, "hidden_size")
    if _get(cfg, w, "word_embed_proj_dim", default=d) != d:
        raise SpecError("OPT with word_embed_proj_dim != hidden_size (opt-350m) is not supported", where=w)
    bias = bool(_get(cfg, w, "enable_bias", default=True))
    return dict(
        architecture="decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=d,
        num_layers=_get(cfg, w, "num_hidden_layers"),
        num_heads=_get(cfg, w, "num_attention_heads"),
        intermediate_size=_get(cfg, w, "ffn_dim"),
        mlp="plain",
        activation=_act(_get(cfg, w, "activation_function", default="relu")),
        norm="layernorm",
        norm_position="pre" if _get(cfg, w, "do_layer_norm_before", default=True) else "post",
        qkv_bias=bias,
        o_bias=bias,
        mlp_bias=bias,
        tie_embeddings=True,
        position="learned",
        max_position=_get(cfg, w, "max_position_embeddings"),
        position_offset=2,
    )


def _bloom(cfg: dict, w: str) -> dict:
    d = _get(cfg, w, "hidden_size", "n_embed")
    return dict(
        architecture="decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=d,
        num_layers=_get(cfg, w, "n_layer", "num_hidden_layers"),
        num_heads=_get(cfg, w, "n_head", "num_attention_heads"),
        intermediate_size=4 * d,
        mlp="plain",
        activation="gelu_tanh",
        norm="layernorm",
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        embedding_norm=True,
        tie_embeddings=True,
        position="alibi",
    )


def _bert(cfg: dict, w: str) -> dict:
    return dict(
        architecture="encoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=_get(cfg, w, "hidden_size"),
        num_layers=_get(cfg, w, "num_hidden_layers"),
        num_heads=_get(cfg, w, "num_attention_heads"),
        intermediate_size=_get(cfg, w, "intermediate_size"),
        mlp="plain",
        activation=_act(_get(cfg, w, "hidden_act", default="gelu")),
        norm="layernorm",
        norm_position="post",
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        position="learned",
        max_position=_get(cfg, w, "max_position_embeddings"),
        token_types=_get(cfg, w, "type_vocab_size", default=2),
        embedding_norm=True,
        pooler=True,
        final_norm=False,
    )


def _t5(cfg: dict, w: str) -> dict:
    ff = _get(cfg, w, "feed_forward_proj", default="relu")
    gated = ff.startswith("gated-")
    act = ff.split("-")[-1]
    n = _get(cfg, w, "num_layers")
    return dict(
        architecture="encoder-decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=_get(cfg, w, "d_model"),
        num_layers=n,
        num_decoder_layers=_get(cfg, w, "num_decoder_layers", default=n) or n,
        num_heads=_get(cfg, w, "num_heads"),
        head_dim=_get(cfg, w, "d_kv"),
        intermediate_size=_get(cfg, w, "d_ff"),
        mlp="gated" if gated else "plain",
        activation=_act("gelu_new" if act == "gelu" else act),
        norm="rmsnorm",
        position="relative",
        relative_buckets=_get(cfg, w, "relative_attention_num_buckets", default=32),
        tie_embeddings=bool(_get(cfg, w, "tie_word_embeddings", default=True)),
        fused_qkv=False,
        fused_gate_up=False,
    )


def _deepseek(cfg: dict, w: str) -> dict:
    h = _get(cfg, w, "num_attention_heads")
    freq = int(_get(cfg, w, "moe_layer_freq", default=1))
    out = dict(
        architecture="decoder",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=_get(cfg, w, "hidden_size"),
        num_layers=_get(cfg, w, "num_hidden_layers"),
        num_heads=h,
        num_kv_heads=_get(cfg, w, "num_key_value_heads", default=h),
        intermediate_size=_get(cfg, w, "intermediate_size"),
        mlp="gated",
        activation=_act(_get(cfg, w, "hidden_act", default="silu")),
        norm="rmsnorm",
        tie_embeddings=bool(_get(cfg, w, "tie_word_embeddings", default=False)),
        position="rope",
    )
    out["mla"] = dict(
        kv_lora_rank=_get(cfg, w, "kv_lora_rank"),
        qk_nope_head_dim=_get(cfg, w, "qk_nope_head_dim"),
        qk_rope_head_dim=_get(cfg, w, "qk_rope_head_dim"),
        v_head_dim=_get(cfg, w, "v_head_dim"),
        q_lora_rank=_get(cfg, w, "q_lora_rank", default=0) or 0,
    )
    if _get(cfg, w, "n_routed_experts", default=None):
        out["moe"] = dict(
            num_experts=_get(cfg, w, "n_routed_experts"),
            top_k=_get(cfg, w, "num_experts_per_tok"),
            expert_intermediate_size=_get(cfg, w, "moe_intermediate_size"),
            num_shared_experts=_get(cfg, w, "n_shared_experts", default=0) or 0,
            first_dense_layers=_get(cfg, w, "first_k_dense_replace", default=0),
            layer_freq=freq,
            router_bias=_get(cfg, w, "topk_method", default="") == "noaux_tc",
        )
    return out


def _mamba(cfg: dict, w: str) -> dict:
    d = _get(cfg, w, "hidden_size", "d_model")
    rank = _get(cfg, w, "time_step_rank", default="auto")
    return dict(
        architecture="mamba",
        vocab_size=_get(cfg, w, "vocab_size"),
        hidden_size=d,
        num_layers=_get(cfg, w, "num_hidden_layers", "n_layer"),
        norm="rmsnorm",
        position="none",
        tie_embeddings=bool(_get(cfg, w, "tie_word_embeddings", default=True)),
        ssm=dict(
            d_state=_get(cfg, w, "state_size", default=16),
            d_conv=_get(cfg, w, "conv_kernel", default=4),
            expand=_get(cfg, w, "expand", default=2),
            dt_rank=math.ceil(d / 16) if rank == "auto" else int(rank),
            conv_bias=bool(_get(cfg, w, "use_conv_bias", default=True)),
            proj_bias=bool(_get(cfg, w, "use_bias", default=False)),
        ),
    )


TABLE: dict[str, Callable[[dict, str], dict]] = {
    "llama": lambda c, w: _llama_like(c, w),
    "mistral": _mistral,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3,
    "gemma": _gemma,
    "gemma2": _gemma2,
    "phi3": _phi3,
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
    "gptj": _gptj,
    "falcon": _falcon,
    "opt": _opt,
    "bloom": _bloom,
    "bert": _bert,
    "t5": _t5,
    "deepseek_v2": _deepseek,
    "deepseek_v3": _deepseek,
    "mamba": _mamba,
}


def spec_from_hf(cfg: Any, where: str = "config.json", name: str | None = None) -> ModelSpec:
    if not isinstance(cfg, dict):
        raise SpecError(f"a config must be a JSON object, got {type(cfg).__name__}", where=where)
    mt = cfg.get("model_type")
    if not isinstance(mt, str) or mt not in TABLE:
        raise SpecError(f"unsupported model_type {mt!r}; supported: {', '.join(sorted(TABLE))}", where=where)
    try:
        data = TABLE[mt](cfg, where)
    except (TypeError, ValueError, AttributeError, OverflowError) as e:
        raise SpecError(f"invalid {mt} config: {e}", where=where) from None
    data["name"] = name or cfg.get("_name_or_path") or cfg.get("name") or mt
    if not isinstance(data["name"], str):
        data["name"] = mt
    data["source"] = f"Hugging Face config.json (model_type {mt})"
    return spec_from_dict(data, where=where)


__all__ = ["spec_from_hf", "TABLE", "ModelSpec", "MoESpec", "MLASpec", "SSMSpec"]
