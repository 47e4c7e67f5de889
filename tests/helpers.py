"""Tiny graphs built with onnx.helper for golden tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import costmodel

DT = {
    "fp64": TensorProto.DOUBLE,
    "fp32": TensorProto.FLOAT,
    "fp16": TensorProto.FLOAT16,
    "bf16": TensorProto.BFLOAT16,
    "int64": TensorProto.INT64,
    "int32": TensorProto.INT32,
    "int8": TensorProto.INT8,
    "uint8": TensorProto.UINT8,
    "bool": TensorProto.BOOL,
}


def vi(name: str, shape: Sequence[Any] | None, dtype: str = "fp32"):
    return helper.make_tensor_value_info(name, DT[dtype], shape)


def init(name: str, array: np.ndarray):
    return numpy_helper.from_array(np.asarray(array), name)


def big_init(name: str, shape: Sequence[int], dtype: str = "fp32"):
    """A weight initializer described by shape only (raw zeros of the right size)."""
    n = int(np.prod(shape)) if shape else 1
    item = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1, "uint8": 1, "int64": 8, "int32": 4}[dtype]
    return helper.make_tensor(name, DT[dtype], list(shape), vals=b"\0" * (n * item), raw=True)


def model(nodes, inputs, outputs, initializers=(), opset: int = 17, domains=None, value_info=()):
    ops = [helper.make_opsetid("", opset)]
    for d, v in (domains or {}).items():
        ops.append(helper.make_opsetid(d, v))
    g = helper.make_graph(
        list(nodes), "g", list(inputs), list(outputs), list(initializers), value_info=list(value_info)
    )
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = 8
    return m


def one_op(
    op_type: str,
    in_shapes: Sequence[Sequence[Any]],
    *,
    dtype: str = "fp32",
    out_count: int = 1,
    opset: int = 17,
    inits=(),
    domain: str = "",
    **attrs,
):
    """A one-node graph whose inputs are graph inputs x0, x1, ... (plus initializers)."""
    names = [f"x{i}" for i in range(len(in_shapes))] + [t.name for t in inits]
    node = helper.make_node(op_type, names, [f"y{i}" for i in range(out_count)], domain=domain or None, **attrs)
    inputs = [vi(f"x{i}", s, dtype) for i, s in enumerate(in_shapes)]
    outputs = [vi(f"y{i}", None, dtype) for i in range(out_count)]
    doms = {domain: 1} if domain else None
    return model([node], inputs, outputs, inits, opset=opset, domains=doms)


def analyze(m, **kw):
    return costmodel.analyze(m, **kw)


def node_cost(m, **kw):
    r = costmodel.analyze(m, **kw)
    costed = [n for n in r.ops if n.status != "folded"]
    assert len(costed) == 1, [n.op_type for n in costed]
    return costed[0]
