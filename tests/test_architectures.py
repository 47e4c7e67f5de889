"""The architecture and model-type tables, the lowering's layer bookkeeping, and the
bugs they fixed; expected values are arithmetic from the architectures."""

from __future__ import annotations

import json

import pytest

from costmodel.analysis import analyze_graph
from costmodel.errors import SpecError
from costmodel.frontends import spec_graph
from costmodel.frontends.builtin import get_spec
from costmodel.frontends.lower import Phase, Workload, layer_graph, lower
from costmodel.frontends.spec import ARCHITECTURES, MODEL_TYPES, spec_from_dict, spec_from_hf
from costmodel.ir.activations import ACTIVATION_OPS, HF_ACTIVATIONS, Activation
from costmodel.planners.workload import param_count, run_workload

# Hugging Face config.json values of built-in models (the built-in specs cite these files);
# imported through the model-type table they must give the published counts of
# tests/test_specs.py::PUBLISHED.
HF_CONFIGS = {
    "mistral-7b": dict(
        model_type="mistral",
        vocab_size=32000,
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        intermediate_size=14336,
        sliding_window=4096,
        max_position_embeddings=32768,
    ),
    "qwen2.5-7b": dict(
        model_type="qwen2",
        vocab_size=152064,
        hidden_size=3584,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        intermediate_size=18944,
        use_sliding_window=False,
        sliding_window=131072,
    ),
    "gemma-2-9b": dict(
        model_type="gemma2",
        vocab_size=256000,
        hidden_size=3584,
        num_hidden_layers=42,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=256,
        intermediate_size=14336,
        hidden_activation="gelu_pytorch_tanh",
        sliding_window=4096,
    ),
    "gpt-2": dict(model_type="gpt2", vocab_size=50257, n_embd=768, n_layer=12, n_head=12, n_positions=1024),
    "falcon-7b": dict(
        model_type="falcon", vocab_size=65024, hidden_size=4544, num_hidden_layers=32, num_attention_heads=71
    ),
    "opt-1.3b": dict(
        model_type="opt",
        vocab_size=50272,
        hidden_size=2048,
        num_hidden_layers=24,
        num_attention_heads=32,
        ffn_dim=8192,
        max_position_embeddings=2048,
    ),
    "bert-base": dict(
        model_type="bert",
        vocab_size=30522,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
    ),
    "t5-base": dict(model_type="t5", vocab_size=32128, d_model=768, num_layers=12, num_heads=12, d_kv=64, d_ff=3072),
    "mamba-2.8b": dict(model_type="mamba", vocab_size=50280, hidden_size=2560, num_hidden_layers=64),
    "mixtral-8x7b": dict(
        model_type="mixtral",
        vocab_size=32000,
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        intermediate_size=14336,
        num_local_experts=8,
        num_experts_per_tok=2,
    ),
    "qwen1.5-moe-a2.7b": dict(
        model_type="qwen2_moe",
        vocab_size=151936,
        hidden_size=2048,
        num_hidden_layers=24,
        num_attention_heads=16,
        num_key_value_heads=16,
        intermediate_size=5632,
        num_experts=60,
        num_experts_per_tok=4,
        moe_intermediate_size=1408,
        shared_expert_intermediate_size=5632,
    ),
    "qwen3-8b": dict(
        model_type="qwen3",
        vocab_size=151936,
        hidden_size=4096,
        num_hidden_layers=36,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        intermediate_size=12288,
    ),
}


@pytest.mark.parametrize("name", sorted(HF_CONFIGS))
def test_hf_model_types_reproduce_published_counts(name):
    from tests.test_specs import PUBLISHED

    assert param_count(spec_from_hf(HF_CONFIGS[name], name=name)) == PUBLISHED[name]


def test_every_model_type_names_a_known_architecture_and_source():
    for mt, entry in MODEL_TYPES.items():
        assert entry.model_type == mt and entry.source, mt
        arch = entry.fixed.get("architecture")
        assert arch in ARCHITECTURES, mt


def test_a_new_model_type_is_one_entry():
    from costmodel.frontends.spec.hf_config import LLAMA

    olmo2 = LLAMA.but("olmo2", fixed={"qk_norm": True})
    cfg = dict(HF_CONFIGS["qwen3-8b"], model_type="olmo2")
    from costmodel.frontends.spec.hf_config import Config

    data = olmo2.read(Config(cfg, "config.json"))
    data["name"] = "olmo2-like"
    assert param_count(spec_from_dict(data)) == param_count(spec_from_hf(HF_CONFIGS["qwen3-8b"]))


def test_one_activation_table_for_specs_hf_lowering_and_rules():
    from costmodel.frontends.spec.coerce import field_kinds
    from costmodel.frontends.spec.records import ModelSpec
    from costmodel.ops.internal import ACT

    assert field_kinds(ModelSpec)["activation"] is Activation
    assert set(ACTIVATION_OPS) == set(Activation) == set(HF_ACTIVATIONS.values())
    assert set(ACT) == {a.value for a in Activation}
    # relu2 is ReLU then a square: 1 compare + 1 multiply per element (So et al. 2021)
    assert ACT["relu2"] == (2, 0)


def test_architecture_table_drives_validation():
    base = dict(name="m", architecture="hybrid", vocab_size=64, hidden_size=64, num_layers=2, num_heads=4)
    ok = spec_from_dict({**base, "intermediate_size": 128, "layer_types": ["mamba", "attention"]})
    assert ok.ssm is not None and ok.ssm_version() == 1  # Jamba's Mamba layers are Mamba-1
    with pytest.raises(SpecError, match="layer type 'rwkv' is not one of mamba"):
        spec_from_dict({**base, "architecture": "mamba", "layer_types": ["mamba", "rwkv"]})
    with pytest.raises(SpecError, match="vocab_size"):
        spec_from_dict({**base, "architecture": "decoder", "vocab_size": 0, "intermediate_size": 8})
    vit = spec_from_dict(
        dict(name="v", architecture="vit", hidden_size=64, num_layers=1, num_heads=4, intermediate_size=8)
        | dict(image_size=32, patch_size=16)
    )
    assert vit.arch.image_input and not vit.arch.generates


# -- RWKV-6 parameters -----------------------------------------------------------------


def rwkv6_params(d: int, layers: int, vocab: int, ffn: int, mix: int, decay: int) -> int:
    """Parameters of RWKV-6 from the reference layout (modeling_rwkv6.py / RWKV-LM x060):
    per layer 6 maa vectors, maa_w1 d x 5D, maa_w2 5 x D x d, time_decay d, decay LoRA
    d x D' + D' x d, time_faaaa H x N = d, r/k/v/g/o 5 d^2, ln_x 2d, ln1 + ln2 4d; channel
    mix 2 maa vectors, key d x F, receptance d^2, value F x d; ln0 (2d) in layer 0 only;
    embedding, ln_out (2d), untied head."""
    tmix = 6 * d + d * 5 * mix + 5 * mix * d + d + d * decay + decay * d + d + 5 * d * d + 2 * d
    cmix = 2 * d + d * ffn + d * d + ffn * d
    return layers * (tmix + cmix + 4 * d) + 2 * d + vocab * d + 2 * d + d * vocab


def test_rwkv6_7b_counts_the_reference_layout():
    s = get_spec("rwkv-6-7b")
    # the released 7B (LoRA 64 / 128 at width 4096): 15.3 GB of bf16 weights as published
    assert param_count(s) == rwkv6_params(4096, 32, 65536, 14336, 64, 128) == 7_635_746_816
    # the same model with the narrower LoRA ranks of the smaller Finches: the figure
    from dataclasses import replace

    narrow = replace(s, rwkv=replace(s.rwkv, time_mix_extra_dim=32, time_decay_extra_dim=64))
    assert param_count(narrow) == rwkv6_params(4096, 32, 65536, 14336, 32, 64) == 7_577_026_560


@pytest.mark.parametrize(
    "d,layers,expected",
    [
        # RWKV/v6-Finch-1B6-HF and -3B-HF config.json (intermediate_size null -> 3.5 d);
        # Peng et al. 2024 report 1.6B and 3.1B
        (2048, 24, 1_599_873_024),
        (2560, 32, 3_099_863_040),
    ],
)
def test_rwkv6_smaller_finches_from_their_configs(d, layers, expected):
    cfg = dict(model_type="rwkv6", hidden_size=d, num_hidden_layers=layers, head_size=64, vocab_size=65536)
    cfg |= dict(attention_hidden_size=d, intermediate_size=None, tie_word_embeddings=False)
    assert param_count(spec_from_hf(cfg)) == rwkv6_params(d, layers, 65536, int(d * 3.5) // 32 * 32, 32, 64)
    assert param_count(spec_from_hf(cfg)) == expected


def test_rwkv_ln0_only_in_layer_zero():
    s = get_spec("rwkv-6-7b")
    segs = [seg for seg in lower(s, Workload(Phase.PREFILL, 1, 4)) if seg.is_layers]
    assert [seg.layers for seg in segs] == [(0,), tuple(range(1, 32))]
    names = [set(seg.graph.initializers) for seg in segs]
    assert any(n.endswith("ln0.weight") for n in names[0]) and not any("ln0" in n for n in names[1])


# -- sliding windows ---------------------------------------------------------------------


def test_gemma2_decode_reads_window_capped_kv():
    """Gemma-2-9B decode at context 65,536: 21 global layers read the 65,535 cached
    positions, 21 sliding layers (window 4,096, the new position included) read 4,095;
    K and V, 8 KV heads of 256, 2 bytes each."""
    s = get_spec("gemma-2-9b")
    r = run_workload(s, Workload(Phase.DECODE, 1, 1, 65_535))
    per_position = 2 * 8 * 256 * 2
    assert r.cost.read_kv == 21 * 65_535 * per_position + 21 * 4_095 * per_position
    assert r.cost.read_kv == 11_978_588_160  # was 22.5 GB with every layer reading the whole past


def test_a_window_of_w_attends_w_keys():
    """Hugging Face's sliding mask (kv > q - W, causal): W keys per query, itself
    included. Prefill of S = 20 with W = 8: rows 0..7 see q + 1 keys, the other 12 see 8:
    36 + 96 = 132 pairs per head; QK^T and PV of 4 heads of 16: 4 x 132 x 32 MACs."""
    s = spec_from_dict(
        dict(name="w", architecture="decoder", vocab_size=16, hidden_size=64, num_layers=1, num_heads=4)
        | dict(intermediate_size=64, sliding_window=8)
    )
    g = layer_graph(s, Workload(Phase.PREFILL, 1, 20), 0)
    att = [n for n in analyze_graph(g).nodes if n.op_type == "GroupQueryAttention"]
    assert att[0].cost.macs == 4 * 132 * (16 + 16)
    dec = layer_graph(s, Workload(Phase.DECODE, 1, 1, 100), 0)
    att = [n for n in analyze_graph(dec).nodes if n.op_type == "GroupQueryAttention"]
    assert att[0].cost.macs == 4 * 8 * (16 + 16)  # 7 cached + the new position


def test_unrolled_layers_keep_their_indices():
    g = spec_graph(get_spec("gemma-2-9b"), {"batch": 1, "seq": 8}, unrolled=True)
    attn = {n.name: n for n in g.nodes if n.op_type == "GroupQueryAttention"}
    assert attn["layers0/attn.attn"].attrs["local_window_size"] == 4095  # even layers slide
    assert "local_window_size" not in attn["layers1/attn.attn"].attrs
    assert len(attn) == 42
    # analysed as it is by default: each distinct layer once, named by the layers it stands for
    g = spec_graph(get_spec("gemma-2-9b"), {"batch": 1, "seq": 8})
    attn = {n.name: n for n in g.nodes if n.op_type == "GroupQueryAttention"}
    assert attn["layers[0,2..40]x21/attn.attn"].attrs["local_window_size"] == 4095
    assert "local_window_size" not in attn["layers[1,3..41]x21/attn.attn"].attrs
    assert [n.repeat.count if n.repeat else 1 for n in attn.values()] == [21, 21]


# -- knobs that must be read ------------------------------------------------------------


def test_dit_sampling_is_exposed():
    lowered = lower(get_spec("dit-xl-2"), Workload(Phase.FORWARD, 1, 1))
    assert lowered.sampling is not None
    # 250 DDPM steps, each on a doubled batch under classifier-free guidance
    assert (lowered.sampling.steps, lowered.sampling.batch_factor, lowered.sampling.evaluations) == (250, 2, 500)


def test_schema_lists_architectures_and_activations():
    from costmodel.frontends.spec.schema import json_schema

    props = json_schema()["properties"]
    assert props["architecture"]["enum"] == list(ARCHITECTURES)
    assert props["activation"]["enum"] == [a.value for a in Activation]
    json.dumps(json_schema())


def test_published_schema_file_is_the_generated_one():
    import os

    from costmodel.frontends.spec.schema import json_schema

    path = os.path.join(os.path.dirname(__file__), "..", "docs", "spec.schema.json")
    with open(path) as f:
        assert json.load(f) == json_schema(), "regenerate docs/spec.schema.json (costmodel specs --schema)"
