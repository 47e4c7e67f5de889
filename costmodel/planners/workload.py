"""Cost and time of one workload (a prefill, a decode step, a forward pass) of a spec:
lower to segments, analyse each distinct layer once, time it on the hardware, scale by
the number of layers it stands for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..analysis import analyze_graph
from ..engine.latency import graph_latency, repeated_band
from ..frontends.lower import SHARED_WEIGHTS, Logits, Lowered, Phase, Segment, Workload, lower
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import DecodeState
from ..ir.dtypes import dtype as to_dtype
from ..ops.cost import ZERO, Cost
from ..symbolic import norm
from .layout import require_positive

__all__ = ["SegmentResult", "WorkloadResult", "param_count", "require_positive", "run_workload"]


@dataclass(frozen=True)
class SegmentResult:
    name: str
    layers: Sequence[int]  # the layer indices this segment stands for (none: embed / head)
    cost: Any  # Cost per copy
    time_s: float | None  # per copy
    kernels: int
    compute_s: float = 0.0
    memory_s: float = 0.0
    overhead_s: float = 0.0
    peak_activation_bytes: Any = 0
    weight_bytes: Any = 0  # per copy, every weight the segment reads (shared ones included)
    shared_bytes: Any = 0  # of which weights shared with other segments (tied embeddings)
    by_type: dict[str, float] = field(default_factory=dict)

    @property
    def repeat(self) -> int:
        return len(self.layers) or 1


@dataclass(frozen=True)
class WorkloadResult:
    workload: Workload
    segments: tuple[SegmentResult, ...]
    cost: Any  # Cost of the whole workload
    params: Any
    weight_bytes: Any  # shared weights counted once
    latency_s: float | None
    kernels: int
    peak_activation_bytes: Any
    unsupported: tuple[Any, ...] = ()
    lowered: Lowered | None = None
    band: tuple[float, float] | None = None  # 80% prediction interval of latency_s

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

    def stage_sum(self, attr: str, layers: Sequence[int], first: bool, last: bool) -> float:
        """A per-copy segment quantity (e.g. "weight_bytes", "kernels") summed over one
        pipeline stage of a stack model: its layers, the embedding on the first stage,
        the head on the last. The head keeps its own copy of a tied embedding table (as
        Megatron-LM does), so only a stage that is both first and last counts it once."""
        mine = set(layers)
        total = 0.0
        for k, s in enumerate(self.segments):
            n = len(mine.intersection(s.layers)) if s.layers else int((k == 0 and first) or (k > 0 and last))
            total += float(getattr(s, attr)) * n
        if attr == "weight_bytes" and first and last:
            return float(self.weight_bytes)
        return total

    def stage_cost(self, layers: Sequence[int], first: bool, last: bool) -> tuple[float, float]:
        """(FLOPs, bytes) of one pipeline stage (see stage_sum)."""
        mine = set(layers)
        f = b = 0.0
        for k, s in enumerate(self.segments):
            n = len(mine.intersection(s.layers)) if s.layers else int((k == 0 and first) or (k > 0 and last))
            f += float(s.cost.flops) * n
            b += float(s.cost.bytes) * n
        return f, b


def _shared(seg: Segment) -> tuple[int, int]:
    """(elements, bytes) of the shared weights a segment reads."""
    n = b = 0
    for name in SHARED_WEIGHTS:
        init = seg.graph.initializers.get(name)
        if init is None:
            continue
        k = 1
        for d in init.shape:
            k *= d
        n += k
        b += init.dtype.nbytes(k)
    return n, b


def run_workload(
    spec: ModelSpec,
    wl: Workload,
    hardware: Any = None,
    *,
    layers: Sequence[int] | None = None,
    embed: bool = True,
    head: bool = True,
    dispatch: str = "graph",
    runtime: str = "none",
    mode: str = "calibrated",
    calibration: Any = None,
) -> WorkloadResult:
    """The workload over the whole model, or over `layers` (with or without the
    embedding and head): analysed as `runtime` runs it (passes/runtimes.py), and timed
    when `hardware` is given with the engine's `dispatch` mode ("graph" replay or
    "eager" host dispatch)."""
    lowered = lower(spec, wl, layers, embed=embed, head=head)
    total = ZERO
    params: Any = 0
    wbytes: Any = 0
    latency: float | None = 0.0 if hardware is not None else None
    kernels = 0
    peak: Any = 0
    results = []
    uns: list[Any] = []
    seen = False
    timed = []
    for seg in lowered:
        gc = analyze_graph(seg.graph, runtime=runtime)
        uns.extend(gc.unsupported)
        shared_n, shared_b = _shared(seg)
        # a shared table read by an earlier segment is not a new parameter
        dup_n, dup_b = (shared_n, shared_b) if seen and shared_n else (0, 0)
        seen = seen or bool(shared_n)
        t = None
        kern = 0
        c = m = o = 0.0
        by_type: dict[str, float] = {}
        if hardware is not None:
            gt = graph_latency(gc, hardware, mode=mode, execution=dispatch, calibration=calibration)
            t, kern, c, m, o = gt.latency_s, gt.kernels, gt.compute_s, gt.memory_s, gt.overhead_s
            by_type = gt.by_type()
            timed.append((gc, gt, seg.repeat))
            latency = (latency or 0.0) + t * seg.repeat
            kernels += kern * seg.repeat
        total = total + gc.total.scale(seg.repeat)
        params = norm(params + norm(gc.params - dup_n) * seg.repeat)
        wbytes = norm(wbytes + norm(gc.weight_bytes - dup_b) * seg.repeat)
        peak = peak if _lt(gc.peak_activation_bytes, peak) else gc.peak_activation_bytes
        results.append(
            SegmentResult(
                seg.name,
                seg.layers,
                gc.total,
                t,
                kern,
                c,
                m,
                o,
                gc.peak_activation_bytes,
                gc.weight_bytes,
                shared_b,
                by_type,
            )
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
    band = repeated_band(timed, hardware, calibration) if hardware is not None else None
    return WorkloadResult(
        wl, tuple(results), total, params, wbytes, latency, kernels, peak, tuple(uns), lowered, band=band
    )


def _lt(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:
        return False


@lru_cache(maxsize=256)
def param_count(spec: ModelSpec) -> int:
    """Parameters of the model (exact): the weights of its lowered prefill graph."""
    r = run_workload(spec, Workload(Phase.PREFILL, 1, 2, 0, Logits.LAST, to_dtype("bf16")))
    return int(r.params)


def request_flops(spec: ModelSpec, prompt: int, output: int) -> tuple[int, int]:
    """(FLOPs, MACs) of one request of one sequence, from the graph: an encoder's
    forward over the prompt; a generator's prefill (which yields the first token) plus
    output - 1 decode steps. A decode step's cost is linear in its context (attention;
    constant for a recurrent state), so the steps sum exactly from two of them."""
    arch = spec.arch
    if not arch.generates:
        r = run_workload(spec, Workload(Phase.FORWARD, 1, prompt, 0, Logits.NONE))
        return int(r.cost.flops), int(r.cost.macs)
    if output == 0:
        r = run_workload(spec, Workload(Phase.PREFILL, 1, prompt, 0, Logits.NONE))
        return int(r.cost.flops), int(r.cost.macs)
    pre = run_workload(spec, Workload(Phase.PREFILL, 1, prompt, 0, Logits.LAST))
    flops, macs = int(pre.cost.flops), int(pre.cost.macs)
    steps = output - 1
    if steps:
        if arch.decode is DecodeState.CROSS:  # past: generated tokens; the encoder states are the prompt

            def step(j: int) -> Workload:
                return Workload(Phase.DECODE, 1, 1, j, Logits.LAST, encoder_len=prompt)

            first = 1
        else:

            def step(j: int) -> Workload:
                return Workload(Phase.DECODE, 1, 1, j, Logits.LAST)

            first = prompt
        a, b = (run_workload(spec, step(first + j)).cost for j in (0, 1))
        df, dm = int(b.flops) - int(a.flops), int(b.macs) - int(a.macs)
        # sum_{j<steps} (a + j d) = steps a + d steps (steps - 1) / 2
        flops += steps * int(a.flops) + df * steps * (steps - 1) // 2
        macs += steps * int(a.macs) + dm * steps * (steps - 1) // 2
    return flops, macs
