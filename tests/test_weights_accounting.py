"""Parameters and resident weight bytes: counted once per source tensor, whatever the
deployment dtype, and never again for a constant view of a weight (issue 18)."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import helper

import costmodel
from tests.helpers import big_init, init, model, vi

ZOO_RESNET = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light", "light_resnet50.onnx")
# 25,557,032 trainable params + 2 x 26,560 BatchNorm running statistics (tests/test_model_zoo.py)
RESNET_PARAMS = 25_557_032 + 2 * 26_560


def _resnet_weight_tensors() -> list[int]:
    """Element counts of the zoo ResNet-50's weights: its float initializers and the
    float tensors it makes with a ConstantOfShape of an int64 shape initializer (its
    caffe2 export also carries an unused 1x1 blob-queue initializer, read by no node)."""
    from onnx import numpy_helper

    m = onnx.load(ZOO_RESNET, load_external_data=False)
    inits = {t.name: t for t in m.graph.initializer}
    used = {x for n in m.graph.node for x in n.input}
    floats = [
        int(np.prod(t.dims)) for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and t.name in used
    ]
    return floats + [
        int(np.prod(numpy_helper.to_array(inits[n.input[0]])))
        for n in m.graph.node
        if n.op_type == "ConstantOfShape" and n.input[0] in inits
    ]


@pytest.mark.parametrize(("dtype", "bits"), [("fp32", 32), ("fp16", 16), ("int8", 8), ("int4", 4)])
def test_resnet50_params_and_weight_bytes_under_every_dtype(dtype, bits):
    sizes = _resnet_weight_tensors()
    assert sum(sizes) == RESNET_PARAMS
    r = costmodel.analyze(ZOO_RESNET, dtype=dtype)
    assert r.params == RESNET_PARAMS
    # each tensor packs to ceil(numel * bits / 8) bytes (int4: two per byte)
    assert r.graph_cost.weight_bytes == sum(-(-n * bits // 8) for n in sizes)


def test_int8_weights_are_weight_traffic():
    """A re-typed weight is read as a weight, not as an activation."""
    fp32 = costmodel.analyze(ZOO_RESNET)
    int8 = costmodel.analyze(ZOO_RESNET, dtype="int8")
    w32 = sum(n.cost.read_weights for n in fp32.ops)
    w8 = sum(n.cost.read_weights for n in int8.ops)
    assert w32 == 4 * w8 > 0


def _matmul_graph(k: int, n: int, *, transposed: bool = False, w_dtype: str = "fp32"):
    """x[batch, k] @ W[k, n]; with `transposed`, W is stored [n, k] and transposed by a
    constant Transpose node (a tied LM head as exporters write it)."""
    nodes = []
    w = "W"
    if transposed:
        nodes.append(helper.make_node("Transpose", ["W"], ["Wt"], perm=[1, 0]))
        w = "Wt"
    nodes.append(helper.make_node("MatMul", ["x", w], ["y"]))
    shape = [n, k] if transposed else [k, n]
    return model(nodes, [vi("x", ["batch", k])], [vi("y", None)], [big_init("W", shape, w_dtype)])


@pytest.mark.parametrize(("dtype", "nbytes"), [(None, 4 * 7 * 3), ("int8", 7 * 3), ("int4", (7 * 3 + 1) // 2)])
@pytest.mark.parametrize("transposed", [False, True])
def test_weight_counted_once_under_integer_deployment(dtype, nbytes, transposed):
    r = costmodel.analyze(_matmul_graph(7, 3, transposed=transposed), dtype=dtype, bindings={"batch": 2})
    assert r.params == 7 * 3
    assert r.graph_cost.weight_bytes == nbytes


def test_native_int8_weight_is_no_parameter_in_any_deployment():
    """An integer tensor of a quantized model is no float parameter, in fp32 as in int8."""
    m = model(
        [helper.make_node("MatMulInteger", ["x", "W"], ["y"])],
        [vi("x", ["batch", 7], "int8")],
        [vi("y", None, "int32")],
        [big_init("W", [7, 3], "int8")],
    )
    a = costmodel.analyze(m, bindings={"batch": 2})
    b = costmodel.analyze(m, bindings={"batch": 2}, dtype="int8")
    assert a.params == b.params == 0


def test_float_constant_of_shape_is_a_parameter_under_int8():
    """ConstantOfShape of a float value (how the zoo graphs store weights) is a new
    parameter tensor; under int8 it is re-typed and still one."""
    m = model(
        [
            helper.make_node(
                "ConstantOfShape", ["s"], ["W"], value=helper.make_tensor("v", onnx.TensorProto.FLOAT, [1], [0.0])
            ),
            helper.make_node("MatMul", ["x", "W"], ["y"]),
        ],
        [vi("x", ["batch", 5])],
        [vi("y", None)],
        [init("s", np.array([5, 9], dtype=np.int64))],
    )
    for dtype, nbytes in ((None, 4 * 45), ("int8", 45), ("int4", 23)):
        r = costmodel.analyze(m, dtype=dtype, bindings={"batch": 1})
        assert r.params == 5 * 9
        assert r.graph_cost.weight_bytes == nbytes


def _tied_lm_graph(vocab: int = 50, d: int = 8, ctx: int = 16):
    """GPT-2's layout in little: token rows gathered from E[vocab, d], positions from
    P[ctx, d] by Range(seq) (a constant subgraph of the input's shape), and the LM head
    as Transpose(E), a constant subgraph of the same initializer (tied weights)."""
    n = helper.make_node
    nodes = [
        n("Gather", ["E", "ids"], ["tok"], axis=0),
        n("Shape", ["ids"], ["shape"]),
        n("Gather", ["shape", "one"], ["seq"], axis=0),
        n("Range", ["zero", "seq", "one"], ["pos"]),
        n("Gather", ["P", "pos"], ["posemb"], axis=0),
        n("Add", ["tok", "posemb"], ["h"]),
        n("Transpose", ["E"], ["Et"], perm=[1, 0]),
        n("MatMul", ["h", "Et"], ["logits"]),
    ]
    inits = [
        big_init("E", [vocab, d]),
        big_init("P", [ctx, d]),
        init("zero", np.array(0, dtype=np.int64)),
        init("one", np.array(1, dtype=np.int64)),
    ]
    return model(nodes, [vi("ids", ["batch", "seq"], "int64")], [vi("logits", None)], inits)


def test_constant_views_of_weights_add_no_weight_bytes():
    vocab, d, ctx = 50, 8, 16
    m = _tied_lm_graph(vocab, d, ctx)
    r = costmodel.analyze(m)  # batch and seq free: no term of theirs may appear in the weights
    assert r.params == vocab * d + ctx * d
    assert r.graph_cost.weight_bytes == 4 * (vocab * d + ctx * d)
    bound = costmodel.analyze(m, bindings={"batch": 3, "seq": 5})
    assert bound.graph_cost.weight_bytes == 4 * (vocab * d + ctx * d)
    # the head still reads the whole (transposed) table each forward: that is traffic
    head = next(o for o in bound.ops if o.op_type == "MatMul")
    assert head.cost.read_weights == 4 * vocab * d


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter's notice
def test_gpt2_export_weights_equal_initializer_bytes():
    """A GPT-2 exported by torch (benchmarks/export_gpt2.py's stack, made tiny) with the
    tied head left as Transpose(wte) (do_constant_folding=False): the resident weights are
    the file's initializers plus the exporter's float scalar Constant nodes, with no
    `seq` term, and the head's transposed copy is not counted again."""
    torch = pytest.importorskip("torch")
    import io
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
    try:
        from export_gpt2 import _hand_written
    finally:
        sys.path.pop(0)

    vocab, d = 1000, 64
    torch.manual_seed(0)
    net, _ = _hand_written(2, d=d, heads=4, vocab=vocab, ctx=128)
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            net,
            (torch.randint(0, vocab, (1, 16)),),
            buf,
            opset_version=17,
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}},
            dynamo=False,
            do_constant_folding=False,
        )
    m = onnx.load_from_string(buf.getvalue())
    assert any(nd.op_type == "Transpose" and nd.input[0] == "wte.weight" for nd in m.graph.node)
    floats = sum(int(np.prod(t.dims)) for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    scalars = sum(
        1
        for nd in m.graph.node
        if nd.op_type == "Constant"
        and nd.attribute[0].t.data_type == onnx.TensorProto.FLOAT
        and not nd.attribute[0].t.dims
    )
    r = costmodel.analyze(m)
    assert r.params == floats + scalars
    assert r.graph_cost.weight_bytes == 4 * (floats + scalars)
