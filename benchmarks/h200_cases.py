"""Turn the measured H200 cases (benchmarks/data/h200-2026-11-28.json) into ONNX graphs
costmodel analyses, so fitting and reporting run the product's own pipeline end to end.

Each op case becomes a one-op graph (the way the acceptance checks pose single ops);
LLM cases are handled by the LLM planner's own validation (benchmarks/validate_llm.py).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "h200-2026-11-28.json")
DT = {
    "fp32": TensorProto.FLOAT,
    "bf16": TensorProto.BFLOAT16,
    "fp16": TensorProto.FLOAT16,
    "tf32": TensorProto.FLOAT,
    "fp8_e4m3": TensorProto.FLOAT8E4M3FN,
}


@dataclass
class Case:
    index: int
    op: str
    dtype: str
    measured_s: float
    spread: float
    raw: dict
    model: Any  # onnx.ModelProto

    @property
    def holdout(self) -> bool:
        """Every 4th op case is held out of the fit (deterministic); ceilings never are."""
        return self.index >= 0 and self.index % 4 == 3

    def label(self) -> str:
        r = self.raw
        keys = [
            k
            for k in (
                "M",
                "N",
                "K",
                "numel",
                "shape",
                "B",
                "Hq",
                "Hkv",
                "Sq",
                "Skv",
                "D",
                "causal",
                "N",
                "Cin",
                "H",
                "W",
                "Cout",
                "kernel",
                "stride",
                "groups",
            )
            if k in r
        ]
        return f"{self.op} {self.dtype} " + " ".join(f"{k}={r[k]}" for k in dict.fromkeys(keys))


def _vi(name, dt, shape):
    return helper.make_tensor_value_info(name, DT[dt], list(shape))


def _model(nodes, inputs, inits=(), opset=23):
    g = helper.make_graph(
        nodes, "case", inputs, [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)], list(inits)
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def _weight(name, dt, shape):
    n = int(np.prod(shape))
    item = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8_e4m3": 1}[dt]
    return helper.make_tensor(name, DT[dt], list(shape), vals=b"\0" * (n * item), raw=True)


def build(c: dict) -> Any | None:
    op, dt = c["op"], c.get("dtype", "fp32")
    n = helper.make_node
    if op == "matmul":
        a, b = (c["M"], c["K"]), (c["K"], c["N"])
        if c.get("batch"):
            a, b = (c["batch"],) + a, (c["batch"],) + b
        return _model([n("MatMul", ["a", "b"], ["y"])], [_vi("a", dt, a), _vi("b", dt, b)])
    if op in ("mul", "add"):
        s = (c["numel"],)
        return _model([n(op.capitalize(), ["a", "b"], ["y"])], [_vi("a", dt, s), _vi("b", dt, s)])
    if op in ("exp", "gelu", "silu"):
        t = {"exp": "Exp", "gelu": "Gelu", "silu": "Swish"}[op]
        return _model([n(t, ["a"], ["y"])], [_vi("a", dt, (c["numel"],))], opset=24 if op == "silu" else 23)
    if op == "copy":
        s = (c["numel"],)
        shape = helper.make_tensor("shape", TensorProto.INT64, [1], [c["numel"]])
        return _model([n("Expand", ["a", "shape"], ["y"])], [_vi("a", dt, s)], [shape])
    if op == "sum":
        return _model([n("ReduceSum", ["a"], ["y"], keepdims=0)], [_vi("a", dt, (c["numel"],))])
    if op in ("rms_norm", "layer_norm"):
        rows, cols = c["shape"]
        if op == "rms_norm":
            return _model(
                [n("RMSNormalization", ["a", "g"], ["y"], axis=-1)],
                [_vi("a", dt, (rows, cols))],
                [_weight("g", dt, (cols,))],
            )
        return _model(
            [n("LayerNormalization", ["a", "g", "b"], ["y"], axis=-1)],
            [_vi("a", dt, (rows, cols))],
            [_weight("g", dt, (cols,)), _weight("b", dt, (cols,))],
        )
    if op == "softmax":
        return _model([n("Softmax", ["a"], ["y"], axis=-1)], [_vi("a", dt, tuple(c["shape"]))])
    if op == "transpose":
        return _model([n("Transpose", ["a"], ["y"], perm=[1, 0])], [_vi("a", dt, tuple(c["shape"]))])
    if op == "sdpa":
        B, Hq, Hkv, Sq, Skv, D = (c[k] for k in ("B", "Hq", "Hkv", "Sq", "Skv", "D"))
        return _model(
            [n("Attention", ["q", "k", "v"], ["y"], is_causal=int(bool(c["causal"])))],
            [_vi("q", dt, (B, Hq, Sq, D)), _vi("k", dt, (B, Hkv, Skv, D)), _vi("v", dt, (B, Hkv, Skv, D))],
        )
    if op == "conv2d":
        k, s, g = c["kernel"], c["stride"], c["groups"]
        p = c.get("padding", k // 2)
        return _model(
            [n("Conv", ["x", "w"], ["y"], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4, group=g)],
            [_vi("x", dt, (c["N"], c["Cin"], c["H"], c["W"]))],
            [_weight("w", dt, (c["Cout"], c["Cin"] // g, k, k))],
        )
    return None


_BUILDABLE = {
    "matmul",
    "mul",
    "add",
    "exp",
    "gelu",
    "silu",
    "copy",
    "sum",
    "rms_norm",
    "layer_norm",
    "softmax",
    "transpose",
    "sdpa",
    "conv2d",
}


def load_cases(sections: tuple[str, ...] = ("ops", "ceilings")) -> list[Case]:
    """Op cases, and the ceiling GEMMs/copy (always in the fit: they pin the large-size
    limits the random op shapes rarely reach)."""
    with open(DATA) as f:
        data = json.load(f)
    out = []
    i = 0
    for c in data["cases"]:
        if c.get("section") not in sections or c.get("op") not in _BUILDABLE:
            continue
        if c.get("section") == "ceilings":
            m = build(c)
            out.append(Case(-1, c["op"], c.get("dtype", "fp32"), float(c["measured_s"]), 0.0, c, m))
            continue
        m = build(c)
        if m is None:
            continue
        out.append(
            Case(i, c["op"], c.get("dtype", "fp32"), float(c["measured_s"]), float(c.get("run_spread", 0)), c, m)
        )
        i += 1
    return out


def error_stats(pairs: list[tuple[float, float]]) -> dict[str, float]:
    errs = sorted(abs(p / m - 1) for p, m in pairs)
    if not errs:
        return {"n": 0}
    logs = [abs(math.log(p / m)) for p, m in pairs]
    return {
        "n": len(errs),
        "median_abs_err": errs[len(errs) // 2],
        "mean_abs_err": sum(errs) / len(errs),
        "p90_abs_err": errs[int(0.9 * (len(errs) - 1))],
        "mean_abs_log": sum(logs) / len(logs),
    }
