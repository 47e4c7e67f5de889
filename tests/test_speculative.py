"""Speculative decoding with draft heads (Medusa, Cai et al. 2024; EAGLE, Li et al.
2024) and tree verification; the tokenizer check for draft models."""

from __future__ import annotations

import json

import pytest

from costmodel.analysis import analyze_graph
from costmodel.errors import PlanError
from costmodel.frontends.builtin import get_spec
from costmodel.frontends.lower import Logits, Phase, Workload
from costmodel.frontends.lower.speculative import eagle_draft, medusa_heads
from costmodel.planners import speculative as SP
from costmodel.planners.llm import ServingCase
from costmodel.planners.workload import param_count
from costmodel_cli.main import main


def test_expected_tokens_tree_and_chain():
    # a chain with equal acceptance is Leviathan et al.'s (1 - a^(k+1)) / (1 - a)
    assert SP.expected_tokens([0.8] * 4) == pytest.approx((1 - 0.8**5) / 0.2)  # 3.3616
    # a tree: 1 + 0.8 + 0.8 x 0.6 + 0.8 x 0.6 x 0.5 = 2.52
    assert SP.expected_tokens([0.8, 0.6, 0.5]) == pytest.approx(2.52)
    assert SP.nodes_per_depth([4, 2, 2]) == [4, 8, 16]  # 28 nodes verified
    with pytest.raises(PlanError):
        SP.expected_tokens([1.2])
    with pytest.raises(PlanError):
        SP.nodes_per_depth([4, 0])


def test_medusa_heads_macs():
    """Each head: W1 d x d (plus bias) and its own d x V output layer, on one position."""
    s = get_spec("llama-3-8b")
    (seg,) = medusa_heads(s, Workload(Phase.DECODE, 2, 1, 100, Logits.ALL), 3)
    gc = analyze_graph(seg.graph)
    assert gc.total.macs == 2 * 3 * (4096 * 4096 + 4096 * 128_256)
    assert gc.params == 3 * (4096 * 4096 + 4096 + 4096 * 128_256)


def test_eagle_draft_runs_one_layer_over_the_depths_nodes():
    s = get_spec("llama-3-8b")
    segs = eagle_draft(s, 1, 8, 500, Workload())
    fc = analyze_graph(segs[0].graph)
    assert fc.total.macs == 8 * 2 * 4096 * 4096  # fc 2d -> d over 8 nodes
    head = analyze_graph(segs[2].graph)
    assert head.total.macs == 8 * 4096 * 128_256  # logits for every node
    layer = analyze_graph(segs[1].graph)
    # q, k, v, o and the gated MLP of one Llama-3-8B layer per node, at least
    assert layer.total.macs >= 8 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336)


def test_tree_verification_and_speedup():
    case = ServingCase.of("llama-3-8b", "h100")
    r = SP.speculative_tree(case, "medusa", [4, 2, 2], [0.8, 0.6, 0.5], 512, 128)
    assert r["tree_nodes"] == 28 and r["expected_tokens_per_step"] == pytest.approx(2.52)
    assert r["step_s"] == pytest.approx(r["draft_s"] + r["verify_s"])
    assert r["per_token_s"] == pytest.approx(r["step_s"] / 2.52)
    # verification runs 1 + 28 positions: at least 2 x non-embedding params FLOPs each
    s = get_spec("llama-3-8b")
    body = param_count(s) - 2 * 128_256 * 4096
    assert r["flops_per_token"] * 2.52 >= 29 * 2 * body
    eagle = SP.speculative_tree(case, "eagle", [1, 1, 1, 1], [0.8], 512, 128)
    assert eagle["expected_tokens_per_step"] == pytest.approx((1 - 0.8**5) / 0.2)


def test_tokenizer_mismatch_warns(capsys):
    assert SP.tokenizer_warning(get_spec("llama-3-8b"), get_spec("llama-3.2-1b")) is None  # both 128,256
    w = SP.tokenizer_warning(get_spec("llama-3-8b"), get_spec("gpt-2"))
    assert w and "50257" in w and "128256" in w
    rc = main(["llm", "llama-3-8b", "-H", "h100", "--draft", "gpt-2", "--no-breakdown", "--format", "json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and "50257" in d["extras"]["speculative"]["warning"]


def test_cli_heads(capsys):
    argv = ["llm", "llama-3.2-1b", "-H", "h100", "--no-breakdown", "--format", "json"]
    rc = main([*argv, "--spec-heads", "eagle", "--tree", "3,2", "--acceptance", "0.7,0.5"])
    d = json.loads(capsys.readouterr().out)["extras"]["speculative"]
    assert rc == 0 and d["tree_nodes"] == 9 and d["expected_tokens_per_step"] == pytest.approx(1 + 0.7 + 0.35)
    assert main([*argv, "--spec-heads", "medusa", "--draft", "llama-3.2-1b"]) == 2
    assert main([*argv, "--spec-heads", "medusa", "--tree", "3,2", "--acceptance", "0.7,0.5,0.4"]) == 2
    assert main([*argv, "--spec-heads", "medusa", "--tree", "3,x"]) == 2
