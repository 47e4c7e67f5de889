"""Device features the H200 torchvision classifiers are fitted with (engine/vision.py):
misaligned and grouped convolutions, per-kernel overhead by kernel class under graph
replay, and the whole-model hold-out rule. Expected values are arithmetic on the given
calibration."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from costmodel.engine import kernels as K
from costmodel.engine.calibration import Calibration
from costmodel.engine.latency import graph_latency
from costmodel.engine.vision import EXPORTS, MEASURED, heldout_models
from costmodel.ops.kernel import ConvShape, GemmShape

DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "data"
PROFILES = Path(__file__).resolve().parent.parent / "hardware_profiles"


def conv(cin: int, cout: int, group: int = 1) -> ConvShape:
    # a 3x3 stride-1 convolution on a 56x56 map, batch 8 (implicit GEMM M = 8*56*56, N = cout, K = cin/g*9)
    return ConvShape(
        n=8,
        c=cin,
        m=cout,
        group=group,
        kernel=(3, 3),
        strides=(1, 1),
        dilations=(1, 1),
        spatial=(56, 56),
        out_spatial=(56, 56),
        transposed=False,
        bias=False,
        gemm=GemmShape(batch=group, m=8 * 56 * 56, n=cout // group, k=cin // group * 9),
    )


def compute_s(shape: ConvShape, cal: Calibration, dtype: str = "fp16") -> float:
    return K.conv_time(1e12, 1e6, shape, 1e15, 1e14, 4e12, cal, dtype, 132)[0]


def test_misaligned_input_channels_scale_the_conv_fraction():
    base = Calibration()
    cal = dataclasses.replace(base, conv_misaligned_ratio={"fp16": 0.25})
    # 3 fp16 channels = 6 bytes: not a multiple of 16 -> 4x the compute time
    assert compute_s(conv(3, 64), cal) == pytest.approx(4 * compute_s(conv(3, 64), base))
    # 8 fp16 channels = 16 bytes: aligned, unchanged; a dtype without an entry is unchanged
    assert compute_s(conv(8, 64), cal) == pytest.approx(compute_s(conv(8, 64), base))
    assert compute_s(conv(3, 64), cal, "fp32") == pytest.approx(compute_s(conv(3, 64), base, "fp32"))


def test_grouped_convolutions_take_the_grouped_ratio():
    base = Calibration()
    cal = dataclasses.replace(base, conv_grouped_ratio=0.5)
    assert compute_s(conv(192, 192, group=8), cal) == pytest.approx(2 * compute_s(conv(192, 192, group=8), base))
    assert compute_s(conv(192, 192), cal) == pytest.approx(compute_s(conv(192, 192), base))


def test_graph_overhead_by_kernel_class():
    import costmodel
    from costmodel.hardware import get_profile
    from tests.helpers import one_op

    hw = get_profile("h200")
    gc = costmodel.analyze(one_op("Relu", [(1024,)], dtype="fp16")).graph_cost
    base = Calibration()
    cal = dataclasses.replace(base, kernel_overhead_ratio={"elementwise": 3.0, "conv": 0.5})
    t0 = graph_latency(gc, hw, execution="graph", calibration=base, bands=False)
    t1 = graph_latency(gc, hw, execution="graph", calibration=cal, bands=False)
    assert t0.overhead_s == pytest.approx(base.kernel_overhead_s)
    assert t1.overhead_s == pytest.approx(3 * base.kernel_overhead_s)
    assert cal.overhead("reduction") == pytest.approx(3 * base.kernel_overhead_s)  # priced as elementwise
    assert cal.overhead("contraction") == base.kernel_overhead_s  # no entry: the plain overhead


def test_whole_models_are_held_out_by_name():
    data = json.loads((DATA / MEASURED).read_text(encoding="utf-8"))
    models = sorted({c["model"] for c in data["cases"]})
    held = heldout_models([c["model"] for c in data["cases"]])
    assert len(models) == 36 and len(held) == 18
    assert held == set(models[1::2])  # the 2nd, 4th, ... by name
    assert "resnet50" in held and "vit_b_16" in held and "swin_t" in held
    assert (DATA / EXPORTS).is_file()


def test_shipped_fit_records_the_torchvision_split():
    doc = json.loads((PROFILES / "device-model.json").read_text(encoding="utf-8"))
    tv = doc["torchvision"]
    assert set(tv["fit"]["models"]).isdisjoint(tv["heldout"]["models"])
    assert len(tv["heldout"]["models"]) == 18 and tv["heldout"]["cases"] == 72


def test_held_out_classifiers_within_the_issue_bar():
    """Four held-out models (never fitted) at batch 1/16/64/256 through the shipped device
    model: median |pred/meas - 1| within issue 15's 15%, none off by more than 40%."""
    from costmodel.engine.calibration import for_profile
    from costmodel.engine.vision import load_vision
    from costmodel.hardware import get_profile

    cases = load_vision(models={"resnet50", "vit_b_16", "swin_t", "mobilenet_v2"})
    assert len(cases) == 16 and all(c.holdout for c in cases)
    hw = get_profile("h200")
    cal = for_profile(hw)
    errs = sorted(abs(c.predict(hw, cal) / c.measured_s - 1) for c in cases)
    assert errs[len(errs) // 2] <= 0.15
    assert errs[-1] <= 0.40


def test_conv_bias_kernel_streams_at_its_own_fraction():
    """A Conv with a bias under the pytorch runtime is the conv plus one elementwise kernel
    that reads and writes the output (2 x 8 x 64 x 56 x 56 x 2 B in fp16); halving that
    kernel's bandwidth fraction adds exactly that traffic's time once more."""
    import numpy as np
    from onnx import TensorProto, helper

    import costmodel
    from costmodel.hardware import get_profile

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, [8, 64, 56, 56])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, [8, 64, 56, 56])
    w = helper.make_tensor(
        "w", TensorProto.FLOAT16, [64, 64, 3, 3], np.zeros(64 * 64 * 9, np.float16).tobytes(), raw=True
    )
    b = helper.make_tensor("b", TensorProto.FLOAT16, [64], np.zeros(64, np.float16).tobytes(), raw=True)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    m = helper.make_model(helper.make_graph([node], "g", [x], [y], [w, b]), opset_imports=[helper.make_opsetid("", 17)])
    gc = costmodel.analyze(m, runtime="pytorch").graph_cost
    hw = get_profile("h200")
    base = dataclasses.replace(Calibration(), conv_bias_bandwidth_fraction=0.8)
    half = dataclasses.replace(base, conv_bias_bandwidth_fraction=0.4)
    t0 = graph_latency(gc, hw, execution="graph", calibration=base, bands=False).latency_s
    t1 = graph_latency(gc, hw, execution="graph", calibration=half, bands=False).latency_s
    traffic = 2 * 8 * 64 * 56 * 56 * 2
    assert t1 - t0 == pytest.approx(traffic / (hw.memory_bandwidth * 0.8), rel=1e-9)


def test_stage_two_parameters_leave_the_llm_steps_alone():
    """Stage 2 of the fit (benchmarks/fit_device_model.py) frees only parameters no LLM
    kernel reads: moving any of them by 30% leaves every H200 LLM step's prediction (eager
    and CUDA graph) exactly where it was, and moves a classifier's."""
    from benchmarks.fit_device_model import STAGE2
    from costmodel.engine import devicemodel as dm
    from costmodel.engine import fitting
    from costmodel.engine.steps import load_steps
    from costmodel.engine.vision import load_vision
    from costmodel.hardware import get_profile

    hw = get_profile("h200")
    params = dict(dm.load_model().params)
    doc = json.loads((PROFILES / "device-model.json").read_text(encoding="utf-8"))
    refines = doc["refines"][hw.name]
    steps = load_steps()
    nets = load_vision(models={"resnet50", "regnet_y_400mf"})
    cal = fitting.calibration_for(hw, params, refines)
    llm = [s.predict(hw, cal) for s in steps]
    cnn = [c.predict(hw, cal) for c in nets]
    for k in STAGE2:
        moved = fitting.calibration_for(hw, {**params, k: params[k] * 0.7}, refines)
        assert [s.predict(hw, moved) for s in steps] == llm, k
        assert any(c.predict(hw, moved) != t for c, t in zip(nets, cnn)), k


def test_stage_one_values_are_recorded_for_the_refitted_parameters():
    """The shipped document keeps stage 1's values of exactly the parameters stage 2
    refits, for the model and for every leave-one-device-out set (`--stage1` reruns
    stage 2 from them)."""
    from benchmarks.fit_device_model import STAGE2

    doc = json.loads((PROFILES / "device-model.json").read_text(encoding="utf-8"))
    st = doc["stage1"]
    assert set(st["params"]) == set(STAGE2)
    assert set(st["lodo"]) == set(doc["lodo"]) and all(set(v) == set(STAGE2) for v in st["lodo"].values())
    assert all(0 < v <= 1.0 for k, v in st["params"].items() if k != "conv_mma16")
