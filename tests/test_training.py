"""Training planner: layouts, memory formulas, and published Megatron-LM iteration times
(level 4)."""

from __future__ import annotations

import pytest

from costmodel.errors import PlanError
from costmodel.planners.scaling import chinchilla_optimal, six_nd
from costmodel.planners.training import plan_training


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
        # the paper's runs: fp16 mixed precision, gradients all-reduced after the pipeline
        # flush (Megatron-LM 2021 did not overlap them), attention unfused (before
        # FlashAttention)
        p = plan_training(
            gpt(h, l_, a),
            "dgx-a100-80gb",
            g,
            b,
            s,
            micro_batch=1,
            tp=tp,
            pp=pp,
            recompute="full",
            precision="fp16-mixed",
            overlap="none",
            attention="unfused",
        )
        errs.append(abs(p.step_latency_s / meas - 1))
    assert sum(errs) / len(errs) <= 0.055  # docs/training.md: 5.4%


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
                precision="bf16-mixed",
                overlap="none",
                attention="unfused",
            )
            errs.append(abs(p.step_latency_s / meas - 1))
    assert sum(errs) / len(errs) <= 0.035  # docs/training.md: 3.3%


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
    p = plan_training(gpt(h, layers, 32, vocab=1024), "h100", 1, 1, s, precision="bf16-mixed")
    expected = 34 * s * b * h * layers + 10 * s * b * 1024  # + fp32 log-probs, grad, 16-bit grad
    assert p.memory.activation_bytes == expected


def test_unfused_attention_keeps_the_scores():
    # Korthikanti et al. 2022, eq. 1: s b h (34 + 5 a s / h) bytes per layer with the
    # scores in memory; selective recompute drops the 5 a s / h term again
    s, b, h, a, layers = 2048, 1, 4096, 32, 4
    kw = dict(precision="bf16-mixed", attention="unfused")
    p = plan_training(gpt(h, layers, a, vocab=1024), "h100", 1, 1, s, **kw)
    assert p.memory.activation_bytes == (34 * s * b * h + 5 * a * s * s * b) * layers + 10 * s * b * 1024
    sel = plan_training(gpt(h, layers, a, vocab=1024), "h100", 1, 1, s, recompute="selective", **kw)
    assert sel.memory.activation_bytes == 34 * s * b * h * layers + 10 * s * b * 1024
    # the recomputed core is Q K^T, the softmax and P V: more than FlashAttention's kernel
    fused = plan_training(gpt(h, layers, a, vocab=1024), "h100", 1, 1, s, recompute="selective")
    assert sel.breakdown.recompute_s > fused.breakdown.recompute_s > 0


def test_sequence_parallelism_splits_norms_and_adds_only():
    """Under SP the layer norms and residual adds run on 1 / tp of the sequence; the
    attention's softmax is split by heads with or without it."""
    from costmodel.frontends import load_model_spec
    from costmodel.hardware import get_profile
    from costmodel.planners.layout import make_layout, make_recipe
    from costmodel.planners.training_cost import model_work

    spec = load_model_spec(gpt(4096, 2, 32))
    rec = make_recipe(8, 2048, attention="unfused")
    hw = get_profile("a100-sxm4-80gb")
    works = [
        model_work(spec, make_layout(spec, 8, 8, 2048, tp=8, sequence_parallel=sp), rec, hw, False).layers[0]
        for sp in (False, True)
    ]
    assert works[0].attn_s == works[1].attn_s > 0
    assert works[1].fwd_s < works[0].fwd_s


def test_pipeline_sends_scatter_gather():
    # Narayanan et al. 2021 sec. 4.1: each TP rank sends 1 / tp of the activation, with or
    # without sequence parallelism: 2 (forward + backward) x micro-batches x s b h x 2 B / tp
    kw = dict(micro_batch=1, tp=8, pp=8, recompute="full")
    m, s, h = 64, 2048, 12288
    for sp in (False, True):
        p = plan_training(gpt(h, 96, 96), "dgx-a100-80gb", 64, 64, s, sequence_parallel=sp, **kw)
        assert p.breakdown.comm["pp"].bytes == 2 * m * s * h * 2 / 8


def test_zero_divides_states():
    kw = dict(micro_batch=1, tp=1, precision="bf16-mixed")
    base = plan_training("llama-3-8b", "dgx-h100", 64, 64, 4096, zero=0, **kw)
    z1 = plan_training("llama-3-8b", "dgx-h100", 64, 64, 4096, zero=1, **kw)
    z2 = plan_training("llama-3-8b", "dgx-h100", 64, 64, 4096, zero=2, **kw)
    z3 = plan_training("llama-3-8b", "dgx-h100", 64, 64, 4096, zero=3, **kw)
    assert z1.memory.optimizer_bytes * 64 == pytest.approx(base.memory.optimizer_bytes, rel=1e-9)
    assert z2.memory.grads_bytes * 64 == pytest.approx(base.memory.grads_bytes, rel=1e-9)
    # ZeRO-3 shards the weights 64 ways and holds two layers gathered (the one in use and
    # the prefetched next): Llama-3-8B's layer is 4096 x (4096 + 2 x 1024 + 4096 + 3 x
    # 14336) + 2 x 4096 = 218,112,000 parameters, at 2 bytes
    layer = 4096 * (4096 + 2 * 1024 + 4096 + 3 * 14336) + 2 * 4096
    sharded = base.memory.weights_bytes / 64
    assert z3.memory.weights_bytes > sharded + 2 * 2 * layer * 0.9
    assert z3.memory.weights_bytes < sharded + 2 * 2 * layer * 1.2
    # mixed-precision Adam: 2 + 4 + 12 bytes per parameter (ZeRO paper, sec. 3.1, with
    # Megatron's fp32 gradient buffers)
    total = base.memory.weights_bytes + base.memory.grads_bytes + base.memory.optimizer_bytes
    assert total == pytest.approx(18 * base.params, rel=1e-6)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(gpus=48, tp=3), "num_heads"),
        (dict(gpus=60, tp=8), "divisible"),
        (dict(gpus=64, tp=1, pp=64), "empty"),
        (dict(gpus=64, tp=8, dp=4), "!= --gpus"),
        (dict(gpus=8, interleave=2), "pipeline"),
        (dict(gpus=8, zero=5), "zero"),
    ],
)
def test_invalid_layouts(kw, match):
    g = kw.pop("gpus")
    with pytest.raises(PlanError, match=match):
        plan_training("llama-3-8b", "dgx-h100", g, 512, 2048, **kw)


def test_llama3_8b_gpu_hours_against_the_model_card():
    """Meta's Llama 3 model card (github.com/meta-llama/llama3, MODEL_CARD.md): Llama 3 8B
    took 1.3M H100-80GB GPU-hours for 15T+ tokens, failures, restarts and evaluation
    included. An ideal run (1,024 GPUs, TP 2 with SP, 8k context, 8M-token batches) must
    come in under that and not below 30% of it; cost = device-hours x price."""
    p = plan_training(
        "llama-3-8b",
        "dgx-h100",
        1024,
        1024,
        8192,
        micro_batch=1,
        tp=2,
        sequence_parallel=True,
        zero=1,
        tokens=15 * 10**12,
        price_per_hour=2.0,
    )
    run = p.training
    assert p.fits
    assert 0.3 * 1.3e6 <= run.device_hours <= 1.3e6
    assert run.steps == -(-(15 * 10**12) // (1024 * 8192))  # 1,788,140 steps of 8,388,608 tokens
    assert run.cost_usd == pytest.approx(run.device_hours * 2.0)
    d = p.to_dict()["training"]
    assert (d["steps"], d["device_hours"], d["cost_usd"]) == (run.steps, run.device_hours, run.cost_usd)


def test_megatron_stage_assignment():
    from costmodel.planners.pipeline import stage_layers

    # 8 layers, 2 stages, 2 virtual chunks: chunk c of stage p starts at 4c + 2p
    assert stage_layers(8, 2, 2) == ((0, 1, 4, 5), (2, 3, 6, 7))
    assert stage_layers(6, 3) == ((0, 1), (2, 3), (4, 5))
    # 6 layers in 4 virtual stages: ceil(6/4) = 2 each is 2 too many, taken from the last
    # virtual stage and then the first: 1, 2, 2, 1
    assert stage_layers(6, 2, 2) == ((0, 3, 4), (1, 2, 5))
    with pytest.raises(PlanError, match="adds up to 5"):
        stage_layers(6, 2, 1, split=(2, 3))


def test_busiest_stage_uses_real_layer_indices():
    """DeepSeek-style: 2 dense layers first, then MoE layers. With pp 2 on 4 layers the
    first stage holds the dense ones, the second the MoE ones: the step is paced by the
    stage with the routed experts, whichever it is."""
    spec = dict(
        name="moe4",
        architecture="decoder",
        vocab_size=1024,
        hidden_size=1024,
        num_layers=4,
        num_heads=8,
        intermediate_size=256,
        moe=dict(num_experts=8, top_k=2, expert_intermediate_size=4096, first_dense_layers=2),
    )
    two = plan_training(spec, "h100", 2, 8, 1024, pp=2, micro_batch=1)
    flipped = dict(spec, moe=dict(spec["moe"], first_dense_layers=0, layer_freq=2))  # MoE on layers 0 and 2
    mixed = plan_training(flipped, "h100", 2, 8, 1024, pp=2, micro_batch=1)
    # stage 0 now holds one MoE layer and one dense: less work on the busiest device
    assert mixed.breakdown.compute_s < two.breakdown.compute_s


def test_expert_parallel_of_the_spec_is_the_default():
    from costmodel.frontends.builtin import get_spec
    from dataclasses import replace

    base = get_spec("mixtral-8x7b")
    spec = replace(base, moe=replace(base.moe, expert_parallel=4))
    p = plan_training(spec, "dgx-h100", 64, 64, 4096, tp=2, micro_batch=1)
    assert p.layout.ep == 4 and p.to_dict()["execution"]["ep"] == 4
    assert plan_training(spec, "dgx-h100", 64, 64, 4096, tp=2, ep=1, micro_batch=1).layout.ep == 1


def test_devices_without_links_use_the_stated_assumptions():
    from costmodel.hardware import get_profile
    from costmodel.hardware.network import ASSUMED_NIC_BANDWIDTH, ASSUMED_PCIE_BANDWIDTH
    from costmodel.hardware.systems import get_system

    s = get_system("m4-max")  # a laptop part: no NVLink, PCIe or NIC in its profile
    assert get_profile("m4-max").pcie is None and get_profile("m4-max").interconnect is None
    assert s.intra.bandwidth == ASSUMED_PCIE_BANDWIDTH == 16e9 * 16 * 128 / 130 / 8
    assert s.inter.bandwidth == ASSUMED_NIC_BANDWIDTH == 50e9
    assert get_system("dgx-a100-80gb").intra.efficiency == 0.8


def test_chinchilla_and_six_nd():
    # Hoffmann et al. 2022: Chinchilla 70B on 1.4T tokens; C = 6 N D = 5.88e23
    assert six_nd(70e9, 1.4e12) == pytest.approx(5.88e23)
    opt = chinchilla_optimal(5.88e23)
    assert opt["params"] == pytest.approx(70e9, rel=0.01) and opt["tokens"] == pytest.approx(1.4e12, rel=0.01)
