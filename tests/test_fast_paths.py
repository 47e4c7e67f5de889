"""The analyser's shortcuts give the results of the general code they stand in for:
the integer liveness walk, the reader's shared small initializers, ScatterND's folding,
and the collector paused around a load or an analysis (issue 17's speed work)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

import costmodel
from costmodel.analysis import analyze_graph
from costmodel.api import Report, load_graph
from costmodel.ir.dtypes import FP32
from costmodel.limits import gc_paused
from costmodel.passes import liveness
from tests.helpers import init, model, vi
from tests.test_memo import ZOO, ZOO_GRAPHS, repeated


def _report(graph, bindings=None) -> str:
    gc_ = analyze_graph(graph, bindings=bindings)
    return json.dumps(Report("m", gc_, bindings=dict(bindings or {})).to_dict(), sort_keys=True, default=str)


def _general_only(monkeypatch) -> None:
    monkeypatch.setattr(liveness, "_concrete_peak", lambda *a: None)


@pytest.mark.parametrize("name", ZOO_GRAPHS)
def test_integer_liveness_walk_equals_the_general_one_on_zoo_graphs(name, monkeypatch):
    g, _ = load_graph(os.path.join(ZOO, name))
    fast = _report(g)
    _general_only(monkeypatch)
    assert fast == _report(g)


@settings(max_examples=30, deadline=None)
@given(repeated(), st.sampled_from([{"batch": 1}, {"batch": 3}]))
def test_integer_liveness_walk_equals_the_general_one_on_generated_graphs(m, bindings):
    g, _ = load_graph(m)
    gc_ = analyze_graph(g, bindings=bindings)
    order = g.topological()
    last = liveness._last_use(g, order, {})
    fast = liveness._concrete_peak(g, order, gc_.values, last, {})
    with pytest.MonkeyPatch.context() as mp:
        _general_only(mp)
        general = liveness.peak_live_bytes(g, order, gc_.values)
    if fast is None:  # a size known only at run time (Range): the general walk's formula
        assert type(general) is not int
    else:
        assert fast == general


@st.composite
def _views(draw):
    """A traced graph's shape: activations, views of them (costmodel::Alias, which
    allocates nothing and keeps its source alive) and two-output steps, read in a random
    order."""
    from costmodel.ir.graph import Graph, Node

    width = draw(st.integers(1, 6))
    made = ["x"]
    nodes = []
    for k in range(draw(st.integers(1, 12))):
        src = draw(st.sampled_from(made))
        kind = draw(st.sampled_from(["view", "add", "split"]))
        if kind == "view":
            attrs = {"shapes": ((2, 4 * width),)}
            nodes.append(Node(f"v{k}", "Alias", "costmodel", (src,), (f"t{k}",), attrs))
        elif kind == "split":  # two outputs from one step
            attrs = {"shapes": ((2, 4 * width), (2, 4 * width))}
            nodes.append(Node(f"s{k}", "Copy", "costmodel", (src,), (f"t{k}", f"u{k}"), attrs))
            made.append(f"u{k}")
        else:
            other = draw(st.sampled_from(made))
            nodes.append(Node(f"a{k}", "Add", "", (src, other), (f"t{k}",)))
        made.append(f"t{k}")
    outputs = draw(st.lists(st.sampled_from(made[1:]), min_size=1, max_size=3, unique=True))
    declared = {"x": (FP32, (2, 4 * width))}
    return Graph("views", nodes, ["x"], outputs, {}, declared, {"": 17, "costmodel": 1})


@settings(max_examples=60, deadline=None)
@given(_views())
def test_integer_liveness_walk_equals_the_general_one_with_views_and_several_outputs(g):
    fast = _report(g)
    with pytest.MonkeyPatch.context() as mp:
        _general_only(mp)
        assert fast == _report(g)


def test_integer_liveness_walk_frees_a_viewed_value_after_its_views_last_reader():
    from costmodel.ir.graph import Graph, Node

    shapes = {"shapes": ((4, 8),)}
    nodes = [
        Node("r", "Relu", "", ("x",), ("y",)),
        Node("v", "Alias", "costmodel", ("y",), ("yv",), shapes),
        Node("s", "Relu", "", ("x",), ("z",)),
        Node("t", "Add", "", ("yv", "z"), ("w",)),
    ]
    g = Graph("g", nodes, ["x"], ["w"], {}, {"x": (FP32, (4, 8))}, {"": 17, "costmodel": 1})
    # 128 bytes each: x, y (kept by its view yv until t), z, then w: x + y + z at s, y + z + w at t
    assert analyze_graph(g).peak_activation_bytes == 3 * 128


def test_integer_liveness_walk_steps_aside_for_symbolic_sizes():
    m = model(
        [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
        [vi("x", ["batch", 8])],
        [vi("z", None)],
    )
    g, _ = load_graph(m)
    gc_ = analyze_graph(g)
    order = g.topological()
    assert liveness._concrete_peak(g, order, gc_.values, liveness._last_use(g, order, {}), {}) is None
    # x and y live while y is made (4 bytes each), then y and z
    assert str(gc_.peak_activation_bytes) == "64*batch"


def test_equal_small_initializers_share_one_read_only_array():
    shape = np.array([64], np.int64)
    m = model(
        [
            helper.make_node("ConstantOfShape", ["s1"], ["c1"], value=helper.make_tensor("", 1, [1], [0.0])),
            helper.make_node("ConstantOfShape", ["s2"], ["c2"], value=helper.make_tensor("", 1, [1], [0.0])),
            helper.make_node("ConstantOfShape", ["s3"], ["c3"], value=helper.make_tensor("", 1, [1], [0.0])),
            helper.make_node("Add", ["x", "c1"], ["a"]),
            helper.make_node("Add", ["a", "c2"], ["b"]),
            helper.make_node("Concat", ["b", "c3"], ["y"], axis=0),
        ],
        [vi("x", [64])],
        [vi("y", None)],
        [init("s1", shape), init("s2", shape.copy()), init("s3", np.array([32], np.int64))],
    )
    g, _ = load_graph(m)
    s1, s2, s3 = (g.initializers[k].data for k in ("s1", "s2", "s3"))
    assert s1 is s2 and s1 is not s3
    assert not s1.flags.writeable
    assert s1.tolist() == [64] and s3.tolist() == [32]
    r = costmodel.analyze(m)
    # three separate parameter tensors: 64 + 64 + 32 elements, each counted once
    assert r.params == 64 + 64 + 32
    assert r.graph_cost.nodes[-1].output_shapes == ((96,),)


_NO_CYCLES = """
import gc, sys
import costmodel
path, hw = sys.argv[1], sys.argv[2]
costmodel.analyze(path, hardware=hw).to_dict()  # first-use imports and caches
gc.collect()
gc.disable()
for _ in range(2):
    costmodel.analyze(path, hardware=hw).to_dict()
print(gc.collect())
"""


@pytest.mark.parametrize("name", ["light_inception_v2.onnx", "light_densenet121.onnx"])
def test_an_analysis_leaves_no_cyclic_garbage(name):
    """An analysis runs with the cyclic collector paused (gc_paused): what it leaves must
    be freed by reference counting alone. In a process of its own: other tests' threads
    (the Dask cluster's event loops) make cyclic garbage meanwhile."""
    out = subprocess.run(
        [sys.executable, "-c", _NO_CYCLES, os.path.join(ZOO, name), "h100"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split() == ["0"]


def test_gc_paused_restores_the_collector():
    if not gc.isenabled():
        pytest.skip("the collector is off in this process")
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()


@st.composite
def _scatter_case(draw):
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    k = draw(st.integers(1, rank))
    cells = [tuple(c) for c in np.ndindex(*shape[:k])]
    picked = draw(st.lists(st.sampled_from(cells), min_size=1, max_size=len(cells), unique=True))
    negative = draw(st.booleans())
    idx = np.array([[c - shape[j] if negative else c for j, c in enumerate(p)] for p in picked], np.int64)
    data = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    updates = -1 - np.arange(len(picked) * int(np.prod(shape[k:])), dtype=np.int64).reshape((len(picked), *shape[k:]))
    return data, idx, updates


@settings(max_examples=60, deadline=None)
@given(_scatter_case())
def test_scatter_nd_folds_to_the_reference_result(case):
    """A constant ScatterND folds to what onnx's reference implementation computes
    (unique indices, negative ones too)."""
    from onnx.reference import ReferenceEvaluator

    data, idx, updates = case
    m = model(
        [helper.make_node("ScatterND", ["d", "i", "u"], ["y"]), helper.make_node("Shape", ["y"], ["s"])],
        [],
        [vi("y", None, "int64"), vi("s", None, "int64")],
        [init("d", data), init("i", idx), init("u", updates)],
    )
    (want, _) = ReferenceEvaluator(m).run(None, {})
    r = costmodel.analyze(m)
    got = r.graph_cost.outputs["y"].data
    assert got is not None and np.array_equal(got, want)


def test_scatter_nd_with_a_reduction_is_not_folded_as_a_plain_write():
    m = model(
        [helper.make_node("ScatterND", ["d", "i", "u"], ["y"], reduction="add")],
        [],
        [vi("y", None, "int64")],
        [init("d", np.zeros(4, np.int64)), init("i", np.array([[1]], np.int64)), init("u", np.array([5], np.int64))],
        opset=18,
    )
    assert costmodel.analyze(m).graph_cost.outputs["y"].data is None


_ROLES = st.sampled_from(["weight", "activation", "constant", "input", "buffer"])


@st.composite
def _traffic_case(draw):
    from costmodel.ir.dtypes import DTYPES
    from costmodel.ir.graph import Role, TensorInfo
    from costmodel.symbolic import symbol

    dims = st.one_of(st.integers(1, 9), st.sampled_from([symbol("batch"), symbol("seq")]))

    def info():
        if draw(st.integers(0, 9)) == 0:
            return None
        shape = None if draw(st.integers(0, 9)) == 0 else tuple(draw(st.lists(dims, max_size=3)))
        dt = draw(st.sampled_from([DTYPES["fp32"], DTYPES["fp16"], DTYPES["int4"], DTYPES["int64"]]))
        return TensorInfo(dt, shape, Role(draw(_ROLES)))

    names = tuple(draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4)))
    return names, [info() for _ in names], [info() for _ in range(draw(st.integers(1, 3)))]


@settings(max_examples=200, deadline=None)
@given(_traffic_case())
def test_io_traffic_is_tensor_traffic_without_kv(case):
    """The common case's shortcut gives tensor_traffic's five sums, symbolic sizes and
    inputs read twice included (it hands those to tensor_traffic)."""
    from costmodel.ops.traffic import io_traffic, tensor_traffic

    names, reads, writes = case
    assert io_traffic(names, reads, writes) == tensor_traffic(zip(names, reads), writes)
