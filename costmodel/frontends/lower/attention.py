"""Token mixing by attention: self-attention with a KV cache (MHA / GQA / MQA, rotary,
ALiBi, sliding windows), DeepSeek multi-head latent attention, causal linear attention.

Sliding windows follow Hugging Face's mask (transformers masking_utils.py,
sliding_window_overlay: key j is visible to query i iff j > i - window, on top of the
causal j <= i): a query sees `window` keys, itself included. The lowering therefore
(a) passes ORT GroupQueryAttention `local_window_size = window - 1` (that op counts the
keys to the left of the query, so window - 1 of them plus the query's own), and (b)
reads at most window - 1 cached positions: the first new query at position P needs keys
P - window + 1 .. P, so older entries are never read (nor kept: the KV-cache memory is
capped the same way in the planners).
"""

from __future__ import annotations

from typing import Any

from ...ir.dtypes import ONNX_CODES
from ...symbolic import smin
from ..spec.architectures import AttentionImpl, Norm, Position
from .context import Ctx
from .workload import Phase


def visible_past(c: Ctx, i: int) -> Any:
    """Cached positions layer i reads this step: all of them, or for a sliding-window
    layer the last window - 1."""
    past = c.w.past
    if not past or not c.s.is_sliding(i):
        return past
    return smin(past, c.s.sliding_window - 1)


def self_attention(c: Ctx, x: str, i: int, name: str, causal: bool = True, bias: str | None = None) -> str:
    """Projections, attention over the visible past + new positions, output projection."""
    s, w, b = c.s, c.w, c.b
    if s.mla is not None:
        return mla_attention(c, x, name)
    d, h, kv, hd = s.hidden_size, s.num_heads, s.kv_heads, s.hd
    bsz, _ = c.bs
    sizes = [h * hd, kv * hd, kv * hd]
    if s.fused_qkv:
        qkv = c.linear(x, d, sum(sizes), f"{name}.qkv", s.qkv_bias)
        q, k, v = c.split(qkv, sizes, f"{name}.split")
    else:
        q = c.linear(x, d, sizes[0], f"{name}.q", s.qkv_bias)
        k = c.linear(x, d, sizes[1], f"{name}.k", s.qkv_bias)
        v = c.linear(x, d, sizes[2], f"{name}.v", s.qkv_bias)
    if s.qk_norm:
        q = b.node(
            "RMSNormalization", [q, b.weight(f"{name}.q_norm.weight", (hd,), w.dtype)], name=f"{name}.q_norm", axis=-1
        )
        k = b.node(
            "RMSNormalization", [k, b.weight(f"{name}.k_norm.weight", (hd,), w.dtype)], name=f"{name}.k_norm", axis=-1
        )
    past = visible_past(c, i)
    if w.eager_code and s.attn_implementation is AttentionImpl.EAGER:
        y = eager_attention(c, q, k, v, h, kv, hd, name, past=past, bias=bias)
        return c.linear(y, h * hd, d, f"{name}.o", s.o_bias)
    if w.attention == "unfused" and bias is None and s.position is not Position.ALIBI:
        return c.linear(unfused_attention(c, q, k, v, past, name), h * hd, d, f"{name}.o", s.o_bias)
    ins = [q, k, v]
    attrs: dict[str, Any] = {"num_heads": h, "kv_num_heads": kv, "causal": int(causal)}
    if past:
        ins += [
            b.input(f"{name}.past_key", (bsz, kv, past, hd), w.kvdt),
            b.input(f"{name}.past_value", (bsz, kv, past, hd), w.kvdt),
        ]
    if bias is not None:  # additive score bias (T5 relative positions): GQA input 10
        ins += [""] * (10 - len(ins)) + [bias]
    if s.position is Position.ROPE:
        attrs["do_rotary"] = 1
    if s.is_sliding(i):
        attrs["local_window_size"] = s.sliding_window - 1
    if s.position is Position.ALIBI:
        attrs["alibi"] = 1
    if w.attention_dtype is not None:
        attrs["output_dtype"] = ONNX_CODES[w.attention_dtype.name]
    y = b.node("GroupQueryAttention", ins, n_out=3, domain="com.microsoft", name=f"{name}.attn", **attrs)[0]
    return c.linear(y, h * hd, d, f"{name}.o", s.o_bias, x_dtype=w.attention_dtype)


def unfused_attention(c: Ctx, q: str, k: str, v: str, past: Any, name: str) -> str:
    """Attention with the scores in memory (eager PyTorch's math path, Megatron-LM's
    CoreAttention before flash attention): Q K^T for every (query, key) pair, causal or
    not (the mask is applied, not skipped), one fused scale-mask-softmax kernel, P V, and
    the context permuted back to (batch, seq, heads x dim) with a copy. Q, K and V are
    strided views of the projection (no copies); the cache is read in place."""
    s, w, b = c.s, c.w, c.b
    h, kv, hd = s.num_heads, s.kv_heads, s.hd
    bsz, seq = c.bs
    t = seq + past if past else seq
    qh = c.view(q, (bsz, h, seq, hd), f"{name}.q_heads")
    if past:
        k = b.input(f"{name}.key_cache", (bsz, kv, t, hd), w.kvdt)
        v = b.input(f"{name}.value_cache", (bsz, kv, t, hd), w.kvdt)
    kt = c.view(k, (bsz, kv, hd, t), f"{name}.k_t")
    vh = c.view(v, (bsz, kv, t, hd), f"{name}.v_heads")
    if kv != h:  # grouped queries share a head: the query heads of a group batched together
        qh = c.view(qh, (bsz, kv, (h // kv) * seq, hd), f"{name}.q_groups")
    scores = b.node("MatMul", [qh, kt], name=f"{name}.scores")
    probs = b.node("Softmax", [scores], name=f"{name}.softmax", axis=-1)
    ctx = b.node("MatMul", [probs, vh], name=f"{name}.context")
    ctx = b.node(
        "Transpose", [c.view(ctx, (bsz, h, seq, hd), f"{name}.ctx_heads")], name=f"{name}.permute", perm=[0, 2, 1, 3]
    )
    return c.view(ctx, (bsz, seq, h * hd), f"{name}.ctx_flat")


def eager_attention(
    c: Ctx,
    q: str,
    k: str,
    v: str,
    h: int,
    kv: int,
    hd: int,
    name: str,
    *,
    past: Any = 0,
    bias: str | None = None,
    kv_len: Any = None,
) -> str:
    """Attention as eager PyTorch model code runs it (Hugging Face
    `eager_attention_forward`, attn_implementation="eager"): q k^T through memory, one
    kernel each for the scale, the additive bias or mask (T5 folds its mask into the
    position bias; ALiBi adds its slopes, then the mask), softmax, and the product with v.
    torch.matmul folds batch and head dims into one bmm batch, which copies an operand
    whose heads were split by a transpose (q; k and v unless they come contiguous out of
    the cache), and the heads are merged back by `transpose(1, 2).contiguous()`. Cached
    keys and values are concatenated with the new ones (DynamicCache: torch.cat per layer
    and step); grouped KV heads are repeated to every query head (repeat_kv). Input
    [b, s, h*hd] (k, v: [b, kv_len, kv*hd]) -> output [b, s, h*hd]. Rotary embeddings are
    not expanded into their elementwise kernels."""
    s, w, b = c.s, c.w, c.b
    bsz, seq = c.bs
    new = seq if kv_len is None else kv_len
    total = new + past

    def split(t: str, n: int, length: Any, tag: str) -> str:
        return c.view(t, (bsz, length, n, hd), f"{name}.{tag}_heads")

    qh = b.node("Transpose", [split(q, h, seq, "q")], name=f"{name}.q_copy", perm=(0, 2, 1, 3))
    if past:
        # the cache holds [b, kv, past, hd]; the new positions join it through a strided view
        pk = b.input(f"{name}.past_key", (bsz, kv, past, hd), w.kvdt)
        pv = b.input(f"{name}.past_value", (bsz, kv, past, hd), w.kvdt)
        knew = c.view(split(k, kv, new, "k"), (bsz, kv, new, hd), f"{name}.k_t")
        vnew = c.view(split(v, kv, new, "v"), (bsz, kv, new, hd), f"{name}.v_t")
        kc = b.node("Concat", [pk, knew], name=f"{name}.cat_k", axis=2)
        vh = b.node("Concat", [pv, vnew], name=f"{name}.cat_v", axis=2)
        kt = c.view(kc, (bsz, kv, hd, total), f"{name}.k_transposed")  # bmm reads it transposed
    else:
        kt = b.node("Transpose", [split(k, kv, new, "k")], name=f"{name}.k_copy", perm=(0, 2, 3, 1))
        vh = b.node("Transpose", [split(v, kv, new, "v")], name=f"{name}.v_copy", perm=(0, 2, 1, 3))
    if kv != h:
        rep = b.ints(f"{name}.repeat", [1, h // kv, 1, 1])
        kt = b.node("Tile", [kt, rep], name=f"{name}.repeat_k")
        vh = b.node("Tile", [vh, rep], name=f"{name}.repeat_v")
    scores = b.node("MatMul", [qh, kt], name=f"{name}.scores")
    scores = b.node("Mul", [scores, b.input(f"{name}.scale", (), w.dtype)], name=f"{name}.scale_scores")
    if bias is not None:
        scores = b.node("Add", [scores, bias], name=f"{name}.add_bias")
    else:
        if s.position is Position.ALIBI:
            slopes = b.input(f"{name}.alibi", (1, h, 1, total), w.dtype)
            scores = b.node("Add", [scores, slopes], name=f"{name}.add_alibi")
        mask = b.input(f"{name}.mask", (bsz, 1, seq, total), w.dtype)
        scores = b.node("Add", [scores, mask], name=f"{name}.add_mask")
    probs = b.node("Softmax", [scores], name=f"{name}.softmax", axis=-1)
    y = b.node("MatMul", [probs, vh], name=f"{name}.context")  # [b, h, s, hd]
    y = b.node("Transpose", [y], name=f"{name}.merge_heads", perm=(0, 2, 1, 3))
    return c.view(y, (bsz, seq, h * hd), f"{name}.merged")


def mla_attention(c: Ctx, x: str, name: str) -> str:
    """DeepSeek multi-head latent attention (DeepSeek-V2, sec. 2.1). Prefill: K and V are
    projected up from the latent per head (kv_b). Decode: the up-projections are absorbed
    into the query (W_UK) and the output (W_UV), as serving engines run it, and attention
    runs over the cached latent (kv_lora_rank + rope dims) as one shared KV head. W_UK
    and W_UV together are kv_b's parameters."""
    s, w, b = c.s, c.w, c.b
    m = s.mla
    assert m is not None
    d, h = s.hidden_size, s.num_heads
    nope, rope, vd, lora = m.qk_nope_head_dim, m.qk_rope_head_dim, m.v_head_dim, m.kv_lora_rank
    dq = nope + rope
    bsz, seq = c.bs
    if m.q_lora_rank:
        qa = c.norm(c.linear(x, d, m.q_lora_rank, f"{name}.q_a"), m.q_lora_rank, f"{name}.q_a_norm", Norm.RMSNORM)
        q = c.linear(qa, m.q_lora_rank, h * dq, f"{name}.q_b")
    else:
        q = c.linear(x, d, h * dq, f"{name}.q")
    kva = c.linear(x, d, lora + rope, f"{name}.kv_a")
    latent, k_rope = c.split(kva, [lora, rope], f"{name}.kv_split")
    latent = c.norm(latent, lora, f"{name}.kv_a_norm", Norm.RMSNORM)
    if w.phase is Phase.DECODE:
        q_nope, q_rope = c.split(q, [h * nope, h * rope], f"{name}.q_split")
        w_uk = b.weight(f"{name}.kv_b.w_uk", (h, nope, lora), w.wdt)
        w_uv = b.weight(f"{name}.kv_b.w_uv", (h, lora, vd), w.wdt)
        q_lat = b.node(
            "MatMul", [c.view(q_nope, (bsz, h, seq, nope), f"{name}.q_nope_v"), w_uk], name=f"{name}.absorb_k"
        )
        q_cat = b.node(
            "Concat",
            [
                c.view(q_lat, (bsz, seq, h, lora), f"{name}.q_lat_v"),
                c.view(q_rope, (bsz, seq, h, rope), f"{name}.q_rope_v"),
            ],
            name=f"{name}.q_cat",
            axis=-1,
        )
        k_new = b.node("Concat", [latent, k_rope], name=f"{name}.latent_cat", axis=-1)
        ins = [c.view(q_cat, (bsz, seq, h * (lora + rope)), f"{name}.q_flat"), k_new, latent]
        if w.past:
            ins += [
                "",
                b.input(f"{name}.past_latent", (bsz, 1, w.past, lora + rope), w.kvdt),
                b.input(f"{name}.past_latent_v", (bsz, 1, w.past, lora), w.kvdt),
            ]
        y = b.node("Attention", ins, n_out=3, name=f"{name}.attn", q_num_heads=h, kv_num_heads=1, is_causal=1)[0]
        y = b.node("MatMul", [c.view(y, (bsz, h, seq, lora), f"{name}.y_v"), w_uv], name=f"{name}.absorb_v")
        y = c.view(y, (bsz, seq, h * vd), f"{name}.y_flat")
    else:
        kv = c.linear(latent, lora, h * (nope + vd), f"{name}.kv_b")
        k_nope, v = c.split(kv, [h * nope, h * vd], f"{name}.kv_b_split")
        rope_all = b.node(
            "Expand",
            [
                c.view(k_rope, (bsz, seq, 1, rope), f"{name}.k_rope_v"),
                b.ints(f"{name}.rope_shape", [bsz, seq, h, rope]),
            ],
            name=f"{name}.rope_expand",
        )
        k = b.node(
            "Concat", [c.view(k_nope, (bsz, seq, h, nope), f"{name}.k_nope_v"), rope_all], name=f"{name}.k_cat", axis=-1
        )
        ins = [q, c.view(k, (bsz, seq, h * dq), f"{name}.k_flat"), v]
        if w.past:
            ins += [
                "",
                b.input(f"{name}.past_key", (bsz, h, w.past, dq), w.kvdt),
                b.input(f"{name}.past_value", (bsz, h, w.past, vd), w.kvdt),
            ]
        y = b.node("Attention", ins, n_out=3, name=f"{name}.attn", q_num_heads=h, kv_num_heads=h, is_causal=1)[0]
    return c.linear(y, h * vd, d, f"{name}.o")


def linear_attention(c: Ctx, x: str, name: str) -> str:
    """Linear attention, or RetNet's multi-scale retention (Sun et al. 2023, sec. 2.2:
    q, k of width d, v and a swish gate of value_factor x d, a per-head norm, then the
    output projection), in the chunkwise form over a prefill when linear.chunk_size is set."""
    s = c.s
    lin = s.linear
    assert lin is not None  # filled in by validation
    d, h, hd = s.hidden_size, s.num_heads, s.hd
    vd = hd * lin.value_factor
    bsz, seq = c.bs
    q = c.linear(x, d, h * hd, f"{name}.q")
    k = c.linear(x, d, h * hd, f"{name}.k")
    v = c.linear(x, d, h * vd, f"{name}.v")
    ins = [
        c.view(q, (bsz, seq, h, hd), f"{name}.q_heads"),
        c.view(k, (bsz, seq, h, hd), f"{name}.k_heads"),
        c.view(v, (bsz, seq, h, vd), f"{name}.v_heads"),
    ]
    chunk = lin.chunk_size if c.w.phase is not Phase.DECODE else 0
    attrs = {"chunk_size": chunk, "decay": int(lin.decay)}
    y = c.b.node("LinearAttention", ins, domain="costmodel", name=f"{name}.core", **attrs)
    if lin.head_norm:  # GroupNorm over each head without affine parameters (torchscale)
        y = c.b.node(
            "RMSNormalization",
            [y, c.b.input(f"{name}.unit_scale", (vd,), c.w.dtype)],
            name=f"{name}.head_norm",
            axis=-1,
        )
    y = c.view(y, (bsz, seq, h * vd), f"{name}.flat")
    if lin.output_gate:
        g = c.linear(x, d, h * vd, f"{name}.g")
        y = c.b.node("Mul", [c.b.node("Swish", [g], name=f"{name}.g_act"), y], name=f"{name}.gated")
    return c.linear(y, h * vd, d, f"{name}.o")
