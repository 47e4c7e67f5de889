"""Model specs: the safe expression language, validation, built-ins with their published
parameter counts (level 4: numbers from the model cards / HF num_parameters())."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import costmodel
from costmodel.errors import CostModelError, ExpressionError, SpecError
from costmodel.frontends.builtin import get_spec, names
from costmodel.frontends.spec.expr import evaluate_int
from costmodel.frontends.spec.hf_config import spec_from_hf
from costmodel.frontends.spec import load_spec, spec_from_dict
from costmodel.planners.llm import active_params, kv_bytes_per_token
from costmodel.planners.workload import param_count

# Published parameter counts: HF `model.num_parameters()` of each checkpoint (the
# anchors' reference table for Llama-2-7B, Mixtral-8x7B and GPT-2; model cards / configs
# for the rest), torchvision for ViT-B/16, the DiT paper for DiT-XL/2.
PUBLISHED = {
    "llama-2-7b": 6_738_415_616,
    "llama-2-13b": 13_015_864_320,
    "llama-2-70b": 68_976_648_192,
    "llama-3-8b": 8_030_261_248,
    "llama-3-70b": 70_553_706_496,
    "llama-3.1-405b": 405_853_388_800,
    "llama-3.2-1b": 1_235_814_400,
    "llama-3.2-3b": 3_212_749_824,
    "mistral-7b": 7_241_732_096,
    "mixtral-8x7b": 46_702_792_704,
    "qwen2.5-7b": 7_615_616_512,
    "qwen2.5-72b": 72_706_203_648,
    "qwen3-8b": 8_190_735_360,
    "gemma-2-9b": 9_241_705_984,
    "gemma-2-27b": 27_227_128_320,
    "phi-3-mini": 3_821_079_552,
    "deepseek-v3": 671_026_419_200,
    "gpt-2": 124_439_808,
    "gpt-j-6b": 6_050_882_784,
    "pythia-160m": 162_322_944,
    "falcon-7b": 6_921_720_704,
    "opt-1.3b": 1_315_758_080,
    "bloom-560m": 559_214_592,
    "bert-base": 109_482_240,
    "t5-base": 222_903_552,
    "mamba-2.8b": 2_768_345_600,
    "qwen1.5-moe-a2.7b": 14_315_784_192,
    "vit-b-16": 86_567_656,
    "dit-xl-2": 675_129_632,
    # transformers num_parameters() of the model cards' classes (tests/test_hf_heads.py)
    "switch-base-8": 619_339_008,
    "mpt-7b": 6_649_286_656,
    "qwen3-30b-a3b": 30_532_122_624,
}


def test_at_least_25_builtins_with_sources():
    assert len(names()) >= 25
    for n in names():
        s = get_spec(n)
        assert s.source, n


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_counts(name):
    assert param_count(get_spec(name)) == PUBLISHED[name]


def test_mixtral_active_params():
    # anchors: Mixtral-8x7B 12,879,925,248 parameters active per token (top-2 of 8)
    assert active_params(get_spec("mixtral-8x7b")) == 12_879_925_248


def test_llama3_kv_cache_per_token():
    # anchors: 2 * 32 layers * 8 kv heads * 128 * 2 B = 131,072 bytes per token in bf16
    from costmodel.ir.dtypes import dtype

    assert kv_bytes_per_token(get_spec("llama-3-8b"), dtype("bf16")) == 2 * 32 * 8 * 128 * 2


def test_mla_kv_cache_is_the_latent():
    from costmodel.ir.dtypes import dtype

    s = get_spec("deepseek-v3")
    # (kv_lora_rank 512 + rope 64) * 61 layers * 2 bytes, stored once (not K and V)
    assert kv_bytes_per_token(s, dtype("bf16")) == (512 + 64) * 61 * 2


def test_expression_language_whitelist():
    assert evaluate_int("hidden // heads * 2", {"hidden": 4096, "heads": 32}) == 256
    assert evaluate_int("max(ceil(7 / 2), min(1, 2))", {}) == 4
    for bad in (
        "__import__('os')",
        "hidden.bit_length()",
        "[1, 2]",
        "lambda: 1",
        "a if b else c",
        "open('x')",
        "2 ** 10",
        "x[0]",
    ):
        with pytest.raises(ExpressionError):
            evaluate_int(bad, {"hidden": 1, "a": 1, "b": 1, "c": 1, "x": 1})


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=40))
def test_expression_fuzz_never_crashes(text):
    try:
        evaluate_int(text, {"a": 3, "b": 4})
    except CostModelError:
        pass


def test_spec_derived_fields_and_errors(tmp_path):
    base = dict(
        name="m",
        architecture="decoder",
        vocab_size=100,
        hidden_size=64,
        num_layers=2,
        num_heads=4,
        intermediate_size="4 * hidden_size",
    )
    assert spec_from_dict(base).intermediate_size == 256
    with pytest.raises(SpecError, match="does not divide"):
        spec_from_dict({**base, "num_heads": 5})
    with pytest.raises(SpecError, match="unknown field"):
        spec_from_dict({**base, "hiden_size": 3})
    with pytest.raises(SpecError, match="must be >= 0|must be an integer"):
        spec_from_dict({**base, "num_layers": -1})
    with pytest.raises(SpecError):
        spec_from_dict({**base, "hidden_size": float("nan")})
    p = tmp_path / "bomb.yaml"
    p.write_text(
        "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    )
    with pytest.raises(SpecError, match="alias bomb|too many"):
        load_spec(str(p))
    p2 = tmp_path / "evil.yaml"
    p2.write_text("name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_spec(str(p2))


def test_hf_config_unknown_type_names_supported():
    with pytest.raises(SpecError, match="supported: .*llama"):
        spec_from_hf({"model_type": "unicorn"})
    with pytest.raises(SpecError, match="missing fields .*'num_attention_heads'"):
        spec_from_hf({"model_type": "llama", "vocab_size": 10})


def test_hf_config_file_roundtrip(tmp_path):
    cfg = {
        "model_type": "llama",
        "vocab_size": 32000,
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "intermediate_size": 11008,
    }
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    assert param_count(load_spec(str(p))) == PUBLISHED["llama-2-7b"]


def test_spec_analyze_is_symbolic_and_binds():
    r = costmodel.analyze("llama-3.2-1b")
    assert set(r.symbols) == {"batch", "seq"}
    vals = r.bind(batch=2, seq=16)
    # Kaplan et al. 2020: forward FLOPs/token ~ 2N + 2 L n_ctx d_attn for non-embedding N;
    # our count is exact, so it must sit above 2 x (non-embedding params) per token
    s = get_spec("llama-3.2-1b")
    non_embed = PUBLISHED["llama-3.2-1b"] - s.vocab_size * s.hidden_size
    assert vals["flops"] > 2 * non_embed * 32
