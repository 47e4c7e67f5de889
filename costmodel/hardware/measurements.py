"""Measured kernel timings: one canonical record, the readers for the layouts in use, and
the validation every number goes through.

The canonical format (what `costmodel calibrate` writes on a local GPU and what
`costmodel calibrate --from` reads) is a CSV file with the columns

    op,shape,dtype,time_s,device,profile,source,timing,conditions

    matmul,batch=1 m=4096 n=4096 k=4096,bf16,0.000151,NVIDIA H100 80GB HBM3,h100-sxm5-80gb,my-lab,eager,matmul_tf32=off

or the same rows as JSON: {"format": "costmodel-measurements", "version": 1, "rows": [{"op":
..., "shape": {"batch": 1, ...}, ..., "conditions": {...}}]}. `shape` holds the op's
dimensions (OP_SHAPES), `time_s` seconds, `timing` how the time was taken:

- eager: CUDA events around one framework call (the host's dispatch is inside the time),
- kernel: the GPU time of the op's kernels only (a profiler trace),
- graph: one replay of a CUDA graph holding the op.

`conditions` are `key=value` run conditions (matmul_tf32=off, conv_tf32=on, layout=nhwc,
torch=2.1.0, run_spread=0.01, ...). Also read, and converted row by row: NeuSight's
operator CSVs (`OPName,Latency,Device,...`), Vidur's per-layer `mlp.csv` profiles
(`time_stats.<op>.median`, ...) and the costmodel/measure_gpu JSON layout
(`{"device": ..., "method": ..., "cases": [...]}`). Files may be gzip-compressed (.gz).
Every problem is a MeasurementError naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MeasurementError

__all__ = [
    "CANONICAL_COLUMNS",
    "DTYPES",
    "FAMILY",
    "OP_SHAPES",
    "TIMINGS",
    "Measurement",
    "device_profile",
    "measurements_to_csv",
    "read_measurements",
]

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
_VIDUR_DEVICES = {
    "a40": ("NVIDIA A40", "a40"),
    "a100": ("NVIDIA A100 80GB", "a100-sxm4-80gb"),
    "h100": ("NVIDIA H100", "h100-sxm5-80gb"),
}


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
# Readers
# ---------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read(MAX_DECOMPRESSED + 1)
        else:
            with open(path, "rb") as f:
                raw = f.read(MAX_DECOMPRESSED + 1)
    except FileNotFoundError:
        raise MeasurementError("no such measurement file", where=str(path)) from None
    except IsADirectoryError:
        raise MeasurementError("is a directory, not a measurement file", where=str(path)) from None
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise MeasurementError(f"cannot read: {getattr(e, 'strerror', None) or e}", where=str(path)) from None
    if len(raw) > MAX_DECOMPRESSED:
        raise MeasurementError(f"larger than {MAX_DECOMPRESSED} bytes of text", where=str(path))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise MeasurementError(f"not valid UTF-8 text (byte {e.start})", where=str(path)) from None


def _csv_rows(text: str, path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise MeasurementError("empty file", where=str(path)) from None
    except csv.Error as e:
        raise MeasurementError(f"invalid CSV: {e}", where=str(path)) from None
    header = [h.strip() for h in header]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        line = 1
        try:
            for line, rec in enumerate(reader, start=2):
                if not rec or all(not x.strip() for x in rec):
                    continue
                if len(rec) != len(header):
                    raise MeasurementError(
                        f"row {line}: {len(rec)} columns where the header has {len(header)}", where=str(path)
                    )
                if line > MAX_ROWS:
                    raise MeasurementError(f"more than {MAX_ROWS} rows", where=str(path))
                yield line, dict(zip(header, rec))
        except csv.Error as e:
            raise MeasurementError(f"row {line}: invalid CSV: {e}", where=str(path)) from None

    return header, rows()


def _fail(path: Path, row: int | str, e: _RowError) -> MeasurementError:
    return MeasurementError(f"row {row}, column {e.column}: {e}", where=str(path))


def _canonical_csv(path: Path, rows: Iterator[tuple[int, dict[str, str]]]) -> list[Measurement]:
    out = []
    for line, r in rows:
        try:
            shape = dict(_pairs(r["shape"], "shape"))
            out.append(
                make(
                    r["op"],
                    shape,
                    r["dtype"],
                    r["time_s"],
                    r["device"],
                    r["profile"],
                    r["source"],
                    r["timing"],
                    _pairs(r["conditions"], "conditions"),
                    f"{path.name}:{line}",
                )
            )
        except _RowError as e:
            raise _fail(path, line, e) from None
    return out


_NEUSIGHT_OPS = {
    "add": "add",
    "mul": "mul",
    "div": "div",
    "pow": "pow",
    "addu": "add_scalar",
    "mulu": "mul_scalar",
    "divu": "div_scalar",
    "powu": "pow_scalar",
    "relu": "relu",
    "gelu": "gelu",
    "tanh": "tanh",
}


def _neusight(path: Path, rows: Iterator[tuple[int, dict[str, str]]]) -> list[Measurement]:
    """NeuSight operator CSVs: fp32 with TF32 off, CUDA events around one PyTorch call
    (eager), Latency in milliseconds."""
    out = []
    for line, r in rows:
        try:
            name = _text(r.get("OPName", ""), "OPName").lower()
            shape: dict[str, Any]
            if name == "bmm":
                op, shape = "matmul", {"batch": r["B"], "m": r["M"], "n": r["N"], "k": r["K"]}
            elif name == "linear":
                if _int(r["B"], "B") != 1:
                    raise _RowError("B", "linear rows have B = 1 (M tokens, N out, K in)")
                op, shape = "linear", {"m": r["M"], "n": r["N"], "k": r["K"]}
            elif name == "conv":
                shape = {
                    "n": r["B"],
                    "cin": r["Input_Channel"],
                    "cout": r["Output_Channel"],
                    "kernel": r["Kernel_Szie"],
                    "h": r["Input_Size"],
                    "w": r["Input_Size"],
                    "stride": r["Stride"],
                    "pad": r["Padding"],
                    "groups": 1,
                }
                op = "conv2d"
            elif name in ("softmax", "ln"):
                op, shape = ("softmax" if name == "softmax" else "layer_norm"), {"rows": r["B"], "cols": r["H"]}
            elif name in _NEUSIGHT_OPS:
                op, shape = _NEUSIGHT_OPS[name], {"rows": r["B"], "cols": r["H"]}
            else:
                raise _RowError("OPName", f"unknown NeuSight op {name[:40]!r}")
            torch_v = r.get("Torch Version", "").lstrip("p")
            cond = {"matmul_tf32": "off", "conv_tf32": "off", "torch": torch_v, "cudnn": r.get("CUDNN Version", "")}
            out.append(
                make(
                    op,
                    shape,
                    "fp32",
                    r["Latency"],
                    r["Device"],
                    "",
                    "neusight",
                    "eager",
                    cond,
                    f"{path.name}:{line}",
                    "Latency",
                    1e-3,
                )
            )
        except KeyError as e:
            raise MeasurementError(f"row {line}: missing column {e.args[0]!r}", where=str(path)) from None
        except _RowError as e:
            raise _fail(path, line, e) from None
    return out


def _vidur_device(path: Path, device: str | None) -> tuple[str, str]:
    if device:
        return device, device_profile(device) or device.lower()
    for part in reversed(path.resolve().parts[:-1]):
        low = part.lower()
        for token, dev in _VIDUR_DEVICES.items():
            if re.search(rf"(^|[-_/]){token}($|[-_])", low):
                return dev
    raise MeasurementError(
        "a Vidur profile does not name its device; keep it in a folder named after the device "
        "(e.g. vidur-a40/) or pass the device name",
        where=str(path),
    )


def _vidur(path: Path, rows: Iterator[tuple[int, dict[str, str]]], device: str | None) -> list[Measurement]:
    """Vidur per-layer profiles (mlp.csv): one row per (num_tokens, TP degree); per op the
    median GPU kernel time in milliseconds from a profiler trace (timing = kernel). The
    projections are the TP shards: columns split for QKV and up, rows for out and down."""
    dev, prof = _vidur_device(path, device)
    model = re.sub(r"^mlp__", "", path.name.split(".")[0])
    out = []
    for line, r in rows:
        try:
            tp = _int(r["num_tensor_parallel_workers"], "num_tensor_parallel_workers")
            tok = _int(r["num_tokens"], "num_tokens")
            d = _int(r["n_embd"], "n_embd")
            heads, kv = _int(r["n_head"], "n_head"), _int(r["n_kv_head"], "n_kv_head")
            ffn = _int(r["n_expanded_embd"], "n_expanded_embd")
            gated = r["use_gated_mlp"].strip().lower() == "true"
            hd = d // heads
            if hd * heads != d or heads % tp or ffn % tp:
                raise _RowError("n_head", "heads must divide n_embd and TP must divide heads and n_expanded_embd")
            norm = "rms_norm" if gated else "layer_norm"  # Llama-style models use RMSNorm; Phi-2 LayerNorm
            kv_local = max(kv // tp, 1)
            ops = {
                "attn_pre_proj": ("linear", {"m": tok, "k": d, "n": (heads // tp + 2 * kv_local) * hd}),
                "attn_post_proj": ("linear", {"m": tok, "k": heads // tp * hd, "n": d}),
                "mlp_up_proj": ("linear", {"m": tok, "k": d, "n": (2 if gated else 1) * ffn // tp}),
                "mlp_down_proj": ("linear", {"m": tok, "k": ffn // tp, "n": d}),
                "input_layernorm": (norm, {"rows": tok, "cols": d}),
                "post_attention_layernorm": (norm, {"rows": tok, "cols": d}),
                "add": ("add", {"numel": tok * d}),
                "mlp_act": (
                    ("silu_and_mul", {"rows": tok, "cols": ffn // tp})
                    if gated
                    else ("gelu", {"numel": tok * ffn // tp})
                ),
            }
            cond = {"model": model, "tp": str(tp), "tokens": str(tok), "stage": ""}
            for stage, (op, shape) in ops.items():
                col = f"time_stats.{stage}.median"
                if not r.get(col, "").strip():
                    continue
                cond["stage"] = stage
                std = r.get(f"time_stats.{stage}.std", "").strip()
                cond["std_s"] = f"{_spread(std, f'time_stats.{stage}.std') * 1e-3:.3g}" if std else ""
                out.append(
                    make(
                        op, shape, "fp16", r[col], dev, prof, "vidur", "kernel", cond, f"{path.name}:{line}", col, 1e-3
                    )
                )
        except KeyError as e:
            raise MeasurementError(f"row {line}: missing column {e.args[0]!r}", where=str(path)) from None
        except _RowError as e:
            raise _fail(path, line, e) from None
    return out


_H200_DTYPES = {"fp32": "fp32", "tf32": "tf32", "bf16": "bf16", "fp16": "fp16", "fp8_e4m3": "fp8_e4m3"}


def _gpu_json(path: Path, data: Mapping[str, Any]) -> list[Measurement]:
    """The layout of benchmarks/measure_gpu.py and the committed H200 set: op cases timed
    with CUDA events around an eager PyTorch call. LLM step rows are whole models, not
    kernels, and are left to the validation of model steps."""
    env = data.get("env") if isinstance(data.get("env"), Mapping) else {}
    device = str(data.get("device") or (env or {}).get("gpu") or "")
    prof = device_profile(device) or device_profile(str((env or {}).get("gpu", "")))
    torch_v = str((env or {}).get("torch", ""))
    cases = data.get("cases")
    if not isinstance(cases, list):
        raise MeasurementError("'cases' must be a list", where=str(path))
    out = []
    for i, c in enumerate(cases):
        if not isinstance(c, Mapping) or c.get("section") not in ("ops", "ceilings"):
            continue
        op = c.get("op")
        try:
            if op == "matmul":
                shape = {"batch": c.get("batch") or 1, "m": c["M"], "n": c["N"], "k": c["K"]}
            elif op == "conv2d":
                shape = {
                    "n": c["N"],
                    "cin": c["Cin"],
                    "h": c["H"],
                    "w": c.get("W", c["H"]),
                    "cout": c["Cout"],
                    "kernel": c["kernel"],
                    "stride": c["stride"],
                    "pad": c.get("padding", int(c["kernel"]) // 2),
                    "groups": c.get("groups", 1),
                }
            elif op == "sdpa":
                shape = {k.lower(): c[k] for k in ("B", "Hq", "Hkv", "Sq", "Skv", "D")} | {
                    "causal": int(bool(c["causal"]))
                }
            elif op in ("rms_norm", "layer_norm", "softmax", "transpose"):
                rows, cols = c["shape"]
                shape = {"rows": rows, "cols": cols}
            elif op in ("copy", "exp", "gelu", "silu", "mul", "add", "sum"):
                shape = {"numel": c["numel"]}
            else:
                continue  # the tiny-kernel ceilings are not ops
            dt = str(c.get("dtype", "fp32"))
            cond = {
                "matmul_tf32": "on" if dt == "tf32" else "off",
                "conv_tf32": "on",  # PyTorch's default (torch.backends.cudnn.allow_tf32 = True)
                "layout": "nhwc" if op == "conv2d" and dt != "fp32" else "nchw",
                "torch": torch_v,
                "run_spread": str(c.get("run_spread", 0)),
                "section": str(c.get("section")),
            }
            m = make(
                str(op),
                shape,
                _H200_DTYPES.get(dt, dt),
                c.get("measured_s"),
                device,
                prof,
                path.name.split(".")[0],
                "eager",
                cond,
                f"{path.name}:cases[{i}]",
                "measured_s",
            )
        except KeyError as e:
            raise MeasurementError(f"cases[{i}]: missing field {e.args[0]!r}", where=str(path)) from None
        except (TypeError, ValueError):
            raise MeasurementError(f"cases[{i}]: malformed shape", where=str(path)) from None
        except _RowError as e:
            raise _fail(path, f"cases[{i}]", e) from None
        out.append(m)
    return out


def _canonical_json(path: Path, data: Mapping[str, Any]) -> list[Measurement]:
    rows = data.get("rows")
    if not isinstance(rows, list):
        raise MeasurementError("'rows' must be a list", where=str(path))
    out = []
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping):
            raise MeasurementError(f"rows[{i}] must be an object", where=str(path))
        try:
            shape, cond = r.get("shape", {}), r.get("conditions", {})
            if not isinstance(shape, Mapping) or not isinstance(cond, Mapping):
                raise _RowError("shape", "shape and conditions must be objects")
            out.append(
                make(
                    r.get("op", ""),
                    shape,
                    r.get("dtype", ""),
                    r.get("time_s"),
                    r.get("device", ""),
                    r.get("profile", ""),
                    r.get("source", ""),
                    r.get("timing", ""),
                    cond,
                    f"{path.name}:rows[{i}]",
                )
            )
        except _RowError as e:
            raise _fail(path, f"rows[{i}]", e) from None
    return out


def read_measurements(
    path: str | os.PathLike[str], device: str | None = None, limit: int | None = None
) -> list[Measurement]:
    """Every op measurement in a file (canonical CSV/JSON, NeuSight, Vidur or the
    measure_gpu JSON layout; .gz allowed), validated. `device` names the device of a Vidur
    profile kept outside a device-named folder; `limit` reads only the first rows of a CSV
    (a quick sample)."""
    p = Path(os.fspath(path)).expanduser()
    text = _read_text(p)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            raise MeasurementError(f"invalid JSON: {e}", where=str(p)) from None
        if isinstance(data, Mapping) and data.get("format") == "costmodel-measurements":
            if data.get("version") != 1:
                raise MeasurementError(f"unsupported measurements version {data.get('version')!r}", where=str(p))
            return _canonical_json(p, data)
        if isinstance(data, Mapping) and "cases" in data:
            return _gpu_json(p, data)
        raise MeasurementError(
            "unknown JSON layout (expected {'format': 'costmodel-measurements', ...} or a measure_gpu file)",
            where=str(p),
        )
    header, rows = _csv_rows(text, p)
    if limit is not None:
        rows = itertools.islice(rows, limit)
    if tuple(header) == CANONICAL_COLUMNS:
        out = _canonical_csv(p, rows)
    elif header[:3] == ["OPName", "Latency", "Device"]:
        out = _neusight(p, rows)
    elif "num_tokens" in header and any(h.startswith("time_stats.") for h in header):
        out = _vidur(p, rows, device)
    else:
        raise MeasurementError(
            f"unknown CSV layout; the canonical header is {','.join(CANONICAL_COLUMNS)} "
            "(NeuSight and Vidur profiles are also read)",
            where=str(p),
        )
    if not out:
        raise MeasurementError("no measurements in the file", where=str(p))
    return out


def _cell(s: str) -> str:
    return s.replace(",", ";").replace("\n", " ").replace("\r", " ")


def measurements_to_csv(rows: Sequence[Measurement]) -> str:
    """The canonical CSV text for measurements (what read_measurements reads back)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CANONICAL_COLUMNS)
    for m in rows:
        w.writerow(
            [
                m.op,
                m.shape_text(),
                m.dtype,
                f"{m.time_s:.9g}",
                m.device,
                m.profile,
                m.source,
                m.timing,
                " ".join(f"{k}={_cell(v).replace(' ', '_')}" for k, v in m.conditions if v),
            ]
        )
    return buf.getvalue()
