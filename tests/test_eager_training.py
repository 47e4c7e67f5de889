"""Single-GPU eager training (PyTorch eager, bf16 autocast, AdamW) against the GPT-2 steps
measured on one H200 (benchmarks/data/h200-train-2026-12-04.json). The nanoGPT-style rows
are the `gpt-2` spec as written (no dropout); the Hugging Face rows run the default
config's dropout, which the spec does not have, and their steps are not compared. The
host constants of training_host.py were fitted on the nanoGPT-style 1 x 1024 row's
forward and backward parts and on the Hugging Face rows' optimizer and zero_grad parts
(benchmarks/fit_train_host.py); the other nanoGPT-style rows are held out and carry the
issue's bars (step 15%, peak memory 10%)."""

from __future__ import annotations

import json
import os

import pytest

from costmodel.planners.training import plan_training

DATA = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "data", "h200-train-2026-12-04.json")


def _cases() -> list[dict]:
    with open(DATA, encoding="utf-8") as f:
        return [c for c in json.load(f)["cases"] if c.get("impl") == "nano" and c["model"] == "gpt2"]


def _plan(c: dict):
    impl = c["optimizer"].removeprefix("adamw-")
    return plan_training("gpt-2", "h200", 1, c["batch"], c["seq_len"], micro_batch=c["batch"], optimizer_impl=impl)


def test_eager_recipe_is_the_pytorch_one():
    p = plan_training("gpt-2", "h200", 1, 8, 1024, micro_batch=8)
    e = p.to_dict()["execution"]
    assert (e["precision"], e["optimizer_impl"]) == ("bf16-autocast", "foreach")
    # fp32 parameters (4) + fp32 gradients (4) + Adam moments (8) + bf16 casts of the GEMM
    # weights (2, the tied 50257 x 768 embedding included) held from forward to backward
    m = p.memory
    assert (m.weights_bytes + m.grads_bytes + m.optimizer_bytes) / p.params == pytest.approx(18, abs=0.05)


def _held_out(c: dict) -> bool:
    return not (c["batch"] == 1 and c["optimizer"] == "adamw-foreach")


def test_held_out_gpt2_steps_on_h200():
    held = [c for c in _cases() if _held_out(c)]
    assert len(held) == 3
    for c in held:
        p = _plan(c)
        assert abs(p.step_latency_s / c["step_s"] - 1) <= 0.15, (c["batch"], c["optimizer"])


def test_host_bound_step_is_the_host_timeline():
    """At 1 x 1024 the GPU idles most of the step (the fit row: its forward and backward
    parts fixed the host multipliers, the optimizer and zero_grad came from the Hugging
    Face rows): the step is their sum within a few percent, where GPU time alone is a
    quarter of it."""
    c = next(c for c in _cases() if not _held_out(c))
    p = _plan(c)
    assert abs(p.step_latency_s / c["step_s"] - 1) <= 0.05
    graph = plan_training("gpt-2", "h200", 1, 1, 1024, micro_batch=1, execution="graph", precision="bf16-autocast")
    assert graph.step_latency_s < 0.5 * p.step_latency_s


def test_gpt2_peak_memory_on_h200():
    for c in _cases():
        p = _plan(c)
        assert abs(p.memory.total_bytes / c["peak_memory_bytes"] - 1) <= 0.10, c["batch"]


def test_optimizer_implementations_rank_as_measured():
    """Measured on the H200: fused 2.5-2.9 ms < foreach 4.4-6.0 ms < per-tensor 22-23 ms
    for GPT-2's 148 tensors. At 1 x 1024 (host-bound) the update's host time is exposed:
    the per-tensor loop's 148 x 154 us (its fitted host time per tensor) at least."""
    from costmodel.planners.training_host import OPTIMIZER_HOST_PER_TENSOR

    times = {}
    for impl in ("fused", "foreach", "per-tensor"):
        p = plan_training("gpt-2", "h200", 1, 1, 1024, micro_batch=1, optimizer_impl=impl)
        times[impl] = p.breakdown.optimizer_s
    assert times["fused"] < times["foreach"] < times["per-tensor"]
    assert times["per-tensor"] >= 148 * OPTIMIZER_HOST_PER_TENSOR["per-tensor"]


def test_host_lead_is_hidden_when_the_gpu_is_busy():
    """At 32 x 1024 the GPU is the bottleneck: the host's dispatch hides behind it and the
    eager step exceeds the graph-replay step by little more than zero_grad's host loop
    and the first ops' dispatch."""
    eager = plan_training("gpt-2", "h200", 1, 32, 1024, micro_batch=32)
    graph = plan_training("gpt-2", "h200", 1, 32, 1024, micro_batch=32, execution="graph", precision="bf16-autocast")
    assert 0 <= eager.step_latency_s - graph.step_latency_s < 0.05 * graph.step_latency_s
