"""Training planner: layouts, memory formulas, and published Megatron-LM iteration times
(level 4)."""

from __future__ import annotations

import pytest

from costmodel.errors import PlanError
from costmodel.planners.training import chinchilla_optimal, plan_training, six_nd


def gpt(h: int, layers: int, heads: int, vocab: int = 51200, seq: int = 2048) -> dict:
    """A GPT-3-style config as the Megatron papers define them (4h MLP, learned positions)."""
    return dict(
        name=f"gpt-{h}x{layers}",
        architecture="decoder",
        vocab_size=vocab,
        hidden_size=h,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=4 * h,
        mlp="plain",
        activation="gelu",
        norm="layernorm",
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        tie_embeddings=True,
        position="learned",
        max_position=seq,
    )


# Narayanan et al. 2021 (SC'21), Table 1: hidden, layers, heads, TP, PP, GPUs, global batch,
# achieved TFLOP/s per GPU (A100-80GB, seq 2048, vocab 51200, full recompute). The iteration
# time is derived as in the paper: 96 B s l h^2 (1 + s/6h + V/16lh) / (TFLOP/s x GPUs).
NARAYANAN = [
    (2304, 24, 24, 1, 1, 32, 512, 137),
    (4096, 36, 32, 4, 1, 128, 512, 142),
    (8192, 48, 64, 8, 2, 512, 1536, 138),
    (12288, 80, 96, 8, 8, 1536, 2304, 148),
    (25600, 128, 160, 8, 64, 3072, 3072, 163),
]
# Korthikanti et al. 2022, Table 5: iteration seconds with full recompute and with
# selective recompute + sequence parallelism (micro-batch 1, seq 2048).
KORTHIKANTI = [
    (6144, 48, 64, 8, 1, 8, 4, 1.42, 1.10),
    (12288, 96, 96, 8, 8, 64, 64, 18.13, 13.75),
    (20480, 105, 128, 8, 35, 280, 280, 49.05, 37.83),
    (25600, 128, 160, 8, 64, 512, 512, 94.42, 71.49),
]


def test_narayanan_table1_iteration_times():
    errs = []
    for h, l_, a, tp, pp, g, b, tflops in NARAYANAN:
        s, v = 2048, 51200
        meas = 96 * b * s * l_ * h * h * (1 + s / (6 * h) + v / (16 * l_ * h)) / (tflops * 1e12 * g)
        p = plan_training(gpt(h, l_, a), "dgx-a100-80gb", g, b, s, micro_batch=1, tp=tp, pp=pp, recompute="full")
        errs.append(abs(p.step_latency_s / meas - 1))
    assert sum(errs) / len(errs) <= 0.15


def test_korthikanti_table5_iteration_times():
    errs = []
    for h, l_, a, tp, pp, g, b, full, sel in KORTHIKANTI:
        for rc, meas, sp in (("full", full, False), ("selective", sel, True)):
            p = plan_training(
                gpt(h, l_, a),
                "dgx-a100-80gb",
                g,
                b,
                2048,
                micro_batch=1,
                tp=tp,
                pp=pp,
                recompute=rc,
                sequence_parallel=sp,
            )
            errs.append(abs(p.step_latency_s / meas - 1))
    assert sum(errs) / len(errs) <= 0.15


def test_selective_recompute_with_sp_is_faster_and_smaller():
    kw = dict(micro_batch=1, tp=8, pp=8)
    full = plan_training(gpt(12288, 96, 96), "dgx-a100-80gb", 64, 64, 2048, recompute="full", **kw)
    sel = plan_training(
        gpt(12288, 96, 96), "dgx-a100-80gb", 64, 64, 2048, recompute="selective", sequence_parallel=True, **kw
    )
    assert sel.step_latency_s < full.step_latency_s
    assert full.hfu > full.mfu  # full recompute does more hardware work per model FLOP
    assert full.mfu < sel.mfu


def test_activation_memory_korthikanti_formula():
    # no recompute, no TP: s b h (34 + 5 a s / h) with flash attention dropping the 5as/h
    # term: 34 s b h bytes per layer; pp=1 holds every layer of one microbatch
    s, b, h, layers = 2048, 1, 4096, 4
    p = plan_training(gpt(h, layers, 32, vocab=1024), "h100", 1, 1, s)
    expected = 34 * s * b * h * layers + 10 * s * b * 1024  # + fp32 log-probs, grad, 16-bit grad
    assert p.memory.activation_bytes == expected


def test_zero_divides_states():
    base = plan_training("llama-3-8b", "dgx-h100", 64, 64, 4096, micro_batch=1, tp=1, zero=0)
    z1 = plan_training("llama-3-8b", "dgx-h100", 64, 64, 4096, micro_batch=1, tp=1, zero=1)
    z3 = plan_training("llama-3-8b", "dgx-h100", 64, 64, 4096, micro_batch=1, tp=1, zero=3)
    assert z1.memory.optimizer_bytes * 64 == pytest.approx(base.memory.optimizer_bytes, rel=1e-9)
    assert z3.memory.weights_bytes * 64 == pytest.approx(base.memory.weights_bytes, rel=1e-9)
    # mixed-precision Adam: 2 + 4 + 12 bytes per parameter (ZeRO paper, sec. 3.1)
    total = base.memory.weights_bytes + base.memory.grads_bytes + base.memory.optimizer_bytes
    assert total == pytest.approx(18 * base.params, rel=1e-6)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(gpus=48, tp=3), "num_heads"),
        (dict(gpus=60, tp=8), "divisible"),
        (dict(gpus=48, tp=8, pp=3), "num_layers"),
        (dict(gpus=64, tp=8, dp=4), "!= --gpus"),
        (dict(gpus=8, interleave=2), "pipeline"),
        (dict(gpus=8, zero=5), "zero"),
    ],
)
def test_invalid_layouts(kw, match):
    g = kw.pop("gpus")
    with pytest.raises(PlanError, match=match):
        plan_training("llama-3-8b", "dgx-h100", g, 512, 2048, **kw)


def test_tokens_and_cost():
    p = plan_training("llama-3-8b", "dgx-h100", 64, 256, 4096, tp=2, tokens=10**11, price_per_hour=2.0)
    d = p.to_dict()["training"]
    assert d["steps"] == -(-(10**11) // (256 * 4096))
    assert d["cost_usd"] == pytest.approx(d["device_hours"] * 2.0)


def test_chinchilla_and_six_nd():
    # Hoffmann et al. 2022: Chinchilla 70B on 1.4T tokens; C = 6 N D = 5.88e23
    assert six_nd(70e9, 1.4e12) == pytest.approx(5.88e23)
    opt = chinchilla_optimal(5.88e23)
    assert opt["params"] == pytest.approx(70e9, rel=0.01) and opt["tokens"] == pytest.approx(1.4e12, rel=0.01)
