"""Readers for the third-party measurement layouts: NeuSight operator CSVs, Vidur per-layer
profiles and the measure_gpu / H200 JSON (formats: measurements.py). Each row becomes
one or more validated canonical Measurements."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import MeasurementError
from .measurement_record import Measurement, _int, _RowError, _spread, _text, device_profile, make

_VIDUR_DEVICES = {
    "a40": ("NVIDIA A40", "a40"),
    "a100": ("NVIDIA A100 80GB", "a100-sxm4-80gb"),
    "h100": ("NVIDIA H100", "h100-sxm5-80gb"),
}


def _fail(path: Path, row: int | str, e: _RowError) -> MeasurementError:
    return MeasurementError(f"row {row}, column {e.column}: {e}", where=str(path))


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
