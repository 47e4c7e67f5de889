"""Efficiency parameters of the calibrated engine, per device.

A profile's `[calibration]` table (measured on the device, with provenance) overrides
these defaults. The defaults are generic for a modern data-centre GPU driven by PyTorch
and cuBLAS/cuDNN; they come from the H200 fit (benchmarks/fit_calibration.py) and the
published A100 spreads in shared anchors (decode GEMVs at 0.52-0.80 of HBM bandwidth,
prefill GEMMs at 0.63-0.91 of peak), so an uncalibrated profile still lands near measured
behaviour rather than at its datasheet roofline.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..errors import HardwareError
from .device import Device


@dataclass(frozen=True, kw_only=True)
class Calibration:
    # -- provenance ---------------------------------------------------------------------
    source: str = "generic defaults (no measurements for this device)"
    measured: bool = False
    # -- GEMM (cuBLAS) ------------------------------------------------------------------
    # Achievable fraction of the dense matrix peak for large, 16-byte-aligned GEMMs.
    gemm_fraction: Mapping[str, float] = field(
        default_factory=lambda: {"bf16": 0.72, "fp16": 0.70, "fp32": 0.76, "tf32": 0.72, "fp8": 0.66, "int8": 0.66}
    )
    # Fraction of peak when a leading dimension is not a multiple of 16 bytes (cuBLAS
    # falls back to kernels without vectorized/TMA loads).
    gemm_misaligned_fraction: Mapping[str, float] = field(
        default_factory=lambda: {"bf16": 0.125, "fp16": 0.125, "fp8": 0.125, "int8": 0.125, "tf32": 0.4, "fp32": 0.68}
    )
    # The thread-block tile (M x N) large GEMMs reach `gemm_fraction` with; smaller tiles
    # scale their ceiling by (area / this area) ** gemm_small_tile_exponent (kernels.py).
    gemm_tile_m: int = 128
    gemm_tile_n: int = 128
    gemm_small_tile_exponent: float = 0.35
    gemm_k_ramp: float = 96.0  # efficiency K / (K + k_ramp): prologue/epilogue per tile
    gemm_bandwidth_fraction: float = 0.70  # GEMV-like (memory-bound) matmuls, of datasheet BW
    gemm_misaligned_bandwidth_fraction: float = 0.40
    # -- convolution (cuDNN) ------------------------------------------------------------
    conv_fraction: Mapping[str, float] = field(
        default_factory=lambda: {"bf16": 0.50, "fp16": 0.50, "fp32": 0.40, "tf32": 0.40, "fp8": 0.40, "int8": 0.40}
    )
    conv_fp32_math: str = "tf32"  # PyTorch default: torch.backends.cudnn.allow_tf32 = True
    depthwise_bandwidth_fraction: float = 0.40
    conv_channel_ramp: float = 32.0
    conv_bias_separate_kernel: bool = True  # PyTorch eager + cuDNN: bias added in its own kernel
    # -- attention (flash kernels) ------------------------------------------------------
    attention_fraction: Mapping[str, float] = field(
        default_factory=lambda: {"bf16": 0.62, "fp16": 0.62, "fp8": 0.55, "fp32": 0.30}
    )
    attention_q_ramp: float = 512.0  # efficiency grows as Sq / (Sq + ramp) (tile fill, causal)
    attention_head_dim_ramp: float = 48.0
    attention_min_rows: float = 64.0  # a tile row block is padded to this many query rows
    attention_split_len: float = 512.0  # split-KV: one block per this many cached positions
    decode_bandwidth_fraction: float = 0.90
    decode_parallel_ramp: float = 48.0  # (batch x kv_heads) / (.. + ramp): split-KV occupancy
    # -- memory-bound kernels -----------------------------------------------------------
    stream_bandwidth_fraction: float = 0.865  # large elementwise / copy, of datasheet BW
    transpose_bandwidth_fraction: float = 0.22
    unaligned_row_bandwidth_fraction: float = 0.25  # row-wise kernels on rows not 16-B aligned
    row_cost_s: float = 1.3e-9  # per row, row-wise kernels (norm/softmax), aligned rows
    unaligned_row_cost_s: float = 6.0e-9
    softmax_passes: float = 2.5  # traffic multiple: re-reads of the input for max / sum
    # -- per-kernel overheads -----------------------------------------------------------
    kernel_overhead_s: float = 3.0e-6  # GPU time per kernel under CUDA graphs (launch + tail)
    eager_gap_s: float = 2.0e-6  # eager: GPU-side gap per kernel (launch latency, tail)
    eager_dispatch_s: Mapping[str, float] = field(
        default_factory=lambda: {
            "default": 16e-6,
            "contraction": 20e-6,
            "conv": 22e-6,
            "attention": 28e-6,
            "normalization": 20e-6,
        }
    )
    # -- CPUs (engine/cpu.py) -------------------------------------------------------------
    # FLOPs per core at which a BLAS GEMM reaches half its large-size efficiency. Default:
    # hardware/calibrate.py's fit of a full sweep on a 2-core AMD EPYC VM (numpy 2.4,
    # OpenBLAS 0.3.31, 2026-12-04; fp32 GFLOP/s at n = 64..2048: 34.8, 94.8, 157, 188, 201,
    # 203). A calibrated profile carries its own.
    cpu_gemm_half_flops: float = 1.33e6
    # -- vector / special-function units ------------------------------------------------
    # Achieved fractions of the vector (FMA) peak and of the special-function rate
    # (transcendentals); a kernel's vector time is the slower of the two.
    vector_fraction: float = 0.6
    sfu_fraction: float = 0.6

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str = "calibration") -> Calibration:
        """Defaults overridden by a profile's [calibration] table. Every key must be a field;
        every number finite and inside its plausible range (_range): a fraction of 0 would
        divide by zero, a NaN or 1e308 would reach every prediction."""
        base = cls()
        if not data:
            return base
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for k, v in data.items():
            if k in ("date", "device", "software", "method", "holdout", "notes", "fit"):
                continue
            if k not in names:
                raise HardwareError(f"unknown calibration key {k!r}", where=where)
            cur = getattr(base, k)
            if isinstance(cur, Mapping):
                if not isinstance(v, Mapping):
                    raise HardwareError(f"calibration {k} must be a table", where=where)
                merged = dict(cur)
                merged.update({str(a): _number(f"{k}.{a}", b, where) for a, b in v.items()})
                kw[k] = merged
            elif isinstance(cur, bool):
                if not isinstance(v, bool):
                    raise HardwareError(f"calibration {k} must be true or false, got {v!r}", where=where)
                kw[k] = v
            elif isinstance(cur, (int, float)):
                fv = _number(k, v, where)
                if isinstance(cur, int):
                    if not fv.is_integer():
                        raise HardwareError(f"calibration {k} must be an integer, got {v!r}", where=where)
                    kw[k] = int(fv)
                else:
                    kw[k] = fv
            else:
                if not isinstance(v, str) or len(v) > 4000:
                    raise HardwareError(f"calibration {k} must be text, got {type(v).__name__}", where=where)
                if k == "conv_fp32_math" and v not in ("tf32", "fp32"):
                    raise HardwareError(f"calibration {k} must be tf32 or fp32, got {v!r}", where=where)
                kw[k] = v
        kw.setdefault("measured", True)
        if "source" not in kw:
            kw["source"] = str(data.get("method") or data.get("date") or "measured")
        return replace(base, **kw)

    def frac(self, table: Mapping[str, float], dtype: str) -> float:
        for d in (dtype, _family(dtype), "bf16"):
            if d in table:
                return float(table[d])
        return 0.5

    def dispatch(self, kind: str) -> float:
        return float(self.eager_dispatch_s.get(kind, self.eager_dispatch_s.get("default", 16e-6)))


def _range(key: str) -> tuple[float, float, bool]:
    """(low, high, low inclusive) of a calibration number, by what its name says it is.
    Fractions are of a datasheet figure: above 1 would mean the datasheet understates the
    device, and 2 is far past any such case. Times are per kernel or per row."""
    field = key.split(".")[0]
    if field.endswith("_fraction"):
        return 0.0, 2.0, False
    if field.endswith("_s"):
        return 0.0, 1.0, True
    if field in ("gemm_tile_m", "gemm_tile_n", "attention_min_rows"):
        return 1.0, 65536.0, True
    if field == "gemm_small_tile_exponent":
        return 0.0, 4.0, True
    if field == "softmax_passes":
        return 0.0, 100.0, True
    if field == "cpu_gemm_half_flops":  # FLOPs per core; calibrate's fit searches 1e2 to 1e11
        return 0.0, 1e12, True
    return 0.0, 1e9, True  # ramps and lengths, in elements


def _number(key: str, v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise HardwareError(f"calibration {key} must be a number, got {type(v).__name__} {v!r:.40}", where=where)
    try:
        f = float(v)
    except OverflowError:
        f = math.inf
    lo, hi, lo_in = _range(key)
    if not (math.isfinite(f) and (lo <= f if lo_in else lo < f) and f <= hi):
        bound = "[" if lo_in else "("
        raise HardwareError(
            f"calibration {key} = {v!r:.40} is outside the plausible range {bound}{lo:g}, {hi:g}]", where=where
        )
    return f


def _family(dtype: str) -> str:
    if dtype.startswith("fp8"):
        return "fp8"
    if dtype in ("int4", "uint4"):
        return "int8"
    return dtype


def for_profile(profile: Device) -> Calibration:
    cached = _CACHE.get(id(profile))
    if cached is not None and cached[0] is profile:
        return cached[1]
    where = getattr(profile, "path", None) or getattr(profile, "name", "profile")
    cal = Calibration.from_mapping(getattr(profile, "calibration", None), where=f"{where} [calibration]")
    _CACHE[id(profile)] = (profile, cal)
    return cal


_CACHE: dict[int, tuple[Any, Calibration]] = {}
