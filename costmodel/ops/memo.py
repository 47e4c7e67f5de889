"""Node signatures: everything a cost rule can see of a node, as one hashable key, so that
nodes with equal signatures share one rule evaluation (the analysis's memo: a
transformer's identical layers, a CNN's repeated blocks are costed once per distinct
signature while every node keeps its own record).

A rule sees the node's op and opset (the caller's part of the key), its attributes, each
input's dtype, shape, role, constness and known value, which inputs are the same value
(x * x reads x once) and which outputs the graph uses. It never sees the node's name,
except through `NodeContext.node_name`, which marks the result as that node's own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..ir.graph import Node, TensorInfo, value_key


def input_key(info: TensorInfo | None) -> Any:
    """What a rule can see of one input, hashable: its type as it is, and a known value by
    its content."""
    if info is None or info.data is None:
        return info
    return (info.dtype, info.shape, info.role, info.const, value_key(info.data))


def signature(op: Any, node: Node, inputs: list[Any], frozen: bool = False) -> tuple[Any, ...]:
    """The key of `node` read with inputs whose `input_key`s are `inputs`. Attribute values
    go in as they are unless `frozen`: a caller whose key turns out unhashable (an
    attribute holds a list or an array, as some front ends' do) asks again with
    `frozen=True`, which makes every value hashable that can be; what still raises
    TypeError on hashing is not memoised."""
    ins = node.inputs
    same = tuple(map(ins.index, ins)) if len(ins) > 1 and len(set(ins)) < len(ins) else None
    outs = node.outputs
    used = len(outs) if "" not in outs else tuple(map(bool, outs))
    attrs = node.attrs
    a: Any = tuple(attrs.items()) if attrs else ()
    if frozen:
        a = _freeze(a)
    return (op, tuple(inputs), a, same, used)


def _freeze(x: Any) -> Any:
    if type(x) is tuple or type(x) is list:
        return (type(x), tuple(map(_freeze, x)))
    if isinstance(x, np.ndarray):
        return value_key(x)
    if isinstance(x, dict):
        return (dict, tuple((k, _freeze(v)) for k, v in x.items()))
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x), tuple(_freeze(getattr(x, f.name)) for f in dataclasses.fields(x)))
    return x
