"""Cost and time of one workload (a prefill, a decode step, a forward pass) of a spec:
lower to segments, analyse each distinct layer once, time it on the hardware, scale by
the layer count."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..analysis import analyze_graph
from ..engine.latency import graph_latency
from ..frontends.lower import Segment, Workload, lower
from ..frontends.spec import ModelSpec
from ..ops.cost import ZERO, Cost
from ..symbolic import norm


def require_positive(**options: Any) -> None:
    """Planner options that must be positive integers (booleans are not integers here);
    the error names the CLI flag."""
    from ..errors import PlanError

    for name, v in options.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise PlanError(f"--{name.replace('_', '-')} must be a positive integer, got {v!r}")


@dataclass(frozen=True)
class SegmentResult:
    name: str
    repeat: int
    cost: Cost  # per copy
    time_s: float | None  # per copy
    kernels: int
    compute_s: float = 0.0
    memory_s: float = 0.0
    overhead_s: float = 0.0
    peak_activation_bytes: Any = 0
    weight_bytes: Any = 0
    by_type: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkloadResult:
    workload: Workload
    segments: tuple[SegmentResult, ...]
    cost: Cost
    params: Any
    weight_bytes: Any
    latency_s: float | None
    kernels: int
    peak_activation_bytes: Any
    unsupported: tuple = ()

    @property
    def flops(self) -> Any:
        return self.cost.flops

    @property
    def bytes(self) -> Any:
        return self.cost.bytes

    def time_by_type(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.segments:
            for k, v in s.by_type.items():
                out[k] = out.get(k, 0.0) + v * s.repeat
        return out


SHARED = ("embed_tokens.weight",)  # one tensor read by several segments (tied / shared embeddings)


def _shared_seen(seg: Segment, seen: set[str]) -> tuple[int, int]:
    """(elements, bytes) of shared weights this segment reads that an earlier one counted."""
    n = b = 0
    for name in SHARED:
        init = seg.graph.initializers.get(name)
        if init is None:
            continue
        if name in seen:
            k = 1
            for d in init.shape:
                k *= d
            n += k
            b += init.dtype.nbytes(k)
        seen.add(name)
    return n, b


def run_workload(
    spec: ModelSpec,
    wl: Workload,
    hardware: Any = None,
    *,
    execution: str = "graph",
    fusion: str = "none",
    mode: str = "calibrated",
    calibration: Any = None,
) -> WorkloadResult:
    segs = lower(spec, wl)
    total = ZERO
    params: Any = 0
    wbytes: Any = 0
    latency: float | None = 0.0 if hardware is not None else None
    kernels = 0
    peak: Any = 0
    results = []
    uns: list = []
    seen: set[str] = set()
    for seg in segs:
        gc = analyze_graph(seg.graph)
        uns.extend(gc.unsupported)
        dup_n, dup_b = _shared_seen(seg, seen)
        p = norm(gc.params - dup_n)
        wb = norm(gc.weight_bytes - dup_b)
        t = None
        kern = 0
        c = m = o = 0.0
        by_type: dict[str, float] = {}
        if hardware is not None:
            gt = graph_latency(gc, hardware, mode=mode, fusion=fusion, execution=execution, calibration=calibration)
            t, kern, c, m, o = gt.latency_s, gt.kernels, gt.compute_s, gt.memory_s, gt.overhead_s
            by_type = gt.by_type()
            latency = (latency or 0.0) + t * seg.repeat
            kernels += kern * seg.repeat
        total = total + gc.total.scale(seg.repeat)
        params = norm(params + p * seg.repeat)
        wbytes = norm(wbytes + wb * seg.repeat)
        peak = peak if _lt(gc.peak_activation_bytes, peak) else gc.peak_activation_bytes
        results.append(
            SegmentResult(seg.name, seg.repeat, gc.total, t, kern, c, m, o, gc.peak_activation_bytes, wb, by_type)
        )
    total = Cost(
        total.flops,
        total.macs,
        total.transcendentals,
        total.read_weights,
        total.read_activations,
        total.read_kv,
        total.write_activations,
        total.write_kv,
        params,
    )
    return WorkloadResult(wl, tuple(results), total, params, wbytes, latency, kernels, peak, tuple(uns))


def _lt(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:
        return False


@lru_cache(maxsize=256)
def param_count(spec: ModelSpec) -> int:
    """Parameters of the model (exact): the weights of its lowered prefill graph."""
    from ..ir.dtypes import dtype

    r = run_workload(spec, Workload("prefill", 1, 2, 0, "last", dtype("bf16")))
    return int(r.params)
