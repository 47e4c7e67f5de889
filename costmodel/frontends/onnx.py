"""ONNX → IR. Translates only; never costs.

The `onnx` package is never imported (it costs about 1.6 s): files are parsed by protobuf
with message classes built from onnx-ml.proto's descriptor (onnx_proto.py), attribute
defaults come from onnx.defs facts kept as data (onnx_defs.py) and small tensors are
decoded by numpy (onnx_tensor.py). An `onnx.ModelProto` passed in is read as it is: its
fields are the same.

Weights are never read: external data is never opened (its location may point anywhere,
including outside the model's folder), so a model whose external weight files are absent
analyses. Weights embedded in a large file are skipped without being read
(onnx_strip.py). Only small tensors (shape constants, axes, scalars) are decoded,
from data stored inside the file. Attribute defaults come from the schema of the highest
version not above the model's opset, filled in one place here so rules see complete
attributes.
"""

from __future__ import annotations


import math
import os
from typing import Any

from ..errors import ModelLoadError
from ..ir.dtypes import ONNX_DTYPES, DType
from ..ir.graph import NO_SUBGRAPHS, Graph, Initializer, Node, new_initializer
from ..datafile import open_regular
from ..limits import MAX_FILE_BYTES, gc_paused
from ..symbolic import Shape, symbol
from ..symnames import symbol_name
from .onnx_defs import attribute_defaults
from .onnx_proto import is_model_proto, parse_model
from .onnx_strip import SCAN_ABOVE, without_weight_data
from .onnx_tensor import SMALL_TENSOR, small_array

_tuple = tuple.__new__
_PLAIN = ("", (), None)  # Node's untranslated, covers and repeat: a node as the file has it
_INTERN_BYTES = 1 << 14  # tensor attributes up to this size are shared by value
DEFAULT_OPSET = 1


def load_model(model: Any, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Path or ModelProto → ModelProto, with typed errors for anything unreadable. Only a
    regular file of at most `max_bytes` is read (datafile.open_regular)."""
    if is_model_proto(model):
        return model
    path = os.fspath(model)
    f, size = open_regular(path, max_bytes=max_bytes, error=ModelLoadError, what="ONNX file", flag="--max-file-mib")
    try:
        with f:
            if size >= SCAN_ABOVE:
                blob = without_weight_data(f, path)
            else:
                blob = f.read()
    except OSError as e:
        raise ModelLoadError(f"cannot read: {e.strerror}", where=path) from None
    if not blob:
        raise ModelLoadError("file is empty", where=path)
    try:
        m = parse_model(blob)
    except Exception:
        raise ModelLoadError("not a valid ONNX protobuf (corrupt, truncated or another format)", where=path) from None
    if not m.HasField("graph") or (not m.graph.node and not m.graph.output):
        raise ModelLoadError("not an ONNX model (no graph)", where=path)
    return m


def _text(x: Any, what: str, where: str | None = None) -> str:
    """A protobuf string field. Protobuf returns a proto2 string that is not valid UTF-8
    as bytes; ONNX requires UTF-8, so such a file is refused here, before bytes reach
    code (and reports) that expect text."""
    if type(x) is str:
        return x
    raise ModelLoadError(f"{what} is not valid UTF-8 text: {x!r:.80}", where=where)


def opsets_of(model: Any) -> dict[str, int]:
    ops: dict[str, int] = {}
    for o in model.opset_import:
        d = _text(o.domain, "an opset domain")
        dom = "" if d in ("", "ai.onnx") else d
        ops[dom] = int(o.version)
    ops.setdefault("", DEFAULT_OPSET if not model.opset_import else ops.get("", 1))
    return ops


def _attr_value(a: Any, ctx: _Converter | None) -> Any:
    t = a.type
    if t == 1:
        return float(a.f)
    if t == 2:
        return int(a.i)
    if t == 3:
        return a.s.decode("utf-8", "replace")
    if t == 4:
        return ctx.attribute_tensor(a.t) if ctx is not None else _tensor(a.t, None)
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
    shape = tuple(t.dims[:])  # [:] copies the repeated field in C
    if shape and min(shape) < 0:
        raise ModelLoadError(f"tensor {t.name!r} has a negative dimension {shape}")
    numel = math.prod(shape)
    data = None
    if t.data_location != 1 and numel <= SMALL_TENSOR and dt.kind != "string":
        if ctx is not None and t.HasField("raw_data") and not t.HasField("segment"):
            # Small initializers repeat (the model-zoo graphs hold each weight as a
            # ConstantOfShape of a 1-4 element shape: 836 of them in densenet121, 66
            # distinct): equal bytes share one read-only array, decoded once, which the
            # analysis also keys once (_Analyzer.initial_env).
            key = (t.data_type, shape, t.raw_data)
            data = ctx.arrays.get(key, _UNREAD)
            if data is _UNREAD:
                data = ctx.arrays[key] = small_array(t, shape, numel)
                if data is not None:
                    data.flags.writeable = False
        else:
            data = small_array(t, shape, numel)
    name = t.name
    return new_initializer(name if type(name) is str else _text(name, "a tensor name"), dt, shape, data)


_UNREAD = object()


class _Converter:
    def __init__(self, opsets: dict[str, int], where: str) -> None:
        self.opsets = opsets
        self.where = where
        self.symbols: dict[str, None] = {}
        self.depth = 0
        self.ops: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.tensors: dict[bytes, Initializer] = {}
        self.known: dict[bytes, tuple[str, Any]] = {}  # serialized attribute -> (name, value)
        self.attr_dicts: dict[tuple[Any, ...], dict[str, Any]] = {}  # (op, attributes' bytes) -> attrs
        # bytes after the names -> (op, domain, attrs)
        self.seen: dict[bytes | None, tuple[str, str, dict[str, Any]]] = {}
        self.arrays: dict[tuple[int, tuple[int, ...], bytes], Any] = {}  # small raw tensors by content

    def attribute_tensor(self, t: Any) -> Initializer:
        """A tensor attribute, one Initializer per distinct small tensor (exporters repeat
        the same scalar and fill constants thousands of times): decoded once, and nodes
        with equal attributes hold the same object, which the analysis's memo keys on."""
        if t.ByteSize() > _INTERN_BYTES:
            return _tensor(t, self)
        b = t.SerializeToString()
        init = self.tensors.get(b)
        if init is None:
            init = self.tensors[b] = _tensor(t, self)
        return init

    def dims(self, type_proto: Any, name: str) -> tuple[DType | None, Shape | None]:
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
                # distinct dim_params stay distinct symbols (`n!` and `n?` are not one size)
                p = symbol_name(
                    _text(d.dim_param, "a dim_param", self.where)
                    if which == "dim_param" and d.dim_param
                    else f"{name}_d{i}"
                )
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
            inits[init.name] = Initializer(init.name, init.dtype, tuple(int(d) for d in st.dims), None)
        declared: dict[str, tuple[DType | None, Shape | None]] = {}
        inputs = []
        for vi in g.input:
            vname = vi.name
            if vname in inits:  # an initializer listed as an input too (IR version < 4): read above
                continue
            vname = _text(vname, "a graph input name", self.where)
            declared[vname] = self.dims(vi.type, vname)
            inputs.append(vname)
        for vi in list(g.output) + list(g.value_info):
            vname = _text(vi.name, "a value name", self.where)
            if vname not in declared:
                declared[vname] = self.dims(vi.type, vname)
        nodes = self.nodes(g.node)
        self.depth -= 1
        return Graph(
            name=_text(g.name, "a graph name", self.where) or name,
            nodes=nodes,
            inputs=inputs,
            outputs=[o.name for o in g.output],
            initializers=inits,
            declared=declared,
            opsets=self.opsets,
            symbols=tuple(self.symbols),
            doc=_text(g.doc_string, "a graph doc_string", self.where),
        )

    def nodes(self, protos: Any) -> list[Node]:
        """The IR nodes of a graph's NodeProtos. The hot loop of loading: one pass, each
        protobuf field read once, the (domain, op) facts looked up once per op type.

        A node is known by its serialized bytes after its inputs, outputs and name
        (read in the loop): its op type, domain and attributes. Nodes alike there (exporters
        repeat the same Constant, Unsqueeze and Reshape thousands of times) take the op
        type, domain and attribute dict of the first one, without reading them again."""
        out: list[Node] = []
        append = out.append
        ops, seen = self.ops, self.seen
        for i, n in enumerate(protos):
            # [:] copies a repeated field to a list in C: faster than tuple() iterating it
            ins, outs, name = n.input[:], n.output[:], n.name
            parts = [*ins, *outs, name]
            try:  # str.join refuses bytes (a name that is not UTF-8; see _text), in C
                joined = "".join(parts)
            except TypeError:
                raise ModelLoadError(
                    f"node {i} ({n.op_type}) has a name or input/output name that is not valid UTF-8 text",
                    where=self.where,
                ) from None
            # The node's bytes after its inputs, outputs and name (fields 1-3, which
            # protobuf writes first, in field-number order): its op type on. Each of those
            # strings is a one-byte tag, a one-byte length and its bytes (an empty name is
            # not written) while they are ASCII and under 128 bytes; else (a longer length
            # prefix, an empty name that is present, no op type) the node is read in full.
            body = None
            if joined.isascii() and (len(joined) < 128 or max(map(len, parts)) < 128):
                b = n.SerializeToString()
                start = len(joined) + 2 * (len(parts) - (not name))
                if b.startswith(_OP_TYPE_TAG, start):
                    body = b[start:]
            facts = seen.get(body)  # None: the body was not read (never a key)
            if facts is not None:
                op_type, domain, attrs = facts
                subgraphs = NO_SUBGRAPHS
            else:
                op_type = n.op_type
                key = (n.domain, op_type)
                info = ops.get(key)
                if info is None:
                    info = ops[key] = self.op_info(*key)
                domain, defaults = info
                if n.attribute:
                    attrs, subgraphs = self.attributes(n, key, defaults, name)
                else:  # one read-only dict per op type (nodes never change their attributes)
                    attrs, subgraphs = defaults, NO_SUBGRAPHS
                if body is not None and subgraphs is NO_SUBGRAPHS and len(body) <= _INTERN_BYTES:
                    seen[body] = (op_type, domain, attrs)  # attrs: the shared dict (attributes)
            fields = (name or f"{op_type}_{i}", op_type, domain, tuple(ins), tuple(outs), attrs, subgraphs, *_PLAIN)
            append(_tuple(Node, fields))  # Node(*fields), made in C
        return out

    def op_info(self, raw_domain: str, op_type: str) -> tuple[str, dict[str, Any]]:
        """The node domain ("" for ai.onnx) and the schema's attribute defaults at the
        model's opset for that domain (ONNX domains only)."""
        raw_domain = _text(raw_domain, "a node domain", self.where)
        op_type = _text(op_type, "an op type", self.where)
        domain = "" if raw_domain in ("", "ai.onnx") else raw_domain
        if domain and not domain.startswith("ai.onnx"):
            return domain, {}
        opset = self.opsets.get(domain, self.opsets.get("", 1))
        return domain, dict(attribute_defaults(domain, op_type, opset))

    def attributes(
        self, n: Any, op: tuple[str, str], defaults: dict[str, Any], node_name: str
    ) -> tuple[dict[str, Any], dict[str, Graph]]:
        """Node `n`'s attributes over the op's defaults, and its subgraphs. Nodes of one op
        with the same attributes (the same bytes) share one read-only dict."""
        subgraphs: dict[str, Graph] = NO_SUBGRAPHS
        known = self.known
        pairs: list[tuple[str, Any]] = []
        key: list[Any] | None = [op]  # the attributes' bytes, while every one is interned
        for a in n.attribute:
            t = a.type
            if t == 5 or t == 10:
                name = _text(a.name, "an attribute name", self.where)
                if subgraphs is NO_SUBGRAPHS:
                    subgraphs = {}
                if t == 5:
                    subgraphs[name] = self.graph(a.g, f"{node_name or n.op_type}.{name}")
                else:
                    for j, sg in enumerate(a.graphs):
                        subgraphs[f"{name}[{j}]"] = self.graph(sg, f"{node_name}.{name}{j}")
                continue
            # an attribute seen before (exporters repeat the same axes, kernel shapes and
            # fill values thousands of times), known by its bytes: serializing it costs
            # less than reading its fields
            b = a.SerializeToString()
            hit = known.get(b)
            if hit is None:
                name = _text(a.name, "an attribute name", self.where)
                v = a.i if t == 2 else tuple(a.ints) if t == 7 else _attr_value(a, self)
                hit = (name, v)
                if len(b) <= _INTERN_BYTES:
                    known[b] = hit
                else:
                    key = None
            if key is not None:
                key.append(b)
            pairs.append(hit)
        if key is None or subgraphs is not NO_SUBGRAPHS:
            attrs = dict(defaults)
            attrs.update(pairs)
            return attrs, subgraphs
        k = tuple(key)
        shared = self.attr_dicts.get(k)
        if shared is None:
            shared = self.attr_dicts[k] = dict(defaults)
            shared.update(pairs)
        return shared, subgraphs


_OP_TYPE_TAG = bytes([(4 << 3) | 2])  # NodeProto.op_type, length-delimited


def to_graph(model: Any, max_bytes: int = MAX_FILE_BYTES) -> Graph:
    """An ONNX model (path or ModelProto) as an IR graph; a file is at most `max_bytes`."""
    where = None if not isinstance(model, (str, os.PathLike)) else os.fspath(model)
    m = load_model(model, max_bytes)
    opsets = opsets_of(m)
    conv = _Converter(opsets, where or "model")
    try:
        with gc_paused():
            g = conv.graph(m.graph, m.graph.name or "main")
    except RecursionError:
        raise ModelLoadError("graph nesting too deep", where=where) from None
    return g
