"""planners/breakdown.py: prefill and decode split by component add up to the plan's
phase latency, under tensor and pipeline parallelism too, with the right categories."""

from __future__ import annotations

import pytest

from costmodel.planners.breakdown import classify, llm_breakdown
from costmodel.planners.llm import plan_llm


@pytest.mark.parametrize(
    "segment,node,op,cat",
    [
        ("embed", "embed_tokens", "Gather", "embedding"),
        ("layers[0..15]x16", "attn.qkv", "Linear", "attention"),
        ("layers[0..15]x16", "attn.attn", "GroupQueryAttention", "attention"),
        ("layers[0..15]x16", "attn.q_norm", "RMSNormalization", "norm"),  # qk-norm is a norm
        ("layers[0..15]x16", "mlp.gate_up", "Linear", "mlp"),
        ("layers[0..15]x16", "ln_1", "RMSNormalization", "norm"),
        ("layers[0..15]x16", "residual_2", "Add", "residual"),
        ("layers[0..63]x64", "mixer.scan", "SelectiveScan", "attention"),  # Mamba: token mixing
        ("decoder.layers[0..11]x12", "ff.wi", "Linear", "mlp"),
        ("head", "final_norm", "RMSNormalization", "norm"),
        ("head", "lm_head", "Linear", "head"),
    ],
)
def test_classify(segment, node, op, cat):
    assert classify(segment, node, op) == cat


@pytest.mark.parametrize("tp,pp", [(1, 1), (2, 1), (1, 2)])
def test_parts_add_up_to_the_plan(tp, pp):
    plan = plan_llm("llama-3.2-1b", "h100", batch=2, prompt_len=64, output_len=9, tp=tp, pp=pp)
    bd = llm_breakdown("llama-3.2-1b", "h100", plan)
    for ph, phase in ((bd.prefill, plan.prefill), (bd.decode, plan.decode)):
        cats = {p.category: p for p in ph.parts}
        assert "unattributed" not in cats
        assert sum(p.time_s for p in ph.parts) == pytest.approx(phase.latency_s, rel=1e-9)
        # FLOPs of every stage the batch passes (one device's share under TP); the plan's
        # phase FLOPs are the busiest stage's: equal without pipelining, about pp x with it
        flops = sum(p.flops for p in ph.parts)
        if pp == 1:
            assert flops == pytest.approx(phase.flops, rel=1e-9)
        else:
            assert phase.flops < flops <= pp * phase.flops
        if tp > 1 or pp > 1:
            assert cats["communication"].time_s == pytest.approx(phase.comm_s) and phase.comm_s > 0
        else:
            assert "communication" not in cats
        # 16 layers of one attention block and one MLP each (llama-3.2-1b); under pipelining
        # the batch passes all 16, one stage after another
        assert cats["mlp"].ops == 16 * 5  # gate_up, split, act, mul, down
    # the decode step reads the weights: its MLP is memory-bound at batch 2
    assert {p.category: p for p in bd.decode.parts}["mlp"].bound == "memory"
