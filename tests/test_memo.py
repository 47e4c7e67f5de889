"""Memoised costing (ops/memo.py, analysis.py): nodes of one signature share one rule
evaluation, and every report is byte for byte the one running each node's rule gives
(`analyze_graph(..., memo=False)`): on every model-zoo graph (as exported and as a
runtime's kernels), on every built-in spec bound and symbolic, and on generated graphs of
repeated blocks that exercise what a signature must tell apart."""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

import costmodel
from costmodel.analysis import _Analyzer, analyze_graph, clear_memo
from costmodel.api import Report, load_graph
from costmodel.frontends.builtin import names as spec_names
from costmodel.ir.dtypes import DTYPES
from costmodel.limits import Limits
from costmodel.ops import registry
from costmodel.ops.cost import Cost
from tests.helpers import big_init, init, model, vi

ZOO = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
ZOO_GRAPHS = sorted(f for f in os.listdir(ZOO) if f.endswith(".onnx"))


def _json(graph, bindings=None, runtime=None, memo=True, dtype=None) -> str:
    gc = analyze_graph(graph, bindings=bindings, runtime=runtime, memo=memo, dtype=dtype and DTYPES[dtype])
    return json.dumps(Report("m", gc, bindings=dict(bindings or {})).to_dict(), sort_keys=True, default=str)


def _same(graph, bindings=None, runtime=None, dtype=None) -> str:
    got = _json(graph, bindings, runtime, dtype=dtype)
    assert got == _json(graph, bindings, runtime, memo=False, dtype=dtype)
    return got


def _distinct(graph, bindings=None) -> int:
    clear_memo()  # outcomes kept from earlier analyses would count too
    an = _Analyzer(registry.load_all(), None, False, Limits().start(), dict(bindings or {}))
    an.run(graph)
    assert an.memo is not None
    return len(an.memo)


@pytest.mark.parametrize("name", ZOO_GRAPHS)
@pytest.mark.parametrize("runtime", [None, "torch-compile"])
def test_zoo_graphs_report_the_same_with_and_without_memo(name, runtime):
    g, _ = load_graph(os.path.join(ZOO, name))
    _same(g, runtime=runtime)


@pytest.mark.parametrize("name", ZOO_GRAPHS)
@pytest.mark.parametrize("dtype", ["int8", "int4"])
def test_zoo_graphs_deployed_as_integers_report_the_same_with_and_without_memo(name, dtype):
    """Floats re-typed to an integer deployment dtype stay parameters (by identity)."""
    g, _ = load_graph(os.path.join(ZOO, name))
    _same(g, dtype=dtype)


def test_repeated_blocks_are_costed_once_per_signature():
    g, _ = load_graph(os.path.join(ZOO, "light_resnet50.onnx"))
    # ResNet-50's 16 bottleneck blocks repeat in four stages: far fewer rule evaluations
    # than nodes (89 distinct signatures for 415 nodes with onnx 1.23's light model)
    assert _distinct(g) < len(g.nodes) / 3


@pytest.mark.parametrize("name", spec_names())
def test_builtin_specs_report_the_same_with_and_without_memo(name):
    g, _ = load_graph(name)
    _same(g)  # symbolic
    bindings = {s: {"batch": 2, "seq": 64}.get(s, 16) for s in g.symbols}
    gb, _ = load_graph(name, bindings)
    _same(gb, {k: v for k, v in bindings.items() if k in gb.symbols})


# -- generated graphs -----------------------------------------------------------------
# Blocks on x [batch, 8] that repeat with the same or other weights: what a signature must
# tell apart (shapes, known values, shared weights counted once, x * x reading x once,
# an unused output, constants folded into parameters, a symbol named after its node).
def _block(k: int, kind: str, x: str, shared: bool) -> tuple[list, list, str]:
    """Block `kind` on x; `shared` picks the variant (one weight for all blocks, a value)."""
    w = "w" if shared else f"w{k}"
    y = f"y{k}"
    if kind == "matmul":
        return [helper.make_node("MatMul", [x, w], [y])], [init(w, np.zeros((8, 8), np.float32))], y
    if kind == "square":  # x * x reads x once; x * relu(x) reads two tensors of one type
        if shared:
            return [helper.make_node("Mul", [x, x], [y])], [], y
        return [helper.make_node("Relu", [x], [f"q{k}"]), helper.make_node("Mul", [x, f"q{k}"], [y])], [], y
    if kind == "dropout":  # the mask output unused (empty name) or named
        outs = [y, ""] if k % 2 else [y, f"mask{k}"]
        return [helper.make_node("Dropout", [x], outs)], [], y
    if kind == "reshape":  # a known shape value, folded shape arithmetic
        s = f"s{k}"
        nodes = [
            helper.make_node("Shape", [x], [f"sh{k}"]),
            helper.make_node("Gather", [f"sh{k}", f"i{k}"], [f"b{k}"], axis=0),
            helper.make_node("Concat", [f"b{k}", s], [f"t{k}"], axis=0),
            helper.make_node("Reshape", [x, f"t{k}"], [y]),
        ]
        return nodes, [init(f"i{k}", np.array([0], np.int64)), init(s, np.array([8], np.int64))], y
    if kind == "fill":  # a float constant folded from a shape's value: a new parameter per node
        nodes = [
            helper.make_node("ConstantOfShape", [f"fs{k}"], [f"c{k}"], value=helper.make_tensor("", 1, [1], [0.5])),
            helper.make_node("Add", [x, f"c{k}"], [y]),
        ]
        return nodes, [init(f"fs{k}", np.array([8] if shared else [1], np.int64))], y
    if kind == "tied":  # a constant view of a weight (a transposed head): its source stays resident
        nodes = [
            helper.make_node("Transpose", [w], [f"wt{k}"], perm=[1, 0]),
            helper.make_node("MatMul", [x, f"wt{k}"], [y]),
        ]
        return nodes, [big_init(w, [8, 8])], y
    if kind == "native":  # an int8 weight of the graph's own: no parameter, unlike a re-typed float
        v = "v" if shared else f"v{k}"
        nodes = [
            helper.make_node("DequantizeLinear", [v, "vs"], [f"dq{k}"]),
            helper.make_node("MatMul", [x, f"dq{k}"], [y]),
        ]
        return nodes, [big_init(v, [8, 8], "int8"), init("vs", np.array(0.5, np.float32))], y
    if kind == "range":  # a length known at run time: a symbol named after the node
        nodes = [
            helper.make_node("ReduceMax", [x], [f"m{k}"], keepdims=0),
            helper.make_node("Cast", [f"m{k}"], [f"n{k}"], to=7),
            helper.make_node("Range", [f"z{k}", f"n{k}", f"o{k}"], [f"r{k}"]),
            helper.make_node("Relu", [x], [y]),
        ]
        z = [init(f"z{k}", np.array(0, np.int64)), init(f"o{k}", np.array(1, np.int64))]
        return nodes, z, y
    raise AssertionError(kind)


KINDS = ["matmul", "square", "dropout", "reshape", "fill", "range", "tied", "native"]


@st.composite
def repeated(draw):
    pattern = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))
    times = draw(st.integers(1, 4))
    nodes, inits, outs = [], {}, []
    x = "x"
    for r in range(times):
        for j, kind in enumerate(pattern):
            ns, ts, x = _block(r * len(pattern) + j, kind, x, draw(st.booleans()))
            nodes += ns
            inits.update({t.name: t for t in ts})
            outs += [o for n in ns for o in n.output if o.startswith(("r", "mask"))]
    outputs = [vi(x, None)] + [vi(o, None) for o in outs]
    return model(nodes, [vi("x", ["batch", 8])], outputs, list(inits.values()), opset=draw(st.sampled_from([13, 17])))


@settings(max_examples=40, deadline=None)
@given(repeated(), st.sampled_from([None, {"batch": 3}]), st.sampled_from([None, "fp16", "int8", "int4"]))
def test_generated_repeated_blocks_report_the_same(m, bindings, dtype):
    g, _ = load_graph(m)
    _same(g, bindings, dtype=dtype)


def test_retyped_and_native_integer_weights_of_one_type_stay_apart():
    """Under int8, a float weight re-typed to int8 and a native int8 weight of the same
    shape look alike to a rule, yet only the first is a parameter: the memo tells them
    apart. Two transposed weights of one type share an outcome, and each view keeps its
    own source resident (t1 is also read directly: its bytes count once)."""
    n = helper.make_node
    nodes = [
        n("MatMul", ["x", "w"], ["a"]),
        n("MatMulInteger", ["xi", "w2"], ["c"]),
        n("MatMulInteger", ["xi", "v"], ["b"]),
        n("Transpose", ["t1"], ["t1t"], perm=[1, 0]),
        n("Transpose", ["t2"], ["t2t"], perm=[1, 0]),
        n("MatMul", ["a", "t1t"], ["d"]),
        n("MatMul", ["d", "t2t"], ["e"]),
        n("MatMul", ["e", "t1"], ["f"]),
    ]
    # v, w2: more elements than the reader decodes (frontends/onnx_tensor.py SMALL_TENSOR): no values
    wide = [8, 1024]
    inits = [big_init("w", [8, 8]), big_init("w2", wide), big_init("v", wide, "int8")]
    inits += [big_init("t1", [8, 8]), big_init("t2", [8, 8])]
    ins = [vi("x", ["batch", 8]), vi("xi", ["batch", 8], "int8")]
    m = model(nodes, ins, [vi("f", None), vi("b", None, "int32"), vi("c", None, "int32")], inits)
    g, _ = load_graph(m)
    floats = 3 * 64 + 8 * 1024  # w, t1, t2, w2: parameters; v is resident, no parameter
    for dtype, bits in ((None, 32), ("int8", 8), ("int4", 4)):
        report = json.loads(_same(g, {"batch": 2}, dtype=dtype))
        assert report["params"] == floats, dtype
        assert report["weight_bytes"] == floats * bits // 8 + 8 * 1024, dtype


def test_symbols_named_after_nodes_stay_distinct():
    nodes, inits, x = [], [], "x"
    for k in range(3):  # three identical Range nodes: three run-time lengths
        ns, ts, x = _block(k, "range", x, False)
        nodes += ns
        inits += ts
    m = model(nodes, [vi("x", [2, 8])], [vi(x, None)] + [vi(f"r{k}", None) for k in range(3)], inits)
    r = costmodel.analyze(m)
    lengths = [str(n.output_shapes[0][0]) for n in r.ops if n.op_type == "Range"]
    assert lengths == ["range_Range_2", "range_Range_6", "range_Range_10"]  # each node's own
    _same(load_graph(m)[0])


# -- sums of repeated terms -----------------------------------------------------------
_sym = st.sampled_from(["batch", "seq", "batch*seq", "2*batch + 3", "seq**2*batch", "batch*(seq + 1)"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 50), _sym), min_size=0, max_size=12))
def test_add_all_of_repeated_terms_is_sympys_sum(items):
    """add_all groups equal terms (a model's repeated layers) before one Add: the result is
    the expression adding every item one by one gives, printed alike."""
    import sympy

    from costmodel.symbolic import add_all

    xs = [x if isinstance(x, int) else sympy.sympify(x) for x in items]
    expected: object = 0
    for x in xs:
        expected = expected + x
    got = add_all(xs)
    assert got == expected and str(got) == str(expected)


# -- the memo kept between analyses (analysis_memo.shared_memo) ------------------------------


@pytest.mark.parametrize("first", ["light_densenet121.onnx", "light_resnet50.onnx"])
@pytest.mark.parametrize("then", ["light_inception_v2.onnx", "light_squeezenet.onnx"])
def test_a_graph_reports_the_same_after_another_graph_filled_the_memo(first, then):
    g, _ = load_graph(os.path.join(ZOO, then))
    clear_memo()
    fresh = _json(g)
    analyze_graph(load_graph(os.path.join(ZOO, first))[0])
    assert _json(g) == fresh == _json(g, memo=False)


@settings(max_examples=30, deadline=None)
@given(repeated(), repeated(), st.sampled_from([None, "fp16", "int8"]), st.sampled_from([None, "fp16", "int8"]))
def test_generated_graphs_report_the_same_after_other_graphs_and_dtypes(a, b, dtype_a, dtype_b):
    """Whatever ran before in the thread (another graph, another deployment dtype), a
    graph's report is the one every node's own rule gives."""
    ga, _ = load_graph(a)
    gb, _ = load_graph(b)
    _json(ga, {"batch": 3}, dtype=dtype_a)
    assert _json(gb, {"batch": 3}, dtype=dtype_b) == _json(gb, {"batch": 3}, memo=False, dtype=dtype_b)


def test_the_memo_kept_between_analyses_answers_a_second_analysis_without_rules(monkeypatch):
    g, _ = load_graph(os.path.join(ZOO, "light_inception_v2.onnx"))
    clear_memo()
    first = _json(g)
    calls = []
    real = _Analyzer.node
    monkeypatch.setattr(_Analyzer, "node", lambda self, *a: calls.append(1) or real(self, *a))
    assert _json(g) == first
    assert not calls  # every node a hit
    clear_memo()
    assert _json(g) == first
    assert len(calls) == _distinct(g)  # cleared: one rule run per distinct signature again


def test_a_rule_added_after_an_analysis_is_used_by_the_next():
    m = model([helper.make_node("MyOp", ["x"], ["y"], domain="my.test")], [vi("x", [2, 3])], [vi("y", None)])
    m.opset_import.append(helper.make_opsetid("my.test", 1))
    g, _ = load_graph(m)
    reg = registry.load_all().overlay()
    before = analyze_graph(g, registry=reg)
    assert [u.op_type for u in before.unsupported] == ["MyOp"]

    @reg.op("MyOp", kind=registry.ELEMENTWISE, domain="my.test")
    def _my_op(ctx):
        ctx.same_as(0)
        return Cost(flops=7)

    after = analyze_graph(g, registry=reg)
    assert not after.unsupported and after.total.flops == 7


def test_each_thread_keeps_its_own_memo():
    import threading

    g, _ = load_graph(os.path.join(ZOO, "light_squeezenet.onnx"))
    want = _json(g, memo=False)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(_json(g))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [want] * 4
