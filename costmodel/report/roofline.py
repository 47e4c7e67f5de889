"""The roofline: every timed op placed by arithmetic intensity (FLOP/B) and attained
FLOP/s, against the roof of the unit and dtype it runs on. Convolutions in fp32 run as
TF32 under PyTorch's default (engine/roofline.matrix_dtype), so they are drawn against
the TF32 matrix roof, elementwise work against the vector roof of its dtype. Ops that
move bytes but do no arithmetic (0 FLOP: reshapes, gathers, copies) have no place on a
log axis; they are counted in the summary instead of being drawn."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Chart, Column, Document, Field, KeyValues, Section, Series, Table

BOUND_MARKERS = {"compute": "C", "memory": "M", "overhead": "o"}


@dataclass(frozen=True)
class OpPoint:
    name: str
    op_type: str
    roof: str  # "matrix tf32", "vector bf16", ...
    flops: float
    bytes: float
    time_s: float
    bound: str
    why: str = ""  # which term bounds the kernel, in words (why_bound)
    band: tuple[float, float] | None = None  # 80% prediction interval of time_s

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes

    @property
    def flops_per_s(self) -> float:
        return self.flops / self.time_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op_type": self.op_type,
            "intensity": self.intensity,
            "flops_per_s": self.flops_per_s,
            "time_s": self.time_s,
            "bound": self.bound,
            "why": self.why,
            "latency_band_s": list(self.band) if self.band else None,
            "roof": self.roof,
            "flops": self.flops,
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class Roofline:
    hardware: str
    bandwidth: float
    roofs: dict[str, float]  # roof label -> peak FLOP/s
    main: str  # the roof of the model's dtype (matrix unit)
    points: tuple[OpPoint, ...]
    memory_only: int  # timed ops with bytes but no FLOPs (not drawn)
    memory_only_s: float

    @property
    def peak(self) -> float:
        return self.roofs[self.main]

    @property
    def ridge(self) -> float:
        return self.peak / self.bandwidth


def roof_of(node: Any, hw: Any, cal: Any) -> tuple[str, float]:
    """(label, peak FLOP/s) of the unit and dtype a node runs on, as the engine times it."""
    from ..engine.roofline import MATRIX_KINDS, matrix_dtype

    dt = node.dtype or "fp32"
    if node.kind in MATRIX_KINDS and node.cost.macs:
        mdt = matrix_dtype(node, cal)
        return f"matrix {mdt}", hw.matrix_peak(mdt)
    return f"vector {dt}", hw.vector_peak(dt)


def why_bound(t: Any, peak: float, bandwidth: float) -> str:
    """Which term bounds a kernel and by how much, in words: the compute time at its
    attained fraction of the roof's peak, the memory time at its fraction of the
    bandwidth, or the per-kernel launch/dispatch overhead that exceeds both."""
    if t.bound == "overhead":
        return f"launch {t.overhead_s * 1e6:.1f} us > kernel {max(t.compute_s, t.memory_s) * 1e6:.1f} us"
    if t.bound == "compute" and t.compute_s > 0 and peak:
        return f"{t.flops / t.compute_s / peak:.0%} of peak"
    if t.bound == "memory" and t.memory_s > 0 and bandwidth:
        return f"{t.bytes / t.memory_s / bandwidth:.0%} of bandwidth"
    return str(t.bound)


def from_ops(ops: Iterable[Any], timings: Iterable[Any], hw: Any, main_dtype: str) -> Roofline:
    from ..engine.calibration import for_profile

    cal = for_profile(hw)
    roofs: dict[str, float] = {}
    pts: list[OpPoint] = []
    mem_only, mem_s = 0, 0.0
    for n, t in zip(ops, timings):
        if not t.time_s or not t.bytes:
            continue
        if not t.flops:
            mem_only += 1
            mem_s += t.time_s
            continue
        label, peak = roof_of(n, hw, cal)
        roofs[label] = peak
        pts.append(
            OpPoint(
                n.name,
                n.op_type,
                label,
                float(t.flops),
                float(t.bytes),
                t.time_s,
                t.bound,
                why_bound(t, peak, float(hw.memory_bandwidth)),
                getattr(t, "band", None),
            )
        )
    main = f"matrix {main_dtype}"
    roofs.setdefault(main, hw.matrix_peak(main_dtype))
    return Roofline(hw.name, float(hw.memory_bandwidth), roofs, main, tuple(pts), mem_only, mem_s)


def of_report(report: Any) -> Roofline:
    dt = report.dtype or next((n.dtype for n in report.ops if n.dtype), None) or "fp32"
    return from_ops(report.ops, report.timing.nodes, report.hardware, dt)


def chart(rl: Roofline, title: str, key: str = "roofline") -> Chart:
    xs = [p.intensity for p in rl.points] or [rl.ridge]
    lo = min(min(xs), min(pk / rl.bandwidth for pk in rl.roofs.values())) / 4
    hi = max(max(xs), max(pk / rl.bandwidth for pk in rl.roofs.values())) * 4
    series = []
    same: dict[float, list[str]] = {}  # roofs at the same height are one line
    for label, peak in sorted(rl.roofs.items(), key=lambda kv: -kv[1]):
        same.setdefault(peak, []).append(label)
    for peak, labels in same.items():
        ridge = peak / rl.bandwidth
        series.append(
            Series(
                f"roof: {', '.join(labels)}", (lo, ridge, hi), (rl.bandwidth * lo, peak, peak), mode="lines", marker="."
            )
        )
    for bound, marker in BOUND_MARKERS.items():
        sel = [p for p in rl.points if p.bound == bound]
        if sel:
            series.append(
                Series(
                    f"{bound}-bound ops",
                    tuple(p.intensity for p in sel),
                    tuple(p.flops_per_s for p in sel),
                    labels=tuple(f"{p.name} ({p.op_type}, {p.roof})" for p in sel),
                    marker=marker,
                )
            )
    return Chart(key, title, "arithmetic intensity (FLOP/byte)", "attained FLOP/s", tuple(series), True, True)


def points_table(rl: Roofline, top: int | None = None, key: str = "roofline_ops", title: str = "") -> Table:
    pts = sorted(rl.points, key=lambda p: -p.time_s)
    shown = pts if top is None else pts[:top]
    cols = (
        Column("name", "op", "text", 0, elide=True),
        Column("op_type", "type", "text", 2),
        Column("roof", "roof", "text", 3),
        Column("intensity", "FLOP/B", "number", 1),
        Column("flops_per_s", "attained", "rate", 0, "FLOP/s"),
        Column("peak_fraction", "of roof", "percent", 2),
        Column("time_s", "time", "seconds", 1),
        Column("bound", "bound", "text", 1),
        Column("why", "why", "text", 2),
    )
    rows = tuple(
        (
            p.name,
            p.op_type,
            p.roof,
            p.intensity,
            p.flops_per_s,
            p.flops_per_s / min(rl.roofs[p.roof], rl.bandwidth * p.intensity),
            p.time_s,
            p.bound,
            p.why,
        )
        for p in shown
    )
    note = (
        f"{len(pts) - len(shown)} more ops not listed (all with --top {len(pts)} or --format csv|html)"
        if len(shown) < len(pts)
        else ""
    )
    return Table(key, title or f"slowest ops ({len(shown)} of {len(pts)})", cols, rows, note=note)


def summary(rl: Roofline, hardware_name: str) -> KeyValues:
    fields = [Field("hardware", "hardware", hardware_name)]
    for label, peak in sorted(rl.roofs.items(), key=lambda kv: -kv[1]):
        fields.append(Field(f"peak {label}", f"roof {label}", peak, "rate", "FLOP/s"))
    fields += [
        Field("bandwidth", "memory bandwidth", rl.bandwidth, "rate", "B/s"),
        Field("ridge", f"ridge ({rl.main})", rl.ridge, "number", "FLOP/B"),
        Field("ops", "ops drawn", len(rl.points), "count"),
        Field("memory_only_ops", "0-FLOP ops (not drawn)", rl.memory_only, "count"),
        Field("memory_only_s", "time in 0-FLOP ops", rl.memory_only_s, "seconds"),
    ]
    return KeyValues("roofline_summary", "roofline", tuple(fields))


def document(report: Any, top: int | None = None) -> Document:
    rl = of_report(report)
    dt = rl.main.split()[-1]
    bound = ", ".join(f"{k}={v}" for k, v in sorted(report.bindings.items()))
    at = f" ({bound})" if bound else ""
    title = f"roofline: {report.model}{at} on {report.hardware.display_name} ({dt})"
    data = {
        "schema_version": 1,
        "model": report.model,
        "hardware": report.hardware.name,
        "bindings": dict(sorted(report.bindings.items())),
        "dtype": dt,
        "ridge": rl.ridge,
        "peak": rl.peak,
        "bandwidth": rl.bandwidth,
        "roofs": rl.roofs,
        "memory_only_ops": rl.memory_only,
        "ops": [p.to_dict() for p in rl.points],
    }
    sec = Section("", (summary(rl, report.hardware.display_name), chart(rl, title), points_table(rl, top)))
    return Document(title, "roofline", (sec,), data, csv_blocks=("roofline_ops",))


# -- static plots (matplotlib) ---------------------------------------------------------


def plot_bytes(ch: Chart, suffix: str) -> bytes:
    """A Chart as PNG or SVG bytes: log axes as declared, both y axes labelled, roofs as
    lines, points by series, the slowest labelled points named."""
    import io

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from ..errors import CostModelError

        raise CostModelError("--plot needs matplotlib (pip install 'costmodel[plot]')") from None
    from .cells import elide
    from .text import inert

    fig, ax = plt.subplots(figsize=(8, 5))
    ax2 = None
    handles = []
    for i, s in enumerate(ch.series):
        target = ax
        if s.axis == "y2":
            if ax2 is None:
                ax2 = ax.twinx()
                ax2.set_ylabel(inert(ch.y2_label))
                if ch.y2_log:
                    ax2.set_yscale("log")
            target = ax2
        style = "-" if s.mode == "lines" else ("o-" if "lines" in s.mode else "o")
        kw: dict[str, Any] = {"label": inert(s.name), "color": f"C{i % 10}"}
        if s.mode == "markers":
            (h,) = target.plot(s.x, s.y, "o", ms=4, alpha=0.8, **kw)
        else:
            (h,) = target.plot(s.x, s.y, style, lw=1.5, ms=4, **kw)
        handles.append(h)
    if ch.x_log:
        ax.set_xscale("log")
    if ch.y_log:
        ax.set_yscale("log")
    # name the points that stand out: the highest, one label per spot (repeated layers
    # put many ops on the same spot)
    import math

    spots: set[tuple[float, float]] = set()
    labelled = [(y, x, lab) for s in ch.series if s.labels for x, y, lab in zip(s.x, s.y, s.labels)]
    for y, x, lab in sorted(labelled, key=lambda t: -t[0]):
        if len(spots) >= 6 or x <= 0 or y <= 0:
            break
        spot = (round(math.log10(x), 1), round(math.log10(y), 1))
        if spot in spots:
            continue
        spots.add(spot)
        ax.annotate(elide(inert(lab.split(" (")[0]), 28), (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(inert(ch.x_label))
    ax.set_ylabel(inert(ch.y_label))
    ax.set_title(inert(ch.title), fontsize=10)
    ax.legend(handles=handles, fontsize=7, loc="best")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=suffix.lstrip(".").lower())
    plt.close(fig)
    return buf.getvalue()


def write_plot(ch: Chart, path: str, inputs: Sequence[str] = ()) -> None:
    """Refuse a bad target before drawing, then write the image as one transaction."""
    from .files import check_output_path, write_atomic

    p = check_output_path(path, inputs=inputs, suffixes=(".png", ".svg"), what="plot")
    write_atomic(p, plot_bytes(ch, p.suffix), inputs=inputs, suffixes=(".png", ".svg"), what="plot")
