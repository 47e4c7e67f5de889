"""Continuous batching, HELM runtime, E2R-FLOPs, speculative decoding, prefix caching,
output-length distributions."""

from __future__ import annotations

import pytest

from costmodel.errors import PlanError
from costmodel.planners import llm_extras as X
from costmodel.planners.llm import plan_llm


def test_speculative_expected_tokens_formula():
    # Leviathan et al. 2023: E[tokens] = (1 - a^(k+1)) / (1 - a); a=0.8, k=4 -> 3.3616
    r = X.speculative("llama-3-8b", "llama-3.2-1b", "h100", 4, 0.8, 512, 64)
    assert r["expected_tokens_per_step"] == pytest.approx((1 - 0.8**5) / 0.2)
    assert r["speedup"] > 1
    with pytest.raises(PlanError):
        X.speculative("llama-3-8b", "llama-3.2-1b", "h100", 4, 1.0, 512, 64)


def test_shared_prefix_saves_prefill():
    r = X.shared_prefix("llama-3.2-1b", "h100", 4096, 64, 8, 16)
    assert r["prefill_with_s"] < r["prefill_without_s"] and r["speedup"] > 1


def test_helm_runtime_is_prefill_table_plus_slope():
    r = X.helm_runtime("llama-3.2-1b", "h100", prompt_lens=(16, 1024))
    p = plan_llm("llama-3.2-1b", "h100", batch=1, prompt_len=1024, output_len=2)
    assert r["prompt_runtime_s"][1024] == pytest.approx(p.prefill.latency_s)
    assert r["prompt_runtime_s"][1024] > r["prompt_runtime_s"][16]


def test_reranker_counts_the_gated_mlp():
    # E2R-FLOPs' estimate drops the gate matrix (anchors); our count is the full forward:
    # above 2 x (non-embedding params incl. all three MLP matrices) per token
    from costmodel.frontends.builtin import get_spec
    from costmodel.planners.workload import param_count

    s = get_spec("qwen2.5-7b")
    r = X.reranker_flops("qwen2.5-7b", 32, 224, 10)
    non_embed = param_count(s) - 2 * s.vocab_size * s.hidden_size
    assert r["flops_per_query"] > 10 * 2 * non_embed * 256
    assert r["queries_per_petaflop"] == pytest.approx(1e15 / r["flops_per_query"])


def test_continuous_batching_and_distribution():
    c = X.continuous_batching("llama-3.2-1b", "h100", 5.0, 256, 64)
    assert c["stable"] and c["tpot_s"] > 0 and c["batch"] >= 1
    d = X.output_length_distribution("llama-3.2-1b", "h100", 128, [10, 100])
    assert d["p_latency_s"][10] < d["expected_latency_s"] < d["p_latency_s"][100]
