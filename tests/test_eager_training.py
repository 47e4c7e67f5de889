"""Single-GPU eager training (PyTorch eager, bf16 autocast, AdamW) against the GPT-2 steps
measured on one H200 (benchmarks/data/h200-train-2026-12-04.json, a check set: nothing in
the model is fitted to it). The nanoGPT-style rows are the `gpt-2` spec as written (no
dropout); the Hugging Face rows run the default config's dropout, which the spec does not
have, and are not compared. Where the GPU is busy (32 x 1024 tokens) the step is within
the issue's 15%; at 8 x 1024 and below the host's eager dispatch, which the engine models
from inference measurements, leaves the step under-predicted (docs/training.md)."""

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


def test_gpu_bound_gpt2_step_and_peak_memory_on_h200():
    big = [c for c in _cases() if c["batch"] * c["seq_len"] >= 32 * 1024]
    assert big
    for c in big:
        p = _plan(c)
        assert abs(p.step_latency_s / c["step_s"] - 1) <= 0.15
    for c in _cases():
        if c["batch"] >= 8:
            p = _plan(c)
            assert abs(p.memory.total_bytes / c["peak_memory_bytes"] - 1) <= 0.10


def test_optimizer_implementations_rank_as_measured():
    """Measured on the H200: fused 2.5-2.9 ms < foreach 4.4-5.1 ms < per-tensor 22 ms for
    GPT-2's 148 tensors. The per-tensor loop is host-bound: 148 tensors x 10 dispatches at
    the profile's calibrated eager dispatch cost (its inference fit: 13.7 ms predicted)."""
    from costmodel.engine.calibration import for_profile
    from costmodel.hardware import get_profile

    times = {}
    for impl in ("fused", "foreach", "per-tensor"):
        p = plan_training("gpt-2", "h200", 1, 8, 1024, micro_batch=8, optimizer_impl=impl)
        times[impl] = p.breakdown.optimizer_s
    assert times["fused"] < times["foreach"] < times["per-tensor"]
    dispatch = for_profile(get_profile("h200")).dispatch("default")
    assert times["per-tensor"] == pytest.approx(148 * 10 * dispatch, rel=1e-6)
