"""Level 1: each core cost rule against a brute-force count on small random shapes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from onnx import helper

from tests.helpers import big_init, model, node_cost, one_op, vi

small = st.integers(1, 5)


def brute_matmul_macs(a, b):
    """Count multiply-adds of numpy.matmul by walking every output element's dot product."""
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    count = 0
    for _ in itertools.product(*[range(d) for d in batch]):
        for _i in range(a2[-2]):
            for _j in range(b2[-1]):
                for _k in range(a2[-1]):
                    count += 1
    return count


@settings(max_examples=25, deadline=None)
@given(st.lists(small, min_size=0, max_size=2), small, small, small)
def test_matmul_matches_bruteforce(batch, m, k, n):
    a, b = tuple(batch) + (m, k), (k, n)
    nc = node_cost(one_op("MatMul", [a, b]))
    assert nc.cost.macs == brute_matmul_macs(a, b)
    assert nc.cost.flops == 2 * nc.cost.macs
    assert nc.output_shapes[0] == tuple(batch) + (m, n)


def test_matmul_vector_operands():
    # (6,) @ (6, 5): 6*5 = 30 MACs, output (5,)
    nc = node_cost(one_op("MatMul", [(6,), (6, 5)]))
    assert nc.cost.macs == 6 * 5 and nc.output_shapes[0] == (5,)
    # (4, 6) @ (6,): 4*6 = 24 MACs, output (4,)
    nc = node_cost(one_op("MatMul", [(4, 6), (6,)]))
    assert nc.cost.macs == 4 * 6 and nc.output_shapes[0] == (4,)


def test_gemm_with_bias_and_alpha():
    # A 4x6 (transA: given as 6x4), B 6x5, C (5,), alpha=2: 2*4*5*6 + 4*5 (alpha) + 4*5 (C)
    nc = node_cost(one_op("Gemm", [(6, 4), (6, 5), (5,)], transA=1, alpha=2.0))
    assert nc.cost.macs == 4 * 5 * 6
    assert nc.cost.flops == 2 * 4 * 5 * 6 + 4 * 5 + 4 * 5
    assert nc.output_shapes[0] == (4, 5)


def brute_conv_macs(x, w, group, strides, pads, dil):
    n, _c, h, wd = x
    m, cg, kh, kw = w
    oh = (h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) // strides[1] + 1
    count = 0
    for _b, _o, _y, _x in itertools.product(range(n), range(m), range(oh), range(ow)):
        for _ci, _ky, _kx in itertools.product(range(cg), range(kh), range(kw)):
            count += 1
    return count, (n, m, oh, ow)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 2),
    st.sampled_from([1, 2]),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(3, 7),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(1, 2),
)
def test_conv_matches_bruteforce(n, group, cpg, mpg, hw, k, stride, pad, dil):
    c, m = cpg * group, mpg * group
    assume(hw + 2 * pad >= dil * (k - 1) + 1)  # the dilated kernel fits the padded input
    x, w = (n, c, hw, hw + 1), (m, cpg, k, k)
    nc = node_cost(
        one_op("Conv", [x, w], group=group, strides=[stride, stride], pads=[pad, pad, pad, pad], dilations=[dil, dil])
    )
    macs, out = brute_conv_macs(x, w, group, (stride, stride), (pad,) * 4, (dil, dil))
    assert nc.cost.macs == macs
    assert nc.output_shapes[0] == out


def test_conv_example_in_docstring():
    # 1x3x8x8 * 4x3x3x3, pad 1 -> 1x4x8x8: 1*4*64*3*9 = 6912 MACs; bias adds 1*4*64 = 256
    nc = node_cost(one_op("Conv", [(1, 3, 8, 8), (4, 3, 3, 3), (4,)], pads=[1, 1, 1, 1]))
    assert nc.cost.macs == 6912
    assert nc.cost.flops == 2 * 6912 + 256


def test_conv_auto_pad_same_upper():
    # 7x7 input, stride 2, SAME_UPPER: ceil(7/2) = 4
    nc = node_cost(one_op("Conv", [(1, 2, 7, 7), (3, 2, 3, 3)], strides=[2, 2], auto_pad="SAME_UPPER"))
    assert nc.output_shapes[0] == (1, 3, 4, 4)
    assert nc.cost.macs == 1 * 3 * 16 * 2 * 9


def test_depthwise_conv():
    # depthwise 1x8x10x10, 3x3, group 8: 8*100*1*9 = 7200 MACs
    nc = node_cost(one_op("Conv", [(1, 8, 10, 10), (8, 1, 3, 3)], group=8, pads=[1, 1, 1, 1]))
    assert nc.cost.macs == 8 * 100 * 9


def test_conv_transpose():
    # input 1x4x5x5, weight 4x3x3x3, stride 2: every input element scattered through 3*3*3
    # outputs: 4*25*3*9 = 2700 MACs; out = 2*(5-1) + 3 = 11
    nc = node_cost(one_op("ConvTranspose", [(1, 4, 5, 5), (4, 3, 3, 3)], strides=[2, 2]))
    assert nc.cost.macs == 4 * 25 * 3 * 9
    assert nc.output_shapes[0] == (1, 3, 11, 11)


@settings(max_examples=25, deadline=None)
@given(small, small, small, small)
def test_einsum_pairwise_matches_bruteforce(b, i, j, k):
    # bij,bjk->bik: every (b, i, j, k) is one multiply-add
    nc = node_cost(one_op("Einsum", [(b, i, j), (b, j, k)], equation="bij,bjk->bik"))
    assert nc.cost.macs == sum(1 for _ in itertools.product(range(b), range(i), range(j), range(k)))
    assert nc.output_shapes[0] == (b, i, k)


def test_einsum_implicit_output_and_ellipsis():
    nc = node_cost(one_op("Einsum", [(2, 3, 4), (4, 5)], equation="...j,jk"))
    assert nc.output_shapes[0] == (2, 3, 5)
    assert nc.cost.macs == 2 * 3 * 4 * 5


def test_einsum_three_operands_pairwise():
    # ij,jk,kl->il: (ij,jk) -> ik costs i*j*k; (ik,kl) -> il costs i*k*l
    nc = node_cost(one_op("Einsum", [(2, 3), (3, 4), (4, 5)], equation="ij,jk,kl->il"))
    assert nc.cost.macs == 2 * 3 * 4 + 2 * 4 * 5


@settings(max_examples=25, deadline=None)
@given(st.lists(small, min_size=1, max_size=3), st.lists(small, min_size=1, max_size=3))
def test_add_broadcast_counts_output_elements(a, b):
    a, b = tuple(a), tuple(b)
    try:
        out = np.broadcast_shapes(a, b)
    except ValueError:
        assume(False)  # shapes that do not broadcast are not this test's subject
    nc = node_cost(one_op("Add", [a, b]))
    assert nc.output_shapes[0] == out
    assert nc.cost.flops == int(np.prod(out))


def test_softmax_per_element():
    # 5 FLOPs and 1 exp per element: 3*7 elements
    nc = node_cost(one_op("Softmax", [(3, 7)], axis=-1))
    assert nc.cost.flops == 5 * 21 and nc.cost.transcendentals == 21


def test_layernorm_per_element_and_row():
    # scale + bias: 7 per element, 4 per row, 1 rsqrt per row: rows = 2*3
    nc = node_cost(one_op("LayerNormalization", [(2, 3, 8), (8,), (8,)], axis=-1))
    assert nc.cost.flops == 7 * 48 + 4 * 6 and nc.cost.transcendentals == 6


def test_reduce_sum_counts():
    # 4x6 -> 4x1: 24 - 4 = 20 adds
    m = model(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)],
        [vi("x", [4, 6])],
        [vi("y", None)],
        [__import__("tests.helpers", fromlist=["init"]).init("axes", np.array([1], dtype=np.int64))],
    )
    nc = node_cost(m)
    assert nc.cost.flops == 24 - 4 and nc.output_shapes[0] == (4, 1)


def test_maxpool_and_global_avg():
    # 1x2x6x6, 2x2 stride 2 -> 1x2x3x3; 4 compares per output
    nc = node_cost(one_op("MaxPool", [(1, 2, 6, 6)], kernel_shape=[2, 2], strides=[2, 2]))
    assert nc.output_shapes[0] == (1, 2, 3, 3) and nc.cost.flops == 18 * 4
    nc = node_cost(one_op("GlobalAveragePool", [(1, 2, 6, 6)]))
    assert nc.cost.flops == 72 + 2


def test_maxpool_ceil_mode():
    # 1x1x5x5, k2 s2, ceil_mode: ceil((5-2)/2)+1 = 3
    nc = node_cost(one_op("MaxPool", [(1, 1, 5, 5)], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1))
    assert nc.output_shapes[0] == (1, 1, 3, 3)


def test_gather_reads_only_selected_rows():
    # embedding 1000x64 fp32, 5 indices: reads 5*64*4 B of the table, not 1000*64*4
    m = model(
        [helper.make_node("Gather", ["emb", "ids"], ["y"], axis=0)],
        [vi("ids", [5], "int64")],
        [vi("y", None)],
        [big_init("emb", [1000, 64])],
    )
    nc = node_cost(m)
    assert nc.cost.read_weights == 5 * 64 * 4
    assert nc.cost.read_activations == 5 * 8
    assert nc.cost.write_activations == 5 * 64 * 4
    assert nc.cost.params == 1000 * 64  # params belong to the first node reading the weight


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(1, 3), min_size=0, max_size=4), min_size=1, max_size=4))
def test_broadcast_shapes_is_numpys(shapes):
    from costmodel.errors import ShapeError
    from costmodel.ops.formulas import broadcast_shapes

    shapes = [tuple(s) for s in shapes]
    try:
        want = np.broadcast_shapes(*shapes)
    except ValueError:
        with pytest.raises(ShapeError):
            broadcast_shapes(shapes)
        return
    assert broadcast_shapes(shapes) == want
