"""Graph latency: per-kernel times and an execution mode.

The nodes of an analysed graph are the kernels its runtime launches (analysis.py with
`runtime=`: `none` prices each exported node as one kernel; `pytorch`, `torch-compile`,
`onnxruntime`, `tensorrt` and `vllm` price the fused kernels their rewrites make,
passes/runtimes.py). The runtime's dispatch facts (its default execution, whether a
convolution's bias is a kernel of its own) come from its record.

Execution modes
- "graph": kernels replayed back to back (CUDA graphs); each costs its GPU time plus a
  small per-kernel overhead.
- "eager": a framework dispatches each op from the host (a fixed host time per op
  kind) while the GPU drains its queue: a kernel starts once it is dispatched and the
  previous kernel has ended, so short kernels expose the host time and long ones hide it.
- "auto" (default): "eager" for microbenchmark-sized graphs (at most 8 kernels, the way
  single ops are timed with CUDA events around a framework call), else "graph".

`fusion` (none | elementwise | flash) was this module's own grouping of nodes into
kernels; runtimes replaced it: elementwise and flash now mean `runtime="torch-compile"`
(api.py and the CLI translate them; here only "none" is accepted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

from ..analysis import GraphCost, NodeCost, NodeStatus
from ..errors import CostModelError
from ..ir.dtypes import dtype as to_dtype
from ..ops.kernel import ConvShape
from ..ops.registry import OpKind
from ..passes.runtimes import get_runtime
from ..symbolic import Shape, prod
from . import kernels as K
from . import uncertainty
from .calibration import Calibration, for_profile
from .cpu import is_cpu
from .device import Device
from .modes import Execution, Fusion, Mode, parse_execution, parse_fusion, parse_mode
from .roofline import NodeTiming, concrete, ideal_times, node_time

FUSIONS = tuple(Fusion)
EXECUTIONS = tuple(Execution)
MODES = tuple(Mode)
MICROBENCHMARK_KERNELS = 8


@dataclass(frozen=True, kw_only=True)
class GraphTiming:
    latency_s: float
    nodes: tuple[NodeTiming, ...]
    mode: Mode
    runtime: str
    execution: Execution
    kernels: int
    compute_s: float
    memory_s: float
    overhead_s: float
    ideal_s: float
    hardware: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    band: tuple[float, float] | None = None  # 80% prediction interval of latency_s

    def by_bound(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for n in self.nodes:
            if n.time_s:
                out[n.bound] = out.get(n.bound, 0.0) + n.time_s
        return out

    def by_type(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for n in self.nodes:
            out[n.op_type] = out.get(n.op_type, 0.0) + n.time_s
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_s": self.latency_s,
            "latency_band_s": list(self.band) if self.band else None,
            "mode": self.mode,
            "runtime": self.runtime,
            "execution": self.execution,
            "kernels": self.kernels,
            "compute_s": self.compute_s,
            "memory_s": self.memory_s,
            "overhead_s": self.overhead_s,
            "ideal_latency_s": self.ideal_s,
            "by_bound": self.by_bound(),
            "hardware": self.hardware,
            "notes": list(self.notes),
        }


def graph_latency(
    gc: GraphCost,
    hw: Device,
    mode: str = Mode.CALIBRATED,
    fusion: str = Fusion.NONE,
    execution: str = Execution.AUTO,
    calibration: Calibration | None = None,
    bands: bool = True,
) -> GraphTiming:
    """Latency of an analysed graph (a GraphCost, whose nodes are its runtime's kernels)
    on a hardware profile. The options take their enums or the same strings
    (`mode="ideal"`); `execution="auto"` takes the runtime's default."""
    mode, fusion, execution = parse_mode(mode), parse_fusion(fusion), parse_execution(execution)
    if fusion is not Fusion.NONE:
        raise CostModelError(
            f"fusion={fusion.value!r} is a runtime now: analyse with runtime='torch-compile' (fusion is deprecated)"
        )
    rt = get_runtime(gc.runtime)
    cal = calibration or for_profile(hw)
    bias_kernel = cal.conv_bias_separate_kernel if rt.conv_bias_kernel is None else rt.conv_bias_kernel
    on_cpu = is_cpu(hw)
    nodes = gc.nodes
    if execution is Execution.AUTO:
        execution = parse_execution(rt.execution)
    if execution is Execution.AUTO:
        launched = sum(n.repeat for n in nodes if n.status == "costed")
        execution = Execution.EAGER if launched <= MICROBENCHMARK_KERNELS else Execution.GRAPH
    eager = mode is not Mode.IDEAL and execution is Execution.EAGER and not on_cpu
    static: list[_Kernel | None] = []
    ideal_tot = 0.0
    for n in nodes:
        if n.status != "costed":
            static.append(None)
            continue
        one = n.one_copy()
        ic, iv, im, _ = ideal_times(one, hw, cal)
        ideal_tot += max(ic + iv, im) * n.repeat
        c, m, unit, bound = node_time(one, hw, cal, mode)
        kernel = K.combine(c, m) if mode is not Mode.IDEAL else max(c, m)
        extra_kernels = 0
        if mode is not Mode.IDEAL and bias_kernel and _bias_kernel(n.kernel):
            # PyTorch's cuDNN path adds a convolution's bias in a second elementwise kernel
            # (and an exported Conv's bias is usually a BatchNorm the exporter folded in,
            # which eager PyTorch also runs as its own kernel): one more read + write
            kernel += (
                2 * _tensor_bytes(n, n.output_shapes, 0) / (hw.memory_bandwidth * cal.conv_bias_bandwidth_fraction)
            )
            extra_kernels = 1
        over = 0.0
        if mode is not Mode.IDEAL and kernel > 0:
            if on_cpu:  # a CPU runs op after op: no launch queue
                over = cal.kernel_overhead_s * (1 + extra_kernels)
            else:  # graph replay (eager execution replaces it below)
                over = cal.overhead(n.kind) + cal.overhead(OpKind.ELEMENTWISE) * extra_kernels
        static.append(_Kernel(c, m, unit, bound, kernel, extra_kernels, over))
    overs = (
        _eager_overheads(nodes, static, cal)
        if eager
        else [k.over * n.repeat if k else 0.0 for n, k in zip(nodes, static)]
    )
    timings: list[NodeTiming] = []
    total = compute_tot = mem_tot = over_tot = 0.0
    kernels = 0
    for n, k, over in zip(nodes, static, overs):
        if k is None:
            timings.append(_untimed(n.name, n.op_type, "none", 0.0))
            continue
        r = n.repeat
        bound = k.bound
        if over > k.kernel * r and bound != "none":  # over: all copies' overhead together
            bound = "overhead"
        if k.kernel > 0:
            kernels += (1 + k.extra) * r
        t = k.kernel * r + over
        total += t
        compute_tot += k.c * r
        mem_tot += k.m * r
        over_tot += over
        timings.append(
            NodeTiming(
                name=n.name,
                op_type=n.op_type,
                time_s=t,
                compute_s=k.c * r,
                memory_s=k.m * r,
                overhead_s=over,
                bound=bound,
                unit=k.unit,
                flops=concrete(n.cost.flops, "FLOPs", n.name),
                bytes=concrete(n.cost.bytes, "bytes", n.name),
            )
        )
    # 80% bands come from the GPU validation residuals; the CPU engine has none (no band)
    timings, band = uncertainty.attach(timings, nodes, cal, mode) if bands and not on_cpu else (timings, None)
    notes = []
    if gc.unsupported:
        notes.append(f"{len(gc.unsupported)} unsupported op(s) not timed")
    return GraphTiming(
        latency_s=total,
        nodes=tuple(timings),
        mode=mode,
        runtime=rt.name,
        execution=execution,
        kernels=kernels,
        compute_s=compute_tot,
        memory_s=mem_tot,
        overhead_s=over_tot,
        ideal_s=ideal_tot,
        hardware=getattr(hw, "name", ""),
        notes=tuple(notes),
        band=band,
    )


@dataclass(frozen=True, slots=True)
class _Kernel:
    """One copy of a costed node's kernel: its times before overhead, and its overhead
    replayed as a graph (or on a CPU)."""

    c: float
    m: float
    unit: str
    bound: str
    kernel: float
    extra: int  # a separate bias kernel
    over: float


def _eager_overheads(nodes: Sequence[NodeCost], static: Sequence[_Kernel | None], cal: Calibration) -> list[float]:
    """Each node's exposed overhead in eager execution, all its copies together: the host
    dispatches op by op while the GPU drains its queue; a kernel starts when both it has
    been dispatched and the previous one ended (the host-to-GPU launch latency separates
    dispatch from start; back to back on a busy GPU, kernels are spaced by the same
    per-kernel overhead as a graph). A repeated block (contiguous nodes of one
    ir.graph.Repeat) is run copy by copy until a copy leaves the pipeline's state (host
    clock minus GPU clock) where it found it, or runs GPU-bound with the host ahead and
    keeping ahead; each later copy then repeats the last one's overheads."""
    out = [0.0] * len(nodes)
    host = gpu = 0.0
    i = 0
    while i < len(nodes):
        j = i + 1
        copies = nodes[i].repeat
        while j < len(nodes) and copies > 1 and nodes[j].block == nodes[i].block:
            j += 1
        done = 0
        while done < copies:
            d0 = host - gpu
            host0, gpu0 = host, gpu
            per = [0.0] * (j - i)
            gpu_bound = True
            for q in range(i, j):
                k = static[q]
                if k is None or k.kernel <= 0:
                    continue
                host += cal.dispatch(OpKind.ELEMENTWISE) * k.extra
                host += cal.dispatch(nodes[q].kind, nodes[q].op_type)
                spacing = cal.overhead(nodes[q].kind)
                start = max(gpu + spacing, host + cal.eager_gap_s)
                gpu_bound = gpu_bound and start == gpu + spacing
                per[q - i] = start - gpu
                gpu = start + k.kernel
            done += 1
            for q, o in enumerate(per):
                out[i + q] += o
            d1 = host - gpu
            steady = abs(d1 - d0) <= 1e-12 * max(1.0, abs(gpu)) or (gpu_bound and d1 <= d0)
            if steady and done < copies:
                left = copies - done
                for q, o in enumerate(per):
                    out[i + q] += o * left
                host += (host - host0) * left
                gpu += (gpu - gpu0) * left
                done = copies
        i = j
    return out


def _untimed(name: str, op_type: str, unit: str, flops: float) -> NodeTiming:
    """A node that takes no time of its own (not a kernel)."""
    return NodeTiming(
        name=name,
        op_type=op_type,
        time_s=0.0,
        compute_s=0.0,
        memory_s=0.0,
        overhead_s=0.0,
        bound="none",
        unit=unit,
        flops=flops,
        bytes=0.0,
    )


def _bias_kernel(k: Any) -> bool:
    """A convolution whose bias eager PyTorch adds in a kernel of its own (measured for
    Conv on the H200; ConvTranspose's bias path is not modelled)."""
    return isinstance(k, ConvShape) and k.bias and not k.transposed


def _tensor_bytes(n: NodeCost, shapes: tuple[Shape | None, ...], i: int) -> float:
    """Bytes of tensor i of a node (input or output shapes), in the node's dtype."""
    shape = shapes[i] if i < len(shapes) else None
    if shape is None:
        return 0.0
    try:
        return float(to_dtype(n.dtype or "fp32").nbytes(prod(shape)))
    except (TypeError, ValueError):
        return 0.0


def host_dispatch_s(gc: GraphCost, cal: Calibration, dispatches_per_kernel: float = 1.0) -> float:
    """Host time an eager framework spends dispatching a graph's kernels: the calibrated
    dispatch time of each costed node (Calibration.dispatch: by op type where the fitted
    table has one, else by op kind), times `dispatches_per_kernel` (a training step
    dispatches each forward op and ~2 backward ops). The one model of eager dispatch:
    graph_latency's eager pipeline charges the same per-node times (and one elementwise
    dispatch more for a separate conv-bias kernel)."""
    total = sum(cal.dispatch(n.kind, n.op_type) for n in gc.nodes if n.status == NodeStatus.COSTED)
    return total * dispatches_per_kernel


def repeated_band(
    timed: Sequence[tuple[GraphCost, GraphTiming, int]], hw: Device, calibration: Calibration | None = None
) -> tuple[float, float] | None:
    """The 80% band of graphs timed on `hw` and run one after another, each `repeat`
    times (a model's segments: embedding, each distinct layer x its copies, head): every
    kernel's time times its graph's repeat, combined as one sequence of kernels by
    uncertainty.graph_band with the calibration graph_latency used. None when a graph
    has no band (ideal mode, or a profile the CPU engine times)."""
    if not timed or any(gt.band is None for _, gt, _ in timed):
        return None
    from .devicemodel import load_model

    times: list[float] = []
    fams: list[str] = []
    for gc, gt, rep in timed:
        for n, nt in zip(gc.nodes, gt.nodes):
            if nt.time_s > 0:
                times.append(nt.time_s * rep)
                fams.append(uncertainty.family_of(n.kind, n.op_type))
    return uncertainty.graph_band(times, fams, calibration or for_profile(hw), load_model().residuals)
