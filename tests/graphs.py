"""Golden graphs built with onnx.helper: a small transformer block with dynamic batch and
seq that exercises the exporter's shape arithmetic (Shape → Gather → Concat → Reshape)."""

from __future__ import annotations

import numpy as np
from onnx import helper

from tests.helpers import big_init, init, model, vi


def transformer_block(d: int = 16, heads: int = 2, ffn: int = 32, opset: int = 17):
    hd = d // heads
    n = helper.make_node
    nodes = [
        n("LayerNormalization", ["x", "ln_g", "ln_b"], ["h0"], axis=-1),
        n("MatMul", ["h0", "w_qkv"], ["qkv"]),
        n("Split", ["qkv", "split3"], ["q", "k", "v"], axis=-1),
        # shape arithmetic as torch exporters emit it
        n("Shape", ["x"], ["xs"]),
        n("Gather", ["xs", "i0"], ["b"], axis=0),
        n("Gather", ["xs", "i1"], ["s"], axis=0),
        n("Unsqueeze", ["b", "ax0"], ["b1"]),
        n("Unsqueeze", ["s", "ax0"], ["s1"]),
        n("Concat", ["b1", "s1", "heads", "hd"], ["qshape"], axis=0),
        n("Reshape", ["q", "qshape"], ["q4"]),
        n("Reshape", ["k", "qshape"], ["k4"]),
        n("Reshape", ["v", "qshape"], ["v4"]),
        n("Transpose", ["q4"], ["qt"], perm=[0, 2, 1, 3]),
        n("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1]),
        n("Transpose", ["v4"], ["vt"], perm=[0, 2, 1, 3]),
        n("MatMul", ["qt", "kt"], ["scores"]),
        n("Mul", ["scores", "scale"], ["scaled"]),
        n("Softmax", ["scaled"], ["p"], axis=-1),
        n("MatMul", ["p", "vt"], ["ctx"]),
        n("Transpose", ["ctx"], ["ctxt"], perm=[0, 2, 1, 3]),
        n("Concat", ["b1", "s1", "dm"], ["oshape"], axis=0),
        n("Reshape", ["ctxt", "oshape"], ["ctx2"]),
        n("MatMul", ["ctx2", "w_o"], ["attn"]),
        n("Add", ["x", "attn"], ["r1"]),
        n("LayerNormalization", ["r1", "ln2_g", "ln2_b"], ["h1"], axis=-1),
        n("MatMul", ["h1", "w_up"], ["up"]),
        n("Gelu", ["up"], ["act"]) if opset >= 20 else n("Relu", ["up"], ["act"]),
        n("MatMul", ["act", "w_down"], ["down"]),
        n("Add", ["r1", "down"], ["y"]),
    ]
    inits = [
        big_init("ln_g", [d]),
        big_init("ln_b", [d]),
        big_init("ln2_g", [d]),
        big_init("ln2_b", [d]),
        big_init("w_qkv", [d, 3 * d]),
        big_init("w_o", [d, d]),
        big_init("w_up", [d, ffn]),
        big_init("w_down", [ffn, d]),
        init("split3", np.array([d, d, d], dtype=np.int64)),
        init("i0", np.array(0, dtype=np.int64)),
        init("i1", np.array(1, dtype=np.int64)),
        init("ax0", np.array([0], dtype=np.int64)),
        init("heads", np.array([heads], dtype=np.int64)),
        init("hd", np.array([hd], dtype=np.int64)),
        init("dm", np.array([d], dtype=np.int64)),
        init("scale", np.array(1.0 / np.sqrt(hd), dtype=np.float32)),
    ]
    return model(nodes, [vi("x", ["batch", "seq", d])], [vi("y", None)], inits, opset=opset)


def block_params(d: int = 16, ffn: int = 32) -> int:
    # norms, projections, MLP, and the float scalar `scale` initializer
    return 4 * d + d * 3 * d + d * d + d * ffn + ffn * d + 1


def block_macs(b: int, s: int, d: int = 16, heads: int = 2, ffn: int = 32) -> int:
    # qkv 3d^2, out d^2, mlp 2 d ffn per token; scores + PV: 2 * s * d per token
    return b * s * (3 * d * d + d * d + 2 * d * ffn) + 2 * b * heads * s * s * (d // heads)
