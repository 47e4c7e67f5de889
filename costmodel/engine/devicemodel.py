"""One efficiency model for every device: the engine's Calibration from datasheet features.

A device is described by features from its profile (DeviceFeatures): which dtypes have a
matrix-unit path, the boost clock the peaks are quoted at and the clock it sustains under
its power limit, SM/CU count, memory type and bandwidth, launch latency. A small set of
global parameters (PARAMS, fitted jointly on every measured device by
benchmarks/fit_device_model.py and shipped in hardware_profiles/device-model.json) maps
those features to the achieved fractions and per-kernel costs the kernel models in
kernels.py use:

    GEMM/conv fraction of the peak = e[path, dtype] x (sustained clock / boost clock) ** clock_exponent
    stream fraction of the bandwidth = b[memory type]
    per-row cost of a row-wise kernel = row_cycles / (compute units x sustained clock)
    host dispatch per op (eager)      = d[op kind or op type]

`path` is the unit the dtype runs on: the tensor/matrix cores when the profile lists a
matrix peak for it, else the CUDA cores / vector units (fp32 GEMMs with TF32 off on every
NVIDIA part). The shape side (tiles, waves, split-K, K ramp, alignment, row-wise and
attention models) stays in kernels.py, driven by the shape parameters here. A profile's
[calibration] table may then refine this per device (calibration.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import HardwareError
from ..hardware.profile import _FALLBACK, HardwareProfile

__all__ = [
    "PARAMS",
    "DeviceFeatures",
    "ModelData",
    "calibration_fields",
    "features",
    "load_model",
    "memory_class",
]


@dataclass(frozen=True)
class Param:
    prior: float  # the value before any fit (generic data-centre GPU under PyTorch)
    lo: float
    hi: float
    doc: str


# The global parameters. Priors are the generic defaults this engine used before the
# cross-device fit (the first H200-only fit of the engine, plus the A100 spreads quoted in
# the project's anchors); the fit pulls them toward the measurements with a weak log-normal
# prior, so a parameter no measured set constrains stays at its prior.
PARAMS: dict[str, Param] = {
    # large-GEMM fraction of the peak, per unit and dtype
    "gemm_simt": Param(0.80, 0.3, 1.0, "fp32/fp64 GEMM on CUDA cores / vector units"),
    "gemm_mma16": Param(0.72, 0.3, 1.0, "bf16/fp16 GEMM on tensor / matrix cores"),
    "gemm_tf32": Param(0.72, 0.3, 1.0, "tf32 GEMM on tensor cores"),
    "gemm_fp8": Param(0.66, 0.3, 1.0, "fp8 GEMM on tensor cores"),
    "gemm_int8": Param(0.66, 0.3, 1.0, "int8 GEMM on tensor / matrix cores"),
    "gemm_mma32": Param(0.72, 0.3, 1.0, "fp32/fp64 GEMM on matrix cores (AMD MFMA, NVIDIA fp64 DMMA)"),
    "clock_exponent": Param(1.0, 0.2, 2.5, "compute throughput scales as (sustained / boost clock) ** this"),
    "gemm_misaligned_16": Param(0.20, 0.02, 1.0, "16-bit GEMM, leading dim not 16-B aligned: x aligned fraction"),
    "gemm_misaligned_tf32": Param(0.55, 0.05, 1.0, "tf32 GEMM misaligned: x aligned fraction"),
    # 4-/8-byte aligned 1-/2-byte GEMMs (kernels.gemm_alignment: 4-/8-byte async copies
    # where aligned kernels copy 16 bytes and misaligned ones stage single elements). No
    # earlier default: the prior sits halfway, in log, between the misaligned penalty and
    # none (sqrt(0.20 x 1)); the same for the bandwidth ratio (sqrt(0.42 x 1))
    "gemm_partial_16": Param(0.45, 0.02, 1.0, "16-/8-bit GEMM, leading dims 4-/8-B aligned: x aligned fraction"),
    "gemm_misaligned_32": Param(1.0, 0.2, 1.2, "fp32 GEMM misaligned: x aligned fraction"),
    "gemm_small_tile_exponent": Param(0.2, 0.01, 1.5, "small-tile penalty (tile area / 128^2) ** this"),
    "gemm_k_ramp": Param(50.0, 1.0, 2000.0, "per-tile prologue/epilogue: efficiency K / (K + this)"),
    "gemm_bandwidth_ratio": Param(1.0, 0.3, 1.2, "GEMV-like matmuls: x stream bandwidth fraction"),
    "gemm_misaligned_bandwidth_ratio": Param(0.42, 0.1, 1.2, "misaligned GEMV-like: x stream fraction"),
    "gemm_partial_bandwidth_ratio": Param(0.65, 0.1, 1.2, "4-/8-B aligned 16-/8-bit GEMV-like: x stream fraction"),
    # convolution (cuDNN)
    "conv_simt": Param(0.60, 0.1, 1.0, "fp32 convolution on CUDA cores (TF32 off)"),
    "conv_mma16": Param(0.45, 0.1, 1.0, "bf16/fp16 convolution on tensor cores"),
    "conv_tf32": Param(0.35, 0.05, 1.0, "fp32 convolution in TF32 on tensor cores (PyTorch default)"),
    "conv_channel_ramp": Param(32.0, 1.0, 2000.0, "thin layers: channels / (channels + this)"),
    # F(4x4,3x3) does 4x fewer multiplies than direct (Lavin & Gray 2016); transforms cost
    # some of it back. The prior is F(2x2,3x3)'s 2.25x.
    "conv_winograd_gain": Param(2.25, 1.0, 4.0, "3x3 stride-1 fp32 convolution on CUDA cores: x direct FLOP rate"),
    "conv_winograd_overhead_s": Param(10e-6, 1e-7, 2e-4, "fixed cost of Winograd's transform kernels per conv"),
    "depthwise_bandwidth_ratio": Param(0.45, 0.05, 1.2, "depthwise convolution: x stream fraction"),
    # cuDNN needs a group's input channels in multiples of 16 bytes for its vectorised
    # implicit-GEMM kernels; a 3-channel image stem runs an align-2 kernel without shared
    # memory instead (sm80_xmma_fprop_implicit_gemm_indexed_wo_smem_..._aligna2 in the H200
    # torchvision kernel lists). Prior: the 16-bit GEMM misalignment penalty.
    "conv_misaligned_ratio": Param(0.20, 0.01, 1.0, "conv on a matrix path, channels/group not 16-B aligned"),
    "conv_bias_bandwidth_ratio": Param(
        1.0, 0.2, 1.2, "a conv's separate bias / folded-BatchNorm kernel: x stream fraction"
    ),
    "conv_grouped_ratio": Param(1.0, 0.05, 1.0, "grouped (not depthwise) convolution: x conv fraction"),
    # attention (flash kernels)
    "attention_mma16": Param(0.62, 0.2, 1.0, "flash attention fraction of the 16-bit matrix peak"),
    # FP8 flash attention is its own kernel path (FP8 QK^T and PV, rescaling in between):
    # no measured set times it, so it keeps the engine's earlier fp8 default instead of the
    # 16-bit fit. FlashAttention-3 (Shah et al. 2024, abstract) reaches ~1.2 PFLOP/s in FP8
    # on an H100 SXM (0.61 of the 1979 dense peak) where its FP16 reaches 740 TFLOP/s (0.75
    # of 989): fp8 at about 0.8x the 16-bit fraction, as 0.55 / 0.62 here.
    "attention_fp8": Param(0.55, 0.2, 1.0, "flash attention in fp8: fraction of the fp8 matrix peak"),
    "attention_q_ramp": Param(512.0, 1.0, 5000.0, "query-length ramp Sq / (Sq + this)"),
    "attention_head_dim_ramp": Param(48.0, 1.0, 1000.0, "head-dim ramp"),
    "attention_min_rows": Param(64.0, 1.0, 256.0, "rows of one query tile"),
    "attention_split_len": Param(512.0, 16.0, 65536.0, "split-KV block length (decode)"),
    "decode_bandwidth_ratio": Param(1.04, 0.3, 1.2, "decode attention: x stream fraction"),
    "decode_parallel_ramp": Param(48.0, 1.0, 1000.0, "split-KV occupancy ramp"),
    # memory-bound kernels: fraction of the datasheet bandwidth a large copy reaches
    "bandwidth_hbm": Param(0.86, 0.4, 1.0, "HBM (HBM2/2e/3/3e)"),
    "bandwidth_gddr": Param(0.78, 0.4, 1.0, "GDDR5/6/6X/7"),
    "bandwidth_lpddr": Param(0.75, 0.3, 1.0, "LPDDR / unified memory"),
    "bandwidth_ddr": Param(0.70, 0.3, 1.0, "DDR (CPU sockets)"),
    "transpose_ratio": Param(0.25, 0.05, 1.2, "transposes: x stream fraction"),
    "unaligned_row_ratio": Param(0.29, 0.05, 1.2, "row-wise kernels on rows not 16-B aligned: x stream fraction"),
    "row_cycles": Param(340.0, 5.0, 1e5, "per-row cost of norm/softmax kernels, in SM cycles"),
    "unaligned_row_cycles": Param(1570.0, 5.0, 1e5, "per-row cost on unaligned rows, SM cycles"),
    "softmax_passes": Param(2.5, 1.0, 4.0, "softmax traffic multiple (max, sum, normalise)"),
    "vector_fraction": Param(0.6, 0.1, 1.0, "elementwise arithmetic: fraction of the vector peak"),
    # per-kernel costs
    "kernel_overhead_s": Param(3.0e-6, 1e-7, 2e-5, "GPU time per kernel beyond its work (graph replay)"),
    # a convolution's spacing under graph replay: cuDNN brings helper kernels (padding,
    # memsets, in eager PyTorch a BatchNorm's statistics kernels the ONNX export folded
    # away). Elementwise, copy and norm kernels keep the plain per-kernel overhead: they are
    # the kernels of an LLM's graph-replayed decode step too, which the H200 steps fit, and
    # their own ratios fitted on the torchvision set moved those steps for a 0.6-point
    # gain on it (docs/device-model.md)
    "overhead_ratio_conv": Param(1.0, 0.2, 5.0, "per-kernel overhead of a convolution: x kernel_overhead_s"),
    "eager_gap_s": Param(2.0e-6, 1e-7, 3e-5, "eager: host-to-GPU launch latency"),
    "dispatch_default_s": Param(16e-6, 2e-6, 8e-5, "eager host dispatch per op (elementwise and others)"),
    "dispatch_contraction_s": Param(20e-6, 2e-6, 8e-5, "... per matmul"),
    "dispatch_gemm_bias_s": Param(40e-6, 2e-6, 1.2e-4, "... per linear with bias (addmm)"),
    "dispatch_conv_s": Param(22e-6, 2e-6, 2e-4, "... per convolution"),
    "dispatch_attention_s": Param(28e-6, 2e-6, 1e-4, "... per attention call"),
    "dispatch_normalization_s": Param(20e-6, 2e-6, 1e-4, "... per norm"),
    "dispatch_softmax_s": Param(18e-6, 2e-6, 1e-4, "... per softmax"),
    "dispatch_activation_s": Param(18e-6, 2e-6, 1e-4, "... per activation with a functor (relu, gelu, silu)"),
}

# bf16/fp16 share the 16-bit path; fp64 on vector units is the SIMT path
_MATRIX_PARAM = {
    "bf16": "gemm_mma16",
    "fp16": "gemm_mma16",
    "tf32": "gemm_tf32",
    "fp8": "gemm_fp8",
    "int8": "gemm_int8",
    "int4": "gemm_int8",
    "fp4": "gemm_fp8",
    "fp32": "gemm_mma32",
    "fp64": "gemm_mma32",
}
_CONV_PARAM = {
    "bf16": "conv_mma16",
    "fp16": "conv_mma16",
    "tf32": "conv_tf32",
    "fp8": "conv_mma16",
    "int8": "conv_mma16",
}
_DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8")
_ACTIVATIONS = ("Relu", "Gelu", "Swish", "Silu", "HardSwish", "Sigmoid", "LeakyRelu", "Elu", "Mish", "Clip")

# Reference device for per-row costs quoted in seconds (the H200 the engine was first fitted on)
_REF_ROW_CYCLES_PER_S = 132 * 1.98e9


def memory_class(memory_type: str) -> str:
    """hbm | gddr | lpddr | ddr | '' (unknown) from a profile's memory type text."""
    t = memory_type.lower().replace(" ", "")
    if t.startswith("hbm"):
        return "hbm"
    if t.startswith("gddr"):
        return "gddr"
    if "lpddr" in t or "unified" in t:
        return "lpddr"
    if t.startswith("ddr"):
        return "ddr"
    return ""


@dataclass(frozen=True)
class DeviceFeatures:
    """What the efficiency model reads from a profile, and which of it was missing."""

    name: str
    kind: str
    matrix_paths: tuple[tuple[str, str], ...]  # dtype -> the matrix-unit dtype its GEMMs run as
    clock_ratio: float  # sustained / boost clock (1 when the part holds its boost clock)
    compute_units: int | None
    cycles_per_s: float | None  # compute units x sustained clock
    memory: str  # hbm | gddr | lpddr | ddr | ''
    launch_latency_s: float | None
    missing: tuple[str, ...]  # features the model had to assume (widen the band)

    @property
    def datasheet_complete(self) -> bool:
        return not self.missing


def _matrix_path(hw: HardwareProfile, dtype: str) -> str:
    """The matrix-unit dtype whose rate HardwareProfile.matrix_peak picks for `dtype` ('' when
    it picks a vector rate): the same fallback walk (fp8 with no fp8 units runs as fp16,
    bf16 with no bf16 units as fp16, tf32 absent as fp32)."""
    for dt in _FALLBACK.get(dtype, (dtype,)):
        if hw.matrix_flops.get(dt):
            return dt
        if hw.vector_flops.get(dt):
            return ""
    return ""


def features(hw: HardwareProfile) -> DeviceFeatures:
    missing = []
    boost = hw.clock_hz
    sustained = hw.sustained_clock_hz or boost
    if boost is None:
        missing.append("clock")
    if hw.sustained_clock_hz is None:
        missing.append("sustained_clock")
    ratio = min(1.0, sustained / boost) if boost and sustained else 1.0
    units = hw.compute_units
    if not units:
        missing.append("compute_units")
    cyc = units * sustained if units and sustained else None
    mem = memory_class(hw.memory_type)
    if not mem:
        missing.append("memory_type")
    return DeviceFeatures(
        hw.name,
        hw.kind,
        tuple((dt, r) for dt in _DTYPES if (r := _matrix_path(hw, dt))),
        ratio,
        units,
        cyc,
        mem,
        hw.launch_latency_s,
        tuple(missing),
    )


@dataclass(frozen=True)
class ModelData:
    """The fitted parameters and their provenance (hardware_profiles/device-model.json)."""

    params: Mapping[str, float]
    source: str
    lodo: Mapping[str, Mapping[str, float]]  # device -> parameters fitted without it
    residuals: Mapping[str, Any]  # band quantiles (uncertainty.py reads them)
    raw: Mapping[str, Any]

    def value(self, name: str) -> float:
        return float(self.params.get(name, PARAMS[name].prior))


def _checked(params: Any, where: str) -> dict[str, float]:
    if not isinstance(params, Mapping):
        raise HardwareError("parameters must be a table", where=where)
    out = {}
    for k, v in params.items():
        spec = PARAMS.get(k)
        if spec is None:
            raise HardwareError(f"unknown device-model parameter {k!r}", where=where)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise HardwareError(f"parameter {k} must be a finite number", where=where)
        if not spec.lo <= v <= spec.hi:
            raise HardwareError(f"parameter {k} = {v!r} is outside {spec.lo:g}..{spec.hi:g}", where=where)
        out[k] = float(v)
    return out


def model_from_dict(data: Any, where: str = "device-model.json") -> ModelData:
    if not isinstance(data, Mapping) or data.get("format") != "costmodel-device-model":
        raise HardwareError("not a device-model file", where=where)
    params = _checked(data.get("params", {}), where)
    lodo = {str(k): _checked(v, f"{where} lodo.{k}") for k, v in (data.get("lodo") or {}).items()}
    res = data.get("residuals") or {}
    if not isinstance(res, Mapping):
        raise HardwareError("residuals must be a table", where=where)
    src = f"device model fitted {data.get('date', '?')} on {', '.join(map(str, data.get('sets', []))) or 'no sets'}"
    return ModelData(params, src, lodo, res, data)


@cache
def load_model() -> ModelData:
    """The shipped fit (priors only when the file is absent, e.g. before the first fit)."""
    from ..hardware.loader import builtin_dir

    res = builtin_dir() / "device-model.json"
    try:
        text = res.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return ModelData({}, "device-model priors (no fitted parameters shipped)", {}, {}, {})
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise HardwareError(f"invalid JSON: {e}", where="device-model.json") from None
    return model_from_dict(data)


def _dispatch(p: Mapping[str, float]) -> dict[str, float]:
    d = {
        "default": p["dispatch_default_s"],
        "contraction": p["dispatch_contraction_s"],
        "conv": p["dispatch_conv_s"],
        "attention": p["dispatch_attention_s"],
        "normalization": p["dispatch_normalization_s"],
        "Gemm": p["dispatch_gemm_bias_s"],
        "Softmax": p["dispatch_softmax_s"],
        "LogSoftmax": p["dispatch_softmax_s"],
    }
    for op in _ACTIVATIONS:
        d[op] = p["dispatch_activation_s"]
    return d


def calibration_fields(f: DeviceFeatures, params: Mapping[str, float]) -> dict[str, Any]:
    """The Calibration fields (engine/calibration.py) the model predicts for a device."""
    p = {k: float(params.get(k, spec.prior)) for k, spec in PARAMS.items()}
    clock = f.clock_ratio ** p["clock_exponent"]
    gemm, mis, part, conv = {}, {}, {}, {}
    for dt in _DTYPES:
        path = dict(f.matrix_paths).get(dt, "")
        on_matrix = bool(path)
        e = p[_MATRIX_PARAM[path]] if on_matrix else p["gemm_simt"]
        gemm[dt] = e * clock
        if dt in ("bf16", "fp16", "fp8", "int8"):
            mis[dt] = gemm[dt] * p["gemm_misaligned_16"]
            part[dt] = gemm[dt] * p["gemm_partial_16"]
        elif dt == "tf32":
            mis[dt] = gemm[dt] * p["gemm_misaligned_tf32"]
        else:
            mis[dt] = gemm[dt] * p["gemm_misaligned_32"]
        c = p[_CONV_PARAM.get(path, "conv_mma16")] if on_matrix else p["conv_simt"]
        conv[dt] = c * clock
    stream = p[f"bandwidth_{f.memory}"] if f.memory else 0.5 * (p["bandwidth_hbm"] + p["bandwidth_gddr"])
    cyc = f.cycles_per_s or _REF_ROW_CYCLES_PER_S
    attn = {dt: p["attention_mma16"] * clock for dt in ("bf16", "fp16")}
    # fp8 attention on a part with no fp8 matrix path runs as 16-bit (matrix_peak's fallback)
    fp8_unit = "attention_fp8" if dict(f.matrix_paths).get("fp8") == "fp8" else "attention_mma16"
    attn["fp8"] = p[fp8_unit] * clock
    attn["fp32"] = p["gemm_simt"] * clock * 0.4  # math-mode SDPA in fp32: unmeasured, a generic ratio
    return {
        "gemm_fraction": gemm,
        "gemm_misaligned_fraction": mis,
        "gemm_partial_fraction": part,
        "gemm_small_tile_exponent": p["gemm_small_tile_exponent"],
        "gemm_k_ramp": p["gemm_k_ramp"],
        "gemm_bandwidth_fraction": min(stream * p["gemm_bandwidth_ratio"], 1.0),
        "gemm_misaligned_bandwidth_fraction": stream * p["gemm_misaligned_bandwidth_ratio"],
        "gemm_partial_bandwidth_fraction": stream * p["gemm_partial_bandwidth_ratio"],
        "conv_fraction": conv,
        # (tf32 too where it has no tensor-core path and runs as fp32, e.g. PyTorch's default
        # cudnn.allow_tf32 on a T4)
        "conv_winograd_gain": {
            dt: p["conv_winograd_gain"] for dt in ("fp32", "fp64", "tf32") if dt not in dict(f.matrix_paths)
        },
        "depthwise_bandwidth_fraction": stream * p["depthwise_bandwidth_ratio"],
        "conv_misaligned_ratio": {dt: p["conv_misaligned_ratio"] for dt in dict(f.matrix_paths)},
        "conv_grouped_ratio": p["conv_grouped_ratio"],
        "conv_bias_bandwidth_fraction": min(stream * p["conv_bias_bandwidth_ratio"], 1.0),
        "conv_channel_ramp": p["conv_channel_ramp"],
        "conv_winograd_overhead_s": p["conv_winograd_overhead_s"],
        "attention_fraction": attn,
        "attention_q_ramp": p["attention_q_ramp"],
        "attention_head_dim_ramp": p["attention_head_dim_ramp"],
        "attention_min_rows": p["attention_min_rows"],
        "attention_split_len": p["attention_split_len"],
        "decode_bandwidth_fraction": min(stream * p["decode_bandwidth_ratio"], 1.0),
        "decode_parallel_ramp": p["decode_parallel_ramp"],
        "stream_bandwidth_fraction": stream,
        "transpose_bandwidth_fraction": stream * p["transpose_ratio"],
        "unaligned_row_bandwidth_fraction": stream * p["unaligned_row_ratio"],
        "row_cost_s": p["row_cycles"] / cyc,
        "unaligned_row_cost_s": p["unaligned_row_cycles"] / cyc,
        "softmax_passes": p["softmax_passes"],
        "vector_fraction": p["vector_fraction"],
        # one fraction for both vector-side units: the fit saw a kernel's vector time as
        # the slower of its FMA and transcendental work over this one fraction
        "sfu_fraction": p["vector_fraction"],
        "kernel_overhead_s": f.launch_latency_s if f.launch_latency_s else p["kernel_overhead_s"],
        "kernel_overhead_ratio": {"conv": p["overhead_ratio_conv"]},
        "eager_gap_s": p["eager_gap_s"],
        "eager_dispatch_s": _dispatch(p),
    }
