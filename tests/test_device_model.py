"""The cross-device model: datasheet features -> the engine's Calibration, per-device
refinement, profile/calibration validation, and the shipped fitted parameters.

Expected values are arithmetic on the profiles' datasheet figures (cited in the files)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from costmodel.engine import devicemodel as dm
from costmodel.engine import kernels as K
from costmodel.engine.calibration import Calibration, for_profile, model_calibration, refine
from costmodel.errors import HardwareError
from costmodel.hardware import get_profile, load_profile_file, profile_names
from costmodel.hardware.calibration_schema import CALIBRATION_FIELDS, REFINE_KEYS, check_calibration
from costmodel.hardware.schema import FieldError
from costmodel.ops.kernel import ConvShape, GemmShape

ROOT = Path(__file__).resolve().parent.parent
PRIORS = {k: p.prior for k, p in dm.PARAMS.items()}


def test_calibration_dataclass_and_schema_agree():
    names = {f.name for f in dataclasses.fields(Calibration)} - {"source", "measured", "features_missing"}
    assert names == set(CALIBRATION_FIELDS) - {"refine"}


def test_features_of_power_limited_parts():
    t4 = dm.features(get_profile("t4"))
    # T4: sustained 900 MHz under load (profile source: mlcommons issue) of a 1590 MHz boost
    assert t4.clock_ratio == pytest.approx(900 / 1590)
    assert t4.cycles_per_s == pytest.approx(40 * 900e6)  # 40 SMs x 900 MHz
    assert t4.memory == "gddr" and not t4.missing
    # bf16 has no Turing tensor-core path: it runs as fp16 on the tensor cores; fp32 on CUDA cores
    paths = dict(t4.matrix_paths)
    assert paths["bf16"] == "fp16" and "fp32" not in paths and "tf32" not in paths
    # P4: sustained = datasheet base clock 886 of boost 1114 MHz
    assert dm.features(get_profile("p4")).clock_ratio == pytest.approx(886 / 1114)
    # an H200 holds its boost clock (no sustained figure): ratio 1, flagged as assumed
    h200 = dm.features(get_profile("h200"))
    assert h200.clock_ratio == 1.0 and "sustained_clock" in h200.missing and h200.memory == "hbm"


def test_amd_fp32_gemms_use_matrix_cores():
    paths = dict(dm.features(get_profile("mi250x-gcd")).matrix_paths)
    assert paths["fp32"] == "fp32" and paths["fp64"] == "fp64"
    assert "fp32" not in dict(dm.features(get_profile("a100")).matrix_paths)  # SGEMM on CUDA cores


def test_calibration_fields_are_the_documented_formulas():
    p = dict(PRIORS, gemm_simt=0.8, gemm_mma16=0.7, clock_exponent=1.0, row_cycles=400.0, bandwidth_gddr=0.75)
    t4 = dm.calibration_fields(dm.features(get_profile("t4")), p)
    ratio = 900 / 1590
    assert t4["gemm_fraction"]["fp32"] == pytest.approx(0.8 * ratio)  # CUDA cores at the sustained clock
    assert t4["gemm_fraction"]["fp16"] == pytest.approx(0.7 * ratio)  # tensor cores
    assert t4["stream_bandwidth_fraction"] == pytest.approx(0.75)
    assert t4["row_cost_s"] == pytest.approx(400 / (40 * 900e6))  # SM cycles / (SMs x clock)
    # Winograd only where fp32 runs on CUDA cores
    g = p["conv_winograd_gain"]
    assert t4["conv_winograd_gain"] == {"fp32": g, "fp64": g, "tf32": g}  # Turing has no TF32: it runs as fp32
    mi = dm.calibration_fields(dm.features(get_profile("mi300x")), p)
    assert mi["conv_winograd_gain"] == {}
    assert set(dm.calibration_fields(dm.features(get_profile("a100")), p)["conv_winograd_gain"]) == {"fp32"}


def test_refine_scales_groups_and_caps_fractions():
    base = Calibration()
    r = refine(base, {"gemm": 2.0, "rows": 0.5, "dispatch_norm": 3.0})
    assert r.gemm_fraction["bf16"] == 1.0  # 0.72 x 2 capped at the datasheet peak
    assert r.row_cost_s == pytest.approx(base.row_cost_s * 0.5)
    assert r.eager_dispatch_s["normalization"] == pytest.approx(base.eager_dispatch_s["normalization"] * 3)
    assert r.eager_dispatch_s["default"] == base.eager_dispatch_s["default"]
    assert set(REFINE_KEYS) >= {"gemm", "bandwidth", "dispatch"}


def test_winograd_gain_applies_to_3x3_stride_1_only():
    cal = dataclasses.replace(Calibration(), conv_winograd_gain={"fp32": 2.0})
    # a 3x3, stride-1, 64 -> 64 channel convolution on a 56x56 map (implicit GEMM:
    # M = 56*56 = 3136 output positions, N = 64 filters, K = 64*3*3 = 576)
    conv = ConvShape(
        n=1,
        c=64,
        m=64,
        group=1,
        kernel=(3, 3),
        strides=(1, 1),
        dilations=(1, 1),
        spatial=(56, 56),
        out_spatial=(56, 56),
        transposed=False,
        bias=False,
        gemm=GemmShape(batch=1, m=3136, n=64, k=576),
    )
    assert K.winograd_gain(conv, cal, "fp32") == 2.0
    assert K.winograd_gain(conv, cal, "tf32") == 1.0
    assert K.winograd_gain(dataclasses.replace(conv, strides=(2, 2)), cal, "fp32") == 1.0
    assert K.winograd_gain(dataclasses.replace(conv, kernel=(1, 1)), cal, "fp32") == 1.0
    assert K.winograd_gain(dataclasses.replace(conv, group=32), cal, "fp32") == 1.0
    assert K.winograd_gain(dataclasses.replace(conv, dilations=(2, 2)), cal, "fp32") == 1.0
    assert K.winograd_gain(dataclasses.replace(conv, transposed=True), cal, "fp32") == 1.0


@pytest.mark.parametrize(
    "table,key",
    [
        ({"stream_bandwidth_fraction": 0}, "stream_bandwidth_fraction"),
        ({"stream_bandwidth_fraction": float("nan")}, "stream_bandwidth_fraction"),
        ({"stream_bandwidth_fraction": 1e308}, "stream_bandwidth_fraction"),
        ({"stream_bandwidth_fraction": "fast"}, "stream_bandwidth_fraction"),
        ({"kernel_overhead_s": 5e-324}, "kernel_overhead_s"),
        ({"gemm_fraction": {"bf16": 0}}, "gemm_fraction.bf16"),
        ({"gemm_fraction": {"bf17": 0.5}}, "gemm_fraction.bf17"),
        ({"refine": {"gemm": 0}}, "refine.gemm"),
        ({"refine": {"speed": 2}}, "refine.speed"),
        ({"turbo": 1}, "turbo"),
    ],
)
def test_bad_calibration_tables_are_refused(table, key):
    with pytest.raises(FieldError, match=key.replace(".", r"\.")):
        check_calibration(table)


def test_bad_calibration_in_a_profile_file_is_exit_2(tmp_path, capsys):
    from cli.main import main

    text = (ROOT / "hardware_profiles" / "l4.toml").read_text(encoding="utf-8")  # no [calibration] of its own
    f = tmp_path / "bad.toml"
    f.write_text(text + "\n[calibration]\nstream_bandwidth_fraction = 0\n", encoding="utf-8")
    with pytest.raises(HardwareError, match="bad.toml.*stream_bandwidth_fraction"):
        load_profile_file(f)
    rc = main(["analyze", "costmodel/examples/resnet50.onnx", "--hardware", str(f)])
    err = capsys.readouterr().err
    assert rc == 2 and "stream_bandwidth_fraction" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "line,key",
    [
        ("[compute]\nclock_MHz = 0.000001\n", "compute.clock_MHz"),  # 1 Hz: outside 10 MHz..10 GHz
        ("[power]\ntdp_W = 5e-324\n", "power.tdp_W"),
        ("[compute]\nlaunch_latency_s = 3\n", "compute.launch_latency_s"),
        ("[compute]\nclock_MHz = 1000\nsustained_clock_MHz = 2000\n", "sustained_clock_MHz"),
    ],
)
def test_implausible_profile_values(tmp_path, line, key):
    f = tmp_path / "p.toml"
    f.write_text('name = "x"\n[vector]\nfp32_tflops = 1\n[memory]\ncapacity_GB = 8\nbandwidth_GBps = 100\n' + line)
    with pytest.raises(HardwareError, match=key):
        load_profile_file(f)


def test_the_required_new_profiles_exist_with_features():
    names = set(profile_names())
    assert len(names) >= 50
    required = (
        "v100-pcie-32gb v100-pcie-16gb p100-pcie-16gb p4 a100-pcie-40gb a40 a10 l40 rtx-a6000 h800 h20 "
        "mi100 mi210 mi250-gcd mi250 mi300a jetson-orin-agx jetson-orin-nano"
    ).split()
    assert set(required) <= names
    assert any(get_profile(n).vendor == "Apple" for n in names)
    assert any(get_profile(n).vendor == "Qualcomm" for n in names)
    # MI250: one GCD is half the module (AMD quotes the module: 362 FP16, 3.2 TB/s)
    gcd, mod = get_profile("mi250-gcd"), get_profile("mi250")
    assert 2 * gcd.matrix_flops["fp16"] == pytest.approx(mod.matrix_flops["fp16"]) == pytest.approx(362e12)
    assert 2 * gcd.memory_bandwidth == pytest.approx(mod.memory_bandwidth)
    # MI300A: 228 CUs x 2.1 GHz x 2048 FP16 FLOP per CU-clock (ROCm MI300 table)
    assert get_profile("mi300a").matrix_flops["fp16"] == pytest.approx(228 * 2.1e9 * 2048, rel=1e-3)
    # A10: GA102 rate per SM-clock of the A40 datasheet, 149.7e12 / (84 x 1740 MHz), x 72 SMs x 1695 MHz
    per = 149.7e12 / (84 * 1740e6)
    assert get_profile("a10").matrix_flops["fp16"] == pytest.approx(72 * 1695e6 * per, rel=0.01)
    # power-limited parts record a sustained clock below boost
    for n in ("t4", "l4", "p4"):
        p = get_profile(n)
        assert p.sustained_clock_hz and p.clock_hz and p.sustained_clock_hz < p.clock_hz


def test_shipped_model_file_is_valid_and_within_bounds():
    path = ROOT / "hardware_profiles" / "device-model.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    model = dm.model_from_dict(doc)
    for k, v in model.params.items():
        assert dm.PARAMS[k].lo <= v <= dm.PARAMS[k].hi
    assert set(model.lodo) <= set(profile_names())
    for cls in ("measured", "unmeasured"):
        for fam, q in model.residuals[cls].items():
            assert q["q10"] <= q["q50"] <= q["q90"], (cls, fam)
    assert 0.0 <= model.residuals["graph_correlation"] <= 1.0
    with pytest.raises(HardwareError):
        dm.model_from_dict({**doc, "params": {"gemm_simt": 7.0}})  # outside 0.3..1.0
    with pytest.raises(HardwareError):
        dm.model_from_dict({**doc, "params": {"warp_speed": 1.0}})


def test_measured_profiles_carry_refinements_unmeasured_do_not():
    assert for_profile(get_profile("t4")).measured
    assert not for_profile(get_profile("l4")).measured
    l4 = model_calibration(get_profile("l4"))
    # the L4 sustains 1236 of its 2040 MHz (profile source): its GEMM fractions are lower than a
    # boost-holding part's by (1236/2040) ** clock_exponent
    h = model_calibration(get_profile("l40s"))
    expo = dm.load_model().value("clock_exponent")
    assert l4.gemm_fraction["fp16"] / h.gemm_fraction["fp16"] == pytest.approx((1236 / 2040) ** expo, rel=1e-6)
    assert math.isfinite(l4.row_cost_s) and l4.row_cost_s > 0


def test_cpu_and_soc_profiles_take_the_cpu_engine_not_the_gpu_model():
    """Kinds cpu and soc are timed by engine/cpu.py from the generic defaults and their own
    measured table; the cross-device model (fitted on GPU kernels) builds every other
    profile's. The Jetson profiles describe the integrated Ampere GPU, a CUDA device."""
    generic = Calibration()
    for name in ("xeon-8480", "apple-m3", "snapdragon-x-elite", "m3-max"):
        hw = get_profile(name)
        cal = for_profile(hw)
        assert hw.kind in ("cpu", "soc") and cal.gemm_fraction == generic.gemm_fraction, name
        assert cal.source == generic.source, name
    for name in ("jetson-orin-agx", "jetson-orin-nano"):
        hw = get_profile(name)
        assert hw.kind == "gpu"
        assert for_profile(hw) == model_calibration(hw)  # no measured table: the model's figures


def test_a_measured_twin_lends_its_hardware_refinements():
    """An H100 SXM and the measured H200 SXM have the same compute features (GH100, 132 SMs
    at 1980 MHz, 700 W, the same peaks); only the memory differs (HBM3 3.35 TB/s vs HBM3e
    4.8 TB/s). The H100 takes the H200's compute-side multipliers, not its memory-side or
    host-side ones, and stays an unmeasured device (its band is the LODO one)."""
    h100_hw, h200_hw = get_profile("h100"), get_profile("h200")
    h100, h200, model = for_profile(h100_hw), for_profile(h200_hw), model_calibration(h100_hw)
    refine_h200 = h200_hw.calibration["refine"]
    assert not h100.measured and "h200-sxm-141gb" in h100.source
    for dt in ("bf16", "fp8", "fp32"):
        assert h100.gemm_fraction[dt] == pytest.approx(model.gemm_fraction[dt] * refine_h200["gemm"])
        assert h100.gemm_fraction[dt] == pytest.approx(h200.gemm_fraction[dt])  # one compute model
    assert h100.attention_fraction == pytest.approx(h200.attention_fraction)
    assert h100.row_cost_s == pytest.approx(h200.row_cost_s)
    assert h100.gemm_small_tile_exponent == pytest.approx(h200.gemm_small_tile_exponent)
    # memory (HBM3 vs HBM3e) and host (dispatch, per-kernel overhead) stay the model's
    assert h100.stream_bandwidth_fraction == model.stream_bandwidth_fraction
    assert h100.gemm_bandwidth_fraction == model.gemm_bandwidth_fraction
    assert h100.eager_dispatch_s == model.eager_dispatch_s
    assert h100.kernel_overhead_s == model.kernel_overhead_s
    # V100 PCIe 16GB vs the measured 32GB: same chip and the same HBM2 at 900 GB/s, so the
    # memory-side multiplier transfers too
    v16, v32 = for_profile(get_profile("v100-pcie-16gb")), for_profile(get_profile("v100-pcie-32gb"))
    assert v16.stream_bandwidth_fraction == pytest.approx(v32.stream_bandwidth_fraction)
    assert v16.gemm_fraction == pytest.approx(v32.gemm_fraction)
    assert v16.eager_dispatch_s != v32.eager_dispatch_s  # the NeuSight host's dispatch is not the GPU's


def test_no_twin_when_a_compute_feature_differs(tmp_path):
    """A power limit (or any peak, clock or unit count) that differs makes another part."""
    text = (ROOT / "hardware_profiles" / "h100-sxm5-80gb.toml").read_text(encoding="utf-8")
    assert "tdp_W = 700" in text
    p = tmp_path / "h100-350w.toml"
    p.write_text(text.replace('name = "h100-sxm5-80gb"', 'name = "h100-350w"').replace("tdp_W = 700", "tdp_W = 350"))
    hw = load_profile_file(p)
    assert for_profile(hw) == model_calibration(hw)
    # the same chip with the H200's memory but no table of its own: every hardware multiplier
    h200_text = (ROOT / "hardware_profiles" / "h200-sxm-141gb.toml").read_text(encoding="utf-8")
    q = tmp_path / "h200-copy.toml"
    q.write_text(h200_text.split("[calibration]")[0].replace('name = "h200-sxm-141gb"', 'name = "h200-copy"'))
    copy, h200 = for_profile(load_profile_file(q)), for_profile(get_profile("h200"))
    assert not copy.measured
    assert copy.gemm_fraction == pytest.approx(h200.gemm_fraction)
    assert copy.stream_bandwidth_fraction == pytest.approx(h200.stream_bandwidth_fraction)
    assert copy.eager_dispatch_s != h200.eager_dispatch_s


def test_fp8_attention_has_its_own_prior_not_the_16_bit_fit():
    """No measured set times fp8 attention, so its fraction stays at its prior (0.55, the
    engine's fp8 default: FlashAttention-3 reports ~0.8x its 16-bit fraction in fp8) rather
    than taking the fitted 16-bit value; a part with no fp8 matrix units runs it as 16-bit."""
    assert dm.load_model().value("attention_fp8") == dm.PARAMS["attention_fp8"].prior == 0.55
    mma16 = dm.load_model().value("attention_mma16")
    assert mma16 != 0.55
    h100 = model_calibration(get_profile("h100"))  # fp8 tensor cores; no sustained-clock figure: ratio 1
    assert h100.attention_fraction["fp8"] == pytest.approx(0.55)
    assert h100.attention_fraction["bf16"] == pytest.approx(mma16)
    a100 = model_calibration(get_profile("a100"))  # no fp8 units: fp8 attention runs as fp16
    assert a100.attention_fraction["fp8"] == a100.attention_fraction["fp16"]
