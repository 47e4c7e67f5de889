"""Per-node time on a hardware profile.

`ideal` is the datasheet roofline, max(FLOPs / peak of the unit the op runs on,
bytes / datasheet bandwidth): a lower bound. `calibrated` (default) applies the
size-dependent efficiency of the kernels real libraries run (see kernels.py) and the
per-kernel overhead; it is never below the ideal time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ops import registry as R
from ..symbolic import is_expr
from . import kernels as K
from .calibration import Calibration

_DTYPE_BYTES = {
    "fp64": 8,
    "fp32": 4,
    "tf32": 4,
    "bf16": 2,
    "fp16": 2,
    "int8": 1,
    "uint8": 1,
    "int4": 0.5,
    "uint4": 0.5,
    "fp4": 0.5,
    "int32": 4,
    "int64": 8,
}
MATRIX_KINDS = (R.CONTRACTION, R.CONV, R.ATTENTION)


@dataclass(frozen=True, slots=True)
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
    fused: bool = False

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
            "fused": self.fused,
        }


def elem_bytes(dtype: str | None) -> float:
    if dtype is None:
        return 4
    if dtype.startswith("fp8"):
        return 1
    return _DTYPE_BYTES.get(dtype, 2)


def concrete(x: Any, what: str, name: str) -> float:
    if is_expr(x) and not x.is_number:
        from ..errors import BindingError

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


def matrix_dtype(node: Any, cal: Calibration) -> str:
    dt = node.dtype or "fp32"
    if dt == "fp32" and node.kind == R.CONV and cal.conv_fp32_math == "tf32":
        return "tf32"
    return dt


def ideal_times(node: Any, hw: Any, cal: Calibration) -> tuple[float, float, float, str]:
    """(matrix_s, vector_s, memory_s, unit) at datasheet peaks."""
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
        vector = rest / hw.vector_peak(dt)
        return matrix, vector, mem, "matrix"
    vector = flops / hw.vector_peak(dt)
    sfu = trans / hw.special_function_rate if hw.special_function_rate else 0.0
    return 0.0, max(vector, sfu), mem, "sfu" if sfu > vector else "vector"


def node_time(node: Any, hw: Any, cal: Calibration, mode: str) -> tuple[float, float, str, str]:
    """(compute_s, memory_s, unit, bound) of one kernel, before per-kernel overhead."""
    matrix, vector, mem, unit = ideal_times(node, hw, cal)
    compute = matrix + vector
    if mode == "ideal":
        return compute, mem, unit, "compute" if compute >= mem else "memory"
    flops = concrete(node.cost.flops, "FLOPs", node.name)
    nbytes = concrete(node.cost.bytes, "bytes", node.name)
    if flops == 0 and nbytes == 0:
        return 0.0, 0.0, "none", "none"
    dt = node.dtype or "fp32"
    eb = elem_bytes(dt)
    bw = hw.memory_bandwidth
    units = int(hw.compute_units or 0)
    hints = node.hints or {}
    c, m = compute, mem
    if flops == 0 or _has_zero(hints):
        c, m = compute, K.stream_time(nbytes, bw, cal)
    elif node.kind == R.ATTENTION and "attention" in hints:
        mdt = matrix_dtype(node, cal)
        c, m = K.attention_time(
            2 * float(node.cost.macs),
            nbytes,
            _concrete_dict(hints["attention"]),
            hw.matrix_peak(mdt),
            bw,
            cal,
            mdt,
            units,
        )
        c += vector / cal.vector_fraction
    elif node.kind == R.CONV and "conv" in hints:
        mdt = matrix_dtype(node, cal)
        gemm = tuple(float(x) for x in hints["gemm"]) if "gemm" in hints and _all_concrete(hints["gemm"]) else None
        c, m = K.conv_time(
            2 * float(node.cost.macs),
            nbytes,
            _concrete_dict(hints["conv"]),
            gemm,
            hw.matrix_peak(mdt),
            hw.vector_peak(dt),
            bw,
            cal,
            mdt,
            units,
        )
        c += vector / cal.vector_fraction
    elif node.kind == R.CONTRACTION and "gemm" in hints and _all_concrete(hints["gemm"]):
        mdt = matrix_dtype(node, cal)
        c, m = K.gemm_time(
            2 * float(node.cost.macs), nbytes, hints["gemm"], hw.matrix_peak(mdt), bw, cal, mdt, units, eb
        )
        c += vector / cal.vector_fraction
    elif "rowwise" in hints and _all_concrete(hints["rowwise"]):
        rows, cols = (float(x) for x in hints["rowwise"])
        soft = node.op_type in ("Softmax", "LogSoftmax")
        row_s, m = K.rowwise_time(
            nbytes, rows, cols, eb, bw, cal, cal.softmax_passes if soft else 1.0, alignment_matters=not soft
        )
        c = vector / cal.vector_fraction + row_s
    elif node.op_type in ("Transpose",):
        c, m = vector, K.stream_time(nbytes, bw, cal, cal.transpose_bandwidth_fraction)
    else:
        c = vector / cal.vector_fraction
        m = K.stream_time(nbytes, bw, cal)
    # Calibrated times never beat the datasheet roofline.
    c, m = max(c, compute), max(m, mem)
    if flops == 0 and nbytes == 0:
        return 0.0, 0.0, "none", "none"
    return c, m, unit, "compute" if c >= m else "memory"


def _has_zero(hints: dict) -> bool:
    """Empty tensors (a zero dim) move no tiles: no kernel-efficiency model applies."""
    for key in ("gemm", "rowwise"):
        g = hints.get(key)
        if g is not None and any(type(x) is int and x == 0 for x in g):
            return True
    return False


def _all_concrete(t: Any) -> bool:
    return all(not (is_expr(x) and not x.is_number) for x in t)


def _concrete_dict(d: dict) -> dict:
    return {k: (float(v) if not isinstance(v, (bool, str, tuple, dict)) and v is not None else v) for k, v in d.items()}
