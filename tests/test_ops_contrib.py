"""com.microsoft contrib ops (norms, activations, rotary, quantized matmul, QLinear*) and
the ONNX RotaryEmbedding."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.errors import ShapeError
from costmodel.ops.kernel import GemmShape
from tests.helpers import big_init, init, node_cost
from tests.test_ops_attention import graph, onnx_shapes

MS = "com.microsoft"


def w(name, shape, dtype="fp32"):
    return big_init(name, shape, dtype)


# -- normalizations -------------------------------------------------------------------------


def test_simplified_layer_norm_default_domain_is_rmsnorm():
    m = graph("SimplifiedLayerNormalization", [(2, 5, 64), w("g", (64,))], outputs=("y", "inv"), opset=17)
    n = node_cost(m)
    elems, rows = 2 * 5 * 64, 2 * 5
    assert n.cost.flops == 4 * elems + 3 * rows
    assert n.cost.transcendentals == rows
    assert n.output_shapes == ((2, 5, 64), (2, 5, 1))
    # same count as the ONNX RMSNormalization rule
    rms = node_cost(graph("RMSNormalization", [(2, 5, 64), w("g", (64,))], opset=23))
    assert rms.cost.flops == n.cost.flops


def test_skip_layer_norm_with_beta_and_bias():
    m = graph(
        "SkipLayerNormalization",
        [(2, 5, 64), (2, 5, 64), w("g", (64,)), w("b", (64,)), w("bias", (64,))],
        outputs=("y", "mean", "inv", "sum"),
        domain=MS,
    )
    n = node_cost(m)
    elems, rows = 640, 10
    # skip add 1 + bias add 1, LayerNorm 6 + beta 1 per element, 4 per row + rsqrt
    assert n.cost.flops == (1 + 1 + 6 + 1) * elems + 4 * rows
    assert n.cost.transcendentals == rows
    assert n.output_shapes == ((2, 5, 64), (2, 5, 1), (2, 5, 1), (2, 5, 64))
    ln = node_cost(graph("LayerNormalization", [(2, 5, 64), w("g", (64,)), w("b", (64,))]))
    assert n.cost.flops == ln.cost.flops + 2 * elems


def test_skip_simplified_layer_norm_symbolic_equals_bound():
    def mk(b, s):
        return graph(
            "SkipSimplifiedLayerNormalization",
            [(b, s, 32), (b, s, 32), w("g", (32,))],
            outputs=("y", "", "", "sum"),
            domain=MS,
        )

    sym = node_cost(mk("batch", "seq"))
    for b, s in ((1, 1), (3, 7)):
        conc = node_cost(mk(b, s))
        assert conc.cost.flops == (1 + 4) * b * s * 32 + 3 * b * s
        assert sym.cost.bind({"batch": b, "seq": s}) == conc.cost


def test_skip_norm_rejects_bad_skip():
    with pytest.raises(ShapeError):
        node_cost(graph("SkipLayerNormalization", [(2, 5, 64), (2, 6, 64), w("g", (64,))], domain=MS))


def test_group_norm_and_skip_group_norm_silu():
    x = (2, 4, 4, 32)  # NHWC
    gn = node_cost(graph("GroupNorm", [x, w("g", (32,)), w("b", (32,))], domain=MS, groups=8, activation=1))
    n = 2 * 4 * 4 * 32
    # GroupNormalization 7 per element + 4 per group, SiLU 5 + 1 exp per element
    assert gn.cost.flops == 7 * n + 4 * 2 * 8 + 5 * n
    assert gn.cost.transcendentals == 2 * 8 + n
    sgn = node_cost(
        graph(
            "SkipGroupNorm",
            [x, w("g", (32,)), w("b", (32,)), (2, 32), w("bias", (32,))],
            outputs=("y", "s"),
            domain=MS,
            groups=8,
            activation=0,
        )
    )
    assert sgn.cost.flops == 2 * n + 7 * n + 4 * 2 * 8
    assert sgn.output_shapes == (x, x)


def test_embed_layer_norm_reads_only_gathered_rows():
    b, s, h = 2, 7, 16
    m = graph(
        "EmbedLayerNormalization",
        [
            ((b, s), "int32"),
            ((b, s), "int32"),
            w("we", (1000, h)),
            w("pe", (512, h)),
            w("se", (2, h)),
            w("g", (h,)),
            w("beta", (h,)),
            ((b, s), "int32"),
        ],
        outputs=("y", "mask_index"),
        domain=MS,
    )
    n = node_cost(m)
    elems, rows = b * s * h, b * s
    # 2 embedding adds + LayerNorm with beta (7) per element, 4 per row, mask count
    assert n.cost.flops == 2 * elems + 7 * elems + 4 * rows + b * s
    assert n.output_shapes == ((b, s, h), (b,))
    assert n.cost.read_weights == 3 * elems * 4 + 2 * h * 4
    assert n.cost.read_activations == 3 * b * s * 4


# -- activations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op_type, inputs, per, trans",
    [
        ("Gelu", [(3, 8)], 5, 1),  # div, erf, add, mul, mul
        ("BiasGelu", [(3, 8), w("b", (8,))], 6, 1),  # + bias
        ("FastGelu", [(3, 8)], 9, 1),  # tanh form
        ("FastGelu", [(3, 8), w("b", (8,))], 10, 1),
        ("QuickGelu", [(3, 8)], 6, 1),  # mul, sigmoid (4), mul
        ("BiasAdd", [(3, 8), w("b", (8,)), (3, 8)], 2, 0),
    ],
)
def test_activations_per_element(op_type, inputs, per, trans):
    n = node_cost(graph(op_type, inputs, domain=MS))
    assert n.cost.flops == per * 24
    assert n.cost.transcendentals == trans * 24
    assert n.output_shapes[0] == (3, 8)


def test_bias_split_gelu_halves_the_last_axis():
    n = node_cost(graph("BiasSplitGelu", [(2, 16, 64), w("b", (64,))], domain=MS))
    out = 2 * 16 * 32
    assert n.output_shapes[0] == (2, 16, 32)
    assert n.cost.flops == 8 * out and n.cost.transcendentals == out
    with pytest.raises(ShapeError):
        node_cost(graph("BiasSplitGelu", [(2, 16, 64), w("b", (32,))], domain=MS))


# -- rotary ---------------------------------------------------------------------------------


def test_onnx_rotary_embedding_partial_4d():
    x = (2, 4, 6, 16)  # (batch, heads, seq, head_size)
    m = graph("RotaryEmbedding", [x, (6, 4), (6, 4)], opset=23, rotary_embedding_dim=8)
    n = node_cost(m)
    # half of each 16-wide head rotated: 3 FLOPs per rotated element
    assert n.cost.flops == 3 * 2 * 4 * 6 * 8
    assert n.output_shapes[0] == x == onnx_shapes(m)["y0"]


def test_onnx_rotary_embedding_3d_full():
    m = graph("RotaryEmbedding", [(2, 6, 64), (2, 6, 8), (2, 6, 8)], opset=23, num_heads=4)
    n = node_cost(m)
    assert n.cost.flops == 3 * 2 * 6 * 64
    assert n.output_shapes[0] == (2, 6, 64) == onnx_shapes(m)["y0"]
    with pytest.raises(ShapeError):  # cache width must be rotary_embedding_dim / 2
        node_cost(graph("RotaryEmbedding", [(2, 6, 64), (2, 6, 4), (2, 6, 4)], opset=23, num_heads=4))


def test_ms_rotary_embedding():
    m = graph(
        "RotaryEmbedding",
        [(2, 6, 64), ((2, 6), "int64"), (32, 4), (32, 4)],
        domain=MS,
        num_heads=4,
        rotary_embedding_dim=8,
    )
    assert node_cost(m).cost.flops == 3 * 2 * 6 * 4 * 8
    # without num_heads a 3-D input is rotated fully in 2 x cache-width chunks
    m = graph("RotaryEmbedding", [(2, 6, 64), ((2, 6), "int64"), (32, 8), (32, 8)], domain=MS)
    assert node_cost(m).cost.flops == 3 * 2 * 6 * 64


# -- contractions ---------------------------------------------------------------------------


def _ort_operand(a, trans, trans_batch):
    if a.ndim >= 3 and trans_batch:
        a = np.transpose(a, list(range(1, a.ndim - 1)) + [0, a.ndim - 1])
    if a.ndim >= 2 and trans:
        a = np.swapaxes(a, -1, -2)
    return a


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 4),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_fused_matmul_matches_numpy(batch, m, n, k, ta, tb, tba, tbb):
    a = np.zeros((batch, m, k))
    b = np.zeros((batch, k, n))
    # build inputs that become (batch, m, k) @ (batch, k, n) after the ORT transforms
    a_in = np.swapaxes(a, -1, -2) if ta else a
    b_in = np.swapaxes(b, -1, -2) if tb else b
    if tba:
        a_in = np.moveaxis(a_in, -2, 0)
    if tbb:
        b_in = np.moveaxis(b_in, -2, 0)
    want = np.matmul(_ort_operand(a_in, ta, tba), _ort_operand(b_in, tb, tbb)).shape
    node = node_cost(
        graph(
            "FusedMatMul",
            [a_in.shape, b_in.shape],
            domain=MS,
            alpha=0.5,
            transA=int(ta),
            transB=int(tb),
            transBatchA=int(tba),
            transBatchB=int(tbb),
        )
    )
    assert node.output_shapes[0] == want == (batch, m, n)
    macs = batch * m * n * k
    assert node.cost.macs == macs
    assert node.cost.flops == 2 * macs + batch * m * n  # + alpha scaling


def test_matmul_nbits_int4():
    k, n, block = 64, 32, 32
    ins = [(2, 5, k), w("B", (n, 2, 16), "uint8"), w("scales", (n, 2)), None, None, w("bias", (n,))]
    node = node_cost(graph("MatMulNBits", ins, domain=MS, K=k, N=n, bits=4, block_size=block))
    macs = 2 * 5 * n * k
    assert node.cost.macs == macs
    # 2 per MAC, 2 per weight element (dequantize), 1 per output (bias)
    assert node.cost.flops == 2 * macs + 2 * n * k + 2 * 5 * n
    assert node.output_shapes[0] == (2, 5, n)
    # packed 4-bit weight = N*K/2 bytes, plus fp32 scales and bias
    assert node.cost.read_weights == n * k // 2 + n * 2 * 4 + n * 4
    assert node.cost.params == n * k + n * 2 + n
    assert node.kernel == GemmShape(batch=1, m=10, n=n, k=k)


def test_matmul_nbits_symbolic_and_bad_packing():
    ins = [("batch", "seq", 64), w("B", (32, 2, 16), "uint8"), w("scales", (32, 2))]
    sym = node_cost(graph("MatMulNBits", ins, domain=MS, K=64, N=32, block_size=32))
    conc = node_cost(graph("MatMulNBits", [(3, 4, 64)] + ins[1:], domain=MS, K=64, N=32, block_size=32))
    assert sym.cost.bind({"batch": 3, "seq": 4}) == conc.cost
    bad = [(3, 4, 64), w("B", (32, 4, 16), "uint8"), w("scales", (32, 4))]
    with pytest.raises(ShapeError):  # 4 blocks of 16 bytes is block_size 32 at 8 bits, not 4
        node_cost(graph("MatMulNBits", bad, domain=MS, K=64, N=32, bits=4, block_size=32))
    with pytest.raises(ShapeError):  # A's last dimension is not K
        node_cost(graph("MatMulNBits", [(3, 4, 48)] + ins[1:], domain=MS, K=64, N=32, block_size=32))


# -- quantized elementwise ------------------------------------------------------------------


def q(name, value=0.5):
    return init(name, np.array(value, dtype=np.float32))


def zp(name):
    return init(name, np.array(0, dtype=np.uint8))


@pytest.mark.parametrize("op_type, per, trans", [("QLinearAdd", 9, 0), ("QLinearMul", 9, 0)])
def test_qlinear_binary(op_type, per, trans):
    ins = [((4, 1, 8), "uint8"), q("as"), zp("az"), ((3, 8), "uint8"), q("bs"), zp("bz"), q("cs"), zp("cz")]
    n = node_cost(graph(op_type, ins, domain=MS))
    assert n.output_shapes[0] == (4, 3, 8)
    assert n.cost.flops == per * 96  # dequantize 2 + 2, op 1, quantize 4 (quantized.py)


@pytest.mark.parametrize(
    "op_type, per, trans", [("QLinearSigmoid", 10, 1), ("QLinearLeakyRelu", 8, 0), ("QLinearSoftmax", 11, 1)]
)
def test_qlinear_unary(op_type, per, trans):
    attrs = {"opset": 13} if op_type == "QLinearSoftmax" else {}
    n = node_cost(graph(op_type, [((2, 10), "uint8"), q("xs"), zp("xz"), q("ys"), zp("yz")], domain=MS, **attrs))
    assert n.cost.flops == per * 20 and n.cost.transcendentals == trans * 20
    assert n.output_shapes[0] == (2, 10)


def test_qlinear_global_average_pool_and_concat():
    x = ((2, 3, 4, 5), "uint8")
    n = node_cost(graph("QLinearGlobalAveragePool", [x, q("xs"), zp("xz"), q("ys"), zp("yz")], domain=MS))
    assert n.output_shapes[0] == (2, 3, 1, 1)
    assert n.cost.flops == 3 * 120 + 5 * 6  # dequantize + add per input; divide + quantize per output
    n = node_cost(
        graph(
            "QLinearConcat",
            [q("ys"), zp("yz"), ((2, 3), "uint8"), q("s0"), zp("z0"), ((2, 5), "uint8"), q("s1"), zp("z1")],
            domain=MS,
            axis=1,
        )
    )
    assert n.output_shapes[0] == (2, 8)
    assert n.cost.flops == 6 * 16
    with pytest.raises(ShapeError):
        node_cost(
            graph(
                "QLinearConcat",
                [q("ys"), zp("yz"), ((2, 3), "uint8"), q("s0"), zp("z0"), ((4, 5), "uint8"), q("s1"), zp("z1")],
                domain=MS,
                axis=1,
            )
        )
