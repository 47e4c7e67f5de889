"""Measure the machine costmodel runs on and write a profile with measured ceilings.

CPU (always): GEMMs through numpy (BLAS) over a range of sizes in fp32 and fp64, and a
stream copy for memory bandwidth. NVIDIA GPU (when PyTorch with CUDA is present): GEMMs
in fp32 (TF32 off), tf32, bf16 and fp16, a device copy, and the per-kernel time of a tiny
op. The measured peaks become the profile's [matrix]/[vector]/[memory] figures, and the
efficiency of the size sweep becomes its [calibration] table, with provenance.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from typing import Any
from collections.abc import Callable

import numpy as np


def _median_time(fn: Callable[[], Any], min_s: float = 0.05, max_reps: int = 50) -> float:
    fn()  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_s and len(times) < max_reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def measure_cpu(sizes: tuple[int, ...] = (128, 256, 512, 1024, 2048), quick: bool = False) -> dict[str, Any]:
    if quick:
        sizes = tuple(s for s in sizes if s <= 512)
    gemm: dict[str, list[tuple[int, float]]] = {}
    for dt, name in ((np.float32, "fp32"), (np.float64, "fp64")):
        rows = []
        for n in sizes:
            a = np.random.default_rng(0).standard_normal((n, n)).astype(dt)
            b = np.random.default_rng(1).standard_normal((n, n)).astype(dt)
            t = _median_time(lambda a=a, b=b: a @ b)
            rows.append((n, 2 * n**3 / t))
        gemm[name] = rows
    n = (16 if quick else 64) * 2**20 // 8
    src = np.ones(n, dtype=np.float64)
    dst = np.empty_like(src)
    t = _median_time(lambda: np.copyto(dst, src))
    bandwidth = 2 * src.nbytes / t  # read + write
    return {"gemm": gemm, "stream_bandwidth": bandwidth, "copy_bytes": 2 * src.nbytes}


def measure_gpu(quick: bool = False) -> dict[str, Any] | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    dev = torch.device("cuda")
    dts = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    sizes = (1024, 2048, 4096) if quick else (1024, 2048, 4096, 8192)

    def timed(fn, reps: int = 10) -> float:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        ts = []
        for _ in range(reps):
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            ts.append(start.elapsed_time(end) / 1e3)
        ts.sort()
        return ts[len(ts) // 2]

    gemm: dict[str, list[tuple[int, float]]] = {}
    for name, dt in dts.items():
        torch.backends.cuda.matmul.allow_tf32 = name == "tf32"
        rows = []
        for n in sizes:
            a = torch.randn(n, n, device=dev, dtype=dt)
            b = torch.randn(n, n, device=dev, dtype=dt)
            rows.append((n, 2 * n**3 / timed(lambda a=a, b=b: a @ b)))
        gemm[name] = rows
    torch.backends.cuda.matmul.allow_tf32 = False
    x = torch.empty(256 * 2**20, dtype=torch.uint8, device=dev)
    y = torch.empty_like(x)
    bw = 2 * x.numel() / timed(lambda: y.copy_(x))
    tiny = torch.ones(1, device=dev)
    kernel = timed(lambda: tiny.mul_(1.0), reps=50)
    props = torch.cuda.get_device_properties(dev)
    return {
        "gemm": gemm,
        "stream_bandwidth": bw,
        "kernel_s": kernel,
        "name": props.name,
        "memory": props.total_memory,
        "sm_count": props.multi_processor_count,
        "torch": torch.__version__,
    }


def profile_toml(name: str, cpu: dict[str, Any], gpu: dict[str, Any] | None) -> str:
    """The profile as TOML text, written by tomli_w: a name or device string is data, never
    markup (a quote or newline in --name cannot add keys or tables)."""
    import tomli_w

    today = _dt.date.today().isoformat()
    header = (
        f"# Measured by `costmodel calibrate` on {today} ({_comment(platform.platform())}, numpy {np.__version__}).\n"
        "# Peaks are the best throughput of the size sweep; [calibration] holds the efficiency the\n"
        "# sweep implies for the engine.\n"
    )
    return header + tomli_w.dumps(profile_data(name, cpu, gpu, today))


def _comment(text: str) -> str:
    return " ".join(text.split()).replace("#", "")[:200]


def profile_data(name: str, cpu: dict[str, Any], gpu: dict[str, Any] | None, today: str) -> dict[str, Any]:
    """The profile as the structure load_profile_file reads (units in keys)."""
    d: dict[str, Any] = {"name": name}
    if gpu is not None:
        g = gpu
        best = {k: max(v for _, v in rows) for k, rows in g["gemm"].items()}
        d["display_name"] = f"{g['name']} (measured)"
        d["kind"] = "gpu"
        d["matrix"] = {f"{k}_tflops": _g(v / 1e12) for k, v in best.items() if k != "fp32"}
        d["vector"] = {"fp32_tflops": _g(best["fp32"] / 1e12)}
        d["memory"] = {"capacity_GiB": _g(g["memory"] / 2**30), "bandwidth_GBps": _g(g["stream_bandwidth"] / 1e9)}
        d["compute"] = {"units": int(g["sm_count"])}
        d["calibration"] = {
            "date": today,
            "software": f"torch {g['torch']}",
            "method": "median CUDA-event time; square GEMMs 1024-8192, 256 MiB device copy, tiny op",
            "gemm_fraction": {k: 1.0 for k in best},
            "stream_bandwidth_fraction": 1.0,
            "kernel_overhead_s": _g(g["kernel_s"]),
        }
        return d
    best32 = max(v for _, v in cpu["gemm"]["fp32"])
    best64 = max(v for _, v in cpu["gemm"]["fp64"])
    d["display_name"] = f"{platform.processor() or platform.machine()} (measured)"
    d["kind"] = "cpu"
    d["vector"] = {"fp32_gflops": _g(best32 / 1e9), "fp64_gflops": _g(best64 / 1e9)}
    d["memory"] = {"capacity_GiB": _g(_total_memory() / 2**30), "bandwidth_GBps": _g(cpu["stream_bandwidth"] / 1e9)}
    d["compute"] = {"units": os.cpu_count() or 1, "unit_name": "core"}
    d["calibration"] = {
        "date": today,
        "software": f"numpy {np.__version__}",
        "method": "median wall time of numpy GEMMs over square sizes and a float64 copy",
        "gemm_fraction": {"fp32": 1.0, "fp64": 1.0},
        "gemm_misaligned_fraction": {"fp32": 1.0, "fp64": 1.0},
        "stream_bandwidth_fraction": 1.0,
        "kernel_overhead_s": 2e-06,
        "eager_dispatch_s": {"default": 2e-06},
    }
    return d


def _g(x: float) -> float:
    """Six significant digits, as measured figures deserve."""
    return float(f"{x:.6g}")


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def calibrate(name: str = "local", quick: bool = False, use_gpu: bool = True) -> tuple[str, dict[str, Any]]:
    cpu = measure_cpu(quick=quick)
    gpu = measure_gpu(quick=quick) if use_gpu else None
    return profile_toml(name, cpu, gpu), {"cpu": cpu, "gpu": gpu}
