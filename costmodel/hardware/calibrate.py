"""Measure the machine costmodel runs on and write a profile with measured ceilings.

CPU (always), modelled as a CPU (engine/cpu.py): square GEMMs through numpy's BLAS over a
range of sizes, fitted to eff = w / (w + half) with w the FLOPs per core (the large-GEMM
asymptote becomes the fp32 peak, `half` the calibration's cpu_gemm_half_flops); the
bandwidth of matrix-vector products over 11 layer-sized matrices, 272 MiB in all, far
more than the last-level cache (what a decode step does with its weights; each matrix its
own probe, so the figure is steadier between runs); a stream copy; the throughput of an
elementwise op; and the time of a tiny op (the per-op overhead). Every figure is the best
of several runs: on a shared machine the best run is the one least disturbed by others.
`quick` measures fewer GEMM sizes and runs each for less time, over the same ranges, so
it lands near the full run.

NVIDIA GPU (when PyTorch with CUDA is present): GEMMs in fp32 (TF32 off), tf32, bf16 and
fp16, a device copy, and the per-kernel time of a tiny op.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

# (steps done, steps in all, what) -> None: the progress hook (report/progress.py draws it)
Progress = Callable[[int, int, str], None] | None

FULL_SIZES = (64, 128, 256, 512, 1024, 2048)
QUICK_SIZES = (128, 512, 1024)
STREAM_BYTES = 256 * 2**20  # at least 8x any last-level cache of a machine this runs on


def threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def fit_gemm(points: list[tuple[int, float]], cores: int) -> tuple[float, float]:
    """(asymptotic FLOP/s P, FLOPs per core `half`) of achieved(n) = P w / (w + half),
    w = 2 n^3 / cores, minimising the squared relative error over the sweep (P in closed
    form for each `half` on a log grid). A BLAS GEMM is never less efficient than a
    smaller square one, so each point is first raised to the best of the sizes below it:
    a large size disturbed by another process (on a shared machine it runs longest, so it
    is hit most) does not drag the asymptote down."""
    env: list[tuple[int, float]] = []
    for n, achieved in sorted(points):
        env.append((n, max(achieved, env[-1][1]) if env else achieved))
    w = np.array([2.0 * n**3 / cores for n, _ in env])
    rate = np.array([v for _, v in env])
    best = (float("inf"), float(rate.max()), 0.0)
    for half in np.concatenate([[0.0], np.logspace(2, 11, 361)]):
        g = (w / (w + half)) / rate
        p = float(g.sum() / (g * g).sum())
        err = float(((p * g - 1.0) ** 2).sum())
        if err < best[0]:
            best = (err, p, float(half))
    return best[1], best[2]


def _probe_rounds(
    probes: list[tuple[str, Callable[[], Any], int]], budget_s: float, min_rounds: int, step: Callable[[int, str], None]
) -> list[float]:
    """The best time of each probe over rounds that run every probe in turn (`reps` times
    back to back: small probes need their data back in cache after a big one flushed it),
    until `budget_s` has passed (at least `min_rounds`). Round-robin spreads each probe's
    runs over the whole measurement, so a quiet moment on a shared machine helps every
    probe rather than only the one that happened to run then."""
    for _, fn, _ in probes:
        fn()  # warm-up: page faults, BLAS thread start
    best = [float("inf")] * len(probes)
    start = time.perf_counter()
    rounds = 0
    while rounds < min_rounds or time.perf_counter() - start < budget_s:
        for i, (_, fn, reps) in enumerate(probes):
            for _ in range(reps):
                t = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t)
        rounds += 1
        step(rounds, f"round {rounds}")
        if rounds >= 1000:
            break
    return best


def measure_cpu(
    quick: bool = False,
    on_progress: Progress = None,
    sizes: tuple[int, ...] | None = None,
    budget_s: float | None = None,
    scale: int = 1,
) -> dict[str, Any]:
    """The measurements (see the module docstring). `scale` divides the memory probes'
    sizes (tests run them small; a real calibration keeps 1)."""
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    budget = budget_s if budget_s is not None else (3.0 if quick else 8.0)
    min_rounds = 3
    t_start = time.perf_counter()

    def step(rounds: int, what: str) -> None:
        if on_progress is not None:
            # rounds run until the time budget is spent, and at least min_rounds
            frac = max((time.perf_counter() - t_start) / budget if budget > 0 else 0.0, rounds / min_rounds)
            on_progress(min(int(100 * frac), 99), 100, what)

    rng = np.random.default_rng(0)
    cores = threads()
    mats = {
        n: (rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)) for n in sizes
    }
    n64 = max(s for s in sizes if s <= 1024)
    a64 = rng.standard_normal((n64, n64))
    # matrix-vector products over layer-sized matrices (4-64 MiB, 272 MiB in all, far more
    # than the caches hold): what an LLM decode step does with its weights, one BLAS call
    # per matrix, each streamed once
    shapes = [(2048 // scale, c) for c in (512, 512, 512, 512, 2048, 2048, 2048, 2048, 8192, 8192)]
    shapes.append((8192 // scale, 2048))
    mats_v = [np.ones(s, dtype=np.float32) for s in shapes]
    vecs = {r: np.ones(r, dtype=np.float32) for r, _ in shapes}
    gemv_bytes = sum(m.nbytes for m in mats_v)

    def gemv(m: np.ndarray) -> Callable[[], Any]:
        return lambda: vecs[m.shape[0]] @ m

    src = np.ones(STREAM_BYTES // 4 // scale, dtype=np.float32)
    dst = np.empty_like(src)
    e1 = np.ones(65536, dtype=np.float32)  # 256 KiB: in cache, so the rate is compute's
    e2 = np.ones_like(e1)
    out = np.empty_like(e1)
    t1, t2 = np.ones((1, 64), dtype=np.float32), np.ones((64, 64), dtype=np.float32)

    def matmul(a: np.ndarray, b: np.ndarray) -> Callable[[], Any]:
        return lambda: a @ b

    probes: list[tuple[str, Callable[[], Any], int]] = [
        (f"fp32 GEMM {n}", matmul(a, b), 3 if n <= 256 else 1) for n, (a, b) in mats.items()
    ]
    probes += [
        (f"fp64 GEMM {n64}", lambda: a64 @ a64, 1),
        # each matrix its own probe: its best pass counts, whenever it came
        *((f"matrix-vector {i}", gemv(m), 1) for i, m in enumerate(mats_v)),
        ("copy", lambda: np.copyto(dst, src), 1),
        ("elementwise", lambda: np.multiply(e1, e2, out=out), 20),
        ("tiny op", lambda: t1 @ t2, 50),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    best = _probe_rounds(probes, budget, min_rounds, step)
    gemm = [(n, 2 * n**3 / t) for n, t in zip(sizes, best)]
    rest = dict(zip((name for name, _, _ in probes[len(sizes) :]), best[len(sizes) :]))
    peak, half = fit_gemm(gemm, cores)
    if on_progress is not None:
        on_progress(100, 100, "done")
    return {
        "threads": cores,
        "load_before": load,
        "gemm": {"fp32": gemm},
        "gemm_peak": peak,
        "gemm_half_flops": half,
        "fp64_flops": 2 * n64**3 / rest[f"fp64 GEMM {n64}"],
        "gemv_bandwidth": gemv_bytes / sum(rest[f"matrix-vector {i}"] for i in range(len(mats_v))),
        "stream_bandwidth": 2 * src.nbytes / rest["copy"],
        "elementwise_flops": e1.size / rest["elementwise"],
        "op_overhead_s": rest["tiny op"],
    }


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

    def timed(fn: Callable[[], Any], reps: int = 10) -> float:
        start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]  # torch leaves Event untyped
        end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        ts = []
        for _ in range(reps):
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            ts.append(float(start.elapsed_time(end)) / 1e3)
        ts.sort()
        return ts[len(ts) // 2]

    gemm: dict[str, list[tuple[int, float]]] = {}
    for name, dt in dts.items():
        torch.backends.cuda.matmul.allow_tf32 = name == "tf32"
        rows = []
        for n in sizes:
            a = torch.randn(n, n, device=dev, dtype=dt)
            b = torch.randn(n, n, device=dev, dtype=dt)
            rows.append((n, 2 * n**3 / timed(partial(torch.matmul, a, b))))
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
    header = [
        f"Measured by `costmodel calibrate` on {today} ({platform.platform()}, numpy {np.__version__}).",
        "[calibration] holds the efficiency the measurements imply for the engine"
        + (
            " (engine/cpu.py: a CPU is modelled as a CPU; docs/cpu.md)."
            if gpu is None
            else "; peaks are the sweep's best."
        ),
    ]
    if gpu is None:
        c = cpu
        sweep = ", ".join(f"{n}: {a / 1e9:.3g}" for n, a in c["gemm"]["fp32"])
        busy = (
            " (busy: figures may be pessimistic; rerun on a quiet machine)"
            if c["load_before"] > 0.5 * c["threads"]
            else ""
        )
        header += [
            f"fp32 GEMM GFLOP/s by size ({c['threads']} threads): {sweep}",
            f"load average when measuring started: {c['load_before']:.2f} on {c['threads']} cores{busy}",
            f"matrix-vector {c['gemv_bandwidth'] / 1e9:.3g} GB/s, copy {c['stream_bandwidth'] / 1e9:.3g} GB/s,"
            f" elementwise {c['elementwise_flops'] / 1e9:.3g} GFLOP/s, tiny op {c['op_overhead_s'] * 1e6:.3g} us",
            "[vector] fp32: the large-GEMM asymptote of the sweep; fp64: the best GEMM measured",
        ]
    text = "".join(f"# {_comment(line)}\n" for line in header)
    return text + tomli_w.dumps(profile_data(name, cpu, gpu, today))


def _comment(text: str) -> str:
    """One comment line: platform strings are the machine's, not ours to trust."""
    return " ".join(text.split())[:300]


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
    c = cpu
    bw = max(c["gemv_bandwidth"], c["stream_bandwidth"])
    fp32 = c["gemm_peak"]
    d["display_name"] = f"{platform.processor() or platform.machine()} (measured, {c['threads']} threads)"
    d["kind"] = "cpu"
    d["vector"] = {"fp32_gflops": _g(fp32 / 1e9), "fp64_gflops": _g(c["fp64_flops"] / 1e9)}
    d["memory"] = {"capacity_GiB": _g(_total_memory() / 2**30), "bandwidth_GBps": _g(bw / 1e9)}
    d["compute"] = {"units": int(c["threads"]), "unit_name": "core"}
    d["calibration"] = {
        "date": today,
        "software": f"numpy {np.__version__}",
        "method": "best wall time of numpy square GEMMs (fit w/(w+half), w = FLOPs per core), matrix-vector"
        " products over 11 layer-sized matrices (272 MiB), a 256 MiB copy, an in-cache multiply, a tiny matmul",
        "gemm_fraction": {"fp32": 1.0, "fp64": 1.0},
        "cpu_gemm_half_flops": _g(c["gemm_half_flops"]),
        "gemm_bandwidth_fraction": _g(c["gemv_bandwidth"] / bw),
        "stream_bandwidth_fraction": _g(c["stream_bandwidth"] / bw),
        "vector_fraction": _g(min(1.0, c["elementwise_flops"] / fp32)),
        "kernel_overhead_s": _g(c["op_overhead_s"]),
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


def calibrate(
    name: str = "local", quick: bool = False, use_gpu: bool = True, on_progress: Progress = None
) -> tuple[str, dict[str, Any]]:
    """Measure this machine; return the profile TOML text and the raw measurements.
    `on_progress(done, total, what)` is called after each measurement."""
    cpu = measure_cpu(quick=quick, on_progress=on_progress)
    gpu = measure_gpu(quick=quick) if use_gpu else None
    return profile_toml(name, cpu, gpu), {"cpu": cpu, "gpu": gpu}


def gpu_measurements(gpu: dict[str, Any], source: str = "costmodel calibrate") -> list[Any]:
    """The GPU sweep of measure_gpu() as canonical measurement rows (the format
    `costmodel calibrate --from` reads back): square GEMMs per dtype, the device copy and
    the tiny-op time, each timed with CUDA events around one eager call."""
    from .measurements import make

    device = str(gpu.get("name", "GPU"))
    cond = {"torch": str(gpu.get("torch", "")), "matmul_tf32": "off"}
    rows = []
    for name, sweep in gpu["gemm"].items():
        for n, rate in sweep:
            c = dict(cond, matmul_tf32="on" if name == "tf32" else "off")
            shape = {"batch": 1, "m": n, "n": n, "k": n}
            rows.append(make("matmul", shape, name, 2 * n**3 / rate, device, "", source, "eager", c))
    copy_bytes = 256 * 2**20  # measure_gpu copies a 256 MiB uint8 buffer
    rows.append(
        make(
            "copy",
            {"numel": copy_bytes},
            "int8",
            2 * copy_bytes / gpu["stream_bandwidth"],
            device,
            "",
            source,
            "eager",
            cond,
        )
    )
    rows.append(make("mul_scalar", {"numel": 1}, "fp32", gpu["kernel_s"], device, "", source, "eager", cond))
    return rows
