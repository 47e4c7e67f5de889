"""If / Loop / Scan / sequence ops: subgraph costs rolled up, trip counts, nested
unsupported ops, output shapes against onnx.shape_inference where it gives them."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from helpers import analyze, big_init, init, model, vi
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto as TP
from onnx import helper

from costmodel.errors import CostModelError
from costmodel.ops.kernel import LoopShape

F = TP.FLOAT


def graph(nodes, inputs, outputs, name="sub", inits=()):
    return helper.make_graph(nodes, name, inputs, outputs, list(inits))


def mm_body(n=4, k=8):
    """Loop body: carried x[n,k] -> x @ W (W[k,k] from the outer scope), scan output relu."""
    return graph(
        [
            helper.make_node("Identity", ["c_in"], ["c_out"]),
            helper.make_node("MatMul", ["x", "W"], ["x2"]),
            helper.make_node("Relu", ["x2"], ["r"]),
        ],
        [vi("i", [], "int64"), vi("c_in", [], "bool"), vi("x", [n, k])],
        [vi("c_out", [], "bool"), vi("x2", [n, k]), vi("r", [n, k])],
    )


# per iteration: MatMul 2*4*8*8 = 512 FLOPs (256 MACs), Relu 4*8 = 32
BODY_FLOPS, BODY_MACS = 2 * 4 * 8 * 8 + 4 * 8, 4 * 8 * 8
# per iteration traffic: MatMul reads x 4*8*4 B + W 8*8*4 B, writes 4*8*4; Relu reads and writes 4*8*4
BODY_READ, BODY_WRITE = 128 + 256 + 128, 128 + 128


def loop_model(m_input=None, m_value=5, cond_value=None, body=None, extra_inputs=(), opset=17):
    inits = [big_init("W", [8, 8])]
    inputs = [vi("x0", [4, 8])] + list(extra_inputs)
    names = ["", "", "x0"]
    if m_input is not None:
        names[0] = m_input
    elif m_value is not None:
        names[0] = "M"
        inits.append(init("M", np.array(m_value, dtype=np.int64)))
    if cond_value is not None:
        names[1] = "cond"
        if isinstance(cond_value, str):
            inputs.append(vi("cond", [], "bool"))
        else:
            inits.append(init("cond", np.array(cond_value)))
    node = helper.make_node("Loop", names, ["xf", "rs"], name="L", body=body or mm_body())
    return model([node], inputs, [vi("xf", None), vi("rs", None)], inits, opset=opset)


def loop_node(r):
    return next(n for n in r.ops if n.op_type == "Loop")


# -- If ----------------------------------------------------------------------------------
def if_model(cond=None):
    then = graph([helper.make_node("MatMul", ["A", "W"], ["t"])], [], [vi("t", [4, 8])], "then")
    other = graph([helper.make_node("Relu", ["A"], ["e"])], [], [vi("e", [4, 8])], "else")
    node = helper.make_node("If", ["c"], ["y"], name="I", then_branch=then, else_branch=other)
    inputs = [vi("A", [4, 8])]
    inits = [big_init("W", [8, 8])]
    if cond is None:
        inputs.append(vi("c", [], "bool"))
    else:
        inits.append(init("c", np.array(cond)))
    return model([node], inputs, [vi("y", None)], inits)


def test_if_takes_field_wise_max():
    r = analyze(if_model())
    n = next(x for x in r.ops if x.op_type == "If")
    # then: MatMul 2*4*8*8 = 512 FLOPs, 256 MACs; else: Relu 4*8 = 32 FLOPs
    assert (n.cost.flops, n.cost.macs) == (512, 256)
    # traffic: then reads A (128 B) and W (256 B) and writes 128 B; else reads A and writes 128 B
    assert (n.cost.read_activations, n.cost.read_weights, n.cost.write_activations) == (128, 256, 128)
    assert n.cost.params == 64
    assert n.output_shapes == ((4, 8),)
    assert r.unsupported == []


@pytest.mark.parametrize("cond,flops,macs", [(True, 512, 256), (False, 32, 0)])
def test_if_with_constant_condition_takes_one_branch(cond, flops, macs):
    r = analyze(if_model(cond))
    n = next(x for x in r.ops if x.op_type == "If")
    assert n.status == "costed"
    assert (n.cost.flops, n.cost.macs) == (flops, macs)
    assert r.flops == flops


def test_if_branch_shapes_merge():
    then = graph([helper.make_node("Concat", ["A", "A"], ["t"], axis=0)], [], [vi("t", None)], "then")
    other = graph([helper.make_node("Relu", ["A"], ["e"])], [], [vi("e", None)], "else")
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)
    r = analyze(model([node], [vi("A", [4, 8]), vi("c", [], "bool")], [vi("y", None)]))
    # dims that differ take the larger (the costlier branch)
    assert r.graph_cost.outputs["y"].shape == (8, 8)


def test_if_constant_branch_folds_shape_arithmetic():
    then = graph([helper.make_node("Shape", ["A"], ["s"])], [], [vi("s", None, "int64")], "then")
    other = graph([helper.make_node("Shape", ["A"], ["s2"])], [], [vi("s2", None, "int64")], "else")
    nodes = [
        helper.make_node("If", ["c"], ["shp"], then_branch=then, else_branch=other),
        helper.make_node("Reshape", ["B", "shp"], ["y"]),
    ]
    m = model(nodes, [vi("A", [4, 8]), vi("B", [32])], [vi("y", None)], [init("c", np.array(True))])
    r = analyze(m)
    assert r.graph_cost.outputs["y"].shape == (4, 8)
    assert r.unsupported == []


# -- Loop --------------------------------------------------------------------------------
def test_loop_known_trip_count_is_m_times_body():
    r = analyze(loop_model(m_value=5))
    n = loop_node(r)
    assert (n.cost.flops, n.cost.macs) == (5 * BODY_FLOPS, 5 * BODY_MACS)
    assert n.cost.bytes_read == 5 * BODY_READ
    assert n.cost.bytes_written == 5 * BODY_WRITE
    assert n.cost.params == 8 * 8  # the body's weight, not multiplied by trips
    assert r.params == 64
    assert n.output_shapes == ((4, 8), (5, 4, 8))
    assert n.kernel == LoopShape(trips=5)


@settings(max_examples=10, deadline=None)
@given(m=st.integers(0, 40))
def test_loop_trip_counts(m):
    n = loop_node(analyze(loop_model(m_value=m)))
    assert n.cost.flops == m * BODY_FLOPS
    assert n.output_shapes[1] == (m, 4, 8)


def test_loop_unknown_trip_count_is_symbolic():
    r = analyze(loop_model(m_input="M", extra_inputs=[vi("M", [], "int64")]))
    n = loop_node(r)
    assert r.symbols == ("loop_L_trips",)
    assert str(n.cost.flops) == f"{BODY_FLOPS}*loop_L_trips"
    assert r.bind(loop_L_trips=7)["flops"] == 7 * BODY_FLOPS
    assert r.bind(loop_L_trips=7)["bytes_read"] == 7 * BODY_READ
    assert r.bind(loop_L_trips=7)["params"] == 64
    assert str(n.output_shapes[1][0]) == "loop_L_trips"


def test_while_loop_sentinel_is_symbolic():
    # torch.onnx writes M = INT64_MAX for while loops; the condition decides.
    r = analyze(loop_model(m_value=np.iinfo(np.int64).max, cond_value="dynamic"))
    assert r.symbols == ("loop_L_trips",)
    r = analyze(loop_model(m_value=None, cond_value="dynamic"))
    assert r.bind(loop_L_trips=3)["flops"] == 3 * BODY_FLOPS


def test_loop_initially_false_condition_runs_zero_times():
    n = loop_node(analyze(loop_model(m_value=5, cond_value=False)))
    assert n.cost.flops == 0 and n.cost.bytes == 0
    assert n.output_shapes == ((4, 8), (0, 4, 8))


def test_loop_over_a_symbolic_dim():
    """M = Shape(x)[0]: the trip count is the model's own symbol."""
    nodes = [
        helper.make_node("Shape", ["seq_in"], ["shp"]),
        helper.make_node("Gather", ["shp", "zero"], ["M"], axis=0),
        helper.make_node("Loop", ["M", "", "x0"], ["xf", "rs"], name="L", body=mm_body()),
    ]
    m = model(
        nodes,
        [vi("seq_in", ["T", 3]), vi("x0", [4, 8])],
        [vi("xf", None), vi("rs", None)],
        [big_init("W", [8, 8]), init("zero", np.array(0, dtype=np.int64))],
    )
    r = analyze(m)
    assert r.symbols == ("T",)
    assert r.bind(T=6)["flops"] == 6 * BODY_FLOPS
    assert analyze(m, bindings={"T": 6}).flops == 6 * BODY_FLOPS


def test_trip_symbol_binds_through_report():
    m = loop_model(m_input="M", extra_inputs=[vi("M", [], "int64")])
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "b"
    r = analyze(m)
    assert set(r.symbols) == {"b", "loop_L_trips"}
    assert r.bind(b=4, loop_L_trips=3)["flops"] == 3 * BODY_FLOPS


@pytest.mark.xfail(
    strict=True,
    reason="framework: analyze_graph rejects bindings for symbols the "
    "front end did not make, and rules never see bindings (see report)",
)
def test_trip_symbol_bound_by_analyze():
    m = loop_model(m_input="M", extra_inputs=[vi("M", [], "int64")])
    assert analyze(m, bindings={"loop_L_trips": 4}).flops == 4 * BODY_FLOPS
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "b"
    assert analyze(m, bindings={"b": 4, "loop_L_trips": 4}).flops == 4 * BODY_FLOPS


def growing_body():
    """Carried x grows by one row per iteration: x -> Concat(x * scale, row)."""
    return graph(
        [
            helper.make_node("Identity", ["c_in"], ["c_out"]),
            helper.make_node("Mul", ["x", "scale"], ["xr"]),
            helper.make_node("Concat", ["xr", "row"], ["x2"], axis=0),
        ],
        [vi("i", [], "int64"), vi("c_in", [], "bool"), vi("x", None)],
        [vi("c_out", [], "bool"), vi("x2", None)],
        inits=[big_init("scale", [8])],
    )


def test_loop_with_growing_carried_value_unrolls():
    node = helper.make_node("Loop", ["M", "", "x0"], ["xf"], name="L", body=growing_body())
    m = model([node], [vi("x0", [2, 8]), vi("row", [1, 8])], [vi("xf", None)], [init("M", np.array(3, dtype=np.int64))])
    r = analyze(m)
    n = loop_node(r)
    # Mul over 2, 3 and 4 rows of 8
    assert n.cost.flops == (2 + 3 + 4) * 8
    assert n.output_shapes == ((5, 8),)
    assert r.params == 8  # the body's weight, once


def test_loop_with_growing_carried_value_and_unknown_trips_is_unsupported():
    node = helper.make_node("Loop", ["M", "", "x0"], ["xf"], name="L", body=growing_body())
    m = model([node], [vi("x0", [2, 8]), vi("row", [1, 8]), vi("M", [], "int64")], [vi("xf", None)])
    r = analyze(m)
    assert [u["op_type"] for u in r.unsupported] == ["Loop"]
    assert "changes shape" in r.unsupported[0]["reason"]


def test_unsupported_op_in_loop_body_propagates():
    body = graph(
        [
            helper.make_node("Identity", ["c_in"], ["c_out"]),
            helper.make_node("Frobnicate", ["x"], ["x2"], name="frob", domain="acme"),
            helper.make_node("Relu", ["x"], ["r"]),
        ],
        [vi("i", [], "int64"), vi("c_in", [], "bool"), vi("x", [4, 8])],
        [vi("c_out", [], "bool"), vi("x2", [4, 8]), vi("r", [4, 8])],
    )
    m = loop_model(m_value=3, body=body)
    m.opset_import.append(helper.make_opsetid("acme", 1))
    r = analyze(m)
    assert [(u["name"], u["op_type"]) for u in r.unsupported] == [("L/frob", "Frobnicate")]
    assert loop_node(r).cost.flops == 3 * 4 * 8  # the Relu still counts
    # nested one level deeper: an If whose then-branch holds the Loop
    then = graph(m.graph.node, [], [vi("xf", None), vi("rs", None)], "then")
    other = graph(
        [helper.make_node("Identity", ["x0"], ["a"]), helper.make_node("Identity", ["x0"], ["b"])],
        [],
        [vi("a", None), vi("b", None)],
        "else",
    )
    outer = model(
        [helper.make_node("If", ["c"], ["y", "z"], name="I", then_branch=then, else_branch=other)],
        [vi("x0", [4, 8]), vi("c", [], "bool")],
        [vi("y", None), vi("z", None)],
        list(m.graph.initializer),
        domains={"acme": 1},
    )
    r = analyze(outer)
    assert [u["name"] for u in r.unsupported] == ["I/L/frob"]
    assert r.flops == 3 * 4 * 8


def test_loop_outputs_match_onnx_shape_inference():
    m = loop_model(m_value=5)
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    rs = inferred.graph.output[1].type.tensor_type.shape.dim
    # onnx leaves the trip-count dim unknown (and loop-carried shapes unset); the rest agrees
    assert not rs[0].HasField("dim_value")
    assert loop_node(analyze(m)).output_shapes[1] == (5,) + tuple(d.dim_value for d in rs[1:])


# -- Scan --------------------------------------------------------------------------------
def scan_model(T=6, in_axis=0, out_axis=0, opset=17):
    body = graph(
        [helper.make_node("Add", ["s", "x"], ["s2"]), helper.make_node("Mul", ["x", "x"], ["y"])],
        [vi("s", [4]), vi("x", [4])],
        [vi("s2", [4]), vi("y", [4])],
    )
    xs = [T, 4] if in_axis == 0 else [4, T]
    node = helper.make_node(
        "Scan",
        ["s0", "xs"],
        ["sf", "ys"],
        name="S",
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[in_axis],
        scan_output_axes=[out_axis],
    )
    return model([node], [vi("s0", [4]), vi("xs", xs)], [vi("sf", None), vi("ys", None)], opset=opset)


@pytest.mark.parametrize("in_axis,out_axis", [(0, 0), (1, 0), (0, 1), (-1, -1)])
def test_scan_is_length_times_body(in_axis, out_axis):
    m = scan_model(6, in_axis, out_axis)
    r = analyze(m)
    n = r.ops[0]
    # per element of the sequence: Add 4 + Mul 4 FLOPs
    assert n.cost.flops == 6 * (4 + 4)
    # per element: Add reads s, x (2*16 B), writes 16 B; Mul reads x (16 B), writes 16 B
    assert (n.cost.bytes_read, n.cost.bytes_written) == (6 * 48, 6 * 32)
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    want = tuple(tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in inferred.graph.output)
    assert n.output_shapes == want


def test_scan_symbolic_length():
    m = scan_model(6)
    m.graph.input[1].type.tensor_type.shape.dim[0].dim_param = "T"
    r = analyze(m)
    assert r.symbols == ("T",)
    assert r.bind(T=6)["flops"] == 6 * 8
    assert str(r.ops[0].output_shapes[1][0]) == "T"


def test_scan8_batches():
    body = graph(
        [helper.make_node("Add", ["s", "x"], ["s2"]), helper.make_node("Mul", ["x", "x"], ["y"])],
        [vi("s", [4]), vi("x", [4])],
        [vi("s2", [4]), vi("y", [4])],
    )
    node = helper.make_node("Scan", ["", "s0", "xs"], ["sf", "ys"], body=body, num_scan_inputs=1)
    m = model([node], [vi("s0", [2, 4]), vi("xs", [2, 6, 4])], [vi("sf", None), vi("ys", None)], opset=8)
    n = analyze(m).ops[0]
    assert n.cost.flops == 2 * 6 * (4 + 4)
    assert n.output_shapes == ((2, 4), (2, 6, 4))


# -- sequences ---------------------------------------------------------------------------
def test_split_and_concat_from_sequence():
    nodes = [
        helper.make_node("SplitToSequence", ["x"], ["seq"], axis=1, keepdims=0),
        helper.make_node("SequenceLength", ["seq"], ["n"]),
        helper.make_node("ConcatFromSequence", ["seq"], ["y"], axis=1, new_axis=1),
    ]
    m = model(nodes, [vi("x", [3, 5, 2])], [vi("y", None), vi("n", None, "int64")])
    r = analyze(m)
    assert r.graph_cost.outputs["y"].shape == (3, 5, 2)
    assert int(r.graph_cost.outputs["n"].data) == 5
    assert r.unsupported == []
    split = r.ops[0]
    assert split.cost.flops == 0 and split.cost.bytes_read == split.cost.bytes_written == 3 * 5 * 2 * 4


def test_split_sizes_and_sequence_at():
    nodes = [
        helper.make_node("SplitToSequence", ["x", "sp"], ["seq"], axis=0),
        helper.make_node("SequenceAt", ["seq", "p"], ["y"]),
        helper.make_node("ConcatFromSequence", ["seq"], ["z"], axis=0),
    ]
    m = model(
        nodes,
        [vi("x", [7, 2])],
        [vi("y", None), vi("z", None)],
        [init("sp", np.array([3, 4], dtype=np.int64)), init("p", np.array(-1, dtype=np.int64))],
    )
    out = analyze(m).graph_cost.outputs
    assert out["y"].shape == (4, 2)
    assert out["z"].shape == (7, 2)
    bad = model(
        nodes[:1] + [helper.make_node("ConcatFromSequence", ["seq"], ["z"], axis=1)],
        [vi("x", [7, 2])],
        [vi("z", None)],
        [init("sp", np.array([3, 4], dtype=np.int64))],
    )
    with pytest.raises(CostModelError, match="differ"):
        analyze(bad)


def test_sequence_construct_insert_erase():
    nodes = [
        helper.make_node("SequenceConstruct", ["a", "b"], ["s1"]),
        helper.make_node("SequenceInsert", ["s1", "c"], ["s2"]),
        helper.make_node("SequenceErase", ["s2", "zero"], ["s3"]),
        helper.make_node("SequenceLength", ["s3"], ["n"]),
        helper.make_node("ConcatFromSequence", ["s3"], ["y"], axis=0),
    ]
    m = model(
        nodes,
        [vi("a", [1, 4]), vi("b", [2, 4]), vi("c", [3, 4])],
        [vi("y", None), vi("n", None, "int64")],
        [init("zero", np.array(0, dtype=np.int64))],
    )
    r = analyze(m)
    assert r.graph_cost.outputs["y"].shape == (5, 4)
    assert int(r.graph_cost.outputs["n"].data) == 2
    assert r.unsupported == []


def test_sequence_append_loop():
    """The torch list-append pattern: a Loop carrying a sequence, stacked afterwards."""
    body = graph(
        [
            helper.make_node("Identity", ["c_in"], ["c_out"]),
            helper.make_node("Relu", ["x"], ["r"]),
            helper.make_node("SequenceInsert", ["s", "r"], ["s2"]),
        ],
        [vi("i", [], "int64"), vi("c_in", [], "bool"), helper.make_tensor_sequence_value_info("s", F, None)],
        [vi("c_out", [], "bool"), helper.make_tensor_sequence_value_info("s2", F, None)],
    )
    nodes = [
        helper.make_node("SequenceEmpty", [], ["s0"], dtype=F),
        helper.make_node("Loop", ["M", "", "s0"], ["sf"], name="L", body=body),
        helper.make_node("ConcatFromSequence", ["sf"], ["y"], axis=0, new_axis=1),
    ]
    m = model(nodes, [vi("x", [4, 8])], [vi("y", None)], [init("M", np.array(6, dtype=np.int64))])
    r = analyze(m)
    assert r.graph_cost.outputs["y"].shape == (6, 4, 8)
    assert loop_node(r).cost.flops == 6 * 4 * 8
    assert r.unsupported == []


def test_sequence_map():
    body = graph([helper.make_node("Mul", ["e", "e"], ["o"])], [vi("e", None)], [vi("o", None)])
    nodes = [
        helper.make_node("SplitToSequence", ["x"], ["seq"], axis=0, keepdims=1),
        helper.make_node("SequenceMap", ["seq"], ["out"], body=body),
        helper.make_node("ConcatFromSequence", ["out"], ["y"], axis=0),
    ]
    r = analyze(model(nodes, [vi("x", [5, 3])], [vi("y", None)]))
    assert r.graph_cost.outputs["y"].shape == (5, 3)
    sm = next(n for n in r.ops if n.op_type == "SequenceMap")
    assert sm.cost.flops == 5 * 3


def test_unknown_sequence_is_unsupported_not_zero():
    nodes = [helper.make_node("SequenceAt", ["s", "p"], ["y"])]
    m = model(nodes, [helper.make_tensor_sequence_value_info("s", F, None), vi("p", [], "int64")], [vi("y", None)])
    r = analyze(m)
    assert [u["op_type"] for u in r.unsupported] == ["SequenceAt"]
