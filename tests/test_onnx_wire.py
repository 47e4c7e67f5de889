"""The wire reader of NodeProtos (frontends/onnx_wire.py) gives the IR nodes protobuf's
message objects give (`_Converter.nodes`, the reader of subgraphs and ModelProtos), on the
model-zoo graphs and on generated nodes: every attribute kind, packed and unpacked
repeated fields, negative int64s, non-finite floats, non-ASCII names, and nodes it leaves
to protobuf (subgraphs, tensor lists)."""

from __future__ import annotations

import math
import os
import struct

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from costmodel.errors import ModelLoadError
from costmodel.frontends import onnx_wire
from costmodel.frontends.onnx import _Converter, opsets_of, to_graph
from costmodel.frontends.onnx_proto import parse_model
from costmodel.ir.graph import Initializer

ZOO = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


def _norm(v):
    """Attribute values comparable across readers (NaN equal to NaN, -0.0 told from 0.0)."""
    if isinstance(v, float):
        return ("f", struct.pack("<d", v) if not math.isnan(v) else "nan")
    if isinstance(v, tuple):
        return tuple(_norm(x) for x in v)
    if isinstance(v, Initializer):
        return (v.name, v.dtype, v.shape, v.role, None if v.data is None else (v.data.dtype.str, v.data.tobytes()))
    return v


def _rows(g):
    return [
        (
            n.name,
            n.op_type,
            n.domain,
            n.inputs,
            n.outputs,
            {k: _norm(v) for k, v in n.attrs.items()},
            sorted(n.subgraphs),
        )
        for n in g.nodes
    ]


def _both(blob: bytes, tmp_path):
    """(graph read from a file: wire reader, graph read from the parsed ModelProto: protobuf)."""
    p = tmp_path / "m.onnx"
    p.write_bytes(blob)
    m = parse_model(blob)
    by_proto = _Converter(opsets_of(m), "model").graph(m.graph, m.graph.name or "main")
    return to_graph(str(p)), by_proto


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(ZOO) if f.endswith(".onnx")))
def test_zoo_graphs_read_the_same(name, tmp_path):
    with open(os.path.join(ZOO, name), "rb") as f:
        blob = f.read()
    ranges = onnx_wire.node_ranges(blob)
    assert ranges is not None and all(onnx_wire.read_node(blob, s, e) is not None for s, e in ranges)
    wire, proto = _both(blob, tmp_path)
    assert _rows(wire) == _rows(proto)


# -- generated nodes ------------------------------------------------------------------
def _key(field: int, wt: int) -> bytes:
    return _uvarint((field << 3) | wt)


def _uvarint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _packed_attribute(name: str, ints: list[int] | None, floats: list[float] | None) -> bytes:
    """An AttributeProto with its repeated field packed (onnx's own writer never packs:
    onnx.proto is proto2 without [packed=true], but a reader must accept both)."""
    body = _key(1, 2) + _uvarint(len(name.encode())) + name.encode()
    if ints is not None:
        payload = b"".join(_uvarint(v) for v in ints)
        body += _key(8, 2) + _uvarint(len(payload)) + payload + _key(20, 0) + _uvarint(7)
    else:
        payload = struct.pack(f"<{len(floats)}f", *floats)
        body += _key(7, 2) + _uvarint(len(payload)) + payload + _key(20, 0) + _uvarint(6)
    return body


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
int64s = st.integers(-(2**63), 2**63 - 1)
floats32 = st.floats(width=32, allow_nan=True, allow_infinity=True)


@st.composite
def attributes(draw, i: int):
    kind = draw(st.sampled_from(["f", "i", "s", "t", "floats", "ints", "strings", "g", "tensors", "packed"]))
    name = f"a{i}_{kind}"
    if kind == "f":
        return helper.make_attribute(name, draw(floats32))
    if kind == "i":
        return helper.make_attribute(name, draw(int64s))
    if kind == "s":
        return helper.make_attribute(name, draw(st.binary(max_size=6)), attr_type=onnx.AttributeProto.STRING)
    if kind == "t":
        vals = draw(st.lists(st.integers(-5, 5), min_size=1, max_size=4))
        return helper.make_attribute(name, numpy_helper.from_array(np.array(vals, dtype=np.int64)))
    if kind == "floats":
        return helper.make_attribute(name, draw(st.lists(floats32, max_size=4)), attr_type=onnx.AttributeProto.FLOATS)
    if kind == "ints":
        return helper.make_attribute(name, draw(st.lists(int64s, max_size=4)), attr_type=onnx.AttributeProto.INTS)
    if kind == "strings":
        return helper.make_attribute(
            name, draw(st.lists(st.binary(max_size=4), max_size=3)), attr_type=onnx.AttributeProto.STRINGS
        )
    if kind == "g":
        body = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])],
            "body",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        )
        return helper.make_attribute(name, body)
    if kind == "tensors":
        return helper.make_attribute(name, [numpy_helper.from_array(np.zeros(2, np.float32))])
    if draw(st.booleans()):
        return ("packed", _packed_attribute(name, draw(st.lists(int64s, max_size=4)), None))
    return ("packed", _packed_attribute(name, None, draw(st.lists(floats32, max_size=4))))


def _field(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _uvarint(len(payload)) + payload


@st.composite
def models(draw):
    """Serialized models whose node bytes are written here, so that packed attributes
    survive (protobuf's writer would re-encode them unpacked)."""
    nodes = []
    prev = "x"
    for k in range(draw(st.integers(1, 4))):
        attrs = [draw(attributes(j)) for j in range(draw(st.integers(0, 3)))]
        out = f"v{k}_{draw(names)}"
        n = helper.make_node(
            draw(st.sampled_from(["Relu", "Foo", "Gemm"])), [prev, ""][: draw(st.integers(1, 2))], [out]
        )
        n.name = draw(st.sampled_from(["", draw(names)]))
        n.domain = draw(st.sampled_from(["", "ai.onnx", "com.example"]))
        extra = b""
        for a in attrs:
            if isinstance(a, tuple):
                extra += _field(5, a[1])  # fields appended to a message merge into it
            else:
                n.attribute.append(a)
        nodes.append(n.SerializeToString() + extra)
        prev = out
    g = helper.make_graph([], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])], [])
    g.output.append(helper.make_tensor_value_info(prev, TensorProto.FLOAT, None))
    graph = b"".join(_field(1, n) for n in nodes) + g.SerializeToString()
    m = helper.make_model(
        helper.make_graph([], "unused", [], []),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
    )
    m.ClearField("graph")
    return m.SerializeToString() + _field(7, graph)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(models())
def test_generated_nodes_read_the_same(tmp_path, blob):
    wire, proto = _both(blob, tmp_path)
    assert _rows(wire) == _rows(proto)


def test_a_name_that_is_not_utf8_is_refused_by_either_reader(tmp_path):
    m = helper.make_model(
        helper.make_graph(
            [helper.make_node("Relu", ["x"], ["y"])],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        )
    )
    blob = m.SerializeToString().replace(b"\x12\x01y", b"\x12\x01\xff")  # output "y" -> b"\xff"
    p = tmp_path / "bad.onnx"
    p.write_bytes(blob)
    with pytest.raises(ModelLoadError, match="not valid UTF-8"):
        to_graph(str(p))
