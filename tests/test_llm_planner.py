"""The LLM serving planner: conventions, properties, and accuracy against the measured
H200 steps committed in benchmarks/data (level 4)."""

from __future__ import annotations

import json
import os

import pytest

from costmodel.errors import CostModelError, PlanError
from costmodel.planners.llm import plan_llm

DATA = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "data", "h200-2026-11-28.json")
QWEN_LIKE = dict(
    model_type="llama",
    vocab_size=152064,
    hidden_size=3584,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    intermediate_size=18944,
)


def test_contract_keys():
    d = plan_llm("llama-3.2-1b", "h100", batch=2, prompt_len=128, output_len=8).to_dict()
    for k in ("params", "active_params", "prefill", "decode", "request", "memory", "fits", "max_batch"):
        assert k in d
    assert set(d["prefill"]) >= {"latency_s", "flops", "bytes"}
    assert set(d["request"]) >= {"latency_s", "tokens_per_s"}
    assert set(d["memory"]) >= {"weights_bytes", "kv_cache_bytes", "activation_bytes", "total_bytes"}


def test_request_is_prefill_plus_decode_steps():
    p = plan_llm("llama-3.2-1b", "h100", batch=1, prompt_len=256, output_len=33)
    assert p.request_latency_s == pytest.approx(p.prefill.latency_s + 32 * p.decode.latency_s)


def test_decode_grows_with_context_and_batch():
    short = plan_llm("llama-3-8b", "h200", batch=8, prompt_len=512, output_len=1)
    long = plan_llm("llama-3-8b", "h200", batch=8, prompt_len=8000, output_len=1)
    big = plan_llm("llama-3-8b", "h200", batch=64, prompt_len=512, output_len=1)
    assert long.decode.latency_s > short.decode.latency_s
    assert big.decode.latency_s > short.decode.latency_s
    assert long.decode.bytes > short.decode.bytes


def test_kv_cache_bytes_exact():
    # Llama-3-8B: 131,072 B per token (anchors) x (prompt + output) x batch
    p = plan_llm("llama-3-8b", "h200", batch=3, prompt_len=1000, output_len=24)
    assert p.memory.kv_cache_bytes == 131_072 * 1024 * 3


def test_max_batch_is_the_boundary():
    p = plan_llm("llama-3-8b", "h100", batch=1, prompt_len=4096, output_len=512)
    assert plan_llm("llama-3-8b", "h100", batch=p.max_batch, prompt_len=4096, output_len=512).fits
    assert not plan_llm("llama-3-8b", "h100", batch=p.max_batch + 64, prompt_len=4096, output_len=512).fits


def test_tensor_parallel_splits_weights_and_validates():
    one = plan_llm("llama-3-70b", "h100", batch=1, prompt_len=128, output_len=2, tp=8)
    two = plan_llm("llama-3-70b", "h100", batch=1, prompt_len=128, output_len=2, tp=4)
    assert two.memory.weights_bytes > 1.9 * one.memory.weights_bytes
    assert one.decode.comm_s > 0
    with pytest.raises(PlanError, match="divisible"):
        plan_llm("llama-3-70b", "h100", tp=3)


def test_quantized_weights_and_kv():
    base = plan_llm("llama-3-8b", "h100", batch=4, prompt_len=2048, output_len=64)
    q = plan_llm("llama-3-8b", "h100", batch=4, prompt_len=2048, output_len=64, weight_dtype="int4", kv_dtype="fp8")
    assert q.memory.kv_cache_bytes * 2 == base.memory.kv_cache_bytes
    assert q.memory.weights_bytes < 0.45 * base.memory.weights_bytes
    assert q.decode.latency_s < base.decode.latency_s


def test_calibrated_never_below_ideal():
    a = plan_llm("llama-3-8b", "h200", batch=16, prompt_len=1024, output_len=2)
    b = plan_llm("llama-3-8b", "h200", batch=16, prompt_len=1024, output_len=2, mode="ideal")
    assert a.decode.latency_s >= b.decode.latency_s and a.prefill.latency_s >= b.prefill.latency_s


def test_bad_inputs_are_typed_errors():
    with pytest.raises(CostModelError):
        plan_llm("no-such-model", "h100")
    with pytest.raises(CostModelError):
        plan_llm("llama-3-8b", "no-such-gpu")
    with pytest.raises(PlanError):
        plan_llm("llama-3-8b", "h100", batch=0)
    with pytest.raises(PlanError, match="analyze"):
        plan_llm("vit-b-16", "h100")


def _llm_rows():
    with open(DATA) as f:
        return [c for c in json.load(f)["cases"] if c["section"] == "llm"]


def test_h200_measured_steps_accuracy():
    """Measured on an H200 (benchmarks/data/h200-2026-11-28.json): decode steps as CUDA-graph
    replay, prefill eager. The issue's bar is a median |pred/meas - 1| <= 15%."""
    errs = []
    for c in _llm_rows():
        if c["phase"] == "decode" and c["mode"] != "cuda_graph":
            continue
        if c["phase"] == "prefill":
            p = plan_llm(QWEN_LIKE, "h200", batch=c["batch"], prompt_len=c["prompt_len"], output_len=1)
            pred = p.prefill.latency_s
        else:
            p = plan_llm(QWEN_LIKE, "h200", batch=c["batch"], prompt_len=c["context_len"], output_len=1)
            pred = p.decode.latency_s
        errs.append(abs(pred / c["measured_s"] - 1))
    errs.sort()
    assert errs[len(errs) // 2] <= 0.10
    assert max(errs) <= 0.35


def test_h200_peak_memory_components():
    """Weights and KV cache are exact arithmetic from the architecture; the measured
    peaks (benchmarks/data) are then weights + KV + transients. RUNTIME_RESERVED was read
    off these same rows, so only the unfitted parts are held to the measurements:
    the total within 2% (weights and KV are ~98% of it) and the modelled transients
    (activations, logits, reserve) within 300 MiB of what the rows leave for them."""
    d, kv_dim, ffn, layers, vocab = 3584, 4 * 128, 18944, 28, 152064
    per_layer = 2 * d * d + 2 * d * kv_dim + 3 * d * ffn + 2 * d  # q, o, k, v, MLP, 2 norms
    params = layers * per_layer + 2 * vocab * d + d  # untied embedding and head, final norm
    kv_per_token = 2 * layers * kv_dim * 2  # K and V, 4 heads of 128, bf16
    rows = 0
    for c in _llm_rows():
        if "peak_memory_bytes" not in c:
            continue
        n = c.get("prompt_len") or c["context_len"]
        p = plan_llm(QWEN_LIKE, "h200", batch=c["batch"], prompt_len=n, output_len=1)
        assert p.params == params
        assert p.memory.weights_bytes == 2 * params
        assert p.memory.kv_cache_bytes == kv_per_token * (n + 1) * c["batch"]
        measured = c["peak_memory_bytes"]
        assert p.memory.total_bytes == pytest.approx(measured, rel=0.02)
        transients = measured - p.memory.weights_bytes - p.memory.kv_cache_bytes
        assert abs(p.memory.activation_bytes - transients) <= 300 * 2**20
        rows += 1
    assert rows == 7


def test_tensor_parallel_comm_is_the_ring_all_reduce():
    """Llama-3-70B decode at batch 8 on 8 H100s: 2 all-reduces per layer x 80 layers of
    8 x 8192 x 2 bytes over NVLink 4 (450 GB/s per direction, the profile's datasheet
    figure) at 0.8 bus efficiency and 5 us per ring step: 2(n-1) steps and 2(n-1)/n of
    the buffer each (hardware/network.py)."""
    p = plan_llm("llama-3-70b", "h100", batch=8, prompt_len=128, output_len=2, tp=8)
    msg = 8 * 8192 * 2
    one = 2 * 7 * 5e-6 + 2 * 7 / 8 * msg / (450e9 * 0.8)
    assert p.decode.comm_s == pytest.approx(2 * 80 * one, rel=1e-12)


def test_pipeline_stages_hold_their_layers():
    """pp 2 on Llama-3-8B: 16 layers per stage; a batch passes both stages (the latency
    is the whole model's); the fuller stage holds 16 layers + the untied LM head."""
    one = plan_llm("llama-3-8b", "h100", batch=1, prompt_len=64, output_len=2)
    two = plan_llm("llama-3-8b", "h100", batch=1, prompt_len=64, output_len=2, pp=2)
    d, vocab = 4096, 128256
    head = vocab * d * 2 + d * 2  # LM head + final norm, bf16
    embed = vocab * d * 2
    layers = (one.memory.weights_bytes - head - embed) // 32
    assert two.memory.weights_bytes == 16 * layers + head
    assert two.prefill.latency_s > one.prefill.latency_s  # plus one stage-to-stage send
    # 32 layers on 3 stages split unevenly (pipeline.py: 11, 11, 10); 33 stages would leave one empty
    three = plan_llm("llama-3-8b", "h100", batch=1, prompt_len=64, output_len=2, pp=3)
    assert three.memory.weights_bytes == 11 * layers + embed
    with pytest.raises(PlanError, match="empty"):
        plan_llm("llama-3-8b", "h100", pp=33)


def test_sweep_reports_progress_after_each_batch():
    """Issue 18: no progress on --sweep (the CLI draws these calls as a bar on a terminal)."""
    from costmodel.planners.llm import ServingCase, sweep_batches

    seen = []
    case = ServingCase.of("llama-3.2-1b", "h100", prompt_len=64, output_len=4)
    plans = sweep_batches(case, [1, 4], lambda done, total, what: seen.append((done, total, what)))
    assert [p.batch for p in plans] == [1, 4]
    assert seen == [(1, 2, "batch 1"), (2, 2, "batch 4")]
