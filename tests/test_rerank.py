"""`costmodel rerank`: call counts per strategy, generated tokens counted, E2R-FLOPs'
closed form reproduced (Peng et al. 2025, arXiv 2507.06223; EER-FLOPs calculator.py),
encoder cross-encoders, QPP/RPP, latency and cost."""

from __future__ import annotations

import json

import pytest

from costmodel.errors import PlanError
from costmodel.frontends.builtin import get_spec
from costmodel.planners import rerank as R
from costmodel.planners.workload import request_flops
from costmodel_cli.main import main


def run_json(capsys, *argv):
    if "--query-len" not in argv:
        argv = (*argv, "--query-len", "32")
    rc = main(["rerank", *argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def setup(strategy: str, **kw) -> R.RerankSetup:
    base = dict(docs=100, doc_len=100, query_len=32)
    base.update(kw)
    return R.RerankSetup(strategy=R.Strategy(strategy), **base)


def test_call_counts():
    calls = {s: sum(g.count for g in R.plan_calls(setup(s))[0]) for s in ("pointwise", "pairwise", "listwise")}
    assert calls["pointwise"] == 100
    assert calls["pairwise"] == 100 * 99  # PRP all pairs, both orders
    # RankGPT sliding window: windows start at 80, 70, ..., 0 -> (100 - 20) / 10 + 1 = 9
    assert calls["listwise"] == 9
    assert sum(g.count for g in R.plan_calls(setup("listwise", window=20, step=5))[0]) == 17  # 80/5 + 1
    assert sum(g.count for g in R.plan_calls(setup("pairwise", pairwise="sliding", passes=10))[0]) == 10 * 99
    groups, _ = R.plan_calls(setup("listwise"))
    assert groups[0].prompt_tokens == 32 + 20 * 100 and groups[0].output_tokens == 4 * 20


def test_setwise_heapsort_counts_by_hand():
    """6 documents, 2 children per comparison, top 2, retrieved order already right.
    Build (nodes 6 // 2 = 3 down to 0): node 3 has no children; node 2 with child 5 (2
    documents), node 1 with 3, 4 (3), node 0 with 1, 2 (3): 3 calls. Extract: swap 0 and
    5, sift the root of 5 items: node 0 with 1, 2 (the worst document sinks), then node 1
    with 3, 4: 2 calls; the second swap ranks k = 2 and stops. 5 calls."""
    sizes = R._setwise_heapsort_calls(6, 2, 2, reverse=False)
    assert sizes[:3] == [2, 3, 3]  # node 2 with child 5; node 1 with 3, 4; node 0 with 1, 2
    assert len(sizes) == 5  # + the root's sift after the first extraction: two levels
    most = R._setwise_heapsort_calls(100, 3, 10, reverse=True)
    fewest = R._setwise_heapsort_calls(100, 3, 10, reverse=False)
    assert len(most) > len(fewest) and all(2 <= s <= 4 for s in most)


def test_e2r_closed_form_reproduced():
    """EER-FLOPs README example: Qwen2.5-7B, 200 input, 1 output: N = 2 x 3584 x 28 x
    ((1 + 1/7) 3584 + 18944) = 4,624,220,160; ctx = 2 N 200 + 4 x 28 x 200^2 / 7 x 3584;
    opt = 2 N + 2 x 28 / 7 x 3584 x (2 x 200)."""
    n = 2 * 3584 * 28 * (4096 + 18944)
    expected = 2 * n * 200 + 4 * 28 * 200**2 * 3584 // 7 + 2 * n + 8 * 3584 * 400
    assert expected == 1_861_241_733_120
    assert R.e2r_decoder_flops(200, 1, 28, 3584, 18944, 7) == expected
    assert R.e2r_call_flops(get_spec("qwen2.5-7b"), 200, 1) == expected
    # the gate matrix E2R leaves out: 2 x 3584 x 18944 x 28 per token, 201 token-forwards
    gated = R.e2r_call_flops(get_spec("qwen2.5-7b"), 200, 1, gate=True)
    assert gated - expected == 2 * 3584 * 18944 * 28 * 201
    # encoder-decoder (flops_encoder_decoder), t5-base 100 in, 2 out, by hand
    d, f, n_layers, i, o = 768, 3072, 12, 100, 2
    enc, dec = 2 * d * n_layers * (2 * d + f), 2 * d * n_layers * (3 * d + f)
    L = n_layers
    by_hand = 2 * enc * i + 4 * L * i * i * d + 4 * L * i * d * d + 2 * dec * o + 2 * L * d * (2 * o * i + o * (o - 1))
    assert R.e2r_call_flops(get_spec("t5-base"), 100, 2) == by_hand


def test_e2r_counting_mode_and_gap(capsys):
    d = run_json(capsys, "qwen2.5-7b", "--strategy", "pointwise", "--docs", "1", "--doc-len", "168")
    d2 = run_json(
        capsys, "qwen2.5-7b", "--strategy", "pointwise", "--docs", "1", "--doc-len", "168", "--counting", "e2r"
    )
    # query 32 + doc 168 = the README example's 200 input tokens, 1 output
    assert d2["flops_per_query"] == 1_861_241_733_120
    # anchors.md: E2R's estimate is about 1/1.40 of a profiler count on Qwen2.5-7B
    assert 1.3 < d["e2r"]["exact_over_e2r"] < 1.5
    assert d["flops_per_query"] > d2["flops_per_query"]


def test_generated_tokens_are_counted(capsys):
    one = run_json(capsys, "llama-3.2-1b", "--strategy", "pointwise", "--docs", "10", "--doc-len", "100")
    many = run_json(
        capsys, "llama-3.2-1b", "--strategy", "pointwise", "--docs", "10", "--doc-len", "100", "--output-len", "9"
    )
    assert many["output_tokens_per_query"] == 90 and one["output_tokens_per_query"] == 10
    # 8 more decode steps per call, each at least 2 x (params - embedding table) FLOPs
    s = get_spec("llama-3.2-1b")
    from costmodel.planners.workload import param_count

    body = param_count(s) - s.vocab_size * s.hidden_size
    assert many["flops_per_query"] - one["flops_per_query"] >= 10 * 8 * 2 * body


def test_decode_steps_sum_exactly():
    """call_flops sums the decode steps from two of them; check against every step."""
    from costmodel.frontends.lower import Logits, Phase, Workload
    from costmodel.planners.workload import run_workload

    s = get_spec("gpt-2")
    total = int(run_workload(s, Workload(Phase.PREFILL, 1, 50, 0, Logits.LAST)).cost.flops)
    for j in range(4):
        total += int(run_workload(s, Workload(Phase.DECODE, 1, 1, 50 + j, Logits.LAST)).cost.flops)
    assert request_flops(s, 50, 5)[0] == total


def test_encoder_cross_encoders(capsys):
    d = run_json(
        capsys, "bert-base", "--strategy", "pointwise", "--docs", "100", "--doc-len", "96", "--query-len", "32"
    )
    assert d["calls_per_query"] == 100 and d["output_tokens_per_query"] == 0
    # BERT-base at 128 tokens: 11,173,625,856 MACs of matmuls (anchors.md) per pair, plus
    # the pooler's 768 x 768
    assert d["macs_per_query"] >= 100 * (11_173_625_856 + 768 * 768)
    assert "e2r" not in d
    t5 = run_json(capsys, "t5-base", "--strategy", "pointwise", "--docs", "4", "--doc-len", "96", "--query-len", "32")
    assert t5["calls_per_query"] == 4 and "e2r" in t5
    assert (
        main(["rerank", "bert-base", "--strategy", "listwise", "--docs", "10", "--doc-len", "10", "--query-len", "5"])
        == 2
    )


def test_qpp_rpp_latency_cost(capsys):
    d = run_json(
        capsys,
        "llama-3.2-1b",
        "--strategy",
        "setwise",
        "--docs",
        "100",
        "--doc-len",
        "100",
        "--metric",
        "0.7",
        "--hardware",
        "h100",
        "--price-per-hour",
        "3.6",
    )
    assert d["qpp"] * d["flops_per_query"] == pytest.approx(1e15)
    assert d["rpp"] == pytest.approx(0.7 * 1e15 / d["flops_per_query"])
    assert d["calls_fewest"] <= d["calls_per_query"] == d["calls_most"]
    assert d["latency_s"] > 0 and d["cost_usd"] == pytest.approx(d["latency_s"] * 3.6 / 3600)


def test_past_context_is_refused():
    with pytest.raises(PlanError, match="512"):
        R.rerank(get_spec("bert-base"), setup("pointwise", doc_len=600))
