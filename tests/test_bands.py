"""80% prediction bands: per kernel from the family's residual quantiles, per graph as
correlated errors (never shrunk by sqrt(n) blindly), exposed as latency_band_s."""

from __future__ import annotations

import math

import pytest

import costmodel
from costmodel.engine import uncertainty as U
from costmodel.engine.calibration import Calibration

RES = {
    "measured": {"gemm": {"q10": -0.1, "q50": 0.0, "q90": 0.1}, "norm": {"q10": -0.3, "q50": 0.05, "q90": 0.4}},
    "unmeasured": {"gemm": {"q10": -0.3, "q50": 0.0, "q90": 0.3}},
    "graph_correlation": 0.5,
    "incomplete_widen": 2.0,
    "unknown_widen": 1.5,
}
MEASURED = Calibration(measured=True)
UNMEASURED = Calibration()


def test_node_band_is_the_family_quantiles():
    lo, hi = U.node_band(1.0, "gemm", MEASURED, RES)
    # symmetric quantiles -0.1/+0.1 in log space: sigma = 0.2 / (2 x 1.2816), band = exp(+-0.1)
    assert lo == pytest.approx(math.exp(-0.1)) and hi == pytest.approx(math.exp(0.1))
    lo2, hi2 = U.node_band(1.0, "gemm", UNMEASURED, RES)  # a device nobody measured: wider
    assert lo2 == pytest.approx(math.exp(-0.3)) and hi2 == pytest.approx(math.exp(0.3))
    # a profile missing datasheet features: widened by incomplete_widen
    lo3, hi3 = U.node_band(1.0, "gemm", Calibration(features_missing=("clock",)), RES)
    assert lo3 == pytest.approx(math.exp(-0.6)) and hi3 == pytest.approx(math.exp(0.6))
    # unknown family: the widest known family (norm: -0.3..0.4, centre 0.05) x 1.5
    lo4, hi4 = U.node_band(1.0, "gather", MEASURED, RES)
    assert math.log(hi4) - math.log(lo4) == pytest.approx(0.7 * 1.5)


def test_skewed_quantiles_give_exactly_q10_q90():
    """A node's band is its family's 10th..90th percentile, not a symmetric band of the
    same width around the median (which holds more or less than 80% when errors are skewed)."""
    res = {"measured": {"gemm": {"q10": -0.1, "q50": 0.0, "q90": 0.5}}}
    lo, hi = U.node_band(2.0, "gemm", MEASURED, res)
    assert lo == pytest.approx(2.0 * math.exp(-0.1)) and hi == pytest.approx(2.0 * math.exp(0.5))
    # a graph of such kernels keeps the skew: each side from its own spread
    glo, ghi = U.graph_band([1.0, 1.0], ["gemm", "gemm"], MEASURED, {**res, "graph_correlation": 1.0})
    assert glo == pytest.approx(2.0 * math.exp(-0.1)) and ghi == pytest.approx(2.0 * math.exp(0.5))
    glo, ghi = U.graph_band([1.0, 1.0], ["gemm", "gemm"], MEASURED, {**res, "graph_correlation": 0.0})
    assert math.log(2.0 / glo) == pytest.approx(0.1 / math.sqrt(2)) and math.log(ghi / 2.0) == pytest.approx(
        0.5 / math.sqrt(2)
    )


def test_missing_feature_the_residuals_cover_is_not_widened_twice():
    """Residuals measured on devices that lacked a feature already hold that error: a
    profile lacking only such a feature gets the plain band; one lacking another is widened."""
    res = {**RES, "covered_missing": ["sustained_clock"]}
    plain = U.node_band(1.0, "gemm", MEASURED, res)
    assert U.node_band(1.0, "gemm", Calibration(measured=True, features_missing=("sustained_clock",)), res) == plain
    lo, hi = U.node_band(1.0, "gemm", Calibration(measured=True, features_missing=("sustained_clock", "clock")), res)
    assert math.log(hi) == pytest.approx(0.1 * 2.0) and math.log(lo) == pytest.approx(-0.1 * 2.0)


def test_shipped_residuals_record_the_features_they_cover():
    """Six of the eight measured devices have no sustained clock in their profile: the
    shipped residuals include them, so the document must say so (or every such device's
    band is widened a second time)."""
    from costmodel.engine.devicemodel import load_model

    res = load_model().residuals
    assert "sustained_clock" in res["covered_missing"]
    for fam in ("gemm", "elementwise"):
        q = res["measured"][fam]
        assert q["q10"] < q["q50"] < q["q90"]


def test_graph_band_correlation():
    fams = ["gemm"] * 4
    one = U.node_band(1.0, "gemm", MEASURED, RES)
    half_width = math.log(one[1])  # 0.1
    for rho, expected in ((1.0, half_width), (0.0, half_width / 2), (0.5, half_width * math.sqrt(0.5 / 4 + 0.5))):
        lo, hi = U.graph_band([0.25] * 4, fams, MEASURED, {**RES, "graph_correlation": rho})
        # four equal kernels: independent errors shrink the spread by sqrt(4); correlated ones do not
        assert math.log(hi) == pytest.approx(expected, rel=1e-9)
        assert lo * hi == pytest.approx(1.0)
    # one dominant kernel: its own band whatever rho is
    lo, hi = U.graph_band([1.0, 0.0], ["gemm", "norm"], MEASURED, RES)
    assert (lo, hi) == pytest.approx(one)


def test_families_of_engine_nodes():
    assert U.family_of("contraction", "MatMul") == "gemm"
    assert U.family_of("normalization", "Softmax") == "softmax"
    assert U.family_of("normalization", "LayerNormalization") == "norm"
    assert U.family_of("movement", "Transpose") == "transpose"
    assert U.family_of("movement", "Gather") == "unknown"


def test_analyze_reports_latency_bands():
    r = costmodel.analyze("costmodel/examples/resnet50.onnx", hardware="a100")
    d = r.to_dict(per_op=True)
    lo, hi = d["latency_band_s"]
    assert lo < r.latency_s < hi
    timed = [op for op in d["ops"] if op.get("time_s")]
    assert timed and all(op["latency_band_s"][0] <= op["time_s"] <= op["latency_band_s"][1] for op in timed)
    ideal = costmodel.analyze("costmodel/examples/resnet50.onnx", hardware="a100", mode="ideal")
    assert ideal.to_dict()["latency_band_s"] is None  # the datasheet roofline is a bound, not a prediction


def test_cpu_engine_profiles_get_no_band():
    """The residuals are GPU kernels'; a profile the CPU engine times (kind cpu or soc) has
    no validation set to take a band from, so it gets none rather than a GPU's."""
    cpu = costmodel.analyze("costmodel/examples/resnet50.onnx", hardware="xeon-8480")
    assert cpu.latency_s and cpu.to_dict()["latency_band_s"] is None
    soc = costmodel.analyze("costmodel/examples/resnet50.onnx", hardware="apple-m3")
    assert soc.latency_s and soc.to_dict()["latency_band_s"] is None


def test_repeated_graph_band_is_the_graph_band_scaled():
    """A segment run r times in a row (a model's identical layers) is r copies of each
    kernel: the same relative band, r times the seconds (graph_band is scale-free)."""
    from costmodel.analysis import analyze_graph
    from costmodel.api import load_graph
    from costmodel.engine.latency import graph_latency, repeated_band
    from costmodel.hardware import get_profile

    hw = get_profile("h100")
    gc = analyze_graph(load_graph("costmodel/examples/resnet50.onnx")[0])
    gt = graph_latency(gc, hw)
    assert repeated_band([(gc, gt, 1)], hw) == pytest.approx(gt.band, rel=1e-12)
    assert repeated_band([(gc, gt, 3)], hw) == pytest.approx((3 * gt.band[0], 3 * gt.band[1]), rel=1e-12)
    ideal = graph_latency(gc, hw, mode="ideal")
    assert repeated_band([(gc, gt, 1), (gc, ideal, 1)], hw) is None  # no band for a datasheet bound


def _within(band, point):
    lo, hi = band
    return 0 < lo <= point <= hi


def test_llm_plan_carries_bands_for_prefill_decode_and_request():
    from costmodel.planners.llm import plan_llm

    p = plan_llm("llama-3.2-1b", "h100", batch=2, prompt_len=256, output_len=64)
    d = p.to_dict()
    assert _within(d["prefill"]["latency_band_s"], d["prefill"]["latency_s"])
    assert _within(d["decode"]["latency_band_s"], d["decode"]["latency_s"])
    assert _within(d["request"]["latency_band_s"], d["request"]["latency_s"])
    # the request is the prefill plus output - 1 decode steps; their errors go together
    lo, hi = d["request"]["latency_band_s"]
    assert lo == pytest.approx(p.prefill.band[0] + 63 * p.decode.band[0])
    assert hi == pytest.approx(p.prefill.band[1] + 63 * p.decode.band[1])
    ideal = plan_llm("llama-3.2-1b", "h100", batch=2, prompt_len=256, output_len=64, mode="ideal").to_dict()
    assert ideal["prefill"]["latency_band_s"] is ideal["request"]["latency_band_s"] is None
    cpu = plan_llm("llama-3.2-1b", "xeon-8480", prompt_len=16, output_len=4).to_dict()
    assert cpu["decode"]["latency_band_s"] is None  # the CPU engine has no residuals


def test_llm_band_adds_the_modelled_communication():
    """Under tensor parallelism the band is the kernels' band plus the all-reduces' time."""
    from costmodel.planners.llm import plan_llm

    p = plan_llm("llama-3-8b", "dgx-h100", tp=2, prompt_len=128, output_len=8)
    assert p.decode.comm_s > 0
    kernels = p.decode.latency_s - p.decode.comm_s
    lo, hi = p.decode.band
    assert p.decode.comm_s < lo and lo - p.decode.comm_s < kernels < hi - p.decode.comm_s
    from costmodel.planners.serving_records import step_band

    # kernels predicted 2 s in 1..3 s, scaled to 4 s (MoE experts swapped), plus 0.5 s comm
    assert step_band((1.0, 3.0), 2.0, 4.0, 0.5) == (1.0 * 2 + 0.5, 3.0 * 2 + 0.5)
    assert step_band(None, 2.0, 4.0, 0.5) is None


def test_train_step_carries_a_band():
    from costmodel.planners.training import plan_training

    p = plan_training("gpt-2", "h100", 1, 8, 1024, micro_batch=8)
    d = p.to_dict()
    assert _within(d["step"]["latency_band_s"], d["step"]["latency_s"])
    cpu = plan_training("gpt-2", "xeon-8480", 1, 1, 64, micro_batch=1).to_dict()
    assert cpu["step"]["latency_band_s"] is None


def test_llm_and_train_tables_show_the_band(capsys):
    from costmodel_cli.main import main

    assert main(["llm", "llama-3.2-1b", "-H", "h100", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.count("80% band") == 3 and "%)" in out  # prefill, decode step, request; -x% / +y%
    assert main(["train", "gpt-2", "-H", "h100", "--gpus", "1", "--batch", "8", "--seq-len", "256"]) == 0
    assert "80% band" in capsys.readouterr().out
