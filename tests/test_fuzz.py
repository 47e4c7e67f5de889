"""Fuzzing with hypothesis: random valid and invalid graphs and specs must either analyse
or raise a costmodel error — never another exception. A short run here; `make fuzz` runs
long (COSTMODEL_FUZZ_EXAMPLES=5000)."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

import costmodel
from costmodel.errors import CostModelError
from tests.helpers import model, vi

N = int(os.environ.get("COSTMODEL_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=N, deadline=None)

dims = st.integers(0, 6)
shapes = st.lists(dims, min_size=0, max_size=4)
UNARY = ["Relu", "Sigmoid", "Exp", "Softmax", "Transpose", "Identity", "Neg", "Gelu"]
BINARY = ["Add", "Mul", "MatMul", "Sub", "Div", "Max"]


@st.composite
def graphs(draw):
    n_in = draw(st.integers(1, 3))
    inputs = [vi(f"x{i}", draw(shapes), draw(st.sampled_from(["fp32", "fp16", "int64"]))) for i in range(n_in)]
    names = [f"x{i}" for i in range(n_in)]
    nodes = []
    for k in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            op = draw(st.sampled_from(UNARY))
            ins = [draw(st.sampled_from(names))]
        else:
            op = draw(st.sampled_from(BINARY))
            ins = [draw(st.sampled_from(names)), draw(st.sampled_from(names))]
        attrs = {}
        if op == "Softmax":
            attrs["axis"] = draw(st.integers(-5, 5))
        if op == "Transpose" and draw(st.booleans()):
            attrs["perm"] = draw(st.permutations(range(draw(st.integers(1, 4)))))
        out = f"t{k}"
        nodes.append(helper.make_node(op, ins, [out], **attrs))
        names.append(out)
    if draw(st.booleans()):
        nodes.append(
            helper.make_node(
                "Conv",
                [names[-1], draw(st.sampled_from(names))],
                ["c"],
                group=draw(st.integers(1, 3)),
                strides=[draw(st.integers(1, 2))] * 2,
            )
        )
        names.append("c")
    return model(nodes, inputs, [vi(names[-1], None)], opset=draw(st.sampled_from([9, 13, 17, 21])))


@FUZZ
@given(graphs(), st.sampled_from([None, "h100", "l4"]))
def test_random_graphs_analyse_or_raise_typed(m, hw):
    try:
        r = costmodel.analyze(m, hardware=hw)
    except CostModelError:
        return
    assert r.flops >= 0 and r.bytes_read >= 0
    r.to_dict()
