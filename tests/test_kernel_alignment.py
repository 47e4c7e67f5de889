"""Alignment classes of the kernel rules: a 16-/8-bit GEMM's leading dimensions give one
of three ceilings (16-byte aligned, 4-/8-byte aligned, 2-byte aligned) and a norm's row
is vectorized when its length is a multiple of 4 elements (PyTorch's vec_size), in any
dtype."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costmodel.analysis import analyze_graph
from costmodel.engine import kernels as K
from costmodel.engine.calibration import Calibration, for_profile
from costmodel.engine.latency import graph_latency
from costmodel.frontends.onnx import to_graph
from costmodel.hardware import get_profile
from tests.helpers import one_op


@pytest.mark.parametrize(
    ("n", "k", "elem", "want"),
    [
        (4096, 4096, 2, "aligned"),  # 8192-byte strides
        (4028, 1012, 2, "partial"),  # gcd 4 elements = 8 bytes
        (544, 9474, 2, "partial"),  # gcd 2 elements = 4 bytes
        (6144, 132, 2, "partial"),  # gcd 12 elements = 24 bytes: a multiple of 8, not of 16
        (1605, 1815, 2, "misaligned"),  # odd: 2-byte strides
        (730, 11311, 2, "misaligned"),
        (4096, 4100, 1, "partial"),  # fp8: gcd 4 bytes
        (4096, 4098, 1, "misaligned"),  # fp8: gcd 2 bytes
        (4096, 4112, 1, "aligned"),  # fp8: gcd 16 bytes
        (1605, 1815, 4, "misaligned"),  # fp32 keeps its aligned / misaligned pair
        (1604, 1816, 4, "aligned"),
    ],
)
def test_gemm_alignment_class(n, k, elem, want):
    assert K.gemm_alignment(n, k, elem) == want


@given(st.integers(1, 1 << 16), st.integers(1, 1 << 16))
def test_fp32_bandwidth_is_never_penalised(n, k):
    assert K.gemm_alignment(n, k, 4, bandwidth=True) == "aligned"


def test_each_class_takes_its_own_ceiling():
    """The same GEMM shape class by class: the efficiency is the class's fraction times the
    same tile and K-ramp factors, so the ratios between classes are the fractions' ratios."""
    cal = dataclasses.replace(
        Calibration(),
        gemm_fraction={"bf16": 0.8},
        gemm_partial_fraction={"bf16": 0.3},
        gemm_misaligned_fraction={"bf16": 0.1},
    )
    m, units = 2048.0, 132
    # the three shapes pad the same way (N = 4096 or 4094/4092 within one 128-wide tile)
    aligned = K.gemm_efficiency(1, m, 4096, 4096, cal, "bf16", units, 2)
    partial = K.gemm_efficiency(1, m, 4092, 4096, cal, "bf16", units, 2)
    misaligned = K.gemm_efficiency(1, m, 4095, 4096, cal, "bf16", units, 2)
    tile = K.tile_efficiency(1, m, 4092, 4096, units, cal)
    assert math.isclose(partial, 0.3 * tile * 4096 / (4096 + cal.gemm_k_ramp), rel_tol=1e-12)
    assert aligned > partial > misaligned
    assert math.isclose(partial / misaligned, 0.3 / 0.1, rel_tol=0.01)


def test_partial_bandwidth_fraction_times_a_gemv():
    """A memory-bound GEMV with 8-byte aligned rows streams at the partial fraction."""
    hw = get_profile("h200")
    gc = analyze_graph(to_graph(one_op("MatMul", [(1, 8188), (8188, 8188)], dtype="bf16")))
    cal = for_profile(hw)
    slow = dataclasses.replace(cal, gemm_partial_bandwidth_fraction=cal.gemm_partial_bandwidth_fraction / 2)
    fast = graph_latency(gc, hw, execution="graph", calibration=cal).nodes[0]
    half = graph_latency(gc, hw, execution="graph", calibration=slow).nodes[0]
    assert fast.bound == "memory"
    assert math.isclose(half.memory_s, 2 * fast.memory_s, rel_tol=1e-9)


@pytest.mark.parametrize(("cols", "vectorized"), [(500, True), (512, True), (454, False), (195, False)])
def test_norm_rows_vectorize_by_four_elements_in_bf16(cols, vectorized):
    """500 bf16 elements are 1000 bytes (not a multiple of 16) but a multiple of 4 elements:
    PyTorch's vectorized kernel runs; 454 is not a multiple of 4."""
    cal = Calibration()
    row_s, mem_s = K.rowwise_time(2 * 1000 * cols * 2, 1000, cols, 2, 4.8e12, cal)
    if vectorized:
        assert row_s == 1000 * cal.row_cost_s
        assert math.isclose(mem_s, 2 * 1000 * cols * 2 / (4.8e12 * cal.stream_bandwidth_fraction))
    else:
        assert row_s == 1000 * cal.unaligned_row_cost_s
        assert math.isclose(mem_s, 2 * 1000 * cols * 2 / (4.8e12 * cal.unaligned_row_bandwidth_fraction))


def test_partial_alignment_parameters_leave_the_llm_steps_alone():
    """The parameters fitted on top of a reused stage 1 (fit_device_model.ADDED) price only
    4-/8-byte aligned 16-bit GEMMs: no H200 LLM step's prediction moves with them (its GEMMs
    are 16-byte aligned), while a 4-/8-byte aligned GEMM's does."""
    from benchmarks.fit_device_model import ADDED
    from costmodel.engine import devicemodel as dm
    from costmodel.engine import fitting
    from costmodel.engine.steps import load_steps

    hw = get_profile("h200")
    params = dict(dm.load_model().params)
    refines = dm.load_model().raw["refines"][hw.name]
    cal = fitting.calibration_for(hw, params, refines)
    steps = load_steps()
    llm = [s.predict(hw, cal) for s in steps]
    gemm = analyze_graph(to_graph(one_op("MatMul", [(2048, 4092), (4092, 4092)], dtype="bf16")))
    base = graph_latency(gemm, hw, execution="graph", calibration=cal).latency_s
    for k in ADDED:
        moved = fitting.calibration_for(hw, {**params, k: params[k] * 0.7}, refines)
        assert [s.predict(hw, moved) for s in steps] == llm, k
    moved = fitting.calibration_for(hw, {**params, "gemm_partial_16": params["gemm_partial_16"] * 0.7}, refines)
    assert graph_latency(gemm, hw, execution="graph", calibration=moved).latency_s > base
