"""The ONNX reader without the onnx package: its descriptor, its operator-schema data and
its tensor decoding agree with the installed onnx (this test may import onnx; the product
does not), and ModelProtos of either origin read the same."""

from __future__ import annotations

import base64
import gc
import math
import os

import numpy as np
import onnx
import onnx.defs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import costmodel
from costmodel.frontends import onnx_defs, onnx_tensor
from costmodel.frontends.onnx import load_model, to_graph
from costmodel.frontends.onnx_ml_descriptor import FILE_DESCRIPTOR_B64
from costmodel.frontends.onnx_proto import is_model_proto, message_class, parse_model

ZOO = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


# -- the descriptor: the message layout onnx itself parses with ---------------------------
def test_descriptor_is_onnxs_own():
    from google.protobuf import descriptor_pb2

    ours = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(FILE_DESCRIPTOR_B64))
    theirs = descriptor_pb2.FileDescriptorProto.FromString(onnx.onnx_ml_pb2.DESCRIPTOR.serialized_pb)
    # messages and enums the reader relies on must be field-for-field the installed onnx's
    # (a newer onnx may add fields: regenerate with tools/gen_onnx_data.py)
    mine = {m.name: m for m in ours.message_type}
    for m in theirs.message_type:
        if m.name in mine:
            have = {(f.name, f.number, f.type, f.label) for f in mine[m.name].field}
            assert have <= {(f.name, f.number, f.type, f.label) for f in m.field}, m.name
    assert {"ModelProto", "GraphProto", "NodeProto", "TensorProto", "AttributeProto"} <= set(mine)


def test_parses_the_model_zoo_like_onnx():
    for name in sorted(os.listdir(ZOO)):
        if not name.endswith(".onnx"):
            continue
        blob = open(os.path.join(ZOO, name), "rb").read()
        ours, theirs = parse_model(blob), onnx.load_from_string(blob)
        assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True), name


def test_model_proto_of_either_origin_gives_the_same_graph():
    path = os.path.join(ZOO, "light_squeezenet.onnx")
    theirs = onnx.load(path)
    ours = load_model(path)
    assert type(ours) is not type(theirs)
    assert is_model_proto(ours) and is_model_proto(theirs) and not is_model_proto(theirs.graph)
    assert load_model(theirs) is theirs  # read as it is, no copy
    a, b = to_graph(ours), to_graph(theirs)
    assert [(n.op_type, n.inputs, n.outputs, n.attrs) for n in a.nodes] == [
        (n.op_type, n.inputs, n.outputs, n.attrs) for n in b.nodes
    ]
    d_theirs, d_ours = costmodel.analyze(theirs).to_dict(), costmodel.analyze(path).to_dict()
    assert d_theirs.pop("model") == "squeezenet_old" and d_ours.pop("model") == "light_squeezenet.onnx"
    assert d_theirs == d_ours


def test_private_pool_coexists_with_onnx():
    cls = message_class("onnx.ModelProto")
    assert cls is not onnx.ModelProto and cls.DESCRIPTOR.full_name == onnx.ModelProto.DESCRIPTOR.full_name
    m = onnx.ModelProto()
    m.ParseFromString(cls().SerializeToString())  # onnx's default pool is untouched


def test_reading_a_model_leaves_no_cyclic_garbage():
    # the message classes stay alive in the private pool's module (onnx_proto._classes),
    # so dropping a model frees everything by reference counting
    path = os.path.join(ZOO, "light_inception_v2.onnx")
    costmodel.analyze(path)
    gc.collect()
    gc.disable()
    try:
        report = costmodel.analyze(path)
        del report
        assert gc.collect() == 0
    finally:
        gc.enable()


# -- operator-schema data == onnx.defs ------------------------------------------------------
def _onnx_defaults(domain: str, op: str, opset: int) -> tuple:
    """What the front end took from onnx.defs before the data file."""
    try:
        s = onnx.defs.get_schema(op, opset, domain)
    except Exception:
        return ()
    out = []
    for name, a in s.attributes.items():
        d = a.default_value
        if d is None or not d.type:
            continue
        if d.type == 1:
            out.append((name, float(d.f)))
        elif d.type == 2:
            out.append((name, int(d.i)))
        elif d.type == 3:
            out.append((name, d.s.decode("utf-8", "replace")))
        elif d.type == 6:
            out.append((name, tuple(d.floats)))
        elif d.type == 7:
            out.append((name, tuple(d.ints)))
        elif d.type == 8:
            out.append((name, tuple(x.decode("utf-8", "replace") for x in d.strings)))
        else:
            raise AssertionError(f"{op}.{name}: a default of type {d.type} is not in the data file")
    return tuple(out)


def test_schema_data_equals_onnx_defs():
    assert onnx_defs.onnx_version() == onnx.__version__, "regenerate: python tools/gen_onnx_data.py"
    assert onnx_defs.opset_version() == onnx.defs.onnx_opset_version()
    theirs = {
        (s.domain, s.name, s.since_version, s.deprecated)
        for s in onnx.defs.get_all_schemas_with_history()
        if not s.domain or s.domain.startswith("ai.onnx")
    }
    ours = {(s.domain, s.name, s.since_version, s.deprecated) for s in onnx_defs.all_schemas_with_history()}
    assert ours == theirs
    top = onnx.defs.onnx_opset_version() + 2
    checked = 0
    for domain, op in sorted({(d, n) for d, n, _, _ in theirs}):
        for opset in range(0, top):
            assert onnx_defs.attribute_defaults(domain, op, opset) == _onnx_defaults(domain, op, opset), (
                domain,
                op,
                opset,
            )
            checked += 1
    assert checked > 5000  # ~230 ops x 30 opsets
    assert onnx_defs.attribute_defaults("", "NoSuchOp", 17) == () == _onnx_defaults("", "NoSuchOp", 17)
    # float defaults are float32 values, exactly (LayerNormalization's epsilon 1e-5)
    eps = dict(onnx_defs.attribute_defaults("", "LayerNormalization", 17))["epsilon"]
    assert eps == float(np.float32(1e-5)) and eps != 1e-5


# -- tensor decoding == onnx.numpy_helper ------------------------------------------------
def _decode(t):
    shape = tuple(t.dims)
    return onnx_tensor.small_array(t, shape, math.prod(shape))


def _same(ours, theirs) -> None:
    theirs = np.asarray(theirs)
    assert ours is not None and ours.shape == theirs.shape
    if theirs.dtype.isbuiltin == 1:  # numpy's own types (ml_dtypes' are 2): the same dtype
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
    else:  # ml_dtypes types: same values, widened
        wide = theirs.astype(np.float32) if ours.dtype.kind == "f" else theirs.astype(ours.dtype)
        np.testing.assert_array_equal(ours, wide)


NATIVE = [
    (TensorProto.FLOAT, np.float32, [1.5, -2.0, 3.25]),
    (TensorProto.DOUBLE, np.float64, [1e300, -0.5, 7.0]),
    (TensorProto.FLOAT16, np.float16, [1.0, -65504.0, 0.0009765625]),
    (TensorProto.INT64, np.int64, [2**62, -1, 0]),
    (TensorProto.INT32, np.int32, [2**31 - 1, -(2**31), 5]),
    (TensorProto.INT16, np.int16, [-32768, 32767, 1]),
    (TensorProto.UINT16, np.uint16, [65535, 0, 2]),
    (TensorProto.INT8, np.int8, [-128, 127, 3]),
    (TensorProto.UINT8, np.uint8, [255, 0, 9]),
    (TensorProto.UINT32, np.uint32, [2**32 - 1, 0, 4]),
    (TensorProto.UINT64, np.uint64, [2**64 - 1, 0, 4]),
    (TensorProto.BOOL, np.bool_, [True, False, True]),
    (TensorProto.COMPLEX64, np.complex64, [1 + 2j, -3j, 0.5]),
    (TensorProto.COMPLEX128, np.complex128, [1 + 2j, -3j, 0.5]),
]


@pytest.mark.parametrize("code,dtype,values", NATIVE, ids=[str(c[0]) for c in NATIVE])
@pytest.mark.parametrize("raw", [True, False])
def test_native_types_decode_like_numpy_helper(code, dtype, values, raw):
    arr = np.array(values, dtype=dtype).reshape(3, 1)
    t = numpy_helper.from_array(arr, "t")
    if not raw:
        t = helper.make_tensor("t", code, [3, 1], arr.reshape(-1).tolist())
    assert t.data_type == code and bool(t.raw_data) == raw
    _same(_decode(t), numpy_helper.to_array(t))


EXOTIC = [
    TensorProto.BFLOAT16,
    TensorProto.FLOAT8E4M3FN,
    TensorProto.FLOAT8E4M3FNUZ,
    TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E5M2FNUZ,
    TensorProto.FLOAT8E8M0,
]


@pytest.mark.parametrize("code", EXOTIC)
@pytest.mark.parametrize("raw", [True, False])
def test_every_bit_pattern_of_the_minifloats(code, raw):
    n = 256 if code != TensorProto.BFLOAT16 else 65536
    bits = np.arange(n, dtype=np.uint16 if n > 256 else np.uint8)
    t = TensorProto(name="t", data_type=code, dims=[n])
    if raw:
        t.raw_data = bits.astype("<u2" if n > 256 else "u1").tobytes()
    else:
        t.int32_data.extend(bits.astype(np.int32).tolist())
    ours, theirs = _decode(t), numpy_helper.to_array(t).astype(np.float32)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)  # NaNs in the same places, infinities signed


@pytest.mark.parametrize(
    "code,n",
    [
        (TensorProto.INT4, 7),
        (TensorProto.UINT4, 8),
        (TensorProto.FLOAT4E2M1, 5),
        (TensorProto.INT2, 7),
        (TensorProto.UINT2, 12),
    ],
)
@pytest.mark.parametrize("raw", [True, False])
def test_packed_types_every_pattern(code, n, raw):
    per = 4 if code in (TensorProto.INT2, TensorProto.UINT2) else 2
    packed = np.arange(256, dtype=np.uint8)  # every byte: every element pattern in every position
    count = min(n, 256 * per)
    nbytes = -(-count // per)
    for start in range(0, 256, nbytes):
        chunk = packed[start : start + nbytes]
        if len(chunk) < nbytes:
            break
        t = TensorProto(name="t", data_type=code, dims=[count])
        if raw:
            t.raw_data = chunk.tobytes()
        else:
            t.int32_data.extend(chunk.astype(np.int32).tolist())
        _same(_decode(t), numpy_helper.to_array(t))


def test_bad_counts_are_unknown_not_errors():
    t = TensorProto(name="t", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 12)
    assert _decode(t) is None
    t = TensorProto(name="t", data_type=TensorProto.INT64, dims=[3], int64_data=[1, 2])
    assert _decode(t) is None
    t = TensorProto(name="t", data_type=TensorProto.INT4, dims=[5], raw_data=b"\x12")
    assert _decode(t) is None
    t = TensorProto(name="t", data_type=TensorProto.INT8, dims=[2], int32_data=[300, -129])
    _same(_decode(t), numpy_helper.to_array(t))  # wraps, as numpy_helper does
    t = TensorProto(name="t", data_type=TensorProto.FLOAT, dims=[0], raw_data=b"")
    assert _decode(t).shape == (0,)


# -- random tensors: the decoder returns what the loader returned with numpy_helper -------
def _before(t, shape, numel):
    """The small-tensor decoding the loader did before it stopped importing onnx (its fast
    paths, then onnx.numpy_helper with a size check), kept here as the reference."""
    fast = {1: "<f4", 2: "u1", 3: "i1", 4: "<u2", 5: "<i2", 6: "<i4", 7: "<i8", 9: "?", 10: "<f2", 11: "<f8"}
    fast.update({12: "<u4", 13: "<u8"})
    typed = {1: ("float_data", "float32"), 6: ("int32_data", "int32"), 7: ("int64_data", "int64")}
    typed[11] = ("double_data", "float64")
    np_type = fast.get(t.data_type)
    if np_type is not None and t.raw_data and not t.HasField("segment"):
        raw = t.raw_data
        return np.frombuffer(raw, np_type).reshape(shape) if len(raw) == numel * np.dtype(np_type).itemsize else None
    if t.data_type in typed and not t.HasField("raw_data") and not t.HasField("segment"):
        values = getattr(t, typed[t.data_type][0])
        return np.asarray(values, dtype=typed[t.data_type][1]).reshape(shape) if len(values) == numel else None
    try:
        arr = numpy_helper.to_array(t)
        return arr.reshape(shape) if arr.size == numel else None
    except Exception:
        return None


_CODES = sorted(set(range(1, 27)) - {8})  # every element type but strings
_FIELD_VALUES = {
    "float_data": st.floats(width=32, allow_nan=True),
    "double_data": st.floats(allow_nan=True),
    "int32_data": st.integers(-(2**31), 2**31 - 1),
    "int64_data": st.integers(-(2**63), 2**63 - 1),
    "uint64_data": st.integers(0, 2**64 - 1),
}


@st.composite
def tensors(draw):
    code = draw(st.sampled_from(_CODES))
    dims = draw(st.lists(st.integers(0, 4), max_size=3))
    numel = math.prod(dims)
    t = TensorProto(name="t", data_type=code, dims=dims)
    if draw(st.booleans()):
        size = draw(st.sampled_from([0, 1, 2, 4, 8, 16]))
        t.raw_data = draw(st.binary(min_size=max(0, numel * size - 2), max_size=numel * size + 2))
    else:
        field = helper.tensor_dtype_to_field(code)
        count = draw(st.integers(max(0, numel - 1), numel + 1))
        t.ClearField(field)
        getattr(t, field).extend(draw(st.lists(_FIELD_VALUES[field], min_size=count, max_size=count)))
    return t


@settings(max_examples=400, deadline=None)
@given(tensors())
def test_random_tensors_decode_as_before(t):
    shape = tuple(t.dims)
    numel = math.prod(shape)
    before, ours = _before(t, shape, numel), onnx_tensor.small_array(t, shape, numel)
    if before is None:
        assert ours is None
    else:
        _same(ours, before)


def test_nodes_alike_after_their_names_read_as_each_alone():
    """The reader takes a node's op type, domain and attributes from an earlier node whose
    bytes after the inputs, outputs and name are the same; names of every length and
    script, empty ones (absent or present) and nodes differing only past the names must
    read as each one alone does."""
    from costmodel.frontends.onnx import _Converter

    names = ["a", "b" * 127, "c" * 128, "ü", "é" * 70, ""]
    nodes = []
    for k, nm in enumerate(names):
        for op, domain, axes in [("Unsqueeze", "", [0]), ("Squeeze", "", [0]), ("Unsqueeze", "ai.onnx", [1])]:
            n = helper.make_node(op, [f"x{k}", ""], [f"y{k}{op}{domain}{axes[0]}"], name=nm, domain=domain)
            n.attribute.append(helper.make_attribute("axes", axes))
            nodes.append(n)
    present_empty = helper.make_node("Relu", ["x0"], ["r0"])
    present_empty.name = ""  # set: written as an empty field
    nodes += [helper.make_node(op, ["x2"], [f"s{op}"], name="s") for op in ("Relu", "Selu", "Relu")]
    nodes += [present_empty, helper.make_node("Relu", ["x1"], ["r1"], doc_string="d")]
    graph = helper.make_graph(nodes, "g", [], [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.graph.node[-2].name = ""
    assert model.graph.node[-2].HasField("name")
    blob = model.SerializeToString()
    g = to_graph(parse_model(blob))
    protos = parse_model(blob).graph.node
    alone = [_Converter({"": 11}, "model").nodes([n])[0] for n in protos]
    assert [n[1:] for n in g.nodes] == [n[1:] for n in alone]
    assert [n.name for n in g.nodes] == [p.name or f"{p.op_type}_{i}" for i, p in enumerate(protos)]
    assert [n.attrs["axes"] for n in g.nodes[:3]] == [(0,), (0,), (1,)]
    assert [n.op_type for n in g.nodes[-5:-2]] == ["Relu", "Selu", "Relu"]
    by_op: dict[tuple[str, tuple[int, ...]], set[int]] = {}
    for n in g.nodes[:-5]:
        by_op.setdefault((n.op_type, n.attrs["axes"]), set()).add(id(n.attrs))
    assert all(len(ids) == 1 for ids in by_op.values())  # nodes alike share one dict
