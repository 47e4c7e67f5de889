"""Attention family: ONNX Attention (opset 23-25) and the com.microsoft Attention,
MultiHeadAttention and GroupQueryAttention kernels."""

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

from costmodel.errors import ShapeError
from costmodel.ops.attention import attended_pairs
from costmodel.ops.kernel import AttentionShape
from costmodel.symbolic import symbol
from tests.helpers import init, model, node_cost, vi

MS = "com.microsoft"


def graph(op_type, inputs, outputs=("y0",), *, opset=23, domain="", dtype="fp32", **attrs):
    """One node; `inputs` are (shape, dtype) pairs, None for an omitted optional input, or
    initializers (TensorProto)."""
    names, gin, inits = [], [], []
    for i, x in enumerate(inputs):
        if x is None:
            names.append("")
        elif isinstance(x, onnx.TensorProto):
            names.append(x.name)
            inits.append(x)
        else:
            shape, dt = x if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], str) else (x, dtype)
            names.append(f"x{i}")
            gin.append(vi(f"x{i}", shape, dt))
    node = helper.make_node(op_type, names, list(outputs), domain=domain or None, **attrs)
    gout = [vi(o, None, dtype) for o in outputs if o]
    return model([node], gin, gout, inits, opset=opset, domains={domain: 1} if domain else None)


def brute_pairs(sq, skv, offset=0, causal=False, left=-1, right=-1):
    """Count allowed (query, key) cells with the ONNX Attention-25 mask rule."""
    p = np.arange(sq)[:, None] + offset
    j = np.arange(skv)[None, :]
    ok = np.ones((sq, skv), dtype=bool)
    if causal:
        ok &= j <= p
    if left >= 0:
        ok &= j >= p - left
    if right >= 0:
        ok &= j <= p + right
    return int(ok.sum())


def onnx_shapes(m):
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    return {o.name: tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in inferred.graph.output}


# -- the pair count ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 12), st.integers(0, 6), st.booleans(), st.integers(-1, 5), st.integers(-1, 5))
def test_attended_pairs_matches_brute_force(sq, skv, offset, causal, left, right):
    assert attended_pairs(sq, skv, offset, causal, left, right) == brute_pairs(sq, skv, offset, causal, left, right)


def test_attended_pairs_spec_examples():
    # spec figure, causal offset 4: rows attend 5, 6, 7, 8 keys
    assert attended_pairs(4, 8, 4, True) == 5 + 6 + 7 + 8
    # spec figure, window (2, 1) over 6 keys: 2 + 3 + 4 + 4
    assert attended_pairs(4, 6, 0, False, 2, 1) == 13
    # queries at the end of the keys: Sq*Skv - Sq*(Sq-1)/2
    assert attended_pairs(5, 12, 7, True) == 5 * 12 - 5 * 4 // 2


def test_attended_pairs_symbolic_is_exact():
    s, p = symbol("S"), symbol("P")
    tri = attended_pairs(s, s, 0, True)
    assert (tri - s * (s + 1) / 2).expand() == 0
    dec = attended_pairs(s, p + s, p, True)
    assert (dec - (s * (p + s) - s * (s - 1) / 2)).expand() == 0
    win = attended_pairs(s, p + s, p, True, 3)
    for sv, pv in ((1, 0), (2, 9), (7, 1), (5, 20)):
        assert win.subs({s: sv, p: pv}) == brute_pairs(sv, pv + sv, pv, True, 3)


# -- ONNX Attention -------------------------------------------------------------------------

B, H, S, D = 2, 4, 8, 16


def test_attention_non_causal_4d():
    m = graph("Attention", [(B, H, S, D)] * 3)
    n = node_cost(m)
    scores = B * H * S * S  # 2*4*8*8 = 512
    macs = scores * D + scores * D  # QK^T + PV = 16384
    assert n.cost.macs == macs == 16384
    # 2 per MAC, then scale 1 + softmax 5 per score
    assert n.cost.flops == 2 * 16384 + 6 * 512
    assert n.cost.transcendentals == 512
    assert n.output_shapes[0] == (B, H, S, D) == onnx_shapes(m)["y0"]
    assert n.kind == "attention"
    assert n.kernel == AttentionShape(
        batch=B, q_heads=H, kv_heads=H, q_len=S, kv_len=S, head_dim=D, v_head_dim=D, causal=False, pairs=S * S
    )
    # Q, K, V read once, Y written; no score matrix in memory
    assert n.cost.read_activations == 3 * B * H * S * D * 4
    assert n.cost.write_activations == B * H * S * D * 4


def test_attention_causal_counts_only_the_unmasked_half():
    m = graph("Attention", [(B, H, S, D)] * 3, is_causal=1)
    n = node_cost(m)
    pairs = S * (S + 1) // 2  # 1 + 2 + ... + 8 = 36
    scores = B * H * pairs  # 288
    assert n.cost.macs == scores * 2 * D == 9216
    assert n.cost.flops == 2 * 9216 + 6 * 288
    assert n.cost.transcendentals == 288
    assert n.kernel.causal is True
    assert n.kernel.pairs == 36


def test_attention_3d_heads_mask_softcap_and_onnx_shapes():
    hq, hkv, dv = 8, 2, 12
    m = graph(
        "Attention",
        [(B, S, hq * D), (B, 10, hkv * D), (B, 10, hkv * dv), (B, 1, S, 10)],
        q_num_heads=hq,
        kv_num_heads=hkv,
        softcap=30.0,
    )
    n = node_cost(m)
    scores = B * hq * S * 10  # 1280
    assert n.cost.macs == scores * (D + dv)
    # scale 1 + softmax 5 + mask 1 + softcap 3 = 10 per score; exp + tanh
    assert n.cost.flops == 2 * scores * (D + dv) + 10 * scores
    assert n.cost.transcendentals == 2 * scores
    assert n.output_shapes[0] == (B, S, hq * dv) == onnx_shapes(m)["y0"]


def test_gqa_same_compute_as_mha_less_kv_traffic():
    hq = 8
    mha = node_cost(graph("Attention", [(B, hq, S, D)] * 3, is_causal=1))
    gqa = node_cost(graph("Attention", [(B, hq, S, D), (B, 2, S, D), (B, 2, S, D)], is_causal=1))
    assert gqa.cost.macs == mha.cost.macs
    assert gqa.cost.flops == mha.cost.flops
    # K and V are 4x smaller: read = Q + (K + V) / 4
    q_bytes = B * hq * S * D * 4
    assert mha.cost.read_activations == 3 * q_bytes
    assert gqa.cost.read_activations == q_bytes + 2 * q_bytes // 4
    assert gqa.kernel.kv_heads == 2


def test_decode_with_past_kv_is_classified():
    hq, hkv, past = 8, 2, 15
    m = graph(
        "Attention",
        [(B, hq, 1, D), (B, hkv, 1, D), (B, hkv, 1, D), None, (B, hkv, past, D), (B, hkv, past, D)],
        outputs=("y", "present_key", "present_value"),
        is_causal=1,
        dtype="fp16",
    )
    n = node_cost(m)
    total = past + 1
    # one query sees all 16 keys (offset = past length)
    assert n.cost.macs == B * hq * 1 * total * 2 * D
    assert n.output_shapes[1] == (B, hkv, total, D) == onnx_shapes(m)["present_key"]
    # past K and V are KV reads; only the new position is written back
    assert n.cost.read_kv == 2 * B * hkv * past * D * 2
    assert n.cost.write_kv == 2 * B * hkv * 1 * D * 2
    assert n.cost.read_activations == (B * hq * D + 2 * B * hkv * D) * 2
    assert n.cost.write_activations == B * hq * D * 2
    assert n.kernel.kv_len == total


def test_prefill_present_without_past_writes_all_positions():
    m = graph("Attention", [(B, H, S, D)] * 3, outputs=("y", "pk", "pv"), is_causal=1)
    n = node_cost(m)
    assert n.cost.read_kv == 0
    assert n.cost.write_kv == 2 * B * H * S * D * 4


def test_qk_matmul_output_is_dense_and_written():
    m = graph("Attention", [(B, H, S, D)] * 3, outputs=("y", "", "", "qk"), is_causal=1)
    n = node_cost(m)
    assert n.cost.macs == B * H * S * S * 2 * D
    assert n.output_shapes[3] == (B, H, S, S)
    assert n.cost.write_activations == (B * H * S * D + B * H * S * S) * 4


def test_nonpad_kv_seqlen_and_sliding_window():
    # opset 24 external cache: every key taken as valid, queries at the end of the keys
    m = graph(
        "Attention",
        [(B, H, 3, D), (B, H, 10, D), (B, H, 10, D), None, None, None, ((B,), "int64")],
        opset=24,
        is_causal=1,
    )
    assert node_cost(m).cost.macs == B * H * brute_pairs(3, 10, 7, True) * 2 * D
    m = graph("Attention", [(B, H, S, D)] * 3, opset=25, is_causal=1, left_window_size=2)
    assert node_cost(m).cost.macs == B * H * brute_pairs(S, S, 0, True, 2) * 2 * D


def test_symbolic_sequence_equals_bound():
    sym = graph("Attention", [("batch", H, "S", D)] * 3, outputs=("y", "pk", "pv"), is_causal=1)
    for s in (1, 5, 8):
        conc = graph("Attention", [(3, H, s, D)] * 3, outputs=("y", "pk", "pv"), is_causal=1)
        want = node_cost(conc).cost
        assert node_cost(sym).cost.bind({"batch": 3, "S": s}) == want
        assert node_cost(sym, bindings={"batch": 3, "S": s}).cost == want


def test_symbolic_decode_past_equals_bound():
    ins = [(1, 8, 1, D), (1, 2, 1, D), (1, 2, 1, D), None, (1, 2, "past", D), (1, 2, "past", D)]
    sym = node_cost(graph("Attention", ins, outputs=("y", "pk", "pv"), is_causal=1))
    assert str(sym.output_shapes[1][2]) == "past + 1"
    for p in (1, 31):
        conc = [x if x is None else tuple(p if d == "past" else d for d in x) for x in ins]
        want = node_cost(graph("Attention", conc, outputs=("y", "pk", "pv"), is_causal=1)).cost
        assert sym.cost.bind({"past": p}) == want


@pytest.mark.parametrize(
    "inputs, attrs",
    [
        ([(B, H, S, D), (B, H, S, D + 1), (B, H, S, D)], {}),  # head sizes differ
        ([(B, 6, S, D), (B, 4, S, D), (B, 4, S, D)], {}),  # 6 heads over 4 kv heads
        ([(B, S, 30), (B, S, 30), (B, S, 30)], {"q_num_heads": 4, "kv_num_heads": 4}),  # 30 % 4
        ([(B, S, 32), (B, S, 32), (B, S, 32)], {}),  # 3-D without heads
        ([(B, H, S, D), (B, H, S, D), (B, H, S + 1, D)], {}),  # K/V lengths differ
    ],
)
def test_attention_inconsistent_shapes_raise(inputs, attrs):
    with pytest.raises(ShapeError):
        node_cost(graph("Attention", inputs, **attrs))


# -- com.microsoft -------------------------------------------------------------------------


def test_ms_multi_head_attention_with_bias_and_past():
    n_heads, past, hid = 4, 6, 4 * D
    m = graph(
        "MultiHeadAttention",
        [(B, 1, hid), (B, 1, hid), (B, 1, hid), (3 * hid,), None, None, (B, n_heads, past, D), (B, n_heads, past, D)],
        outputs=("y", "pk", "pv"),
        domain=MS,
        num_heads=n_heads,
        unidirectional=1,
    )
    n = node_cost(m)
    total = past + 1
    scores = B * n_heads * total
    assert n.cost.macs == scores * 2 * D
    # 6 per score, + bias on Q, K and V (1 per element)
    assert n.cost.flops == 2 * scores * 2 * D + 6 * scores + 3 * B * hid
    assert n.output_shapes[0] == (B, 1, hid)
    assert n.output_shapes[1] == (B, n_heads, total, D)
    assert n.cost.read_kv == 2 * B * n_heads * past * D * 4
    assert n.cost.write_kv == 2 * B * n_heads * 1 * D * 4


def test_ms_multi_head_attention_packed_qkv_matches_separate():
    packed = node_cost(graph("MultiHeadAttention", [(B, S, 4, 3, D)], domain=MS, num_heads=4))
    split = node_cost(graph("MultiHeadAttention", [(B, S, 4 * D)] * 3, domain=MS, num_heads=4))
    assert packed.cost.macs == split.cost.macs == B * 4 * S * S * 2 * D
    assert packed.output_shapes[0] == split.output_shapes[0] == (B, S, 4 * D)


def test_ms_group_query_attention_decode_window_rotary():
    hq, hkv, past, win = 8, 2, 20, 4
    ins = [
        (B, 1, hq * D),
        (B, 1, hkv * D),
        (B, 1, hkv * D),
        (B, hkv, past, D),
        (B, hkv, past, D),
        ((B,), "int32"),
        init("total", np.array(past + 1, dtype=np.int32)),
        (32, D // 2),
        (32, D // 2),
    ]
    m = graph(
        "GroupQueryAttention",
        ins,
        outputs=("y", "pk", "pv"),
        domain=MS,
        num_heads=hq,
        kv_num_heads=hkv,
        local_window_size=win,
        do_rotary=1,
        dtype="fp16",
    )
    n = node_cost(m)
    pairs = win + 1  # one query sees itself and 4 earlier keys
    scores = B * hq * pairs
    assert n.cost.macs == scores * 2 * D
    rotary = 3 * B * 1 * (hq + hkv) * D  # 3 FLOPs per rotated Q/K element
    assert n.cost.flops == 2 * scores * 2 * D + 6 * scores + rotary
    assert n.output_shapes[1] == (B, hkv, past + 1, D)
    assert n.cost.read_kv == 2 * B * hkv * past * D * 2
    assert n.cost.write_kv == 2 * B * hkv * D * 2


def test_ms_group_query_attention_packed_prefill_symbolic():
    hq, hkv = 8, 2
    sym = graph(
        "GroupQueryAttention",
        [("b", "s", (hq + 2 * hkv) * D), None, None, None, None, (("b",), "int32"), ((), "int32")],
        domain=MS,
        num_heads=hq,
        kv_num_heads=hkv,
    )
    n = node_cost(sym)
    conc = graph(
        "GroupQueryAttention",
        [(2, 9, (hq + 2 * hkv) * D), None, None, None, None, ((2,), "int32"), ((), "int32")],
        domain=MS,
        num_heads=hq,
        kv_num_heads=hkv,
    )
    c = node_cost(conc)
    assert c.cost.macs == 2 * hq * (9 * 10 // 2) * 2 * D
    assert n.cost.bind({"b": 2, "s": 9}) == c.cost
    assert c.output_shapes[0] == (2, 9, hq * D)


def test_ms_attention_packed_weights():
    din, n_heads = 64, 4
    m = graph(
        "Attention",
        [(B, S, din), init("w", np.zeros((din, 3 * din), np.float32)), init("b", np.zeros(3 * din, np.float32))],
        domain=MS,
        num_heads=n_heads,
        unidirectional=1,
    )
    n = node_cost(m)
    d = din // n_heads
    pairs = S * (S + 1) // 2
    proj = B * S * din * 3 * din
    assert n.cost.macs == proj + B * n_heads * pairs * 2 * d
    assert n.cost.flops == 2 * n.cost.macs + B * S * 3 * din + 6 * B * n_heads * pairs
    assert n.cost.read_weights == (din * 3 * din + 3 * din) * 4
    assert n.output_shapes[0] == (B, S, din)


def test_ms_attention_past_present():
    din, n_heads, past = 32, 2, 5
    m = graph(
        "Attention",
        [
            (1, 1, din),
            init("w", np.zeros((din, 3 * din), np.float32)),
            None,
            None,
            (2, 1, n_heads, past, din // n_heads),
        ],
        outputs=("y", "present"),
        domain=MS,
        num_heads=n_heads,
        unidirectional=1,
    )
    n = node_cost(m)
    assert n.output_shapes[1] == (2, 1, n_heads, past + 1, din // n_heads)
    assert n.cost.read_kv == 2 * n_heads * past * (din // n_heads) * 4
    assert n.cost.write_kv == 2 * n_heads * 1 * (din // n_heads) * 4
