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
