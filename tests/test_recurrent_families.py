"""Griffin / Hawk / RecurrentGemma (RG-LRU + local attention), Jamba-v0.1, RetNet and
chunked linear attention; state bytes against KV bytes as the context grows."""

from __future__ import annotations

import json

import pytest

from costmodel.analysis import analyze_graph
from costmodel.frontends.builtin import get_spec
from costmodel.frontends.lower import Logits, Phase, Workload, lower
from costmodel.frontends.spec import spec_from_dict
from costmodel.ir.dtypes import dtype
from costmodel.planners.serving_memory import active_params, kv_cache_bytes, state_bytes
from costmodel.planners.workload import param_count, run_workload
from costmodel_cli.main import main

BF16 = dtype("bf16")


def test_recurrentgemma_2b_params_from_its_config():
    """google/recurrentgemma-2b config.json, counted as modeling_recurrent_gemma.py
    builds it: embedding 256000 x 2560 (tied); per layer two RMSNorms (2 x 2560) and a
    gated MLP with biases (2 x (2560 x 7680 + 7680) + 7680 x 2560 + 2560); a recurrent
    layer adds linear_y / linear_x / linear_out with biases (3 x (2560^2 + 2560)), a
    depthwise conv1d of width 4 with bias (2560 x 5) and the RG-LRU (Lambda 2560, two
    gates of 10 x 256 x 256 weights and 10 x 256 biases); an attention layer q and o
    2560 x 2560 (o biased), k and v 2560 x 256. 18 recurrent and 8 attention layers."""
    mlp = 2 * (2560 * 7680 + 7680) + 7680 * 2560 + 2560
    norms = 2 * 2560
    recurrent = 3 * (2560**2 + 2560) + 2560 * 5 + 2560 + 2 * (10 * 256 * 256 + 10 * 256)
    attention = 2560 * 2560 + (2560 * 2560 + 2560) + 2 * 2560 * 256
    total = 256000 * 2560 + 18 * (recurrent + mlp + norms) + 8 * (attention + mlp + norms) + 2560
    assert total == 2_682_862_080
    assert param_count(get_spec("recurrentgemma-2b")) == total


def test_griffin_keeps_a_window_and_a_fixed_state():
    s = get_spec("recurrentgemma-2b")
    # 18 RG-LRU layers: fp32 state 4 x 2560 + bf16 conv window 2 x 2560 x 3
    assert state_bytes(s, BF16) == 18 * (4 * 2560 + 2 * 2560 * 3)
    # 8 local-attention layers of one KV head of 256: 2 x 256 x 2 B per position, at most 2048
    at_window = kv_cache_bytes(s, 1, 2048, BF16, BF16)
    assert at_window == 8 * 2 * 256 * 2 * 2048 + state_bytes(s, BF16)
    assert kv_cache_bytes(s, 1, 100_000, BF16, BF16) == at_window


def test_rglru_op_costs():
    """One recurrent layer at seq 8: the two block-diagonal gates are 10 x 256 x 256 MACs
    per token; the RG-LRU itself 12 FLOPs and 4 transcendentals per element."""
    s = get_spec("recurrentgemma-2b")
    seg = lower(s, Workload(Phase.PREFILL, 1, 8, 0, Logits.LAST), layers=[0], embed=False, head=False)[0]
    gc = analyze_graph(seg.graph)
    assert not gc.unsupported
    gates = [n for n in gc.nodes if n.op_type == "MatMul"]
    assert len(gates) == 2 and all(int(n.cost.macs) == 8 * 10 * 256 * 256 for n in gates)
    lru = next(n for n in gc.nodes if n.op_type == "RGLRU")
    assert int(lru.cost.flops) == 12 * 8 * 2560 and int(lru.cost.transcendentals) == 4 * 8 * 2560


def test_hawk_is_griffin_without_attention():
    hawk = spec_from_dict(
        {
            "name": "hawk-tiny",
            "architecture": "griffin",
            "vocab_size": 100,
            "hidden_size": 64,
            "num_layers": 2,
            "num_heads": 4,
            "intermediate_size": 128,
        }
    )
    assert kv_cache_bytes(hawk, 1, 10_000, BF16, BF16) == state_bytes(hawk, BF16) == 2 * (4 * 64 + 2 * 64 * 3)
    r = run_workload(hawk, Workload(Phase.DECODE, 1, 1, 500, Logits.LAST))
    assert r.unsupported == ()


def test_jamba_v01_published_counts():
    s = get_spec("jamba-v0.1")
    # Lieber et al. 2024: 52B total, 12B active
    assert param_count(s) == pytest.approx(52e9, rel=0.01)
    assert active_params(s) == pytest.approx(12e9, rel=0.02)
    assert [i for i in range(32) if s.layer_kind(i).value == "attention"] == [4, 12, 20, 28]
    assert s.moe_layers() == 16


RETNET = {
    "name": "retnet-tiny",
    "architecture": "retnet",
    "vocab_size": 1000,
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_size": 128,
    "mlp": "plain",
    "activation": "gelu",
    "norm": "layernorm",
    "position": "none",
    "linear": {"decay": True, "value_factor": 2, "output_gate": True, "head_norm": True, "chunk_size": 16},
}


def test_retnet_params_and_chunkwise_cost():
    """Retention per layer (Sun et al. 2023): q, k d x d; v, g d x 2d; o 2d x d = 8 d^2;
    MLP 2 x d x 128; two LayerNorms (weight + bias). Chunkwise over 64 tokens in chunks
    of 16, per token and head (K 16, V 32): (16 + 1) / 2 x (16 + 32) intra-chunk MACs plus
    2 x 16 x 32 for the state."""
    s = spec_from_dict(RETNET)
    d = 64
    layer = 8 * d * d + 2 * d * 128 + 4 * d
    assert param_count(s) == 2 * layer + 2 * 1000 * d + 2 * d
    seg = lower(s, Workload(Phase.PREFILL, 1, 64, 0, Logits.LAST), layers=[0], embed=False, head=False)[0]
    core = next(n for n in analyze_graph(seg.graph).nodes if n.op_type == "LinearAttention")
    per_token_head = 17 * 48 / 2 + 2 * 16 * 32
    assert int(core.cost.macs) == 64 * 4 * per_token_head
    rec = dict(RETNET, linear=dict(RETNET["linear"], chunk_size=0))
    seg = lower(
        spec_from_dict(rec), Workload(Phase.PREFILL, 1, 64, 0, Logits.LAST), layers=[0], embed=False, head=False
    )[0]
    core = next(n for n in analyze_graph(seg.graph).nodes if n.op_type == "LinearAttention")
    assert int(core.cost.macs) == 64 * 4 * 2 * 16 * 32  # the recurrence: 2 K V per token and head
    # the decode state: K x 2K per head in fp32, per layer
    assert state_bytes(s, BF16) == 2 * 4 * 4 * 16 * 32


def test_state_vs_context_command(capsys):
    rc = main(["memory", "llama-3-8b", "mamba-2.8b", "--contexts", "1024,8192", "--format", "json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0
    rows = {(r["model"], r["context"]): r for r in d["rows"]}
    assert rows[("llama-3-8b", 8192)]["kv_bytes"] == 131_072 * 8192  # anchors.md: 131,072 B per token
    mamba = get_spec("mamba-2.8b")
    # Mamba-2.8B: 64 layers of fp32 state 5120 x 16 and a bf16 conv window 5120 x 3
    assert rows[("mamba-2.8b", 1024)]["state_bytes"] == 64 * (4 * 5120 * 16 + 2 * 5120 * 3) == state_bytes(mamba, BF16)
    assert rows[("mamba-2.8b", 8192)]["total_bytes"] == rows[("mamba-2.8b", 1024)]["total_bytes"]
    assert main(["memory", "bert-base"]) == 2
    capsys.readouterr()
    assert main(["memory", "jamba-v0.1", "--format", "html"]) == 0
    assert "bytes per sequence vs context" in capsys.readouterr().out
