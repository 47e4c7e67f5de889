"""ONNX → IR. Translates only; never costs.

Weights are never read: the file is parsed with `load_external_data=False`, so a model
whose external weight files are absent analyses, and an external-data location pointing
anywhere (including outside the model's folder) is never opened. Only small tensors
(shape constants, axes, scalars) are decoded, from data stored inside the file.
Attribute defaults come from the `onnx.defs` schema of the highest version not above the
model's opset, filled in one place here so rules see complete attributes.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from typing import Any

from ..errors import ModelLoadError
from ..ir.dtypes import ONNX_DTYPES, DType
from ..ir.graph import Graph, Initializer, Node
from ..symbolic import symbol

SMALL_TENSOR = 4096  # elements decoded eagerly (shape arithmetic, scalars); weights stay unread
DEFAULT_OPSET = 1


def load_model(model: Any) -> Any:
    """Path or ModelProto → ModelProto, with typed errors for anything unreadable."""
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    path = os.fspath(model)
    if not os.path.exists(path):
        raise ModelLoadError("file not found", where=path)
    if os.path.isdir(path):
        raise ModelLoadError("is a directory, not an ONNX file", where=path)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise ModelLoadError(f"cannot read: {e.strerror}", where=path) from None
    if not blob:
        raise ModelLoadError("file is empty", where=path)
    try:
        m = onnx.ModelProto()
        m.ParseFromString(blob)
    except Exception:
        raise ModelLoadError("not a valid ONNX protobuf (corrupt, truncated or another format)", where=path) from None
    if not m.HasField("graph") or (not m.graph.node and not m.graph.output):
        raise ModelLoadError("not an ONNX model (no graph)", where=path)
    return m


def opsets_of(model: Any) -> dict[str, int]:
    ops: dict[str, int] = {}
    for o in model.opset_import:
        dom = "" if o.domain in ("", "ai.onnx") else o.domain
        ops[dom] = int(o.version)
    ops.setdefault("", DEFAULT_OPSET if not model.opset_import else ops.get("", 1))
    return ops


@cache
def _schema_defaults(domain: str, op_type: str, opset: int) -> tuple[tuple[str, Any], ...]:
    import onnx.defs

    try:
        s = onnx.defs.get_schema(op_type, opset, domain)
    except Exception:
        return ()
    out = []
    for name, a in s.attributes.items():
        if a.default_value is not None and a.default_value.type:
            out.append((name, _attr_value(a.default_value, None)))
    return tuple(out)


def _attr_value(a: Any, ctx: _Converter | None) -> Any:
    t = a.type
    if t == 1:
        return float(a.f)
    if t == 2:
        return int(a.i)
    if t == 3:
        return a.s.decode("utf-8", "replace")
    if t == 4:
        return _tensor(a.t, ctx)
    if t == 6:
        return tuple(a.floats)  # repeated scalar fields already yield Python floats / ints
    if t == 7:
        return tuple(a.ints)
    if t == 8:
        return tuple(x.decode("utf-8", "replace") for x in a.strings)
    if t == 9:
        return tuple(_tensor(x, ctx) for x in a.tensors)
    return None  # graphs handled by the caller; sparse tensors / type protos unused


def _tensor(t: Any, ctx: _Converter | None) -> Initializer:
    dt = ONNX_DTYPES.get(t.data_type)
    if dt is None:
        raise ModelLoadError(f"tensor {t.name!r} has unknown data type {t.data_type}")
    shape = tuple(t.dims)
    numel = 1
    for d in shape:
        if d < 0:
            raise ModelLoadError(f"tensor {t.name!r} has a negative dimension {shape}")
        numel *= d
    data = None
    if t.data_location != 1 and numel <= SMALL_TENSOR and dt.kind != "string":
        data = _small_array(t, shape, numel)
    return Initializer(t.name, dt, shape, data)


# Element types numpy reads straight from little-endian raw_data (what onnx.numpy_helper
# does for them, without its per-call dtype lookups): most small tensors take this path.
_RAW_NUMPY = {1: "<f4", 2: "u1", 3: "i1", 4: "<u2", 5: "<i2", 6: "<i4", 7: "<i8", 9: "?",
              10: "<f2", 11: "<f8", 12: "<u4", 13: "<u8"}
_numpy_helper: Any = None


def _small_array(t: Any, shape: tuple, numel: int) -> Any:
    """Content of a small tensor (shape arithmetic, scalars) as numpy, or None."""
    global _numpy_helper
    np_type = _RAW_NUMPY.get(t.data_type)
    if np_type is not None and t.raw_data and sys.byteorder == "little" and not t.HasField("segment"):
        import numpy as np

        raw = t.raw_data
        if len(raw) == numel * np.dtype(np_type).itemsize:
            return np.frombuffer(raw, dtype=np_type).reshape(shape)
        return None
    try:
        if _numpy_helper is None:
            from onnx import numpy_helper as _numpy_helper
        arr = _numpy_helper.to_array(t)
        if arr.size == numel:
            return arr.reshape(shape)
    except Exception:
        pass
    return None


_SAFE = re.compile(r"[^A-Za-z0-9_]")


class _Converter:
    def __init__(self, opsets: dict[str, int], where: str) -> None:
        self.opsets = opsets
        self.where = where
        self.symbols: dict[str, None] = {}
        self.depth = 0

    def dims(self, type_proto: Any, name: str) -> tuple[DType | None, tuple | None]:
        if not type_proto.HasField("tensor_type"):
            return None, None
        tt = type_proto.tensor_type
        dt = ONNX_DTYPES.get(int(tt.elem_type)) if tt.elem_type else None
        if not tt.HasField("shape"):
            return dt, None
        out: list[Any] = []
        for i, d in enumerate(tt.shape.dim):
            which = d.WhichOneof("value")
            if which == "dim_value":
                v = int(d.dim_value)
                if v < 0:
                    raise ModelLoadError(f"value {name!r} has a negative dimension {v}", where=self.where)
                out.append(v)
            else:
                p = d.dim_param if which == "dim_param" and d.dim_param else f"{name}_d{i}"
                p = _SAFE.sub("_", p)
                if not p or p[0].isdigit():
                    p = "d_" + p
                self.symbols[p] = None
                out.append(symbol(p))
        return dt, tuple(out)

    def graph(self, g: Any, name: str) -> Graph:
        self.depth += 1
        if self.depth > 64:
            raise ModelLoadError("subgraphs nested more than 64 deep", where=self.where)
        inits: dict[str, Initializer] = {}
        for t in g.initializer:
            inits[t.name] = _tensor(t, self)
        for st in g.sparse_initializer:
            v = st.values
            init = _tensor(v, self)
            inits[v.name] = Initializer(v.name, init.dtype, tuple(int(d) for d in st.dims), None)
        declared: dict[str, tuple[DType | None, tuple | None]] = {}
        inputs = []
        for vi in g.input:
            if vi.name in inits:
                continue
            declared[vi.name] = self.dims(vi.type, vi.name)
            inputs.append(vi.name)
        for vi in list(g.output) + list(g.value_info):
            if vi.name not in declared:
                declared[vi.name] = self.dims(vi.type, vi.name)
        nodes = []
        for i, n in enumerate(g.node):
            nodes.append(self.node(n, i))
        self.depth -= 1
        return Graph(
            name=g.name or name, nodes=nodes, inputs=inputs, outputs=[o.name for o in g.output],
            initializers=inits, declared=declared, opsets=self.opsets,
            symbols=tuple(self.symbols), doc=g.doc_string,
        )

    def node(self, n: Any, i: int) -> Node:
        domain = "" if n.domain in ("", "ai.onnx") else n.domain
        opset = self.opsets.get(domain, self.opsets.get("", 1))
        attrs: dict[str, Any] = dict(_schema_defaults(domain, n.op_type, opset)) if not domain or domain.startswith("ai.onnx") else {}
        subgraphs: dict[str, Graph] = {}
        for a in n.attribute:
            if a.type == 5:
                subgraphs[a.name] = self.graph(a.g, f"{n.name or n.op_type}.{a.name}")
            elif a.type == 10:
                for j, sg in enumerate(a.graphs):
                    subgraphs[f"{a.name}[{j}]"] = self.graph(sg, f"{n.name}.{a.name}{j}")
            else:
                attrs[a.name] = _attr_value(a, self)
        return Node(n.name or f"{n.op_type}_{i}", n.op_type, domain, tuple(n.input),
                    tuple(n.output), attrs, subgraphs)


def to_graph(model: Any) -> Graph:
    """An ONNX model (path or ModelProto) as an IR graph."""
    where = None if not isinstance(model, (str, os.PathLike)) else os.fspath(model)
    m = load_model(model)
    opsets = opsets_of(m)
    conv = _Converter(opsets, where or "model")
    try:
        g = conv.graph(m.graph, m.graph.name or "main")
    except RecursionError:
        raise ModelLoadError("graph nesting too deep", where=where) from None
    return g
