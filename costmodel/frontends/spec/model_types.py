"""One entry per Hugging Face `model_type`: which config keys (with HF's defaults, from
transformers' `configuration_*.py` of that model) fill which spec fields, and the facts
fixed for the family (which projections carry biases, which norm, parallel blocks ...).
Nothing is guessed from ratios. The few families whose facts depend on config flags
(Falcon's decoder layout, T5's feed-forward kind, Qwen2's sliding window ...) add a
`derive` function.

Adding a model type of a known architecture is one entry here, e.g. a Llama with per-head
q/k norms: `LLAMA.but("olmo2", fixed={"qk_norm": True})`.
"""

from __future__ import annotations

import math
from typing import Any

from ...errors import SpecError
from .architectures import Head
from .hf_types import Config, ModelType, activation, hf_head, key

# -- decoder families --------------------------------------------------------------------

LLAMA = ModelType(
    model_type="llama",
    source="transformers LlamaConfig (configuration_llama.py)",
    keys={
        "vocab_size": key("vocab_size"),
        "hidden_size": key("hidden_size"),
        "num_layers": key("num_hidden_layers"),
        "num_heads": key("num_attention_heads"),
        "num_kv_heads": key("num_key_value_heads", default=0),  # 0: one KV head per query head
        "head_dim": key("head_dim", default=0),
        "intermediate_size": key("intermediate_size"),
        "activation": key("hidden_act", "hidden_activation", default="silu", convert=activation),
        "qkv_bias": key("attention_bias", default=False, convert=bool),
        "o_bias": key("attention_bias", default=False, convert=bool),
        "mlp_bias": key("mlp_bias", default=False, convert=bool),
        "tie_embeddings": key("tie_word_embeddings", default=False, convert=bool),
        "max_position": key("max_position_embeddings", default=0),
    },
    fixed={"architecture": "decoder", "mlp": "gated", "norm": "rmsnorm", "position": "rope"},
)
SLIDING = {"sliding_window": key("sliding_window", default=0, convert=int)}


def _qwen2_window(c: Config) -> dict[str, Any]:
    # Qwen2 applies its window only when use_sliding_window is set (configuration_qwen2.py)
    if c.has("use_sliding_window") and c.has("sliding_window"):
        return {"sliding_window": int(c.get("sliding_window"))}
    return {}


def _qwen_moe(c: Config) -> dict[str, Any]:
    """Qwen2-MoE / Qwen3-MoE: layer i is sparse when (i + 1) % decoder_sparse_step == 0
    (modeling_qwen2_moe.py / modeling_qwen3_moe.py), i.e. from layer step - 1 on, every
    step-th one."""
    if c.get("mlp_only_layers", default=[]):
        raise SpecError(f"{c.cfg.get('model_type')} with mlp_only_layers is not supported yet", where=c.where)
    step = int(c.get("decoder_sparse_step", default=1))
    if step < 1:
        raise SpecError(f"decoder_sparse_step must be >= 1, got {step}", where=c.where)
    return {**_qwen2_window(c), "moe.first_dense_layers": step - 1, "moe.layer_freq": step}


def _gemma2_window(c: Config) -> dict[str, Any]:
    # Gemma-2 alternates local (even layers) and global attention (modeling_gemma2.py:
    # is_sliding = not bool(layer_idx % 2))
    if c.has("sliding_window"):
        return {"sliding_window": int(c.get("sliding_window")), "global_every": 2}
    return {}


GEMMA = LLAMA.but(
    "gemma",
    source="transformers GemmaConfig (configuration_gemma.py)",
    keys={
        "activation": key("hidden_activation", "hidden_act", default="gelu_pytorch_tanh", convert=activation),
        "tie_embeddings": key("tie_word_embeddings", default=True, convert=bool),
    },
)
GPT2 = ModelType(
    model_type="gpt2",
    source="transformers GPT2Config (configuration_gpt2.py)",
    keys={
        "vocab_size": key("vocab_size"),
        "hidden_size": key("n_embd", "hidden_size"),
        "num_layers": key("n_layer", "num_hidden_layers"),
        "num_heads": key("n_head"),
        "intermediate_size": key("n_inner", default=0),  # 0: 4 x hidden (derive)
        "activation": key("activation_function", default="gelu_new", convert=activation),
        "max_position": key("n_positions", "max_position_embeddings"),
    },
    fixed={
        "architecture": "decoder",
        "mlp": "plain",
        "norm": "layernorm",
        "qkv_bias": True,
        "o_bias": True,
        "mlp_bias": True,
        "tie_embeddings": True,
        "position": "learned",
    },
    derive=lambda c: {} if c.get("n_inner", default=0) else {"intermediate_size": 4 * c.get("n_embd", "hidden_size")},
)


def _falcon(c: Config) -> dict[str, Any]:
    """Falcon-7B (multi-query, one shared norm) vs the new decoder architecture of
    Falcon-40B/180B (grouped KV heads, two norms): configuration_falcon.py."""
    h = c.get("num_attention_heads")
    new = bool(c.get("new_decoder_architecture", default=False))
    kv = c.get("num_kv_heads", default=h) if new else (1 if c.get("multi_query", default=True) else h)
    parallel = bool(c.get("parallel_attn", default=True))
    bias = bool(c.get("bias", default=False))
    d = c.get("hidden_size")
    return {
        "num_kv_heads": kv,
        "intermediate_size": c.get("ffn_hidden_size", default=4 * d) or 4 * d,
        "qkv_bias": bias,
        "o_bias": bias,
        "mlp_bias": bias,
        "parallel_block": parallel,
        "shared_block_norm": not new and parallel,
        "position": "alibi" if c.get("alibi", default=False) else "rope",
    }


def _opt(c: Config) -> dict[str, Any]:
    d = c.get("hidden_size")
    if c.get("word_embed_proj_dim", default=d) != d:
        raise SpecError("OPT with word_embed_proj_dim != hidden_size (opt-350m) is not supported", where=c.where)
    bias = bool(c.get("enable_bias", default=True))
    pre = c.get("do_layer_norm_before", default=True)
    return {"qkv_bias": bias, "o_bias": bias, "mlp_bias": bias, "norm_position": "pre" if pre else "post"}


def _bert(c: Config) -> dict[str, Any]:
    """BertModel, BertForPreTraining and BertForSequenceClassification build the pooler;
    the masked / causal LM, token-classification and QA classes do not
    (add_pooling_layer=False in modeling_bert.py)."""
    return {"pooler": hf_head(c) in (None, Head.NONE, Head.PRETRAINING, Head.SEQUENCE_CLASSIFICATION)}


def _t5(c: Config) -> dict[str, Any]:
    """feed_forward_proj "relu" | "gated-gelu" ... (configuration_t5.py); T5's "gelu" is
    the tanh approximation (gelu_new)."""
    ff = str(c.get("feed_forward_proj", default="relu"))
    act = ff.split("-")[-1]
    n = c.get("num_layers")
    return {
        "mlp": "gated" if ff.startswith("gated-") else "plain",
        "activation": activation("gelu_new" if act == "gelu" else act),
        **({"activation_formula": "gelu_new"} if act == "gelu" else {}),
        "num_decoder_layers": c.get("num_decoder_layers", default=n) or n,
    }


def _switch(c: Config) -> dict[str, Any]:
    """Switch Transformers (modeling_switch_transformers.py): T5 v1.0 blocks whose
    feed-forward is, in every sparse_step-th layer of each stack, a top-1 router (d x
    num_experts) over num_experts T5DenseActDense experts of width d_ff: layer i is sparse
    when i % step == 1 (every layer when step is 1). config.json stores each stack's step
    (encoder_sparse_step = num_layers // num_sparse_encoder_layers, 0: no sparse layer)."""
    n = c.get("num_layers", default=12)
    nd = c.get("num_decoder_layers", default=n) or n

    def step(stack: str, layers: int) -> int:
        saved = c.get(f"{stack}_sparse_step", default=None)
        if saved is not None:
            return int(saved)
        sparse = int(c.get(f"num_sparse_{stack}_layers", default=3))
        return layers // sparse if sparse > 0 else 0

    enc, dec = step("encoder", n), step("decoder", nd)
    if enc != dec:
        raise SpecError(
            f"switch_transformers with different encoder ({enc}) and decoder ({dec}) sparse steps is not supported",
            where=c.where,
        )
    act = activation(c.get("dense_act_fn", default="relu"))
    out: dict[str, Any] = {"num_decoder_layers": nd, "mlp": "plain", "activation": act}
    if enc > 0:
        out.update(
            {
                "moe.num_experts": c.get("num_experts", default=8),
                "moe.top_k": 1,
                "moe.expert_intermediate_size": c.get("d_ff", default=2048),
                "moe.router_bias": bool(c.get("router_bias", default=False)),
                "moe.first_dense_layers": 1 if enc > 1 else 0,
                "moe.layer_freq": enc,
            }
        )
    return out


def _mpt(c: Config) -> dict[str, Any]:
    """MPT (MosaicML; transformers MptConfig / modeling_mpt.py): fused Wqkv, GELU MLP of
    expansion_ratio x d_model, LayerNorms and projections without biases when no_bias
    (every released MPT), ALiBi unless attn_config.alibi is false (then learned positions
    over max_seq_len), tied embeddings. Transformers' own MPT code runs eager attention;
    attn_config.attn_impl "flash" / "triton" (MosaicML's remote code) is a fused kernel."""
    ac = c.get("attn_config", default={})
    if not isinstance(ac, dict):
        raise SpecError("attn_config must be a mapping", where=c.where)
    if ac.get("qk_ln"):
        raise SpecError("mpt with attn_config.qk_ln is not supported", where=c.where)
    bias = not bool(c.get("no_bias", default=True))
    alibi = bool(ac.get("alibi", True))
    d = c.get("d_model")
    out: dict[str, Any] = {
        "intermediate_size": int(c.get("expansion_ratio", default=4)) * d,
        "qkv_bias": bias,
        "o_bias": bias,
        "mlp_bias": bias,
        "norm_bias": bias,
        "position": "alibi" if alibi else "learned",
        "attn_implementation": "sdpa" if ac.get("attn_impl") in ("flash", "triton") else "eager",
    }
    if not alibi:
        out["max_position"] = c.get("max_seq_len", default=2048)
    return out


def _deepseek(c: Config) -> dict[str, Any]:
    if not c.get("n_routed_experts", default=None):
        return {}
    moe = {
        "num_experts": c.get("n_routed_experts"),
        "top_k": c.get("num_experts_per_tok"),
        "expert_intermediate_size": c.get("moe_intermediate_size"),
        "num_shared_experts": c.get("n_shared_experts", default=0) or 0,
        "first_dense_layers": c.get("first_k_dense_replace", default=0),
        "layer_freq": int(c.get("moe_layer_freq", default=1)),
        "router_bias": c.get("topk_method", default="") == "noaux_tc",
    }
    return {f"moe.{k}": v for k, v in moe.items()}


def _mamba(c: Config) -> dict[str, Any]:
    rank = c.get("time_step_rank", default="auto")
    d = c.get("hidden_size", "d_model")
    return {"ssm.dt_rank": math.ceil(d / 16) if rank == "auto" else int(rank)}


def _rwkv6(c: Config) -> dict[str, Any]:
    """RWKV-6 "Finch" remote code (RWKV/v6-Finch-*-HF modeling_rwkv6.py): the FFN is
    int(3.5 hidden / 32) x 32 unless intermediate_size is given; the token-shift LoRA is
    32 wide and the decay LoRA 64, both doubled at hidden_size 4096 (the 7B and 14B
    checkpoints: Rwkv6SelfAttention, "if hidden_size == 4096: # 7b")."""
    d = c.get("hidden_size")
    wide = d == 4096
    return {
        "intermediate_size": c.get("intermediate_size", default=0) or int((d * 3.5) // 32 * 32),
        "rwkv.time_mix_extra_dim": 64 if wide else 32,
        "rwkv.time_decay_extra_dim": 128 if wide else 64,
    }


MODEL_TYPES: dict[str, ModelType] = {
    m.model_type: m
    for m in (
        LLAMA,
        LLAMA.but("mistral", keys=SLIDING, source="transformers MistralConfig"),
        LLAMA.but(
            "mixtral",
            keys={
                **SLIDING,
                "moe.num_experts": key("num_local_experts"),
                "moe.top_k": key("num_experts_per_tok"),
                "moe.expert_intermediate_size": key("intermediate_size"),
            },
            source="transformers MixtralConfig",
        ),
        LLAMA.but(
            "qwen2", fixed={"qkv_bias": True, "o_bias": False}, derive=_qwen2_window, source="transformers Qwen2Config"
        ),
        LLAMA.but(
            "qwen2_moe",
            fixed={"qkv_bias": True, "o_bias": False, "moe.shared_expert_gate": True},
            keys={
                "moe.num_experts": key("num_experts"),
                "moe.top_k": key("num_experts_per_tok"),
                "moe.expert_intermediate_size": key("moe_intermediate_size"),
                "moe.shared_intermediate_size": key("shared_expert_intermediate_size", default=0),
            },
            derive=_qwen_moe,
            source="transformers Qwen2MoeConfig",
        ),
        LLAMA.but(
            "qwen3",
            keys={"head_dim": key("head_dim", default=128)},  # Qwen3Config's default
            fixed={"qk_norm": True},
            source="transformers Qwen3Config",
        ),
        LLAMA.but(
            "qwen3_moe",
            fixed={"qk_norm": True},
            keys={
                "moe.num_experts": key("num_experts", default=128),
                "moe.top_k": key("num_experts_per_tok", default=8),
                "moe.expert_intermediate_size": key("moe_intermediate_size", default=768),
            },
            derive=_qwen_moe,
            source="transformers Qwen3MoeConfig (configuration_qwen3_moe.py, modeling_qwen3_moe.py)",
        ),
        GEMMA,
        GEMMA.but("gemma2", fixed={"sandwich_norms": True}, derive=_gemma2_window, source="transformers Gemma2Config"),
        LLAMA.but("phi3", keys=SLIDING, source="transformers Phi3Config"),
        GPT2,
        ModelType(
            model_type="gpt_neox",
            source="transformers GPTNeoXConfig",
            keys={
                "vocab_size": key("vocab_size"),
                "hidden_size": key("hidden_size"),
                "num_layers": key("num_hidden_layers"),
                "num_heads": key("num_attention_heads"),
                "intermediate_size": key("intermediate_size"),
                "activation": key("hidden_act", default="gelu", convert=activation),
                "qkv_bias": key("attention_bias", default=True, convert=bool),
                "o_bias": key("attention_bias", default=True, convert=bool),
                "parallel_block": key("use_parallel_residual", default=True, convert=bool),
                "tie_embeddings": key("tie_word_embeddings", default=False, convert=bool),
            },
            fixed={
                "architecture": "decoder",
                "mlp": "plain",
                "norm": "layernorm",
                "mlp_bias": True,
                "position": "rope",
            },
        ),
        GPT2.but(
            "gptj",
            keys={
                "hidden_size": key("n_embd"),
                "num_layers": key("n_layer"),
                "tie_embeddings": key("tie_word_embeddings", default=False, convert=bool),
                "max_position": key("n_positions", default=0),
            },
            fixed={
                "qkv_bias": False,
                "o_bias": False,
                "lm_head_bias": True,
                "parallel_block": True,
                "shared_block_norm": True,
                "position": "rope",
            },
            source="transformers GPTJConfig",
        ),
        ModelType(
            model_type="falcon",
            source="transformers FalconConfig",
            keys={
                "vocab_size": key("vocab_size"),
                "hidden_size": key("hidden_size"),
                "num_layers": key("num_hidden_layers"),
                "num_heads": key("num_attention_heads"),
                "tie_embeddings": key("tie_word_embeddings", default=True, convert=bool),
            },
            fixed={"architecture": "decoder", "mlp": "plain", "activation": "gelu", "norm": "layernorm"},
            derive=_falcon,
        ),
        ModelType(
            model_type="opt",
            source="transformers OPTConfig",
            keys={
                "vocab_size": key("vocab_size"),
                "hidden_size": key("hidden_size"),
                "num_layers": key("num_hidden_layers"),
                "num_heads": key("num_attention_heads"),
                "intermediate_size": key("ffn_dim"),
                "activation": key("activation_function", default="relu", convert=activation),
                "max_position": key("max_position_embeddings"),
            },
            fixed={
                "architecture": "decoder",
                "mlp": "plain",
                "norm": "layernorm",
                "tie_embeddings": True,
                "position": "learned",
                "position_offset": 2,  # OPTLearnedPositionalEmbedding keeps 2 extra rows
            },
            derive=_opt,
        ),
        ModelType(
            model_type="bloom",
            source="transformers BloomConfig",
            keys={
                "vocab_size": key("vocab_size"),
                "hidden_size": key("hidden_size", "n_embed"),
                "num_layers": key("n_layer", "num_hidden_layers"),
                "num_heads": key("n_head", "num_attention_heads"),
            },
            fixed={
                "architecture": "decoder",
                "mlp": "plain",
                "activation": "gelu_tanh",
                "norm": "layernorm",
                "qkv_bias": True,
                "o_bias": True,
                "mlp_bias": True,
                "embedding_norm": True,
                "tie_embeddings": True,
                "position": "alibi",
            },
            derive=lambda c: {"intermediate_size": 4 * c.get("hidden_size", "n_embed")},
        ),
        ModelType(
            model_type="bert",
            source="transformers BertConfig",
            keys={
                "vocab_size": key("vocab_size"),
                "hidden_size": key("hidden_size"),
                "num_layers": key("num_hidden_layers"),
                "num_heads": key("num_attention_heads"),
                "intermediate_size": key("intermediate_size"),
                "activation": key("hidden_act", default="gelu", convert=activation),
                "max_position": key("max_position_embeddings"),
                "token_types": key("type_vocab_size", default=2),
                "tie_embeddings": key("tie_word_embeddings", default=True, convert=bool),  # the LM decoder
            },
            fixed={
                "architecture": "encoder",
                "mlp": "plain",
                "norm": "layernorm",
                "norm_position": "post",
                "qkv_bias": True,
                "o_bias": True,
                "mlp_bias": True,
                "position": "learned",
                "embedding_norm": True,
                "final_norm": False,
                "lm_transform": True,  # BertPredictionHeadTransform
                "lm_head_bias": True,  # BertLMPredictionHead.bias, one per vocabulary entry
            },
            derive=_bert,
        ),
        ModelType(
            model_type="t5",
            source="transformers T5Config",
            keys={
                "vocab_size": key("vocab_size"),
                "hidden_size": key("d_model"),
                "num_layers": key("num_layers"),
                "num_heads": key("num_heads"),
                "head_dim": key("d_kv"),
                "intermediate_size": key("d_ff"),
                "relative_buckets": key("relative_attention_num_buckets", default=32),
                "tie_embeddings": key("tie_word_embeddings", default=True, convert=bool),
            },
            fixed={
                "architecture": "encoder-decoder",
                "norm": "rmsnorm",
                "position": "relative",
                "fused_qkv": False,
                "fused_gate_up": False,
            },
            derive=_t5,
        ),
        ModelType(
            model_type="switch_transformers",
            source="transformers SwitchTransformersConfig (configuration_switch_transformers.py)",
            keys={
                "vocab_size": key("vocab_size", default=32128),
                "hidden_size": key("d_model", default=768),
                "num_layers": key("num_layers", default=12),
                "num_heads": key("num_heads", default=12),
                "head_dim": key("d_kv", default=64),
                "intermediate_size": key("d_ff", default=2048),
                "relative_buckets": key("relative_attention_num_buckets", default=32),
                "tie_embeddings": key("tie_word_embeddings", default=True, convert=bool),
            },
            fixed={
                "architecture": "encoder-decoder",
                "norm": "rmsnorm",
                "position": "relative",
                "fused_qkv": False,
                "fused_gate_up": False,
                "attn_implementation": "eager",  # no SDPA path in transformers' Switch code
            },
            derive=_switch,
        ),
        ModelType(
            model_type="mpt",
            source="transformers MptConfig (configuration_mpt.py, modeling_mpt.py)",
            keys={
                "vocab_size": key("vocab_size", default=50368),
                "hidden_size": key("d_model"),
                "num_layers": key("n_layers"),
                "num_heads": key("n_heads"),
                "tie_embeddings": key("tie_word_embeddings", default=True, convert=bool),
            },
            fixed={"architecture": "decoder", "mlp": "plain", "activation": "gelu", "norm": "layernorm"},
            derive=_mpt,
        ),
        *(
            ModelType(
                model_type=mt,
                source="DeepSeek-V2/V3 configuration_deepseek.py",
                keys={
                    **{k: v for k, v in LLAMA.keys.items() if k not in ("head_dim", "qkv_bias", "o_bias", "mlp_bias")},
                    "mla.kv_lora_rank": key("kv_lora_rank"),
                    "mla.qk_nope_head_dim": key("qk_nope_head_dim"),
                    "mla.qk_rope_head_dim": key("qk_rope_head_dim"),
                    "mla.v_head_dim": key("v_head_dim"),
                    "mla.q_lora_rank": key("q_lora_rank", default=0),
                },
                fixed=LLAMA.fixed,
                derive=_deepseek,
            )
            for mt in ("deepseek_v2", "deepseek_v3")
        ),
        ModelType(
            model_type="mamba",
            source="transformers MambaConfig",
            keys={
                "vocab_size": key("vocab_size"),
                "hidden_size": key("hidden_size", "d_model"),
                "num_layers": key("num_hidden_layers", "n_layer"),
                "tie_embeddings": key("tie_word_embeddings", default=True, convert=bool),
                "ssm.d_state": key("state_size", default=16),
                "ssm.d_conv": key("conv_kernel", default=4),
                "ssm.expand": key("expand", default=2),
                "ssm.conv_bias": key("use_conv_bias", default=True, convert=bool),
                "ssm.proj_bias": key("use_bias", default=False, convert=bool),
            },
            fixed={"architecture": "mamba", "norm": "rmsnorm", "position": "none"},
            derive=_mamba,
        ),
        ModelType(
            model_type="rwkv6",
            source="RWKV/v6-Finch-*-HF configuration_rwkv6.py and modeling_rwkv6.py",
            keys={
                "vocab_size": key("vocab_size"),
                "hidden_size": key("hidden_size"),
                "num_layers": key("num_hidden_layers"),
                "rwkv.head_size": key("head_size", default=64),
                "tie_embeddings": key("tie_word_embeddings", default=False, convert=bool),
            },
            fixed={"architecture": "rwkv", "norm": "layernorm", "position": "none"},
            derive=_rwkv6,
        ),
    )
}
