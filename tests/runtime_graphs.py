"""Graph pieces in the exact node patterns exporters emit, for the runtime rewrite tests:
each `add_*` appends nodes to a Builder and returns the name of the value it made."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from onnx import helper

from tests.helpers import big_init, init, model, vi


class Builder:
    def __init__(self, x_shape: Sequence[int], dtype: str = "fp32") -> None:
        self.nodes: list = []
        self.inits: list = []
        self.inputs = [vi("x", list(x_shape), dtype)]
        self.n = 0

    def name(self, stem: str) -> str:
        self.n += 1
        return f"{stem}_{self.n}"

    def const(self, value: float) -> str:
        c = self.name("c")
        self.inits.append(init(c, np.array(value, dtype=np.float32)))
        return c

    def weight(self, shape: Sequence[int]) -> str:
        w = self.name("w")
        self.inits.append(big_init(w, shape))
        return w

    def ints(self, values: Sequence[int]) -> str:
        c = self.name("shape")
        self.inits.append(init(c, np.array(values, dtype=np.int64)))
        return c

    def node(self, op: str, inputs: Sequence[str], **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=f"/{op}_{self.n}", **attrs))
        return out

    def model(self, y: str, opset: int = 17, extra_outputs: Sequence[str] = ()):
        outs = [vi(y, None)] + [vi(o, None) for o in extra_outputs]
        return model(self.nodes, self.inputs, outs, self.inits, opset=opset)


def add_linear(b: Builder, x: str, k: int, n: int, bias: bool = True, bias_first: bool = True) -> str:
    """torch.onnx's nn.Linear over an N-D input: MatMul(x, W^T) then Add(bias, .)."""
    y = b.node("MatMul", [x, b.weight([k, n])])
    if bias:
        bw = b.weight([n])
        y = b.node("Add", [bw, y] if bias_first else [y, bw])
    return y


def add_gelu_erf(b: Builder, x: str, c_div: float = math.sqrt(2.0), c_half: float = 0.5) -> str:
    """torch.onnx's GELU (opset < 20): Div(x, sqrt 2) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5)."""
    d = b.node("Div", [x, b.const(c_div)])
    e = b.node("Erf", [d])
    a = b.node("Add", [e, b.const(1.0)])
    m = b.node("Mul", [x, a])
    return b.node("Mul", [m, b.const(c_half)])


def add_gelu_tanh(b: Builder, x: str) -> str:
    """HF gelu_new: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))."""
    half = b.node("Mul", [x, b.const(0.5)])
    p3 = b.node("Pow", [x, b.const(3.0)])
    cub = b.node("Mul", [p3, b.const(0.044715)])
    s = b.node("Add", [x, cub])
    sc = b.node("Mul", [s, b.const(math.sqrt(2.0 / math.pi))])
    t = b.node("Tanh", [sc])
    one = b.node("Add", [t, b.const(1.0)])
    return b.node("Mul", [half, one])


def add_layer_norm(b: Builder, x: str, c: int) -> str:
    """F.layer_norm below opset 17: ReduceMean-Sub-Pow-ReduceMean-Add-Sqrt-Div-Mul-Add."""
    mean = b.node("ReduceMean", [x], axes=[-1])
    d = b.node("Sub", [x, mean])
    sq = b.node("Pow", [d, b.const(2.0)])
    var = b.node("ReduceMean", [sq], axes=[-1])
    eps = b.node("Add", [var, b.const(1e-5)])
    std = b.node("Sqrt", [eps])
    y = b.node("Div", [d, std])
    y = b.node("Mul", [y, b.weight([c])])
    return b.node("Add", [y, b.weight([c])])


def add_rms_norm(b: Builder, x: str, c: int) -> str:
    """nn.RMSNorm's decomposition: Pow-ReduceMean-Add-Sqrt-Reciprocal-Mul-Mul(weight)."""
    sq = b.node("Pow", [x, b.const(2.0)])
    var = b.node("ReduceMean", [sq], axes=[-1])
    eps = b.node("Add", [var, b.const(1e-6)])
    std = b.node("Sqrt", [eps])
    inv = b.node("Reciprocal", [std])
    y = b.node("Mul", [x, inv])
    return b.node("Mul", [y, b.weight([c])])


def add_sdpa(b: Builder, q: str, k: str, v: str, d: int, mask: str | None = None) -> str:
    """torch.onnx's scaled_dot_product_attention: both Q and K^T scaled by sqrt(scale)."""
    s = b.const(math.sqrt(1.0 / math.sqrt(d)))
    kt = b.node("Transpose", [k], perm=[0, 1, 3, 2])
    qs = b.node("Mul", [q, s])
    ks = b.node("Mul", [kt, b.const(math.sqrt(1.0 / math.sqrt(d)))])
    scores = b.node("MatMul", [qs, ks])
    if mask is not None:
        scores = b.node("Add", [scores, mask])
    p = b.node("Softmax", [scores], axis=-1)
    return b.node("MatMul", [p, v])


def add_explicit_attention(b: Builder, q: str, k: str, v: str, d: int, bias: str | None = None) -> str:
    """Attention written out (torchvision Swin, HF eager): q * scale @ k^T [+ bias] ->
    Softmax -> @ v."""
    qs = b.node("Mul", [q, b.const(d**-0.5)])
    kt = b.node("Transpose", [k], perm=[0, 1, 3, 2])
    scores = b.node("MatMul", [qs, kt])
    if bias is not None:
        scores = b.node("Add", [scores, bias])
    p = b.node("Softmax", [scores], axis=-1)
    return b.node("MatMul", [p, v])


def heads(b: Builder, x: str, batch: int, seq: int, h: int, d: int) -> str:
    """[B, S, H*D] -> [B, H, S, D] (Reshape + Transpose)."""
    r = b.node("Reshape", [x, b.ints([batch, seq, h, d])])
    return b.node("Transpose", [r], perm=[0, 2, 1, 3])


def merge_heads(b: Builder, x: str, batch: int, seq: int, h: int, d: int) -> str:
    t = b.node("Transpose", [x], perm=[0, 2, 1, 3])
    return b.node("Reshape", [t, b.ints([batch, seq, h * d])])
