"""Level 2: properties of the analysis (symbolic = bound, totals = sum of nodes,
invariance to renaming and reordering, monotonic growth in every dim)."""

from __future__ import annotations

import random

import onnx
from hypothesis import given, settings
from hypothesis import strategies as st

import costmodel
from costmodel.ops.cost import COST_FIELDS, ZERO
from costmodel.symbolic import is_expr
from tests.graphs import block_macs, block_params, transformer_block

dims = st.integers(1, 64)


def test_symbolic_block_is_exact_formula():
    r = costmodel.analyze(transformer_block())
    assert set(r.symbols) == {"batch", "seq"}
    assert is_expr(r.macs)
    assert r.params == block_params()
    assert not r.unsupported


@settings(max_examples=20, deadline=None)
@given(dims, dims)
def test_symbolic_then_bind_equals_bind_then_analyze(b, s):
    m = transformer_block()
    sym = costmodel.analyze(m)
    bound = costmodel.analyze(m, bindings={"batch": b, "seq": s})
    vals = sym.bind(batch=b, seq=s)
    assert vals["macs"] == bound.macs == block_macs(b, s)
    assert vals["flops"] == bound.flops
    assert vals["bytes_read"] == bound.bytes_read
    assert vals["bytes_written"] == bound.bytes_written


def test_totals_equal_sum_of_nodes():
    r = costmodel.analyze(transformer_block(), bindings={"batch": 3, "seq": 5})
    total = sum((n.cost for n in r.ops), ZERO)
    for f in COST_FIELDS:
        assert getattr(total, f) == getattr(r.graph_cost.total, f)


def _renamed(m: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto.FromString(m.SerializeToString())
    g = m.graph
    names = {}
    for v in list(g.input) + list(g.output):
        names[v.name] = "v_" + v.name[::-1]
    for t in g.initializer:
        names[t.name] = "w_" + t.name[::-1]
    for nd in g.node:
        for o in nd.output:
            names.setdefault(o, "t_" + o[::-1])
    for v in list(g.input) + list(g.output):
        v.name = names[v.name]
    for t in g.initializer:
        t.name = names[t.name]
    for i, nd in enumerate(g.node):
        nd.name = f"renamed_{i}"
        for j, x in enumerate(nd.input):
            nd.input[j] = names.get(x, x)
        for j, x in enumerate(nd.output):
            nd.output[j] = names.get(x, x)
    return m


def test_invariant_to_renaming():
    m = transformer_block()
    a = costmodel.analyze(m, bindings={"batch": 2, "seq": 7})
    b = costmodel.analyze(_renamed(m), bindings={"batch": 2, "seq": 7})
    assert (a.flops, a.macs, a.params, a.bytes_read, a.bytes_written) == (
        b.flops,
        b.macs,
        b.params,
        b.bytes_read,
        b.bytes_written,
    )


def test_invariant_to_valid_reordering():
    m = transformer_block()
    base = costmodel.analyze(m, bindings={"batch": 2, "seq": 7})
    rng = random.Random(0)
    for _ in range(3):
        m2 = onnx.ModelProto.FromString(m.SerializeToString())
        nodes = list(m2.graph.node)
        rng.shuffle(nodes)  # not topological any more: the analysis must sort it
        del m2.graph.node[:]
        m2.graph.node.extend(nodes)
        r = costmodel.analyze(m2, bindings={"batch": 2, "seq": 7})
        assert (r.flops, r.macs, r.params, r.bytes_read) == (base.flops, base.macs, base.params, base.bytes_read)


@settings(max_examples=15, deadline=None)
@given(dims, dims, st.sampled_from(["batch", "seq"]))
def test_costs_grow_with_every_dim(b, s, which):
    m = transformer_block()
    r1 = costmodel.analyze(m, bindings={"batch": b, "seq": s})
    grow = {"batch": b + (which == "batch"), "seq": s + (which == "seq")}
    r2 = costmodel.analyze(m, bindings=grow)
    assert r2.flops > r1.flops and r2.macs > r1.macs
    assert r2.bytes_read > r1.bytes_read and r2.bytes_written > r1.bytes_written
    assert r2.params == r1.params


def test_dtype_retyping_halves_activation_bytes():
    m = transformer_block()
    a = costmodel.analyze(m, bindings={"batch": 2, "seq": 8})
    b = costmodel.analyze(m, bindings={"batch": 2, "seq": 8}, dtype="fp16")
    assert b.flops == a.flops
    assert 2 * b.graph_cost.total.read_weights == a.graph_cost.total.read_weights
    assert 2 * b.bytes_written == a.bytes_written


def test_unknown_op_is_listed_never_zero():
    from onnx import helper

    from tests.helpers import model, vi

    m = model(
        [helper.make_node("Relu", ["x"], ["h"]), helper.make_node("FancyOp", ["h"], ["y"], domain="my.domain")],
        [vi("x", [2, 3])],
        [vi("y", [2, 3])],
        domains={"my.domain": 1},
    )
    r = costmodel.analyze(m)
    assert [u["op_type"] for u in r.unsupported] == ["FancyOp"]
    assert r.to_dict()["unsupported"][0]["domain"] == "my.domain"
    import pytest

    from costmodel.errors import UnsupportedOpError

    with pytest.raises(UnsupportedOpError):
        costmodel.analyze(m, strict=True)
