"""Encoder-decoder transformers (T5, Raffel et al. 2020; Switch Transformers, Fedus et
al. 2022: T5 with routed experts in every sparse_step-th feed-forward): relative position
buckets in layer 0 of each stack, cross-attention over the encoder states."""

from __future__ import annotations

from dataclasses import replace

from ...ir.dtypes import dtype as to_dtype
from ...ir.graph import Graph
from ..spec import ModelSpec
from ..spec.architectures import AttentionImpl
from .attention import eager_attention, self_attention
from .context import Ctx
from .decoder import embedding, ffn
from .heads import final_norm, head
from .workload import Logits, Phase, Segment, Workload, layers_label


def t5_layer(spec: ModelSpec, wl: Workload, decoder: bool, i: int, name: str) -> Graph:
    """Layer i of the encoder or decoder stack (its feed-forward routed when i is a sparse
    layer)."""
    c = Ctx(spec, wl, name)
    d, h = spec.hidden_size, spec.num_heads
    b = c.b
    bsz, seq = c.bs
    x = b.input("h", (bsz, seq, d), wl.dtype)
    kv_len = seq + wl.past
    pos_bias = None
    if spec.relative_buckets:
        # the bias is computed once per stack (layer 0, from the bucket table) and added to
        # the scores of every layer
        pos_bias = b.input("position_bias", (1, h, seq, kv_len), wl.dtype)
        if i == 0:
            table = b.weight("relative_attention_bias", (spec.relative_buckets, h), wl.dtype)
            buckets = b.input("relative_buckets", (seq, kv_len), to_dtype("int64"))
            b.node("Gather", [table, buckets], name="relative_bias", axis=0)
    a = self_attention(c, c.norm(x, d, "ln_self"), 0, "self", causal=decoder, bias=pos_bias)
    x = b.node("Add", [x, a], name="residual_self")
    if decoder:
        x = b.node("Add", [x, _cross_attention(c, c.norm(x, d, "ln_cross"))], name="residual_cross")
    x = b.node("Add", [x, ffn(c, c.norm(x, d, "ln_ff"), i, "ff")], name="residual_ff")
    b.output(x)
    return b.build()


def _cross_attention(c: Ctx, x: str) -> str:
    """Queries from the decoder, keys and values projected from the encoder states (once
    per sequence when decoding: cached)."""
    s, wl, b = c.s, c.w, c.b
    d, h, hd = s.hidden_size, s.num_heads, s.hd
    bsz, _ = c.bs
    q = c.linear(x, d, h * hd, "cross.q")
    if wl.phase is Phase.DECODE:
        kc = b.input("cross_key", (bsz, h, wl.encoder_len, hd), wl.kvdt)
        vc = b.input("cross_value", (bsz, h, wl.encoder_len, hd), wl.kvdt)
        b.weight("cross.k.weight", (d, h * hd), wl.wdt)
        b.weight("cross.v.weight", (d, h * hd), wl.wdt)
        k0 = b.input("cross_k_new", (bsz, 0, h * hd), wl.dtype)
        attn = b.node("Attention", [q, k0, k0, "", kc, vc], n_out=3, name="cross.attn", q_num_heads=h, kv_num_heads=h)
        y = attn[0]
    else:
        enc = b.input("encoder_states", (bsz, wl.encoder_len, d), wl.dtype)
        k = c.linear(enc, d, h * hd, "cross.k")
        v = c.linear(enc, d, h * hd, "cross.v")
        if wl.eager_code and s.attn_implementation is AttentionImpl.EAGER:
            # T5 adds the (zero) cross-attention position bias and the encoder mask as one
            mask = b.input("cross_mask", (bsz, 1, c.bs[1], wl.encoder_len), wl.dtype)
            y = eager_attention(c, q, k, v, h, h, hd, "cross", bias=mask, kv_len=wl.encoder_len)
        else:
            y = b.node("Attention", [q, k, v], n_out=3, name="cross.attn", q_num_heads=h, kv_num_heads=h)[0]
    return c.linear(y, h * hd, d, "cross.o")


def _stack(spec: ModelSpec, wl: Workload, decoder: bool, n: int, stack: str, name: str) -> list[Segment]:
    """One segment per distinct layer: layer 0 (it owns the position-bias table), the
    sparse and the dense ones after it."""
    groups: dict[tuple[bool, bool], list[int]] = {}
    for i in range(n):
        groups.setdefault((i == 0, spec.is_moe_layer(i)), []).append(i)
    return [
        Segment(layers_label(stack, tuple(idx)), t5_layer(spec, wl, decoder, idx[0], name), tuple(idx), stack)
        for idx in groups.values()
    ]


def lower_t5(spec: ModelSpec, wl: Workload) -> list[Segment]:
    """Prefill (serving): the encoder over the prompt, then the first decoder step (cross
    K/V projected once from the encoder states). Decode: one decoder step with the self-
    attention cache and the cached cross K/V. A plain forward or a training step: the
    encoder over `seq` positions and the decoder over the whole (teacher-forced) target of
    `decoder_len` positions (as many as `seq` unless given)."""
    segs: list[Segment] = []
    if wl.phase is Phase.DECODE:
        dec_wl = wl
    else:
        enc_wl = replace(wl, phase=Phase.FORWARD, past=0, logits=Logits.NONE, encoder_len=0, decoder_len=0)
        segs.append(Segment("embed", embedding(spec, enc_wl)))
        segs += _stack(spec, enc_wl, False, spec.num_layers, "encoder.layers", "enc")
        segs.append(Segment("encoder.final_norm", final_norm(spec, enc_wl, "enc_final")))
        target = 1 if wl.phase is Phase.PREFILL else (wl.decoder_len or wl.seq)
        dec_wl = replace(wl, seq=target, past=0, encoder_len=wl.seq, decoder_len=0)
    segs.append(Segment("decoder.embed", embedding(spec, dec_wl, "dec_embed")))
    segs += _stack(spec, dec_wl, True, spec.num_decoder_layers, "decoder.layers", "dec")
    segs.append(Segment("head", head(spec, dec_wl)))
    return segs
