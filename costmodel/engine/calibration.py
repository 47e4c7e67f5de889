"""Efficiency parameters of the calibrated engine, per device.

`for_profile(hw)` builds them in three layers:
1. the dataclass defaults below: the priors of the cross-device model (a generic
   data-centre GPU under PyTorch and cuBLAS/cuDNN, from the first H200 fit and the A100
   spreads in the project's anchors: decode GEMVs at 0.52-0.80 of HBM bandwidth, prefill
   GEMMs at 0.63-0.91 of peak);
2. the cross-device model (devicemodel.py): every device-dependent field predicted from
   the profile's datasheet features with the parameters fitted jointly on every measured
   device (hardware_profiles/device-model.json);
3. the profile's [calibration] table, when the device was measured: absolute values
   override fields, `refine` multipliers scale the model's figures (gemm, conv,
   attention, bandwidth, rows, dispatch, overhead). A profile with no table whose compute
   features are exactly a measured built-in profile's (the same chip at the same clocks
   and power limit, e.g. an H100 SXM and the measured H200 SXM) takes that profile's
   compute-side multipliers, and its memory-side ones too when the memory is the same
   (twin_refine); host-side ones (dispatch, overhead) describe the machine that timed the
   device and never transfer.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any

from ..errors import HardwareError
from ..hardware.calibration_schema import check_calibration
from ..hardware.profile import HardwareProfile
from ..hardware.schema import CALIBRATION_META, FieldError
from .device import CPU_KINDS, Device


@dataclass(frozen=True, kw_only=True)
class Calibration:
    # -- provenance ---------------------------------------------------------------------
    source: str = "generic defaults (no measurements for this device)"
    measured: bool = False  # the profile's [calibration] table refined the model
    features_missing: tuple[str, ...] = ()  # datasheet features the model had to assume
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
    # 1-/2-byte GEMMs whose leading dims are multiples of 4 or 8 bytes but not 16: kernels
    # with 4-/8-byte async copies (kernels.gemm_alignment)
    gemm_partial_fraction: Mapping[str, float] = field(
        default_factory=lambda: {"bf16": 0.125, "fp16": 0.125, "fp8": 0.125, "int8": 0.125}
    )
    # The thread-block tile (M x N) large GEMMs reach `gemm_fraction` with; smaller tiles
    # scale their ceiling by (area / this area) ** gemm_small_tile_exponent (kernels.py).
    gemm_tile_m: int = 128
    gemm_tile_n: int = 128
    gemm_small_tile_exponent: float = 0.35
    gemm_k_ramp: float = 96.0  # efficiency K / (K + k_ramp): prologue/epilogue per tile
    gemm_bandwidth_fraction: float = 0.70  # GEMV-like (memory-bound) matmuls, of datasheet BW
    gemm_misaligned_bandwidth_fraction: float = 0.40
    gemm_partial_bandwidth_fraction: float = 0.40
    # -- convolution (cuDNN) ------------------------------------------------------------
    conv_fraction: Mapping[str, float] = field(
        default_factory=lambda: {"bf16": 0.50, "fp16": 0.50, "fp32": 0.40, "tf32": 0.40, "fp8": 0.40, "int8": 0.40}
    )
    conv_fp32_math: str = "tf32"  # PyTorch default: torch.backends.cudnn.allow_tf32 = True
    # speed-up of 3x3 stride-1 convolutions over their direct FLOPs (Winograd), per dtype
    conv_winograd_gain: Mapping[str, float] = field(default_factory=dict)
    conv_winograd_overhead_s: float = 0.0  # fixed cost of the transform kernels per Winograd conv
    depthwise_bandwidth_fraction: float = 0.40
    # x conv_fraction when a group's input channels are not a multiple of 16 bytes (cuDNN's
    # `indexed_wo_smem` / align2 kernels, e.g. a 3-channel image stem), per dtype on a matrix path
    conv_misaligned_ratio: Mapping[str, float] = field(default_factory=dict)
    conv_grouped_ratio: float = 1.0  # x conv_fraction for grouped (not depthwise) convolutions
    conv_channel_ramp: float = 32.0
    conv_bias_separate_kernel: bool = True  # PyTorch eager + cuDNN: bias added in its own kernel
    # that kernel's bandwidth (of datasheet BW): a bias add, or the BatchNorm an export folded
    # into the conv (PyTorch's channels-last BN kernel reads per-channel statistics per element)
    conv_bias_bandwidth_fraction: float = 0.865
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
    # x kernel_overhead_s by the kernel's op kind (keys of calibration_schema._KIND_KEYS;
    # "elementwise" also prices reductions and pools); kinds absent take 1
    kernel_overhead_ratio: Mapping[str, float] = field(default_factory=dict)
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
    def from_mapping(
        cls, data: Mapping[str, Any] | None, where: str = "calibration", base: Calibration | None = None
    ) -> Calibration:
        """`base` (default: the dataclass defaults) with a [calibration] table applied:
        absolute fields replace, `refine` multipliers scale. The table is validated first
        (the same check the profile loader runs), so a bad value is a HardwareError."""
        base = base or cls()
        if not data:
            return base
        try:
            data = check_calibration(data)
        except FieldError as e:
            raise HardwareError(str(e), where=where) from None
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for k, v in data.items():
            if k in CALIBRATION_META or k == "refine":
                continue
            if k not in names:  # a schema key this engine has no field for
                raise HardwareError(f"calibration key {k!r} is not used by this engine", where=where)
            cur = getattr(base, k)
            if isinstance(cur, Mapping):
                merged = dict(cur)
                merged.update({str(a): float(b) for a, b in v.items()})
                kw[k] = merged
            elif isinstance(cur, int) and not isinstance(cur, bool):
                kw[k] = int(v)
            else:  # numbers, booleans and choices, checked by check_calibration
                kw[k] = v
        out = replace(base, **kw)
        if data.get("refine"):
            out = refine(out, data["refine"])
        src = str(data.get("source") or data.get("method") or data.get("date") or "measured")
        return replace(out, measured=True, source=f"{base.source}; refined: {src}")

    def frac(self, table: Mapping[str, float], dtype: str) -> float:
        for d in (dtype, _family(dtype), "bf16"):
            if d in table:
                return float(table[d])
        return 0.5

    def overhead(self, kind: str) -> float:
        """GPU time between back-to-back kernels of this op kind (graph replay, busy eager queue)."""
        r = self.kernel_overhead_ratio
        key = "elementwise" if kind in ("reduction", "pool") and kind not in r else kind
        return self.kernel_overhead_s * float(r.get(key, 1.0))

    def dispatch(self, kind: str, op_type: str = "") -> float:
        """Host time to dispatch one op in an eager framework: by op type when the table
        has it (activations with functors, linear with bias), else by op kind."""
        d = self.eager_dispatch_s
        if op_type and op_type in d:
            return float(d[op_type])
        return float(d.get(kind, d.get("default", 16e-6)))


def _family(dtype: str) -> str:
    if dtype.startswith("fp8"):
        return "fp8"
    if dtype in ("int4", "uint4"):
        return "int8"
    return dtype


# refine key -> the fields it scales
_REFINE_FIELDS = {
    "gemm": ("gemm_fraction", "gemm_misaligned_fraction", "gemm_partial_fraction"),
    "gemm_tiles": ("gemm_small_tile_exponent",),
    "gemm_k_ramp": ("gemm_k_ramp",),
    "conv": ("conv_fraction",),
    "attention": ("attention_fraction",),
    "bandwidth": (
        "stream_bandwidth_fraction",
        "conv_bias_bandwidth_fraction",
        "gemm_bandwidth_fraction",
        "gemm_misaligned_bandwidth_fraction",
        "gemm_partial_bandwidth_fraction",
        "depthwise_bandwidth_fraction",
        "decode_bandwidth_fraction",
        "transpose_bandwidth_fraction",
        "unaligned_row_bandwidth_fraction",
    ),
    "rows": ("row_cost_s", "unaligned_row_cost_s"),
    "dispatch": ("eager_dispatch_s", "eager_gap_s"),
    "dispatch_gemm": ("eager_dispatch_s:contraction", "eager_dispatch_s:Gemm"),
    "dispatch_conv": ("eager_dispatch_s:conv", "conv_winograd_overhead_s"),
    "dispatch_norm": ("eager_dispatch_s:normalization", "eager_dispatch_s:Softmax", "eager_dispatch_s:LogSoftmax"),
    "overhead": ("kernel_overhead_s",),
}
_FRACTION_CAP = 1.0  # no kernel beats its datasheet peak or bandwidth


def refine(cal: Calibration, multipliers: Mapping[str, float]) -> Calibration:
    """Scale groups of fields by per-device multipliers (fractions stay <= 1)."""
    kw: dict[str, Any] = {}
    for key, m in multipliers.items():
        for name in _REFINE_FIELDS[key]:
            name, _, entry = name.partition(":")
            cur = kw.get(name, getattr(cal, name))
            if entry:  # one entry of a table
                if entry in cur:
                    kw[name] = {**cur, entry: float(cur[entry]) * m}
                continue
            cap = _FRACTION_CAP if "fraction" in name else math.inf
            if isinstance(cur, Mapping):
                kw[name] = {k: min(float(v) * m, cap) for k, v in cur.items()}
            else:
                kw[name] = min(float(cur) * m, cap)
    return replace(cal, **kw)


def model_calibration(profile: HardwareProfile, params: Mapping[str, float] | None = None) -> Calibration:
    """The cross-device model's Calibration for a profile (no per-device refinement).
    `params` defaults to the shipped fit."""
    from . import devicemodel as dm

    model = dm.load_model()
    f = dm.features(profile)
    values = dm.calibration_fields(f, model.params if params is None else params)
    src = model.source if params is None else "device model (given parameters)"
    return replace(Calibration(), source=src, features_missing=f.missing, **values)


# Refine multipliers (hardware/calibration_schema.REFINE_KEYS) by what they describe: the
# chip's matrix units and SMs, its memory system, or (the rest: dispatch, overhead) the host
# and framework that timed it.
COMPUTE_REFINES = ("gemm", "gemm_tiles", "gemm_k_ramp", "conv", "attention", "rows")
MEMORY_REFINES = ("bandwidth",)


def _compute_key(hw: HardwareProfile) -> tuple[Any, ...] | None:
    """What fixes a GPU's kernel efficiency on the compute side: matrix-unit generation,
    units, clocks, every peak and the power limit. None when a feature is missing (two
    profiles that both lack a clock are not thereby the same chip)."""
    if not (hw.architecture and hw.compute_units and hw.clock_hz and hw.tdp_watts and hw.matrix_flops):
        return None
    return (
        hw.vendor,
        hw.kind,
        hw.architecture,
        hw.matrix_generation,
        hw.compute_units,
        hw.clock_hz,
        hw.sustained_clock_hz,
        tuple(sorted(hw.matrix_flops.items())),
        tuple(sorted(hw.vector_flops.items())),
        hw.special_function_rate,
        hw.tdp_watts,
    )


@cache
def _measured_builtins() -> tuple[HardwareProfile, ...]:
    from ..hardware.loader import calibrated_profiles

    return tuple(
        p for p in calibrated_profiles() if p.kind not in CPU_KINDS and p.calibration and p.calibration.get("refine")
    )


def twin_refine(profile: HardwareProfile) -> tuple[str, dict[str, float]]:
    """(name, multipliers) of the measured built-in profile whose compute features equal
    this one's: its compute-side refine multipliers, and its memory-side ones when the
    memory type and bandwidth match too; ("", {}) when there is none. The device model
    reads nothing that tells such twins apart (an H100 SXM 80GB and an H200 SXM 141GB are
    one GH100 configuration of 132 SMs at 1980 MHz and 700 W with the same peaks; only the
    memory differs), so the measurement of one is the best estimate of the other's kernels,
    where the cross-device parameters alone are the estimate for a device of another
    family (their leave-one-device-out error on the H200 is 41%, docs/calibration.md)."""
    key = _compute_key(profile)
    if key is None:
        return "", {}
    memory = (profile.memory_type.lower(), profile.memory_bandwidth) if profile.memory_type else None
    for m in _measured_builtins():
        if m.name == profile.name or _compute_key(m) != key:
            continue
        same_memory = memory is not None and (m.memory_type.lower(), m.memory_bandwidth) == memory
        keys = COMPUTE_REFINES + (MEMORY_REFINES if same_memory else ())
        assert m.calibration is not None  # _measured_builtins holds profiles with a refine table
        return m.name, {k: float(v) for k, v in m.calibration["refine"].items() if k in keys}
    return "", {}


def for_profile(profile: Device) -> Calibration:
    """The engine's Calibration for a profile: the device model from its datasheet
    features, refined by its [calibration] table when it has one (or, with none, by a
    measured twin's hardware multipliers: twin_refine). CPUs and SoCs (kinds cpu/soc,
    timed by cpu.py) take the generic defaults and their own measured table: the
    cross-device model is fitted on GPU kernels."""
    cached = _CACHE.get(id(profile))
    if cached is not None and cached[0] is profile:
        return cached[1]
    table = getattr(profile, "calibration", None)
    where = str(getattr(profile, "path", None) or getattr(profile, "name", "profile"))
    if isinstance(profile, HardwareProfile) and profile.kind not in CPU_KINDS:
        base = model_calibration(profile)
        twin, mult = ("", {}) if table else twin_refine(profile)
        if mult:
            shared = ", ".join(f"{k} x{v:.3g}" for k, v in sorted(mult.items()))
            base = replace(
                refine(base, mult), source=f"{base.source}; as measured on {twin} (same compute features): {shared}"
            )
        cal = Calibration.from_mapping(table, where=where, base=base)
    else:  # CPUs/SoCs, and a duck-typed device in tests: the generic defaults
        cal = Calibration.from_mapping(table, where=where)
    _CACHE[id(profile)] = (profile, cal)
    return cal


_CACHE: dict[int, tuple[Any, Calibration]] = {}
