"""The canonical measurement record and the validation every measured number goes
through (file formats: measurements.py). A problem is a _RowError naming the column; the
readers add the file and the row."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DTYPES", "FAMILY", "OP_SHAPES", "TIMINGS", "Measurement", "device_profile", "make"]

CANONICAL_COLUMNS = ("op", "shape", "dtype", "time_s", "device", "profile", "source", "timing", "conditions")
TIMINGS = ("eager", "kernel", "graph")
DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8_e4m3", "fp8_e5m2", "int8")

_NUMEL = ("numel",)
_ROWS = ("rows", "cols")
# op -> the shape keys it needs (elementwise ops take numel, or rows and cols)
OP_SHAPES: dict[str, tuple[str, ...]] = {
    "matmul": ("batch", "m", "n", "k"),
    "linear": ("m", "n", "k"),
    "conv2d": ("n", "cin", "h", "w", "cout", "kernel", "stride", "pad", "groups"),
    "sdpa": ("b", "hq", "hkv", "sq", "skv", "d", "causal"),
    **{op: _NUMEL for op in ("add", "mul", "div", "pow", "relu", "gelu", "tanh", "silu", "exp", "copy", "sum")},
    **{f"{op}_scalar": _NUMEL for op in ("add", "mul", "div", "pow")},
    **{op: _ROWS for op in ("softmax", "layer_norm", "rms_norm", "transpose", "silu_and_mul", "rope")},
    "embedding": ("rows", "cols", "vocab"),
}
_ELEMENTWISE = {op for op, keys in OP_SHAPES.items() if keys == _NUMEL and op != "sum"}
# op -> family (the unit the accuracy report and the uncertainty bands are kept per)
FAMILY: dict[str, str] = {
    "matmul": "gemm",
    "linear": "gemm",
    "conv2d": "conv",
    "sdpa": "attention",
    "softmax": "softmax",
    "layer_norm": "norm",
    "rms_norm": "norm",
    "transpose": "transpose",
    "sum": "reduction",
    "silu_and_mul": "elementwise",
    "rope": "elementwise",
    "embedding": "gather",
    **{op: "elementwise" for op in _ELEMENTWISE},
}
MAX_DIM = 2**40
TIME_RANGE = (1e-8, 1e5)  # s: 10 ns (one kernel's shortest possible duration) .. a day
MAX_DECOMPRESSED = 512 * 2**20  # bytes of text read from one file
MAX_ROWS = 2_000_000

# Device names as the measuring tools print them -> built-in profile names
_DEVICE_PROFILES = {
    "tesla p4": "p4",
    "tesla p100-pcie-16gb": "p100-pcie-16gb",
    "tesla t4": "t4",
    "tesla v100-pcie-32gb": "v100-pcie-32gb",
    "tesla v100-pcie-16gb": "v100-pcie-16gb",
    "tesla v100-sxm2-32gb": "v100-sxm2-32gb",
    "nvidia a100-pcie-40gb": "a100-pcie-40gb",
    "nvidia a100 80gb pcie": "a100-pcie-80gb",
    "nvidia a100-sxm4-40gb": "a100-sxm4-40gb",
    "nvidia a100-sxm4-80gb": "a100-sxm4-80gb",
    "nvidia a40": "a40",
    "nvidia a10": "a10",
    "nvidia a10g": "a10g",
    "nvidia l4": "l4",
    "nvidia h100 80gb hbm3": "h100-sxm5-80gb",
    "nvidia h100 pcie": "h100-pcie-80gb",
    "nvidia h200": "h200-sxm-141gb",
    "nvidia h200 sxm 141gb (one gpu)": "h200-sxm-141gb",
}
# Vidur stores profiles per device folder (data/profiling/compute/<device>/<model>/mlp.csv)


def device_profile(device: str) -> str:
    """The built-in profile name for a device name as measuring tools print it ('' if unknown)."""
    return _DEVICE_PROFILES.get(" ".join(device.lower().split()), "")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measured op: what ran (op, shape, dtype), how long (seconds), where and how."""

    op: str
    dims: tuple[tuple[str, int], ...]
    dtype: str
    time_s: float
    device: str
    profile: str
    source: str
    timing: str
    conditions: tuple[tuple[str, str], ...] = ()
    where: str = ""  # file and row it came from

    def dim(self, key: str) -> int:
        for k, v in self.dims:
            if k == key:
                return v
        raise KeyError(key)

    def get(self, key: str, default: int | None = None) -> int | None:
        for k, v in self.dims:
            if k == key:
                return v
        return default

    def condition(self, key: str, default: str = "") -> str:
        for k, v in self.conditions:
            if k == key:
                return v
        return default

    @property
    def family(self) -> str:
        return FAMILY[self.op]

    @property
    def numel(self) -> int:
        n = self.get("numel")
        return n if n is not None else self.dim("rows") * self.dim("cols")

    @property
    def key(self) -> str:
        """A stable identity of what was measured (not the time): for splits and dedup."""
        shape = " ".join(f"{k}={v}" for k, v in self.dims)
        return f"{self.source}|{self.profile or self.device}|{self.op}|{self.dtype}|{shape}"

    def shape_text(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.dims)

    def to_row(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "shape": dict(self.dims),
            "dtype": self.dtype,
            "time_s": self.time_s,
            "device": self.device,
            "profile": self.profile,
            "source": self.source,
            "timing": self.timing,
            "conditions": dict(self.conditions),
        }


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _time(v: Any, column: str = "time_s", scale: float = 1.0) -> float:
    if isinstance(v, bool):
        raise _RowError(column, f"must be a number, got {v!r}")
    try:
        f = float(v) * scale
    except (TypeError, ValueError, OverflowError):
        raise _RowError(column, f"must be a number, got {str(v)[:40]!r}") from None
    if not math.isfinite(f):
        raise _RowError(column, f"must be a finite number, got {str(v)[:40]!r}")
    lo, hi = TIME_RANGE
    if not lo <= f <= hi:
        raise _RowError(column, f"{f:g} s is outside the plausible range {lo:g}..{hi:g} s")
    return f


def _spread(v: str, column: str) -> float:
    """A run-to-run spread (a standard deviation): finite and >= 0."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise _RowError(column, f"must be a number, got {v[:40]!r}") from None
    if not math.isfinite(f) or f < 0:
        raise _RowError(column, f"must be a finite number >= 0, got {v[:40]!r}")
    return f


def _int(v: Any, column: str, lo: int = 1) -> int:
    if isinstance(v, bool):
        return int(v) if lo == 0 else _fail_int(column, v)
    if isinstance(v, float):
        if not math.isfinite(v) or v != int(v):
            _fail_int(column, v)
        v = int(v)
    if isinstance(v, str):
        s = v.strip()
        if s.lower() in ("true", "false") and lo == 0:
            return int(s.lower() == "true")
        if not re.fullmatch(r"[+]?\d{1,15}", s):
            _fail_int(column, v)
        v = int(s)
    if not isinstance(v, int):
        _fail_int(column, v)
    if not lo <= v <= MAX_DIM:
        raise _RowError(column, f"must be an integer in {lo}..{MAX_DIM}, got {v!r}")
    return int(v)


def _fail_int(column: str, v: Any) -> int:
    raise _RowError(column, f"must be a positive integer, got {str(v)[:40]!r}")


def _text(v: Any, column: str, empty_ok: bool = False) -> str:
    if not isinstance(v, str):
        raise _RowError(column, f"must be text, got {type(v).__name__}")
    s = " ".join(v.split())
    if not s and not empty_ok:
        raise _RowError(column, "must not be empty")
    if len(s) > 400:
        raise _RowError(column, "is longer than 400 characters")
    return s


def _pairs(text: str, column: str) -> list[tuple[str, str]]:
    out = []
    for tok in re.split(r"[\s;]+", text.strip()):
        if not tok:
            continue
        k, eq, v = tok.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,40}", k):
            raise _RowError(column, f"expects key=value pairs, got {tok[:40]!r}")
        out.append((k.lower(), v))
    return out


def make(
    op: str,
    shape: Mapping[str, Any],
    dtype: str,
    time_s: Any,
    device: str,
    profile: str,
    source: str,
    timing: str,
    conditions: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
    where: str = "",
    time_column: str = "time_s",
    time_scale: float = 1.0,
) -> Measurement:
    """A validated Measurement (raises _RowError naming the column)."""
    op = _text(op, "op").lower()
    if op not in OP_SHAPES:
        raise _RowError("op", f"unknown op {op[:40]!r}; known: {', '.join(OP_SHAPES)}")
    need = OP_SHAPES[op]
    dims: dict[str, int] = {}
    for k, v in shape.items():
        k = str(k).lower()
        lo = 0 if k in ("causal", "pad") else 1
        dims[k] = _int(v, f"shape.{k}", lo)
    if need == _NUMEL and "numel" not in dims and "rows" in dims and "cols" in dims:
        dims = {"rows": dims["rows"], "cols": dims["cols"], **{k: v for k, v in dims.items() if k not in _ROWS}}
        need = _ROWS
    if op == "conv2d":
        dims.setdefault("w", dims.get("h", 0))
        dims.setdefault("groups", 1)
        if "kernel" in dims:
            dims.setdefault("pad", dims["kernel"] // 2)
    if op == "matmul":
        dims.setdefault("batch", 1)
    missing = [k for k in need if k not in dims]
    if missing:
        raise _RowError("shape", f"{op} needs {', '.join(need)}; missing {', '.join(missing)}")
    extra = [k for k in dims if k not in need]
    if extra:
        raise _RowError("shape", f"{op} takes {', '.join(need)}; unknown {', '.join(extra)}")
    if op == "conv2d" and (dims["cin"] % dims["groups"] or dims["cout"] % dims["groups"]):
        raise _RowError("shape.groups", "groups must divide cin and cout")
    if op == "sdpa" and dims["hq"] % dims["hkv"]:
        raise _RowError("shape.hkv", "hkv must divide hq")
    dt = _text(dtype, "dtype").lower()
    if dt not in DTYPES:
        raise _RowError("dtype", f"unknown dtype {dt[:40]!r}; known: {', '.join(DTYPES)}")
    tm = _text(timing, "timing").lower()
    if tm not in TIMINGS:
        raise _RowError("timing", f"must be one of {', '.join(TIMINGS)}, got {tm[:40]!r}")
    dev = _text(device, "device")
    prof = _text(profile, "profile", empty_ok=True).lower() or device_profile(dev)
    conds = conditions.items() if isinstance(conditions, Mapping) else conditions
    cond = tuple((_text(str(k), "conditions").lower(), _text(str(v), "conditions", True)) for k, v in conds)
    return Measurement(
        op,
        tuple((k, dims[k]) for k in need),
        dt,
        _time(time_s, time_column, time_scale),
        dev,
        prof,
        _text(source, "source"),
        tm,
        cond,
        where,
    )


# ---------------------------------------------------------------------------------------------
