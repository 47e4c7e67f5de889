"""The keys a profile's [calibration] table may hold, with their plausible ranges.

A [calibration] table records what was measured on one device: absolute efficiency
parameters of the engine (fractions of the datasheet peaks, per-row and per-kernel
costs, ...), `refine` multipliers on top of the cross-device model, and text provenance.
It is validated when the profile is loaded, so a zero, NaN, 1e308 or a string where a
number belongs is a HardwareError naming the file and the key — never a division by zero
inside the engine. The engine's Calibration dataclass has exactly these fields
(tests/test_device_model.py checks the two agree).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .schema import CALIBRATION_META, FieldError, describe, string, table

__all__ = ["CALIBRATION_FIELDS", "REFINE_KEYS", "calibration_plausible_text", "check_calibration"]

# kind, low, high (inclusive), unit
_FRAC = ("number", 1e-4, 2.0, "of the datasheet figure")
_RAMP = ("number", 1e-3, 1e7, "")
_SECONDS = ("number", 0.0, 0.1, "s")
_DTYPE_KEYS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4", "fp4")
_KIND_KEYS = (
    "default",
    "contraction",
    "conv",
    "attention",
    "normalization",
    "elementwise",
    "reduction",
    "movement",
    "pooling",
)

CALIBRATION_FIELDS: dict[str, tuple[Any, ...]] = {
    "gemm_fraction": ("table", _DTYPE_KEYS, _FRAC),
    "gemm_misaligned_fraction": ("table", _DTYPE_KEYS, _FRAC),
    "gemm_partial_fraction": ("table", _DTYPE_KEYS, _FRAC),
    "gemm_tile_m": ("int", 1, 4096, ""),
    "gemm_tile_n": ("int", 1, 4096, ""),
    "gemm_small_tile_exponent": ("number", 0.0, 4.0, ""),
    "gemm_k_ramp": _RAMP,
    "gemm_bandwidth_fraction": _FRAC,
    "gemm_misaligned_bandwidth_fraction": _FRAC,
    "gemm_partial_bandwidth_fraction": _FRAC,
    "conv_fraction": ("table", _DTYPE_KEYS, _FRAC),
    "conv_fp32_math": ("choice", ("tf32", "fp32")),
    "conv_winograd_gain": ("table", _DTYPE_KEYS, ("number", 1.0, 8.0, "x the direct FLOP rate")),
    "conv_winograd_overhead_s": _SECONDS,
    "depthwise_bandwidth_fraction": _FRAC,
    "conv_channel_ramp": _RAMP,
    "conv_misaligned_ratio": ("table", _DTYPE_KEYS, ("number", 0.01, 1.0, "x the aligned conv fraction")),
    "conv_grouped_ratio": ("number", 0.01, 1.0, "x the conv fraction"),
    "conv_bias_separate_kernel": ("bool",),
    "conv_bias_bandwidth_fraction": _FRAC,
    "attention_fraction": ("table", _DTYPE_KEYS, _FRAC),
    "attention_q_ramp": _RAMP,
    "attention_head_dim_ramp": _RAMP,
    "attention_min_rows": ("number", 1.0, 1e6, ""),
    "attention_split_len": _RAMP,
    "decode_bandwidth_fraction": _FRAC,
    "decode_parallel_ramp": _RAMP,
    "stream_bandwidth_fraction": _FRAC,
    "transpose_bandwidth_fraction": _FRAC,
    "unaligned_row_bandwidth_fraction": _FRAC,
    "row_cost_s": ("number", 0.0, 1e-3, "s"),
    "unaligned_row_cost_s": ("number", 0.0, 1e-3, "s"),
    "softmax_passes": ("number", 1.0, 10.0, ""),
    "kernel_overhead_s": _SECONDS,
    "kernel_overhead_ratio": ("table", _KIND_KEYS, ("number", 0.05, 10.0, "x kernel_overhead_s")),
    "eager_gap_s": _SECONDS,
    "eager_dispatch_s": ("dispatch", _KIND_KEYS, _SECONDS),
    # 0: the sweep found no size ramp (calibrate.fit_gemm's grid starts at 0; a loaded
    # machine can flatten the small sizes' advantage away)
    "cpu_gemm_half_flops": ("number", 0.0, 1e15, "FLOP per core"),
    "vector_fraction": _FRAC,
    "sfu_fraction": _FRAC,
    "refine": ("refine",),
}

# Multipliers a per-device refinement may apply to the cross-device model's figures:
# compute (GEMM/conv/attention efficiency, GEMM small-tile exponent and K ramp), bandwidth,
# row cost, host dispatch (all ops, GEMMs, convolutions, norms), per-kernel overhead.
# 1 = the model as predicted from the datasheet features.
REFINE_KEYS = (
    "gemm",
    "gemm_tiles",
    "gemm_k_ramp",
    "conv",
    "attention",
    "bandwidth",
    "rows",
    "dispatch",
    "dispatch_gemm",
    "dispatch_conv",
    "dispatch_norm",
    "overhead",
)
_REFINE_RANGE = (0.05, 20.0)


def _num(field: str, v: Any, lo: float, hi: float, unit: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FieldError(f"{field} must be a number, got {describe(v)}")
    try:
        f = float(v)
    except OverflowError:
        raise FieldError(f"{field} is too large: {describe(v)}") from None
    if not math.isfinite(f):
        raise FieldError(f"{field} must be a finite number, got {v!r}")
    if not lo <= f <= hi or (lo == 0.0 and f != 0.0 and abs(f) < 1e-300):
        raise FieldError(f"{field} = {v!r} is outside the plausible range {lo:g}..{hi:g} {unit}".rstrip())
    return f


def calibration_plausible_text(key: str) -> str | None:
    """The plausible range of a scalar [calibration] key, for the message that refuses a
    number literal far too long to parse; None for any other key."""
    spec = CALIBRATION_FIELDS.get(key)
    if spec is None or spec[0] not in ("number", "int"):
        return None
    lo, hi, unit = spec[1:]
    return f"the plausible range is {lo:g} to {hi:g} {unit}".rstrip()


def check_calibration(data: Any, where: str = "calibration") -> dict[str, Any]:
    """Validate a [calibration] table; return a plain copy. Unknown keys are refused."""
    tab = table(where, data)
    out: dict[str, Any] = {}
    for key, v in tab.items():
        field = f"{where}.{key}"
        if key in CALIBRATION_META:
            out[key] = string(field, v, empty_ok=True) if not isinstance(v, list) else [string(field, x) for x in v]
            continue
        spec = CALIBRATION_FIELDS.get(key)
        if spec is None:
            raise FieldError(
                f"unknown key {field}; allowed: {', '.join(CALIBRATION_FIELDS)} and the text fields "
                f"{', '.join(CALIBRATION_META)}"
            )
        kind = spec[0]
        if kind == "number":
            out[key] = _num(field, v, *spec[1:])
        elif kind == "int":
            if isinstance(v, bool) or not isinstance(v, int):
                raise FieldError(f"{field} must be an integer, got {describe(v)}")
            out[key] = int(_num(field, v, *spec[1:]))
        elif kind == "bool":
            if not isinstance(v, bool):
                raise FieldError(f"{field} must be true or false, got {describe(v)}")
            out[key] = v
        elif kind == "choice":
            if v not in spec[1]:
                raise FieldError(f"{field} must be one of {', '.join(spec[1])}, got {describe(v)}")
            out[key] = v
        elif kind == "dispatch":  # op kinds and ONNX op types (Relu, Gemm, ...)
            sub = table(field, v)
            entries: dict[str, float] = {}
            for k, x in sub.items():
                if k not in spec[1] and not re.fullmatch(r"[A-Z][A-Za-z0-9]{0,40}", k):
                    raise FieldError(
                        f"unknown key {field}.{k}; allowed: {', '.join(spec[1])} or an op type such as Relu, Gemm"
                    )
                entries[k] = _num(f"{field}.{k}", x, *spec[2][1:])
            out[key] = entries
        elif kind == "table":
            sub = table(field, v)
            keys, rng = spec[1], spec[2]
            inner: dict[str, float] = {}
            for k, x in sub.items():
                if k not in keys:
                    raise FieldError(f"unknown key {field}.{k}; allowed: {', '.join(keys)}")
                inner[k] = _num(f"{field}.{k}", x, *rng[1:])
            out[key] = inner
        else:  # refine
            sub = table(field, v)
            inner = {}
            for k, x in sub.items():
                if k not in REFINE_KEYS:
                    raise FieldError(f"unknown key {field}.{k}; allowed: {', '.join(REFINE_KEYS)}")
                inner[k] = _num(f"{field}.{k}", x, *_REFINE_RANGE, "(multiplier)")
            out[key] = inner
    return out


def as_plain(v: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (dict(x) if isinstance(x, Mapping) else x) for k, x in v.items()}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, int) else f"{v:.6g}"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def calibration_toml(table: Mapping[str, Any], comment: str = "") -> str:
    """A validated [calibration] table as TOML text (the table is checked first)."""
    check_calibration(table)
    lines = ["[calibration]"] + [f"# {c}" for c in comment.splitlines() if c.strip()]
    lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def replace_calibration(profile_text: str, table_text: str) -> str:
    """Profile file text with its [calibration] table replaced by `table_text` (or added at
    the end). Assumes, as the built-in files do, that [calibration] has no sub-tables."""
    marker = "\n[calibration]"
    if marker in profile_text:
        head, _, rest = profile_text.partition(marker)
        nxt = re.search(r"^\[", rest, re.MULTILINE)
        tail = rest[nxt.start() :] if nxt else ""
        return head.rstrip() + "\n\n" + table_text + ("\n" + tail if tail else "")
    return profile_text.rstrip() + "\n\n" + table_text
