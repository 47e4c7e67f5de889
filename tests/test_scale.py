"""`costmodel scale`: compute-optimal N and D (Hoffmann et al. 2022), 6ND and exact
training FLOPs (Kaplan et al. 2020), days on a cluster through the training planner."""

from __future__ import annotations

import json

import pytest

from costmodel.frontends.builtin import get_spec
from costmodel.planners import scaling as S
from costmodel_cli.main import main


def run_json(capsys, *argv):
    rc = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def test_chinchilla_at_gophers_budget(capsys):
    """Hoffmann et al. 2022: at Gopher's 5.76e23 FLOPs the compute-optimal model is
    Chinchilla, 70B parameters on 1.4T tokens."""
    d = run_json(capsys, "scale", "--flops", "5.76e23")
    assert d["params"] == pytest.approx(70e9, rel=0.10)
    assert d["tokens"] == pytest.approx(1.4e12, rel=0.10)
    assert d["flops"] == 576 * 10**21 and isinstance(d["flops"], int)
    assert "days" not in d


def test_six_nd_and_optimum_arithmetic():
    assert S.six_nd(70e9, 1.4e12) == pytest.approx(5.88e23)  # 6 * 70e9 * 1.4e12
    n, d = S.compute_optimal(1.2e21)  # N = sqrt(1.2e21 / 120) = 3.1623e9
    assert n == pytest.approx(3.16227766e9) and d == pytest.approx(20 * 3.16227766e9)
    n, d = S.compute_optimal(1.2e21, tokens_per_param=10)  # sqrt(1.2e21 / 60) = 4.4721e9
    assert n == pytest.approx(4.47213595e9) and d == pytest.approx(4.47213595e10)
    # Approach-3 loss at Chinchilla: 1.69 + 406.4 / 70e9^0.34 + 410.7 / 1.4e12^0.28
    assert S.parametric_loss(70e9, 1.4e12) == pytest.approx(1.69 + 406.4 / 70e9**0.34 + 410.7 / 1.4e12**0.28)


def test_exact_flops_bounded_by_kaplan():
    """Kaplan et al. 2020 (sec. 2.1): forward FLOPs per token ~ 2 N + 2 L n_ctx d_attn
    (full attention); training 3x forward. The graph's count (causal attention, no FLOPs
    for the embedding lookup) lies between 6 x non-embedding params and that bound."""
    s = get_spec("llama-3-8b")
    from costmodel.planners.workload import param_count

    n, ctx, tokens = param_count(s), 2048, 1e9
    exact = S.exact_training_flops(s, tokens, ctx)
    non_embed = n - 128_256 * 4096
    assert 6 * non_embed * tokens < exact < 3 * (2 * n + 2 * 32 * ctx * 4096) * tokens


def test_synthesized_shape_is_chinchillas():
    s = S.synthesize_spec(70e9)
    assert s.hidden_size % 1024 == 0 and s.num_layers % 4 == 0
    assert 12 * s.num_layers * s.hidden_size**2 == pytest.approx(70e9, rel=0.05)


def test_days_on_a_cluster(capsys):
    d = run_json(capsys, "scale", "--flops", "1e21", "--hardware", "dgx-h100", "--gpus", "64")
    cl = d["cluster"]
    assert d["days"] > 0 and cl["gpus"] == 64 and cl["tp"] * cl["pp"] * cl["dp"] == 64
    # days and device-hours of the same run
    assert cl["gpu_hours"] == pytest.approx(d["days"] * 24 * 64)
    # the run can be no faster than its exact FLOPs at the H100's dense bf16 peak (989 TFLOP/s)
    assert d["days"] * 86400 * 64 * 989.4e12 > d["flops_exact"]


def test_budget_in_dollars_is_hours_at_the_price(capsys):
    d = run_json(
        capsys, "scale", "--budget-usd", "1e5", "--hardware", "dgx-h100", "--gpus", "8", "--price-per-hour", "2.5"
    )
    assert d["budget"]["gpu_hours"] == pytest.approx(4e4)  # 1e5 / 2.5
    assert 0 < d["budget"]["mfu"] <= 1
    # the budget spends its hours: the planned run takes about them (exact FLOPs exceed 6ND a little)
    assert d["cluster"]["gpu_hours"] == pytest.approx(4e4, rel=0.1)


def test_given_model_run(capsys):
    d = run_json(capsys, "scale", "--model", "llama-3-8b", "--tokens", "15e12")
    assert d["params"] == 8_030_261_248 and d["tokens"] == 15 * 10**12
    assert d["flops"] == pytest.approx(6 * 8_030_261_248 * 15e12)
    assert d["optimal_tokens"] == 20 * 8_030_261_248


@pytest.mark.parametrize(
    "argv",
    [
        ("--flops", "1e21", "--model", "gpt-2"),
        ("--gpu-hours", "100"),
        ("--flops", "1e21", "--hardware", "dgx-h100"),
        ("--flops", "1e21", "--gpu-hours", "5"),
        (),
    ],
)
def test_bad_combinations_exit_2(capsys, argv):
    assert main(["scale", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costmodel: error:") and err.count("\n") == 1
