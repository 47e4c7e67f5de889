"""A measured op as the product sees it: a one-op graph analysed by `analyze_graph` and
timed by `graph_latency`, exactly as a user's one-op model would be.

`Case` pairs a Measurement (hardware/measurements.py) with its analysed graph, the
execution mode its timing method corresponds to and the calibration adjustments its run
conditions imply (TF32 off for convolutions). Fitting, validation and
`costmodel calibrate --from` all predict through `Case.predict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..analysis import GraphCost, analyze_graph
from ..frontends.builder import GraphBuilder
from ..hardware.measurements import Measurement
from ..ir.dtypes import dtype as to_dtype
from ..ir.graph import Graph
from .calibration import Calibration
from .latency import graph_latency

__all__ = ["Case", "build_case", "build_cases"]

# timing method -> engine execution mode: events around an eager call see the host's
# dispatch; a profiler's kernel time and a CUDA-graph replay do not
_EXECUTION = {"eager": "eager", "kernel": "graph", "graph": "graph"}
_UNARY = {"relu": "Relu", "gelu": "Gelu", "tanh": "Tanh", "exp": "Exp", "silu": "Swish"}
_BINARY = {"add": "Add", "mul": "Mul", "div": "Div", "pow": "Pow"}
_OPSETS = {"": 24, "com.microsoft": 1, "costmodel": 1}
# ops with no single-kernel op in the vocabulary (a fused SiLU-and-mul, rotary embedding,
# vocabulary-parallel embedding): measured, read and reported, but not predicted
UNMODELLED = {"silu_and_mul": "fused SiLU-and-mul", "rope": "rotary embedding", "embedding": "parallel embedding"}


@dataclass(frozen=True)
class Case:
    m: Measurement
    graph_cost: GraphCost
    execution: str
    conv_fp32_math: str  # "tf32" (PyTorch's default) or "fp32" when the run turned TF32 off
    holdout: bool = False  # held out of the fit (validation sets)

    @property
    def measured_s(self) -> float:
        return self.m.time_s

    def calibration(self, cal: Calibration) -> Calibration:
        return cal if cal.conv_fp32_math == self.conv_fp32_math else replace(cal, conv_fp32_math=self.conv_fp32_math)

    def predict(self, hw: Any, cal: Calibration, mode: str = "calibrated") -> float:
        c = self.calibration(cal)
        return graph_latency(
            self.graph_cost, hw, mode=mode, execution=self.execution, calibration=c, bands=False
        ).latency_s

    def timing(self, hw: Any, cal: Calibration) -> Any:
        return graph_latency(self.graph_cost, hw, execution=self.execution, calibration=self.calibration(cal))


def _dt(m: Measurement) -> Any:
    name = m.dtype
    if m.op in ("matmul", "linear") and m.dtype == "fp32" and m.condition("matmul_tf32") == "on":
        name = "tf32"
    return to_dtype(name)


def _graph(m: Measurement) -> Graph:
    b = GraphBuilder(m.op)
    dt = _dt(m)
    d = dict(m.dims)
    n = b.node
    if m.op == "matmul":
        sa: tuple[int, ...] = (d["m"], d["k"])
        sb: tuple[int, ...] = (d["k"], d["n"])
        if d["batch"] > 1:
            sa, sb = (d["batch"], *sa), (d["batch"], *sb)
        y = n("MatMul", [b.input("a", sa, dt), b.input("b", sb, dt)])
    elif m.op == "linear":
        x = b.input("x", (d["m"], d["k"]), dt)
        if m.condition("bias", "off") == "on":
            w = b.weight("w", (d["n"], d["k"]), dt)
            y = n("Gemm", [x, w, b.weight("bias", (d["n"],), dt)], transB=1)
        else:
            y = n("MatMul", [x, b.weight("w", (d["k"], d["n"]), dt)])
    elif m.op == "conv2d":
        k, grp, p, s = d["kernel"], d["groups"], d["pad"], d["stride"]
        x = b.input("x", (d["n"], d["cin"], d["h"], d["w"]), dt)
        w = b.weight("w", (d["cout"], d["cin"] // grp, k, k), dt)
        y = n("Conv", [x, w], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4, group=grp)
    elif m.op == "sdpa":
        q = b.input("q", (d["b"], d["hq"], d["sq"], d["d"]), dt)
        kk = b.input("k", (d["b"], d["hkv"], d["skv"], d["d"]), dt)
        v = b.input("v", (d["b"], d["hkv"], d["skv"], d["d"]), dt)
        y = n("Attention", [q, kk, v], is_causal=d["causal"])
    else:
        shape = (d["numel"],) if "numel" in d else (d["rows"], d["cols"])
        a = b.input("a", shape, dt)
        base = m.op.removesuffix("_scalar")
        if m.op.endswith("_scalar"):
            y = n(_BINARY[base], [a, b.weight("s", (), dt)])
        elif base in _BINARY:
            y = n(_BINARY[base], [a, b.input("b", shape, dt)])
        elif base in _UNARY:
            y = n(_UNARY[base], [a])
        elif base == "copy":
            y = n("Expand", [a, b.ints("shape", list(shape))])
        elif base == "sum":
            y = n("ReduceSum", [a], keepdims=0)
        elif base == "softmax":
            y = n("Softmax", [a], axis=-1)
        elif base == "transpose":
            y = n("Transpose", [a], perm=[1, 0])
        elif base == "layer_norm":
            cols = shape[-1]
            y = n("LayerNormalization", [a, b.weight("g", (cols,), dt), b.weight("bn", (cols,), dt)], axis=-1)
        elif base == "rms_norm":
            y = n("RMSNormalization", [a, b.weight("g", (shape[-1],), dt)], axis=-1)
        else:
            raise ValueError(f"no one-op graph for {m.op}")
    b.output(y)
    g = b.build()
    g.opsets = dict(_OPSETS)  # Swish needs opset 24; the builder's default is 23
    return g


def build_case(m: Measurement, holdout: bool = False) -> Case | None:
    """The analysed one-op graph of a measurement; None for ops the vocabulary has no
    single kernel for (UNMODELLED) or graphs with unsupported ops."""
    if m.op in UNMODELLED:
        return None
    gc = analyze_graph(_graph(m))
    if gc.unsupported:
        return None
    conv_math = "fp32" if m.condition("conv_tf32") == "off" else "tf32"
    return Case(m, gc, _EXECUTION[m.timing], conv_math, holdout)


def build_cases(ms: Iterable[Measurement]) -> list[Case]:
    return [c for c in (build_case(m) for m in ms) if c is not None]
