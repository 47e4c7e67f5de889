"""The roofline: every op placed by arithmetic intensity and attained FLOP/s, against the
device's compute roof (dtype of the model) and memory slope. Terminal rendering with
rich, optional matplotlib plot."""

from __future__ import annotations

import math
from typing import Any

from .fmt import si


def points(report: Any) -> dict[str, Any]:
    hw = report.hardware
    dt = report.dtype or next((n.dtype for n in report.ops if n.dtype), "fp32")
    peak = hw.matrix_peak(dt)
    bw = hw.memory_bandwidth
    ops = []
    for n, t in zip(report.ops, report.timing.nodes):
        if not t.time_s or not t.bytes:
            continue
        ops.append(
            {
                "name": n.name,
                "op_type": n.op_type,
                "intensity": t.flops / t.bytes,
                "flops_per_s": t.flops / t.time_s,
                "time_s": t.time_s,
                "bound": t.bound,
                "why": why(t, peak, bw),
                "latency_band_s": list(t.band) if getattr(t, "band", None) else None,
            }
        )
    return {"peak": peak, "bandwidth": bw, "ridge": peak / bw, "dtype": dt, "ops": ops}


def why(t: Any, peak: float, bw: float) -> str:
    """Which term bounds a kernel and by how much, in words: the compute time at its
    attained fraction of the peak, the memory time at its fraction of the bandwidth, or
    the per-kernel launch/dispatch overhead that exceeds both."""
    if t.bound == "overhead":
        return f"launch {t.overhead_s * 1e6:.1f} us > kernel {max(t.compute_s, t.memory_s) * 1e6:.1f} us"
    if t.bound == "compute" and t.compute_s > 0:
        return f"{t.flops / t.compute_s / peak:.0%} of peak"
    if t.bound == "memory" and t.memory_s > 0:
        return f"{t.bytes / t.memory_s / bw:.0%} of bandwidth"
    return t.bound


def render(report: Any, pts: dict[str, Any], console: Any, width: int = 64, height: int = 18) -> None:
    """A log-log character plot: roof line ('-' and '/'), ops as letters by bound."""
    from rich.table import Table

    ops = pts["ops"]
    if not ops:
        console.print("no timed ops")
        return
    xs = [math.log10(max(o["intensity"], 1e-3)) for o in ops]
    x0, x1 = min(min(xs), math.log10(pts["ridge"]) - 1), max(max(xs), math.log10(pts["ridge"]) + 1)
    y1 = math.log10(pts["peak"]) + 0.2
    y0 = y1 - 6
    grid = [[" "] * width for _ in range(height)]

    def cell(x: float, y: float) -> tuple[int, int]:
        c = int((x - x0) / (x1 - x0) * (width - 1))
        r = int((y1 - y) / (y1 - y0) * (height - 1))
        return max(0, min(height - 1, r)), max(0, min(width - 1, c))

    for c in range(width):
        x = x0 + (x1 - x0) * c / (width - 1)
        roof = min(math.log10(pts["peak"]), math.log10(pts["bandwidth"]) + x)
        r, cc = cell(x, roof)
        grid[r][cc] = "-" if roof >= math.log10(pts["peak"]) else "/"
    for o, x in zip(ops, xs):
        r, c = cell(x, math.log10(max(o["flops_per_s"], 10**y0)))
        grid[r][c] = {"compute": "C", "memory": "M", "overhead": "o"}.get(o["bound"], ".")
    console.print(
        f"[bold]roofline[/] {report.hardware.display_name}, {pts['dtype']}: peak {si(pts['peak'], 'FLOP/s')}, "
        f"{si(pts['bandwidth'], 'B/s')}, ridge {pts['ridge']:.0f} FLOP/B   (C compute-, M memory-, "
        "o overhead-bound)"
    )
    console.print("\n".join("".join(row) for row in grid), markup=False)
    console.print(
        f"x: arithmetic intensity 10^{x0:.1f} .. 10^{x1:.1f} FLOP/B, y: attained 10^{y0:.1f} .. 10^{y1:.1f} FLOP/s"
    )
    t = Table(title="slowest ops", title_justify="left")
    for col in ("op", "type", "FLOP/B", "attained", "bound", "why"):
        t.add_column(col)
    for o in sorted(ops, key=lambda o: -o["time_s"])[:10]:
        t.add_row(
            o["name"], o["op_type"], f"{o['intensity']:.3g}", si(o["flops_per_s"], "FLOP/s"), o["bound"], o["why"]
        )
    console.print(t)


def plot(report: Any, pts: dict[str, Any], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from ..errors import CostModelError

        raise CostModelError("--plot needs matplotlib (pip install 'costmodel[plot]')") from None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [o["intensity"] for o in pts["ops"]] or [1.0]
    lo, hi = min(min(xs), pts["ridge"]) / 10, max(max(xs), pts["ridge"]) * 10
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    ax.loglog(grid, [min(pts["peak"], pts["bandwidth"] * x) for x in grid], "k-", lw=1.5, label="roofline")
    colors = {"compute": "C0", "memory": "C1", "overhead": "C3"}
    for bound, col in colors.items():
        sel = [o for o in pts["ops"] if o["bound"] == bound]
        if sel:
            ax.scatter([o["intensity"] for o in sel], [o["flops_per_s"] for o in sel], s=12, c=col, label=bound)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("attained FLOP/s")
    ax.set_title(f"{report.model} on {report.hardware.display_name}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
