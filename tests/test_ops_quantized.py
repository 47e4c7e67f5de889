"""Quantization and integer contraction rules: arithmetic expected values, output types,
and output shapes against onnx shape inference."""

from __future__ import annotations

import itertools

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

import costmodel
from costmodel.errors import ShapeError
from costmodel.ops.kernel import GemmShape
from costmodel.symbolic import substitute
from tests.helpers import node_cost


def build(op_type, inputs, *, inits=(), opset=21, out_count=1, **attrs):
    """One node whose inputs are (name, onnx elem type, shape) graph inputs then inits."""
    names = [n for n, _, _ in inputs] + [t.name for t in inits]
    node = helper.make_node(op_type, names, [f"y{i}" for i in range(out_count)], **attrs)
    g = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(f"y{i}", 0, None) for i in range(out_count)],
        list(inits),
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def const(name, value, dtype=None):
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def onnx_shapes(m):
    """Output shapes from onnx's own inference (None for unknown dims)."""
    out = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    res = []
    for o in out.graph.output:
        tt = o.type.tensor_type
        res.append(tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim))
    return res


def out_dtype(m, i=0):
    r = costmodel.analyze(m)
    return r.graph_cost.outputs[f"y{i}"].dtype.name


def check_shapes(m, nc):
    assert [tuple(s) for s in nc.output_shapes] == onnx_shapes(m)


# -- QuantizeLinear -----------------------------------------------------------------------


def test_quantize_per_tensor_default_uint8():
    m = build("QuantizeLinear", [("x", TP.FLOAT, [2, 8])], inits=[const("s", 0.5, np.float32)])
    nc = node_cost(m)
    assert nc.cost.flops == 4 * 2 * 8  # divide, round, add zp, clamp per element = 64
    assert nc.cost.macs == 0 and nc.cost.transcendentals == 0
    check_shapes(m, nc)
    assert out_dtype(m) == "uint8"


def test_quantize_zero_point_type_and_output_dtype():
    m = build("QuantizeLinear", [("x", TP.FLOAT, [3, 4])], inits=[const("s", 0.5, np.float32), const("z", 0, np.int8)])
    assert out_dtype(m) == "int8"
    assert node_cost(m).cost.flops == 4 * 12  # 48
    m = build(
        "QuantizeLinear", [("x", TP.FLOAT, [3, 4])], inits=[const("s", 0.5, np.float32)], output_dtype=TP.FLOAT8E4M3FN
    )
    assert out_dtype(m) == "fp8_e4m3"
    check_shapes(m, node_cost(m))


def test_quantize_scalar_scale_with_one_element_zero_point():
    # () and (1,) are both per-tensor (onnx's own e4m3fn / int4 node tests mix them)
    m = build(
        "DequantizeLinear", [("x", TP.INT8, [3, 4])], inits=[const("s", 0.5, np.float32), const("z", [0], np.int8)]
    )
    assert node_cost(m).cost.flops == 2 * 12
    bad = build(
        "DequantizeLinear",
        [("x", TP.INT8, [3, 4])],
        inits=[const("s", np.ones(4), np.float32), const("z", np.zeros(3), np.int8)],
        axis=1,
    )
    with pytest.raises(ShapeError):
        costmodel.analyze(bad)


def test_quantize_opset10():
    m = build("QuantizeLinear", [("x", TP.FLOAT, [5])], inits=[const("s", 0.5, np.float32)], opset=10)
    nc = node_cost(m)
    assert nc.cost.flops == 20  # 4 * 5
    check_shapes(m, nc)


def test_quantize_per_axis_and_bad_axis_scale():
    m = build(
        "QuantizeLinear",
        [("x", TP.FLOAT, [2, 3, 4])],
        inits=[const("s", np.ones(3), np.float32), const("z", np.zeros(3), np.uint8)],
        opset=13,
        axis=1,
    )
    nc = node_cost(m)
    assert nc.cost.flops == 4 * 24  # 96
    check_shapes(m, nc)
    bad = build(
        "QuantizeLinear", [("x", TP.FLOAT, [2, 3, 4])], inits=[const("s", np.ones(4), np.float32)], opset=13, axis=1
    )
    with pytest.raises(ShapeError):
        costmodel.analyze(bad)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4), data=st.data())
def test_quantize_blocked(shape, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    block = data.draw(st.integers(1, 4))
    sshape = list(shape)
    sshape[axis] = -(-shape[axis] // block)  # ceil
    m = build("QuantizeLinear", [("x", TP.FLOAT, shape), ("s", TP.FLOAT, sshape)], axis=axis, block_size=block)
    nc = node_cost(m)
    assert nc.cost.flops == 4 * int(np.prod(shape))
    check_shapes(m, nc)


def test_quantize_blocked_mismatch():
    m = build("QuantizeLinear", [("x", TP.FLOAT, [4, 8]), ("s", TP.FLOAT, [4, 3])], axis=1, block_size=4)
    with pytest.raises(ShapeError):  # ceil(8 / 4) = 2, not 3
        costmodel.analyze(m)


def test_quantize_symbolic():
    m = build("QuantizeLinear", [("x", TP.FLOAT, ["batch", 8])], inits=[const("s", 0.5, np.float32)])
    f = node_cost(m).cost.flops
    assert f != 0 and not isinstance(f, int)
    assert substitute(f, {"batch": 3}) == 4 * 3 * 8
    assert node_cost(m, bindings={"batch": 3}).cost.flops == 96


# -- DequantizeLinear ---------------------------------------------------------------------


def test_dequantize_type_from_scale():
    m = build(
        "DequantizeLinear",
        [("x", TP.INT8, [2, 8])],
        inits=[const("s", np.ones(8), np.float16), const("z", np.zeros(8), np.int8)],
    )
    nc = node_cost(m)
    assert nc.cost.flops == 2 * 16  # subtract zp, multiply scale = 32
    check_shapes(m, nc)
    assert out_dtype(m) == "fp16"


def test_dequantize_output_dtype_opset23_and_opset10():
    m = build(
        "DequantizeLinear", [("x", TP.UINT8, [6])], inits=[const("s", 0.1, np.float16)], opset=23, output_dtype=TP.FLOAT
    )
    assert out_dtype(m) == "fp32"
    assert node_cost(m).cost.flops == 12  # 2 * 6
    m = build("DequantizeLinear", [("x", TP.INT32, [2, 3])], inits=[const("s", 0.1, np.float32)], opset=10)
    nc = node_cost(m)
    assert nc.cost.flops == 12
    assert out_dtype(m) == "fp32"
    check_shapes(m, nc)


def test_dequantize_blocked_int4_weight_folds():
    # A constant quantized weight dequantizes at load time (folded, no compute).
    w = helper.make_tensor("w", TP.INT4, [4, 8], vals=[0] * 32)
    m = build("DequantizeLinear", [], inits=[w, const("s", np.ones((4, 2)), np.float32)], axis=1, block_size=4)
    r = costmodel.analyze(m)
    assert r.ops[0].status == "folded"
    assert r.graph_cost.outputs["y0"].shape == (4, 8)


# -- DynamicQuantizeLinear ----------------------------------------------------------------


def test_dynamic_quantize():
    m = build("DynamicQuantizeLinear", [("x", TP.FLOAT, [2, 8])], out_count=3, opset=11)
    nc = node_cost(m)
    assert nc.cost.flops == 6 * 16 + 8  # min, max, quantize per element + scalar setup = 104
    check_shapes(m, nc)
    r = costmodel.analyze(m)
    assert [r.graph_cost.outputs[f"y{i}"].dtype.name for i in range(3)] == ["uint8", "fp32", "uint8"]


# -- integer convolutions -----------------------------------------------------------------


def _qconv_inputs(x, w, *, bias=None):
    inits = [
        const("xs", 0.1, np.float32),
        const("xz", 0, np.uint8),
        numpy_helper.from_array(np.zeros(w, np.int8), "w"),
        const("ws", 0.1, np.float32),
        const("wz", 0, np.int8),
        const("ys", 0.2, np.float32),
        const("yz", 0, np.uint8),
    ]
    if bias:
        inits.append(const("b", np.zeros(bias), np.int32))
    return inits


def test_qlinear_conv():
    inits = _qconv_inputs([1, 3, 8, 8], [4, 3, 3, 3])
    node = helper.make_node("QLinearConv", ["x"] + [t.name for t in inits], ["y0"], pads=[1, 1, 1, 1])
    g = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TP.UINT8, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y0", 0, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 10)])
    nc = node_cost(m)
    out = 1 * 4 * 8 * 8  # 256
    macs = out * 3 * 9  # 6912
    assert nc.cost.macs == macs
    # 2 * MACs + zero points (192 x + 108 w elements) + requantize 4 per output
    assert nc.cost.flops == 2 * macs + (192 + 108) + 4 * out  # 15148
    check_shapes(m, nc)
    assert out_dtype(m) == "uint8"
    assert nc.kernel.gemm == GemmShape(batch=1, m=64, n=4, k=27)


def test_qlinear_conv_bias_and_groups():
    inits = _qconv_inputs([2, 4, 6, 6], [6, 2, 3, 3], bias=[6])
    node = helper.make_node("QLinearConv", ["x"] + [t.name for t in inits], ["y0"], group=2, strides=[2, 2])
    g = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TP.UINT8, [2, 4, 6, 6])],
        [helper.make_tensor_value_info("y0", 0, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 10)])
    nc = node_cost(m)
    out = 2 * 6 * 2 * 2  # (6 - 3) // 2 + 1 = 2 per spatial axis: 48 outputs
    macs = out * 2 * 9  # 864
    assert nc.cost.macs == macs
    assert nc.cost.flops == 2 * macs + out + (2 * 4 * 36 + 6 * 2 * 9) + 4 * out  # bias + zp + requant
    check_shapes(m, nc)


def test_conv_integer():
    x, w = [1, 3, 8, 8], [4, 3, 3, 3]
    m = build("ConvInteger", [("x", TP.UINT8, x), ("w", TP.UINT8, w)], opset=10)
    nc = node_cost(m)
    macs = 4 * 6 * 6 * 3 * 9  # 3888
    assert (nc.cost.macs, nc.cost.flops) == (macs, 2 * macs)
    check_shapes(m, nc)
    assert out_dtype(m) == "int32"
    m = build(
        "ConvInteger", [("x", TP.UINT8, x), ("w", TP.UINT8, w), ("xz", TP.UINT8, []), ("wz", TP.UINT8, [])], opset=10
    )
    assert node_cost(m).cost.flops == 2 * macs + 192 + 108  # both zero points subtracted


def test_conv_integer_channel_mismatch():
    m = build("ConvInteger", [("x", TP.UINT8, [1, 3, 8, 8]), ("w", TP.UINT8, [4, 2, 3, 3])], opset=10)
    with pytest.raises(ShapeError):
        costmodel.analyze(m)


# -- integer matmuls ----------------------------------------------------------------------


def _qmm(a, b, opset=10):
    inputs = [
        ("a", TP.UINT8, a),
        ("as", TP.FLOAT, []),
        ("az", TP.UINT8, []),
        ("b", TP.UINT8, b),
        ("bs", TP.FLOAT, []),
        ("bz", TP.UINT8, []),
        ("ys", TP.FLOAT, []),
        ("yz", TP.INT8, []),
    ]
    return build("QLinearMatMul", inputs, opset=opset)


def test_qlinear_matmul():
    m = _qmm([2, 4, 6], [6, 5])
    nc = node_cost(m)
    assert nc.cost.macs == 2 * 4 * 5 * 6  # 240
    assert nc.cost.flops == 2 * 240 + (48 + 30) + 4 * 40  # zp on a and b, requantize 40 outputs = 718
    check_shapes(m, nc)
    assert out_dtype(m) == "int8"
    assert nc.kernel == GemmShape(batch=2, m=4, n=5, k=6)
    assert node_cost(_qmm([2, 4, 6], [6, 5], opset=21)).cost.flops == 718


def _brute_macs(a, b):
    """Count the multiply-adds of a literal matmul loop (b is 2-D here)."""
    count = 0
    for _ in itertools.product(*[range(d) for d in a[:-2]]):
        for _i, _j, _k in itertools.product(range(a[-2]), range(b[-1]), range(a[-1])):
            count += 1
    return count


@settings(max_examples=25, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), max_size=2),
    m=st.integers(1, 5),
    k=st.integers(1, 5),
    n=st.integers(1, 5),
    zp=st.booleans(),
)
def test_matmul_integer_random(batch, m, k, n, zp):
    a, b = batch + [m, k], [k, n]
    inputs = [("a", TP.UINT8, a), ("b", TP.INT8, b)]
    if zp:
        inputs += [("az", TP.UINT8, []), ("bz", TP.INT8, [])]
    mod = build("MatMulInteger", inputs, opset=10)
    nc = node_cost(mod)
    macs = _brute_macs(a, b)
    assert nc.cost.macs == macs
    assert nc.cost.flops == 2 * macs + ((int(np.prod(a)) + k * n) if zp else 0)
    check_shapes(mod, nc)
    assert out_dtype(mod) == "int32"


def test_matmul_integer_inner_mismatch():
    m = build("MatMulInteger", [("a", TP.UINT8, [4, 6]), ("b", TP.UINT8, [5, 3])], opset=10)
    with pytest.raises(ShapeError):
        costmodel.analyze(m)


def test_qlinear_matmul_symbolic():
    f = node_cost(_qmm(["batch", 4, 6], [6, 5])).cost.flops
    assert substitute(f, {"batch": 2}) == node_cost(_qmm([2, 4, 6], [6, 5])).cost.flops
