"""Graph latency: per-node kernel times, a fusion policy, an execution mode.

Fusion policies
- "none": every costed node is one kernel (what an eager framework runs, and what a
  framework graph captured into a CUDA graph replays).
- "elementwise": an elementwise node whose input comes from the node just before it
  (and is read by nothing else) fuses into that producer: its own launch and the
  intermediate round trip through memory disappear (XLA / TensorRT / torch.compile).
- "flash": elementwise fusion plus MatMul → [scale] → [mask] → Softmax → MatMul chains
  run as one flash-attention kernel that keeps the scores on chip.

Execution modes
- "graph": kernels replayed back to back (CUDA graphs); each costs its GPU time plus a
  small per-kernel overhead.
- "eager": a framework dispatches each op from the host (a fixed host time per op
  kind) while the GPU drains its queue: a kernel starts once it is dispatched and the
  previous kernel has ended, so short kernels expose the host time and long ones hide it.
- "auto" (default): "eager" for microbenchmark-sized graphs (at most 8 kernels, the way
  single ops are timed with CUDA events around a framework call), else "graph".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis import GraphCost, NodeCost, NodeStatus
from ..ir.dtypes import dtype as to_dtype
from ..ops.kernel import AttentionShape, ConvShape
from ..ops.registry import OpKind
from ..symbolic import Shape, prod
from . import kernels as K
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
    fusion: Fusion
    execution: Execution
    kernels: int
    compute_s: float
    memory_s: float
    overhead_s: float
    ideal_s: float
    hardware: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

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
            "mode": self.mode,
            "fusion": self.fusion,
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


def _producers(nodes: Sequence[NodeCost]) -> dict[str, int]:
    prod: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for o in n.output_names:
            prod[o] = i
    return prod


def _consumers(nodes: Sequence[NodeCost]) -> dict[str, int]:
    cons: dict[str, int] = {}
    for n in nodes:
        for x in set(n.input_names):
            cons[x] = cons.get(x, 0) + 1
    return cons


def _flash_groups(nodes: Sequence[NodeCost]) -> dict[int, list[int]]:
    """MatMul(q, k) → [Mul/Div] → [Add]* → Softmax → MatMul(p, v): index of the final
    MatMul → member indices."""
    prod = _producers(nodes)
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(nodes):
        if n.op_type != "MatMul" or not n.input_names:
            continue
        j = prod.get(n.input_names[0])
        if j is None or nodes[j].op_type != "Softmax":
            continue
        members = [j, i]
        k = prod.get(nodes[j].input_names[0])
        while k is not None and nodes[k].op_type in ("Mul", "Div", "Add", "Where", "Sub"):
            members.insert(0, k)
            k = prod.get(nodes[k].input_names[0]) if nodes[k].input_names else None
        if k is None or nodes[k].op_type != "MatMul" or not _known_operands(nodes[k], n):
            continue
        members.insert(0, k)
        groups[i] = members
    return groups


def graph_latency(
    gc: GraphCost,
    hw: Device,
    mode: str = Mode.CALIBRATED,
    fusion: str = Fusion.NONE,
    execution: str = Execution.AUTO,
    calibration: Calibration | None = None,
) -> GraphTiming:
    """Latency of an analysed graph (a GraphCost) on a hardware profile. The options take
    their enums or the same strings (`mode="ideal"`)."""
    mode, fusion, execution = parse_mode(mode), parse_fusion(fusion), parse_execution(execution)
    cal = calibration or for_profile(hw)
    on_cpu = is_cpu(hw)
    nodes = gc.nodes
    costed = [n for n in nodes if n.status == "costed"]
    if execution is Execution.AUTO:
        execution = Execution.EAGER if len(costed) <= MICROBENCHMARK_KERNELS else Execution.GRAPH
    flash = _flash_groups(nodes) if fusion is Fusion.FLASH else {}
    in_flash = {m: g for g, ms in flash.items() for m in ms if m != g}
    prod = _producers(nodes) if fusion is not Fusion.NONE else {}
    cons = _consumers(nodes) if fusion is not Fusion.NONE else {}
    timings: list[NodeTiming] = []
    total = compute_tot = mem_tot = over_tot = ideal_tot = 0.0
    kernels = 0
    host = gpu = 0.0  # eager pipeline clocks
    last_kernel: int | None = None
    for i, n in enumerate(nodes):
        if n.status != "costed":
            timings.append(_untimed(n.name, n.op_type, "none", 0.0))
            continue
        flops = concrete(n.cost.flops, "FLOPs", n.name)
        nbytes = concrete(n.cost.bytes, "bytes", n.name)
        ic, iv, im, _ = ideal_times(n, hw, cal)
        ideal_tot += max(ic + iv, im)
        if i in in_flash:
            timings.append(_untimed(n.name, n.op_type, "matrix", flops, fused=True))
            continue
        if i in flash:
            c, m, unit, bound = _flash_time([nodes[j] for j in flash[i]], hw, cal, mode)
        else:
            c, m, unit, bound = node_time(n, hw, cal, mode)
        fused = False
        if fusion is not Fusion.NONE and n.kind == OpKind.ELEMENTWISE and n.input_names:
            src = n.input_names[0]
            j = prod.get(src)
            if j is not None and j == last_kernel and cons.get(src, 0) == 1:
                fused = True
                # The intermediate never goes to memory: drop its read (and the write the
                # producer would have made is this node's output write instead).
                in_bytes = _tensor_bytes(n, n.input_shapes, 0)
                m = (
                    max(m - in_bytes / (hw.memory_bandwidth * cal.stream_bandwidth_fraction), 0.0)
                    if mode is not Mode.IDEAL
                    else max(m - in_bytes / hw.memory_bandwidth, 0.0)
                )
        kernel = K.combine(c, m) if mode is not Mode.IDEAL else max(c, m)
        extra_kernels = 0
        if mode is not Mode.IDEAL and cal.conv_bias_separate_kernel and _bias_kernel(n.kernel):
            # PyTorch's cuDNN path adds a convolution's bias in a second elementwise kernel
            # (and an exported Conv's bias is usually a BatchNorm the exporter folded in,
            # which eager PyTorch also runs as its own kernel): one more read + write
            kernel += 2 * _tensor_bytes(n, n.output_shapes, 0) / (hw.memory_bandwidth * cal.stream_bandwidth_fraction)
            extra_kernels = 1
        over = 0.0
        if mode is not Mode.IDEAL and not fused and kernel > 0:
            if execution is Execution.GRAPH or on_cpu:  # a CPU runs op after op: no launch queue
                over = cal.kernel_overhead_s * (1 + extra_kernels)
            else:
                host += cal.dispatch(OpKind.ELEMENTWISE) * extra_kernels
                # eager: the host dispatches op by op while the GPU drains its queue; a
                # kernel starts when both it has been dispatched and the previous one ended
                # (the host-to-GPU launch latency separates dispatch from start; back to back
                # on a busy GPU, kernels are spaced by the same per-kernel overhead as a graph)
                host += cal.dispatch(n.kind)
                start = max(gpu + cal.kernel_overhead_s, host + cal.eager_gap_s)
                over = start - gpu
                gpu = start + kernel
        t = kernel + over
        if over > kernel and bound != "none":
            bound = "overhead"
        if kernel > 0 and not fused:
            kernels += 1
        if kernel > 0:
            last_kernel = i
        total += t
        compute_tot += c
        mem_tot += m
        over_tot += over
        timings.append(
            NodeTiming(
                name=n.name,
                op_type=n.op_type,
                time_s=t,
                compute_s=c,
                memory_s=m,
                overhead_s=over,
                bound=bound,
                unit=unit,
                flops=flops,
                bytes=nbytes,
                fused=fused,
            )
        )
    notes = []
    if gc.unsupported:
        notes.append(f"{len(gc.unsupported)} unsupported op(s) not timed")
    return GraphTiming(
        latency_s=total,
        nodes=tuple(timings),
        mode=mode,
        fusion=fusion,
        execution=execution,
        kernels=kernels,
        compute_s=compute_tot,
        memory_s=mem_tot,
        overhead_s=over_tot,
        ideal_s=ideal_tot,
        hardware=getattr(hw, "name", ""),
        notes=tuple(notes),
    )


def _untimed(name: str, op_type: str, unit: str, flops: float, fused: bool = False) -> NodeTiming:
    """A node that takes no time of its own (not costed, or inside a fused kernel)."""
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
        fused=fused,
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
    dispatch time of each costed node's kind (Calibration.eager_dispatch_s), times
    `dispatches_per_kernel` (a training step dispatches each forward op and ~2 backward
    ops). The one model of eager dispatch: graph_latency's eager pipeline charges the same
    per-kind times (and one elementwise dispatch more for a separate conv-bias kernel)."""
    total = sum(cal.dispatch(n.kind) for n in gc.nodes if n.status == NodeStatus.COSTED)
    return total * dispatches_per_kernel


def _known_operands(qk: NodeCost, pv: NodeCost) -> bool:
    """The chain's Q, K (first MatMul) and V (last MatMul) have known shapes."""
    shapes = (*qk.input_shapes[:2], *pv.input_shapes[1:2])
    return len(shapes) == 3 and all(s is not None and len(s) >= 2 for s in shapes)


def _flash_time(members: list[NodeCost], hw: Device, cal: Calibration, mode: str) -> tuple[float, float, str, str]:
    """A MatMul-Softmax-MatMul chain as one flash kernel: the same FLOPs, but memory
    traffic is Q, K, V in and the output out (the scores stay on chip)."""
    first, last = members[0], members[-1]
    flops = sum(float(m.cost.flops) for m in members)
    macs = sum(float(m.cost.macs) for m in members)
    eb = to_dtype(first.dtype or "fp32")
    q, kt, v = first.input_shapes[0], first.input_shapes[1], last.input_shapes[1]
    assert q is not None and kt is not None and v is not None  # _flash_groups checked them
    out = last.output_shapes[0]
    nbytes = sum(float(eb.nbytes(prod(s))) for s in (q, kt, v, out) if s is not None)
    mdt = first.dtype or "fp32"
    if mode is Mode.IDEAL:
        c = 2 * macs / hw.matrix_peak(mdt) + (flops - 2 * macs) / hw.vector_peak(mdt)
        m = nbytes / hw.memory_bandwidth
        return c, m, "matrix", "compute" if c >= m else "memory"
    # the chain's MatMuls fold heads into their batch dims: one head per batch entry
    q_len, kv_len, head_dim = q[-2], kt[-1], q[-1]
    att = AttentionShape(
        batch=prod(q[:-2]),
        q_heads=1,
        kv_heads=1,
        q_len=q_len,
        kv_len=kv_len,
        head_dim=head_dim,
        v_head_dim=v[-1],
        causal=False,
        pairs=q_len * kv_len,
    )
    c, m = K.attention_time(2 * macs, nbytes, att, hw.matrix_peak(mdt), hw.memory_bandwidth, cal, mdt)
    c += (flops - 2 * macs) / (hw.vector_peak(mdt) * cal.vector_fraction)
    return c, m, "matrix", "compute" if c >= m else "memory"
