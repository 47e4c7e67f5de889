"""Per-node time on a hardware profile.

`ideal` is the datasheet roofline, max(FLOPs / peak of the unit the op runs on,
bytes / datasheet bandwidth): a lower bound. `calibrated` (default) applies the
size-dependent efficiency of the kernels real libraries run (see kernels.py) and the
per-kernel overhead; it is never below the ideal time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..analysis import NodeCost
from ..errors import BindingError
from ..ir.dtypes import DTYPES, dtype as to_dtype
from ..ops.kernel import AttentionShape, ConvShape, CopyShape, Kernel, RowwiseShape, gemm_of
from ..ops.registry import OpKind
from ..symbolic import is_expr
from . import cpu
from . import kernels as K
from .calibration import Calibration
from .device import Device
from .modes import Mode

MATRIX_KINDS = (OpKind.CONTRACTION, OpKind.CONV, OpKind.ATTENTION)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeTiming:
    name: str
    op_type: str
    time_s: float
    compute_s: float
    memory_s: float
    overhead_s: float
    bound: str  # "compute" | "memory" | "overhead" | "none"
    unit: str  # "matrix" | "vector" | "sfu" | "memory" | "none"
    flops: float
    bytes: float
    band: tuple[float, float] | None = None  # 80% prediction interval of time_s (uncertainty.py)

    @property
    def arithmetic_intensity(self) -> float | None:
        return self.flops / self.bytes if self.bytes else None

    @property
    def attainable_flops(self) -> float:
        """FLOP/s this op achieves in the prediction."""
        return self.flops / self.time_s if self.time_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_s": self.time_s,
            "compute_s": self.compute_s,
            "memory_s": self.memory_s,
            "overhead_s": self.overhead_s,
            "bound": self.bound,
            "unit": self.unit,
            "attainable_flops": self.attainable_flops,
            "arithmetic_intensity": self.arithmetic_intensity,
            "latency_band_s": list(self.band) if self.band else None,
        }


def elem_bytes(dtype: str | None) -> float:
    """Bytes per element of a dtype (ir/dtypes.py; a node of unknown dtype is fp32)."""
    if dtype is None:
        return 4
    d = DTYPES.get(dtype) or to_dtype(dtype)
    return d.bits / 8


def concrete(x: Any, what: str, name: str) -> float:
    if is_expr(x) and not x.is_number:
        raise BindingError(
            f"{what} of {name} depends on {sorted(s.name for s in x.free_symbols)}; "
            "bind them (bindings={...} or --set NAME=INT) to predict time"
        )
    try:
        return float(x)
    except OverflowError:  # an exact count past 1.8e308: no time in seconds can be computed
        from ..errors import LimitExceeded

        digits = len(str(int(x))) if int(x).bit_length() < 14000 else int(int(x).bit_length() * 0.30103) + 1
        raise LimitExceeded(
            f"{what} of {name} is a {digits}-digit number, beyond the float range (1.8e308) that times are computed in"
        ) from None


def matrix_dtype(node: NodeCost, cal: Calibration) -> str:
    dt = node.dtype or "fp32"
    if dt == "fp32" and node.kind == OpKind.CONV and cal.conv_fp32_math == "tf32":
        return "tf32"
    return dt


def ideal_times(node: NodeCost, hw: Device, cal: Calibration) -> tuple[float, float, float, str]:
    """(matrix_s, vector_s, memory_s, unit) at datasheet peaks; vector_s is the slower of
    the vector and special-function units (they run concurrently)."""
    matrix, vector, sfu, mem = _unit_times(node, hw, cal)
    if node.kind in MATRIX_KINDS and matrix:
        return matrix, vector, mem, "matrix"
    return 0.0, max(vector, sfu), mem, "sfu" if sfu > vector else "vector"


def _unit_times(node: NodeCost, hw: Device, cal: Calibration) -> tuple[float, float, float, float]:
    """(matrix_s, vector_s, sfu_s, memory_s) at datasheet peaks."""
    flops = concrete(node.cost.flops, "FLOPs", node.name)
    macs = concrete(node.cost.macs, "MACs", node.name)
    trans = concrete(node.cost.transcendentals, "transcendentals", node.name)
    nbytes = concrete(node.cost.bytes, "bytes", node.name)
    mem = nbytes / hw.memory_bandwidth
    dt = node.dtype or "fp32"
    if node.kind in MATRIX_KINDS and macs:
        mdt = matrix_dtype(node, cal)
        matrix = 2 * macs / hw.matrix_peak(mdt)
        rest = max(flops - 2 * macs, 0.0)
        return matrix, rest / hw.vector_peak(dt), 0.0, mem
    sfu = trans / hw.special_function_rate if hw.special_function_rate else 0.0
    return 0.0, flops / hw.vector_peak(dt), sfu, mem


def node_time(node: NodeCost, hw: Device, cal: Calibration, mode: str) -> tuple[float, float, str, str]:
    """(compute_s, memory_s, unit, bound) of one kernel, before per-kernel overhead."""
    matrix, vector, mem, unit = ideal_times(node, hw, cal)
    compute = matrix + vector
    if mode == Mode.IDEAL:
        return compute, mem, unit, "compute" if compute >= mem else "memory"
    flops = concrete(node.cost.flops, "FLOPs", node.name)
    nbytes = concrete(node.cost.bytes, "bytes", node.name)
    if flops == 0 and nbytes == 0:
        return 0.0, 0.0, "none", "none"
    if cpu.is_cpu(hw):  # CPUs/SoCs: BLAS efficiency and bandwidth, no GPU tiles or waves
        return cpu.node_time(node, hw, cal, flops, float(node.cost.macs), nbytes, vector, compute, mem, unit)
    dt = node.dtype or "fp32"
    eb = elem_bytes(dt)
    bw = hw.memory_bandwidth
    units = int(hw.compute_units or 0)
    k: Kernel | None = node.kernel
    gemm = gemm_of(k)
    # achieved vector-unit time: the vector work and the transcendentals at their own
    # achievable fractions (special-function units run beside the FMA pipes)
    _, vec_s, sfu_s, _ = _unit_times(node, hw, cal)
    vector_cal = max(vec_s / cal.vector_fraction, sfu_s / cal.sfu_fraction)
    c, m = compute, mem
    if flops == 0 or _empty(k):
        c, m = compute, K.stream_time(nbytes, bw, cal)
    elif node.kind == OpKind.ATTENTION and isinstance(k, AttentionShape):
        mdt = matrix_dtype(node, cal)
        c, m = K.attention_time(2 * float(node.cost.macs), nbytes, k, hw.matrix_peak(mdt), bw, cal, mdt)
        c += vector_cal
    elif node.kind == OpKind.CONV and isinstance(k, ConvShape):
        mdt = matrix_dtype(node, cal)
        c, m = K.conv_time(
            2 * float(node.cost.macs),
            nbytes,
            k,
            hw.matrix_peak(mdt),
            hw.vector_peak(dt),
            bw,
            cal,
            mdt,
            units,
        )
        c += vector_cal
        # Winograd does fewer multiplies than the direct count: lower the roofline floor too
        compute /= K.winograd_gain(k, cal, mdt)
    elif node.kind == OpKind.CONTRACTION and gemm is not None and _all_concrete(gemm.dims()):
        mdt = matrix_dtype(node, cal)
        c, m = K.gemm_time(2 * float(node.cost.macs), nbytes, gemm, hw.matrix_peak(mdt), bw, cal, mdt, units, eb)
        c += vector_cal
    elif isinstance(k, RowwiseShape) and k.softmax and _all_concrete((k.rows, k.cols)) and _warp_softmax(k, eb):
        # PyTorch's persistent softmax for rows of at most 1024 elements (<= 4 KiB):
        # each warp holds one or two rows in registers (aten/src/ATen/native/cuda/
        # PersistentSoftmax.cuh, `dispatch_softmax_forward`), so the input is read once
        # and there is no block per row: a streaming kernel
        c, m = vector_cal, K.stream_time(nbytes, bw, cal)
    elif isinstance(k, RowwiseShape) and _all_concrete((k.rows, k.cols)):
        row_s, m = K.rowwise_time(
            nbytes,
            float(k.rows),
            float(k.cols),
            eb,
            bw,
            cal,
            cal.softmax_passes if k.softmax else 1.0,
            alignment_matters=not k.softmax,
        )
        c = vector_cal + row_s
    elif isinstance(k, CopyShape) and k.strided:
        c, m = vector, K.stream_time(nbytes, bw, cal, cal.transpose_bandwidth_fraction)
    else:
        c = vector_cal
        m = K.stream_time(nbytes, bw, cal)
    # Calibrated times never beat the datasheet roofline.
    c, m = max(c, compute), max(m, mem)
    if flops == 0 and nbytes == 0:
        return 0.0, 0.0, "none", "none"
    return c, m, unit, "compute" if c >= m else "memory"


def _empty(k: Kernel | None) -> bool:
    """Empty tensors (a zero dim) move no tiles: no kernel-efficiency model applies."""
    g = gemm_of(k)
    if g is not None and any(type(x) is int and x == 0 for x in g.dims()):
        return True
    return isinstance(k, RowwiseShape) and any(type(x) is int and x == 0 for x in (k.rows, k.cols))


def _warp_softmax(k: RowwiseShape, elem_bytes: float) -> bool:
    """Rows short enough for the warp-per-row softmax (PersistentSoftmax.cuh's limits)."""
    cols = float(k.cols)
    return cols <= 1024 and cols * elem_bytes <= 4096


def _all_concrete(t: Any) -> bool:
    return all(not (is_expr(x) and not x.is_number) for x in t)


__all__ = ["MATRIX_KINDS", "NodeTiming", "concrete", "elem_bytes", "ideal_times", "node_time"]
