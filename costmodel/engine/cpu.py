"""Per-node time on a CPU (profiles of kind "cpu", and "soc" for Apple's unified-memory
chips): a BLAS library and a memory system, not a GPU.

What differs from the GPU kernels (kernels.py):
- no thread-block tiles, wave quantization, split-K or 16-byte alignment cliffs: a BLAS
  GEMM spreads its work over the cores, and its efficiency grows with the work each core
  gets, eff = gemm_fraction x w / (w + cpu_gemm_half_flops), w = FLOPs / cores (fitted
  on the `costmodel calibrate` sweep of square GEMMs);
- a matrix-vector product (decode) streams its weights once: memory time at the GEMV
  bandwidth the calibration measured (gemm_bandwidth_fraction of the profile's
  bandwidth);
- attention is the same small batched products, costed the same way;
- other ops are bandwidth- or vector-rate-bound (stream_bandwidth_fraction,
  vector_fraction);
- one op runs after another on the host (latency.py charges kernel_overhead_s per op,
  with no launch queue to hide it).
"""

from __future__ import annotations

from ..analysis import NodeCost
from ..ops.registry import OpKind
from .calibration import Calibration
from .device import CPU_KINDS, Device

_MATRIX_KINDS = (OpKind.CONTRACTION, OpKind.CONV, OpKind.ATTENTION)


def is_cpu(hw: object) -> bool:
    """A profile of kind cpu or soc (the Device protocol leaves `kind` out: a device
    without one is not a CPU)."""
    return getattr(hw, "kind", None) in CPU_KINDS


def gemm_efficiency(flops: float, cores: int, cal: Calibration, dtype: str) -> float:
    """Fraction of the profile's peak a BLAS call of `flops` reaches on `cores` cores."""
    work = flops / max(cores, 1)
    if work + cal.cpu_gemm_half_flops <= 0:  # an empty GEMM with no measured ramp
        return 1e-4
    return max(cal.frac(cal.gemm_fraction, dtype) * work / (work + cal.cpu_gemm_half_flops), 1e-4)


def node_time(
    node: NodeCost,
    hw: Device,
    cal: Calibration,
    flops: float,
    macs: float,
    nbytes: float,
    vector_s: float,
    ideal_compute_s: float,
    ideal_memory_s: float,
    unit: str,
) -> tuple[float, float, str, str]:
    """(compute_s, memory_s, unit, bound) of one op, before the per-op overhead.
    `vector_s` is the op's non-matrix work at the datasheet vector peak."""
    if flops == 0 and nbytes == 0:
        return 0.0, 0.0, "none", "none"
    bw = hw.memory_bandwidth
    cores = int(hw.compute_units or 1)
    if node.kind in _MATRIX_KINDS and macs:
        from .roofline import matrix_dtype

        mdt = matrix_dtype(node, cal)
        c = 2 * macs / (hw.matrix_peak(mdt) * gemm_efficiency(2 * macs, cores, cal, mdt))
        c += vector_s / cal.vector_fraction
        m = nbytes / (bw * cal.gemm_bandwidth_fraction)
    else:
        c = vector_s / cal.vector_fraction
        m = nbytes / (bw * cal.stream_bandwidth_fraction)
    c, m = max(c, ideal_compute_s), max(m, ideal_memory_s)
    return c, m, unit, "compute" if c >= m else "memory"
