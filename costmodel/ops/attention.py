"""Fused attention: ONNX Attention (opset 23+) and the com.microsoft Attention,
MultiHeadAttention and GroupQueryAttention kernels, costed with one core.

Per batch and query head, with `pairs` the (query, key) pairs actually scored:
  QK^T: pairs x head_dim MACs; PV: pairs x v_head_dim MACs (FLOPs = 2 x MACs);
  per score: scale 1; softmax 5 FLOPs + 1 exp (max, subtract, exp, sum, divide);
  each additive mask or bias 1; softcap c*tanh(s/c) 3 FLOPs + 1 tanh.
Causal and sliding-window masks are not applied but skipped: only the unmasked pairs are
counted, as flash kernels skip masked tiles (FlashAttention-2, Dao 2023, sec. 3.1.1).
With past keys the queries sit at the end of the keys (offset = past length), so a causal
block of Sq queries over Skv keys scores Sq*Skv - Sq*(Sq-1)/2 pairs.
Scores never reach memory unless the op must output them; then the whole score matrix is
computed (nothing skipped) and written. KV cache: past_* inputs are KV reads; present_*
outputs are KV writes of the new positions only (runtimes update the cache in place).
"""

from __future__ import annotations

from typing import Any

from ..ir.dtypes import ONNX_DTYPES
from ..symbolic import norm, prod, Shape, smax, smin
from .context import NodeContext
from .cost import Cost
from .kernel import AttentionShape, GemmShape
from .normalization import rms_norm_cost
from .registry import ATTENTION, op

SOFTMAX = (5, 1)  # max, subtract, exp, sum, divide; 1 exp
SOFTCAP = (3, 1)  # divide, tanh, multiply; 1 tanh
ROTARY = 3  # per rotated element: x1*cos - x2*sin is 2 multiplies and 1 add


def _half(x: Any) -> Any:
    return x // 2 if type(x) is int else norm(x / 2)


def _tri(x: Any, c: Any) -> Any:
    """sum_{q=0}^{x-1} min(c, q) for x >= 0."""
    m = smin(x, c)
    return norm(_half(m * (m - 1)) + (x - m) * c)


def _ramp(y: Any) -> Any:
    """sum_{q=0}^{y} max(q, 0)."""
    m = smax(y, 0)
    return _half(m * (m + 1))


def attended_pairs(sq: Any, skv: Any, offset: Any = 0, causal: bool = False, left: int = -1, right: int = -1) -> Any:
    """(query, key) pairs scored by one head. Query i sits at absolute position
    p = offset + i and sees key j in [0, skv) iff j <= p (causal), j >= p - left
    (left >= 0) and j <= p + right (right >= 0): the ONNX Attention-25 mask rule.
    Exact closed form (an arithmetic series per clamp), symbolic dims included."""
    if not causal and left < 0 and right < 0:
        return norm(sq * skv)
    r = 0 if causal else (right if right >= 0 else None)
    l_ = left if left >= 0 else None
    c = norm(skv - 1)
    # Rows before -r see no key; rows after c + l see none either.
    lo = offset if r is None else smax(offset, -r)
    hi = norm(offset + sq - 1) if l_ is None else smin(norm(offset + sq - 1), norm(c + l_))
    hi = smax(hi, norm(lo - 1))
    n = norm(hi - lo + 1)
    sum_hi = norm(n * c) if r is None else norm(_tri(norm(hi + r + 1), c) - _tri(norm(lo + r), c))
    sum_lo = 0 if l_ is None else norm(_ramp(norm(hi - l_)) - _ramp(norm(lo - l_ - 1)))
    total = norm(sum_hi - sum_lo + n)
    return total.expand() if hasattr(total, "expand") else total


def core_cost(
    batch: Any, q_heads: Any, pairs: Any, head_dim: Any, v_head_dim: Any, adds: int = 0, softcap: bool = False
) -> Cost:
    """Scores, softmax and the two products for `pairs` pairs per (batch, head)."""
    scores = norm(batch * q_heads * pairs)
    macs = norm(scores * (head_dim + v_head_dim))
    per = 1 + SOFTMAX[0] + adds + (SOFTCAP[0] if softcap else 0)
    trans = SOFTMAX[1] + (SOFTCAP[1] if softcap else 0)
    return Cost(flops=norm(2 * macs + per * scores), macs=macs, transcendentals=norm(trans * scores))


def wants(ctx: NodeContext, k: int) -> bool:
    return k < len(ctx.node.outputs) and bool(ctx.node.outputs[k])


def per_head(ctx: NodeContext, hidden: Any, heads: Any, what: str) -> Any:
    if type(hidden) is int and type(heads) is int:
        if heads <= 0 or hidden % heads:
            raise ctx.fail(f"{what} hidden size {hidden} is not a multiple of {heads} heads")
        return hidden // heads
    return norm(hidden / heads)


def same(ctx: NodeContext, a: Any, b: Any, what: str) -> Any:
    if type(a) is int and type(b) is int and a != b:
        raise ctx.fail(f"{what} differ: {a} vs {b}")
    return a if type(a) is int or type(b) is not int else b


def check_groups(ctx: NodeContext, hq: Any, hkv: Any) -> None:
    if type(hq) is int and type(hkv) is int and (hkv <= 0 or hq % hkv):
        raise ctx.fail(f"{hq} query heads are not a multiple of {hkv} key/value heads")


def set_kernel(
    ctx: NodeContext,
    b: Any,
    hq: Any,
    hkv: Any,
    sq: Any,
    skv: Any,
    d: Any,
    dv: Any,
    causal: bool,
    pairs: Any,
    left: int = -1,
    right: int = -1,
    projection: GemmShape | None = None,
) -> None:
    ctx.set_kernel(
        AttentionShape(
            batch=b,
            q_heads=hq,
            kv_heads=hkv,
            q_len=sq,
            kv_len=skv,
            head_dim=d,
            v_head_dim=dv,
            causal=bool(causal),
            pairs=pairs,
            left_window=left if left >= 0 else None,
            right_window=right if right >= 0 else None,
            projection=projection,
        )
    )


def _bnsd(ctx: NodeContext, i: int, heads: int, what: str) -> Shape:
    s = ctx.shape(i)
    if len(s) == 4:
        return tuple(s)
    if len(s) == 3:
        if not heads:
            raise ctx.fail(f"{what} is 3-D, so q_num_heads and kv_num_heads are required")
        return (s[0], heads, s[1], per_head(ctx, s[2], heads, what))
    raise ctx.fail(f"{what} must be 3-D or 4-D, got shape {s}")


@op("Attention", kind=ATTENTION, since=23)
def attention(ctx: NodeContext) -> Cost:
    """ONNX Attention (opset 23; 24 adds nonpad_kv_seqlen, 25 sliding windows). Causal:
    only the unmasked part is counted, as flash kernels skip masked tiles; with past_key
    the causal offset is the past length (bottom-right), with nonpad_kv_seqlen every key
    is taken as valid (contents unknown: the upper bound), else 0 (top-left), per the
    spec. softmax_precision costs nothing (flash kernels keep scores in fp32 registers)."""
    b, hq, sq, d = _bnsd(ctx, 0, ctx.attr("q_num_heads", 0), "Q")
    bk, hkv, skv, dk = _bnsd(ctx, 1, ctx.attr("kv_num_heads", 0), "K")
    bv, hv, skv_v, dv = _bnsd(ctx, 2, ctx.attr("kv_num_heads", 0), "V")
    b = same(ctx, same(ctx, b, bk, "Q/K batch sizes"), bv, "Q/V batch sizes")
    same(ctx, d, dk, "Q/K head sizes")
    hkv = same(ctx, hkv, hv, "K/V head counts")
    skv = same(ctx, skv, skv_v, "K/V sequence lengths")
    check_groups(ctx, hq, hkv)
    past = 0
    if ctx.has(4) or ctx.has(5):
        if not (ctx.has(4) and ctx.has(5)):
            raise ctx.fail("past_key and past_value must be given together")
        pk, pv = ctx.shape(4), ctx.shape(5)
        if len(pk) != 4 or len(pv) != 4:
            raise ctx.fail(f"past_key/past_value must be 4-D, got {pk} and {pv}")
        same(ctx, pk[1], hkv, "past_key/K head counts")
        same(ctx, pk[3], d, "past_key/K head sizes")
        same(ctx, pv[3], dv, "past_value/V head sizes")
        past = same(ctx, pk[2], pv[2], "past_key/past_value lengths")
    total = norm(past + skv)
    qdt, kdt = ctx.dtype(0), ctx.dtype(1)
    y = (b, sq, norm(hq * dv)) if ctx.rank(0) == 3 else (b, hq, sq, dv)
    ctx.set_output(0, qdt, y)
    ctx.set_output(1, kdt, (b, hkv, total, d))
    ctx.set_output(2, ctx.dtype(2), (b, hkv, total, dv))
    ctx.set_output(3, qdt, (b, hq, sq, total))
    if ctx.has(4):
        offset = past
    elif ctx.has(6):
        offset = norm(total - sq)
    else:
        offset = 0
    causal = bool(ctx.attr("is_causal", 0))
    dense = wants(ctx, 3)
    left, right = ctx.attr("left_window_size", -1), ctx.attr("right_window_size", -1)
    pairs = norm(sq * total) if dense else attended_pairs(sq, total, offset, causal, left, right)
    softcap = (ctx.attr("softcap", 0.0) or 0.0) > 0
    cost = core_cost(b, hq, pairs, d, dv, 1 if ctx.has(3) else 0, softcap)
    ctx.kv_inputs, ctx.kv_outputs = (4, 5), (1, 2)
    new_kv = 0
    if wants(ctx, 1):
        new_kv = new_kv + kdt.nbytes(prod((b, hkv, skv, d)))
    if wants(ctx, 2):
        new_kv = new_kv + ctx.dtype(2).nbytes(prod((b, hkv, skv, dv)))
    kv_read = ctx.dtype(4).nbytes(prod(ctx.shape(4))) + ctx.dtype(5).nbytes(prod(ctx.shape(5))) if ctx.has(4) else 0
    ctx.bytes_override = ctx.traffic((0, 1, 2, 3, 6), kv_read, new_kv, writes=(0, 3))
    if dense:
        left = right = -1
    set_kernel(ctx, b, hq, hkv, sq, total, d, dv, causal and not dense, pairs, left, right)
    return cost


def _kv_bytes(ctx: NodeContext, i: int, positions: Any) -> Any:
    """Bytes of `positions` sequence positions of a BNSH cache tensor (input i)."""
    s = ctx.shape(i)
    return ctx.dtype(i).nbytes(prod((s[0], s[1], positions, s[3])))


@op("MultiHeadAttention", kind=ATTENTION, domain="com.microsoft")
def ms_multi_head_attention(ctx: NodeContext) -> Cost:
    """ORT MultiHeadAttention: the core above plus 1 FLOP per Q/K/V element for the input
    projection bias. Query is (B, S, hidden) or packed QKV (B, S, N, 3, H); key is
    (B, L, hidden), packed KV (B, L, N, 2, H) or already-projected BNSH (B, N, L, H),
    which is cached cross-attention state and counted as a KV read. With
    past_sequence_length the past/present buffers are shared (max length)."""
    n = ctx.attr("num_heads")
    q = ctx.shape(0)
    bnsh = False
    if len(q) == 5:
        b, sq, _, _, d = q
        skv, dv = sq, d
    elif len(q) == 3:
        b, sq = q[0], q[1]
        d = per_head(ctx, q[2], n, "query")
        if not ctx.has(1):
            raise ctx.fail("key is required unless query is packed QKV")
        k = ctx.shape(1)
        if len(k) == 5:
            skv, dv = k[1], same(ctx, k[4], d, "query/packed KV head sizes")
        elif len(k) == 3:
            skv = k[1]
            same(ctx, per_head(ctx, k[2], n, "key"), d, "query/key head sizes")
            dv = per_head(ctx, ctx.shape(2)[2], n, "value")
        elif len(k) == 4:
            bnsh = True
            skv = same(ctx, k[2], ctx.shape(2)[2], "key/value lengths")
            same(ctx, k[3], d, "query/key head sizes")
            dv = ctx.shape(2)[3]
        else:
            raise ctx.fail(f"key must be 3-D, 4-D or 5-D, got {k}")
    else:
        raise ctx.fail(f"query must be 3-D or packed 5-D, got {q}")
    past = present_len = 0
    total = skv
    if ctx.has(6) and not bnsh:
        past = ctx.shape(6)[2]
        if ctx.has(8):
            known = ctx.ints(8, required=False)
            total = norm(known[0] + skv) if known else past
            present_len = past
        else:
            total = present_len = norm(past + skv)
    else:
        present_len = skv
    dt = ctx.dtype(0)
    ctx.set_output(0, dt, (b, sq, norm(n * dv)))
    ctx.set_output(1, dt, (b, n, present_len, d))
    ctx.set_output(2, dt, (b, n, present_len, dv))
    ctx.set_output(3, dt, (b, n, sq, total))
    causal = bool(ctx.attr("unidirectional", 0))
    dense = wants(ctx, 3)
    pairs = norm(sq * total) if dense else attended_pairs(sq, total, norm(total - sq), causal)
    adds = int(ctx.has(4)) + int(ctx.has(5))
    cost = core_cost(b, n, pairs, d, dv, adds)
    if ctx.has(3):
        bias = b * sq * n * d + (0 if bnsh else b * skv * n * (d + dv))
        cost = cost + Cost(flops=norm(bias))
    kv_read: Any = 0
    if bnsh:
        kv_read = ctx.dtype(1).nbytes(prod(ctx.shape(1))) + ctx.dtype(2).nbytes(prod(ctx.shape(2)))
    elif ctx.has(6):
        kv_read = _kv_bytes(ctx, 6, norm(total - skv)) + _kv_bytes(ctx, 7, norm(total - skv))
    kv_write = dt.nbytes(prod((b, n, skv, d))) * int(wants(ctx, 1)) + dt.nbytes(prod((b, n, skv, dv))) * int(
        wants(ctx, 2)
    )
    ctx.kv_inputs, ctx.kv_outputs = (6, 7) + ((1, 2) if bnsh else ()), (1, 2)
    reads = (0, 3, 4, 5, 8) if bnsh else (0, 1, 2, 3, 4, 5, 8)
    ctx.bytes_override = ctx.traffic(reads, kv_read, kv_write, writes=(0, 3))
    set_kernel(ctx, b, n, n, sq, total, d, dv, causal and not dense, pairs)
    return cost


@op("GroupQueryAttention", kind=ATTENTION, domain="com.microsoft")
def ms_group_query_attention(ctx: NodeContext) -> Cost:
    """ORT GroupQueryAttention: the core above over kv_len = total_sequence_length (when
    known, else past + new), queries at the end of the keys, causal by default,
    local_window_size as a left window. do_rotary adds 3 FLOPs per rotated Q/K element;
    q/k_norm_weight an RMSNorm per head (normalization.py convention); head_sink or
    smooth_softmax 3 FLOPs + 1 exp per query row. KV reads are the valid past positions
    (a shared max-length buffer is read only up to the total length); quantized-cache
    scaling FLOPs are not counted (its bytes are, through the cache dtype).
    `output_dtype` (an ONNX type code; not ORT's): the kernel writes its output already
    quantized for the next GEMM and computes in that dtype (TensorRT-LLM's attention with
    `out_scale`, the FP8 context FMHA)."""
    hq, hkv = ctx.attr("num_heads"), ctx.attr("kv_num_heads")
    check_groups(ctx, hq, hkv)
    q = ctx.shape(0)
    if len(q) != 3:
        raise ctx.fail(f"query must be 3-D, got {q}")
    b, sq = q[0], q[1]
    if ctx.has(1):
        d = per_head(ctx, q[2], hq, "query")
        k = ctx.shape(1)
        skv = same(ctx, k[1], ctx.shape(2)[1], "key/value lengths")
        same(ctx, per_head(ctx, k[2], hkv, "key"), d, "query/key head sizes")
    else:
        d = per_head(ctx, q[2], norm(hq + 2 * hkv), "packed QKV")
        skv = sq
    known = ctx.ints(6, required=False) if ctx.has(6) else None
    ts = known[0] if known else None
    past = ctx.shape(3)[2] if ctx.has(3) else 0
    total = ts if ts is not None else norm(past + skv)
    if ctx.has(3):
        present_len = smax(past, ts) if ts is not None else norm(past + skv)
    else:
        present_len = total
    dt = ctx.dtype(0)
    cdt = ctx.dtype(3) if ctx.has(3) else dt
    dc = ctx.shape(3)[3] if ctx.has(3) else d
    code = int(ctx.attr("output_dtype", 0) or 0)
    if code and code not in ONNX_DTYPES:
        raise ctx.fail(f"unknown output_dtype {code}")
    ctx.set_output(0, ONNX_DTYPES[code] if code else dt, (b, sq, norm(hq * d)))
    ctx.set_output(1, cdt, (b, hkv, present_len, dc))
    ctx.set_output(2, cdt, (b, hkv, present_len, dc))
    ctx.set_output(3, dt, (b, hq, sq, total))
    causal = bool(ctx.attr("causal", 1))
    dense = wants(ctx, 3)
    window = -1 if dense else ctx.attr("local_window_size", -1)
    pairs = norm(sq * total) if dense else attended_pairs(sq, total, norm(total - sq), causal, window)
    softcap = (ctx.attr("softcap", 0.0) or 0.0) > 0
    cost = core_cost(b, hq, pairs, d, d, int(ctx.has(10)), softcap)
    rows = norm(b * sq * (hq + hkv))
    if ctx.attr("do_rotary", 0):
        rot = norm(2 * ctx.shape(7)[-1]) if ctx.has(7) else d
        cost = cost + Cost(flops=norm(ROTARY * rows * rot))
    if ctx.has(14):
        cost = cost + rms_norm_cost(ctx, (rows, d))
    if ctx.has(11) or ctx.attr("smooth_softmax", 0):
        r = norm(b * hq * sq)
        cost = cost + Cost(flops=norm(3 * r), transcendentals=r)
    kv_read = 0
    if ctx.has(3):
        kv_read = _kv_bytes(ctx, 3, norm(total - skv)) + _kv_bytes(ctx, 4, norm(total - skv))
    kv_write = cdt.nbytes(prod((b, hkv, skv, dc))) * (int(wants(ctx, 1)) + int(wants(ctx, 2)))
    ctx.kv_inputs, ctx.kv_outputs = (3, 4), (1, 2)
    reads = (0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    ctx.bytes_override = ctx.traffic(reads, kv_read, kv_write, writes=(0, 3))
    set_kernel(ctx, b, hq, hkv, sq, total, d, d, causal and not dense, pairs, window)
    return cost


@op("Attention", kind=ATTENTION, domain="com.microsoft")
def ms_attention(ctx: NodeContext) -> Cost:
    """ORT Attention (BERT/GPT-2 style): the input projection with packed Q/K/V weights
    (B*S*D_in*(2H + Hv) MACs, + 1 FLOP per projected element for the bias) followed by
    the core above; unidirectional is causal with queries at the end of past + new keys.
    past/present are stacked K and V, (2, B, N, len, head_size); do_rotary adds 3 FLOPs per
    rotated Q/K element."""
    x, w = ctx.shape(0), ctx.shape(1)
    if len(x) != 3 or len(w) != 2:
        raise ctx.fail(f"input must be 3-D and weights 2-D, got {x} and {w}")
    b, sq, din = x
    same(ctx, din, w[0], "input/weight hidden sizes")
    n = ctx.attr("num_heads")
    sizes = ctx.attr("qkv_hidden_sizes", None)
    if sizes:
        if len(sizes) != 3 or sizes[0] != sizes[1]:
            raise ctx.fail(f"qkv_hidden_sizes {sizes} must be (H, H, Hv)")
        h, hv = sizes[0], sizes[2]
        same(ctx, w[1], sum(sizes), "weight width and qkv_hidden_sizes")
    else:
        h = hv = per_head(ctx, w[1], 3, "packed weight")
    d, dv = per_head(ctx, h, n, "Q/K"), per_head(ctx, hv, n, "V")
    past = 0
    if ctx.has(4):
        p = ctx.shape(4)
        if len(p) != 5:
            raise ctx.fail(f"past must be (2, B, N, L, H), got {p}")
        past = p[3]
    if ctx.attr("past_present_share_buffer", 0) and ctx.has(4):
        known = ctx.ints(6, required=False) if ctx.has(6) else None
        total, present_len = (norm(known[0] + sq) if known else past), past
    else:
        total = present_len = norm(past + sq)
    dt = ctx.dtype(0)
    ctx.set_output(0, dt, (b, sq, hv))
    ctx.set_output(1, dt, (2, b, n, present_len, d))
    causal = bool(ctx.attr("unidirectional", 0))
    pairs = attended_pairs(sq, total, norm(total - sq), causal)
    cost = core_cost(b, n, pairs, d, dv, int(ctx.has(3)) + int(ctx.has(5)))
    width = norm(2 * h + hv)
    proj = norm(b * sq * din * width)
    cost = cost + Cost(flops=norm(2 * proj + (b * sq * width if ctx.has(2) else 0)), macs=proj)
    if ctx.attr("do_rotary", 0):
        rot = ctx.attr("rotary_embedding_dim", 0) or d
        cost = cost + Cost(flops=norm(ROTARY * 2 * b * sq * n * rot))
    kv_read = 0
    if ctx.has(4):
        kv_read = ctx.dtype(4).nbytes(prod((2, b, n, norm(total - sq), ctx.shape(4)[4])))
    kv_write = dt.nbytes(prod((2, b, n, sq, d))) if wants(ctx, 1) else 0
    ctx.kv_inputs, ctx.kv_outputs = (4,), (1,)
    ctx.bytes_override = ctx.traffic((0, 1, 2, 3, 5, 6), kv_read, kv_write)
    set_kernel(
        ctx, b, n, n, sq, total, d, dv, causal, pairs, projection=GemmShape(batch=1, m=norm(b * sq), n=width, k=din)
    )
    return cost
