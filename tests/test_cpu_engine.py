"""CPUs modelled as CPUs (engine/cpu.py) and `costmodel calibrate` on a CPU
(hardware/calibrate.py): BLAS efficiency vs work per core, matrix-vector products at the
measured bandwidth, no GPU tiles/waves/alignment cliffs, no eager launch queue."""

from __future__ import annotations

import tomllib

import pytest

import costmodel
from costmodel.engine.calibration import Calibration
from costmodel.engine.cpu import gemm_efficiency, is_cpu
from costmodel.hardware import get_profile, profile_from_dict
from costmodel.hardware.calibrate import fit_gemm, measure_cpu, profile_toml
from tests.helpers import one_op


def _cpu(**cal) -> object:
    """A 4-core CPU: 100 GFLOP/s fp32, 20 GB/s, with the given calibration."""
    return profile_from_dict(
        {
            "name": "test-cpu",
            "kind": "cpu",
            "vector": {"fp32_gflops": 100},
            "memory": {"capacity_GiB": 16, "bandwidth_GBps": 20},
            "compute": {"units": 4},
            "calibration": {
                "gemm_fraction": {"fp32": 1.0},
                "cpu_gemm_half_flops": 1e6,
                "gemm_bandwidth_fraction": 0.5,
                "stream_bandwidth_fraction": 0.8,
                "kernel_overhead_s": 2e-6,
                **cal,
            },
        }
    )


def test_fit_recovers_a_known_curve():
    # achieved(n) = 150e9 * w / (w + 2e6), w = 2 n^3 / 4 cores
    pts = [(n, 150e9 * (2 * n**3 / 4) / (2 * n**3 / 4 + 2e6)) for n in (64, 128, 256, 512, 1024, 2048)]
    peak, half = fit_gemm(pts, 4)
    assert peak == pytest.approx(150e9, rel=0.01)
    assert half == pytest.approx(2e6, rel=0.04)  # the log grid's step is 10^(9/360) = 5.9%


def test_a_disturbed_large_size_does_not_drag_the_peak_down():
    pts = [(n, 150e9 * (2 * n**3 / 4) / (2 * n**3 / 4 + 2e6)) for n in (64, 128, 256, 512, 1024, 2048)]
    clean, _ = fit_gemm(pts, 4)
    pts[-1] = (2048, pts[-1][1] / 3)  # another process stole the cores during the largest run
    assert fit_gemm(pts, 4)[0] >= 0.97 * clean


def test_a_gemv_on_a_cpu_streams_its_weights_at_the_measured_bandwidth():
    hw = _cpu()
    r = costmodel.analyze(one_op("MatMul", [(1, 2048), (2048, 8192)]), hardware=hw)
    # bytes: x 2048*4 + W 2048*8192*4 + y 8192*4 = 67,141,632 B at 20e9 * 0.5 B/s;
    # compute 2*2048*8192 FLOPs is far shorter; plus one op's overhead
    memory_s = (2048 * 4 + 2048 * 8192 * 4 + 8192 * 4) / (20e9 * 0.5)
    node = [t for t in r.timing.nodes if t.time_s][0]
    assert node.memory_s == pytest.approx(memory_s, rel=1e-9)
    assert node.overhead_s == pytest.approx(2e-6)
    assert r.latency_s == pytest.approx(node.time_s) and node.bound == "memory"


def test_a_gemm_on_a_cpu_follows_the_work_per_core_curve_without_tiles():
    hw = _cpu()
    m, k, n = 1000, 1000, 1000  # no power of two anywhere: a GPU model would pad tiles
    r = costmodel.analyze(one_op("MatMul", [(m, k), (k, n)]), hardware=hw)
    flops = 2 * m * k * n
    w = flops / 4  # FLOPs per core
    compute_s = flops / (100e9 * w / (w + 1e6))
    node = [t for t in r.timing.nodes if t.time_s][0]
    assert node.compute_s == pytest.approx(compute_s, rel=1e-9)
    # the same shape with one more row costs in proportion: no wave/tile quantization step
    r2 = costmodel.analyze(one_op("MatMul", [(m + 1, k), (k, n)]), hardware=hw)
    node2 = [t for t in r2.timing.nodes if t.time_s][0]
    assert node2.compute_s / node.compute_s == pytest.approx(1.001, rel=2e-4)


def test_cpu_ops_pay_the_same_overhead_in_every_execution_mode():
    from tests.graphs import transformer_block

    hw = _cpu()
    b = {"batch": 2, "seq": 16}
    e = costmodel.analyze(transformer_block(), hardware=hw, bindings=b, execution="eager")
    g = costmodel.analyze(transformer_block(), hardware=hw, bindings=b, execution="graph")
    assert e.latency_s == pytest.approx(g.latency_s, rel=1e-12)
    kernels = g.timing.kernels
    assert g.timing.overhead_s == pytest.approx(kernels * 2e-6, rel=1e-9)


@pytest.mark.parametrize("name", ["xeon-8480", "epyc-9654", "m4-max", "m2-ultra", "m3-max"])
def test_builtin_cpu_and_soc_profiles_take_the_cpu_branch(name):
    hw = get_profile(name)
    assert is_cpu(hw)
    r = costmodel.analyze(one_op("MatMul", [(2048, 2048), (2048, 2048)]), hardware=hw)
    node = [t for t in r.timing.nodes if t.time_s][0]
    cal = Calibration.from_mapping(hw.calibration)
    eff = gemm_efficiency(2 * 2048**3, int(hw.compute_units), cal, "fp32")
    assert node.compute_s == pytest.approx(2 * 2048**3 / (hw.matrix_peak("fp32") * eff), rel=1e-6)


def test_gpus_keep_the_gpu_branch():
    assert not is_cpu(get_profile("h100")) and not is_cpu(get_profile("tpu-v5p"))


def test_a_small_calibration_makes_a_valid_cpu_profile():
    seen: list[tuple[int, int]] = []
    cpu = measure_cpu(sizes=(32, 64), budget_s=0.0, scale=64, on_progress=lambda d, t, w: seen.append((d, t)))
    assert seen and seen[-1] == (100, 100) and all(d <= t for d, t in seen)
    assert cpu["gemm_peak"] > 0 and cpu["gemv_bandwidth"] > 0 and cpu["op_overhead_s"] > 0
    text = profile_toml("mine", cpu, None)
    d = tomllib.loads(text)
    prof = profile_from_dict(d)
    assert prof.kind == "cpu" and is_cpu(prof)
    assert d["calibration"]["cpu_gemm_half_flops"] == pytest.approx(cpu["gemm_half_flops"], rel=1e-5)
    assert prof.memory_bandwidth == pytest.approx(max(cpu["gemv_bandwidth"], cpu["stream_bandwidth"]), rel=1e-5)
    assert prof.compute_units == cpu["threads"]


def test_a_flat_sweep_fits_no_ramp_and_still_makes_a_valid_profile():
    # a loaded machine can measure every size at the same rate: the fit's grid starts at
    # half = 0 (no ramp), which the calibration schema must accept and the engine evaluate
    pts = [(n, 80e9) for n in (64, 128, 256, 512, 1024, 2048)]
    peak, half = fit_gemm(pts, 4)
    assert (peak, half) == (pytest.approx(80e9), 0.0)
    hw = _cpu(cpu_gemm_half_flops=half)
    cal = Calibration(cpu_gemm_half_flops=0.0)
    assert gemm_efficiency(0.0, 4, cal, "fp32") == 1e-4
    r = costmodel.analyze(one_op("MatMul", [(64, 64), (64, 64)]), hardware=hw)
    node = [t for t in r.timing.nodes if t.time_s][0]
    assert node.compute_s == pytest.approx(2 * 64**3 / 100e9, rel=1e-9)
