"""Continuous batching, E2R-FLOPs, speculative decoding, prefix caching,
output-length distributions."""

from __future__ import annotations

import pytest

from costmodel.errors import PlanError
from costmodel.frontends.builtin import get_spec
from costmodel.planners import llm_extras as X
from costmodel.planners.llm import ServingCase


def case(model: str, hardware: str = "h100", **kw) -> ServingCase:
    return ServingCase.of(model, hardware, **kw)


def test_speculative_expected_tokens_formula():
    # Leviathan et al. 2023: E[tokens] = (1 - a^(k+1)) / (1 - a); a=0.8, k=4 -> 3.3616
    r = X.speculative(case("llama-3-8b"), case("llama-3.2-1b"), 4, 0.8, 512, 64)
    assert r["expected_tokens_per_step"] == pytest.approx((1 - 0.8**5) / 0.2)
    assert r["speedup"] > 1
    with pytest.raises(PlanError):
        X.speculative(case("llama-3-8b"), case("llama-3.2-1b"), 4, 1.0, 512, 64)


def test_shared_prefix_saves_prefill():
    r = X.shared_prefix(case("llama-3.2-1b"), 4096, 64, 8, 16)
    assert r["prefill_with_s"] < r["prefill_without_s"] and r["speedup"] > 1


def test_reranker_macs_are_the_architectures():
    """E2R-FLOPs' estimate drops the gate matrix (anchors); the count here is the full
    forward. Qwen2.5-7B over 32 + 224 = 256 tokens, per layer: q/o 3584 x 3584 each, k/v
    3584 x 512 each, gate/up/down 3 x 3584 x 18944 per token; causal attention scores
    256 x 257 / 2 = 32,896 (query, key) pairs per head, 28 heads, QK^T and PV of 128
    each; the LM head 3584 x 152064 for the last position only."""
    r = X.reranker_flops(get_spec("qwen2.5-7b"), 32, 224, 10)
    d, kv, ffn, layers, tokens = 3584, 512, 18944, 28, 256
    linear = 2 * d * d + 2 * d * kv + 3 * d * ffn
    attention = 32_896 * 28 * (128 + 128)
    macs = layers * (tokens * linear + attention) + d * 152_064
    assert r["macs_per_query"] == 10 * macs
    assert r["flops_per_query"] >= 2 * r["macs_per_query"]
    assert r["queries_per_petaflop"] * r["flops_per_query"] == pytest.approx(1e15)


def test_continuous_batching_and_distribution():
    c = X.continuous_batching(case("llama-3.2-1b"), 5.0, 256, 64)
    # Little's law: 5 requests/s x 63 decode steps each x the mean step = sequences decoding
    assert c["stable"] and c["batch"] == pytest.approx(5.0 * 63 * c["tpot_s"], rel=1e-6)
    d = X.output_length_distribution(case("llama-3.2-1b"), 128, [10, 100])
    assert d["p_latency_s"][10] < d["expected_latency_s"] < d["p_latency_s"][100]
