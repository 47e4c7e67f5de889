"""Node signatures: everything a cost rule can see of a node, as one hashable key, so that
nodes with equal signatures share one rule evaluation (the analysis's memo: a
transformer's identical layers, a CNN's repeated blocks are costed once per distinct
signature while every node keeps its own record).

A rule sees the node's op and opset (the caller's part of the key), its attributes, each
input's dtype, shape, role, constness and known value, which inputs are the same value
(x * x reads x once) and which outputs the graph uses. It never sees the node's name,
except through `NodeContext.node_name`, which marks the result as that node's own.

The key itself is built where it is looked up, in the analysis's node loop
(analysis._Analyzer.run): (op and opset, the inputs' interned input_keys, the attributes'
number from Interner, which inputs are the same value, which outputs are used).

Because a signature holds everything a rule sees, an outcome is right for any graph: the
analysis keeps the memo, its registry look-ups and its Interner between the analyses of a
thread that use the same rules, deployment dtype and limits (analysis_memo.shared_memo), so
graphs that share layers (a NAS space's cells, a sweep over one model) cost each distinct
layer once. The numbers an Interner gives are only ever compared within one Interner.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..ir.graph import Node, TensorInfo, value_key


def input_key(info: TensorInfo | None, arrays: dict[int, Any] | None = None) -> Any:
    """What a rule can see of one input, hashable: its type as it is, and a known value by
    its content. `arrays`: id of an array -> its value_key, for arrays that stay alive
    while it is used (several values sharing one array are then keyed once)."""
    if info is None or info.data is None:
        return info
    data = info.data
    if arrays is None:
        return (info.dtype, info.shape, info.role, info.const, value_key(data))
    vk = arrays.get(id(data))
    if vk is None:
        vk = arrays[id(data)] = value_key(data)
    return (info.dtype, info.shape, info.role, info.const, vk)


class Interner:
    """Small ints for the parts of signatures (input keys, attribute sets), each equal part
    numbered once, so a node's signature is a short tuple of ints, cheap to hash. An
    attribute dict is numbered once per dict object: the ONNX reader shares one dict
    among the nodes of an op with the same attributes."""

    __slots__ = ("attrs", "ids")

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.attrs: dict[int, tuple[int | None, Any]] = {}  # id(attrs) -> (number, the dict, kept alive)

    def opsets(self, opsets: dict[str, int]) -> int:
        """The number of a graph's opset imports (by content: graphs come and go)."""
        return self.ids.setdefault(("opsets", tuple(sorted(opsets.items()))), len(self.ids))

    def key(self, k: Any) -> Any:
        """`k`'s number (k itself if it cannot be hashed: the caller's look-up then fails)."""
        try:
            return self.ids.setdefault(k, len(self.ids))
        except TypeError:
            return k

    def attrs_of(self, node: Node) -> int | None:
        """The number of the node's attributes, None if some value cannot be hashed.
        Attribute values go in as they are, or else frozen (a front end's list or array
        attribute made hashable: see _freeze)."""
        attrs = node.attrs
        hit = self.attrs.get(id(attrs))
        if hit is not None:
            return hit[0]
        a: Any = tuple(attrs.items()) if attrs else ()
        n: int | None
        try:
            n = self.ids.setdefault(("attrs", a), len(self.ids))
        except TypeError:
            try:
                n = self.ids.setdefault(("attrs", _freeze(a)), len(self.ids))
            except TypeError:
                n = None
        self.attrs[id(attrs)] = (n, attrs)
        return n


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
