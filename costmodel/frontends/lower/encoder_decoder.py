"""Encoder-decoder transformers (T5, Raffel et al. 2020): relative position buckets in
layer 0 of each stack, cross-attention over the encoder states."""

from __future__ import annotations

from ...ir.dtypes import dtype as to_dtype
from ...ir.graph import Graph
from ..spec import ModelSpec
from .attention import self_attention
from .context import Ctx
from .decoder import embedding, final_norm, head
from .workload import Logits, Phase, Segment, Workload, layers_label


def t5_layer(spec: ModelSpec, wl: Workload, decoder: bool, first: bool, name: str) -> Graph:
    c = Ctx(spec, wl, name)
    d, h, hd = spec.hidden_size, spec.num_heads, spec.hd
    b = c.b
    bsz, seq = c.bs
    x = b.input("h", (bsz, seq, d), wl.dtype)
    kv_len = seq + wl.past
    pos_bias = None
    if spec.relative_buckets:
        # the bias is computed once per stack (layer 0, from the bucket table) and added to
        # the scores of every layer
        pos_bias = b.input("position_bias", (1, h, seq, kv_len), wl.dtype)
        if first:
            table = b.weight("relative_attention_bias", (spec.relative_buckets, h), wl.dtype)
            buckets = b.input("relative_buckets", (seq, kv_len), to_dtype("int64"))
            b.node("Gather", [table, buckets], name="relative_bias", axis=0)
    a = self_attention(c, c.norm(x, d, "ln_self"), 0, "self", causal=decoder, bias=pos_bias)
    x = b.node("Add", [x, a], name="residual_self")
    if decoder:
        enc = b.input("encoder_states", (bsz, wl.encoder_len, d), wl.dtype)
        q = c.linear(c.norm(x, d, "ln_cross"), d, h * hd, "cross.q")
        if wl.phase is Phase.DECODE:
            kc = b.input("cross_key", (bsz, h, wl.encoder_len, hd), wl.kvdt)
            vc = b.input("cross_value", (bsz, h, wl.encoder_len, hd), wl.kvdt)
            b.weight("cross.k.weight", (d, h * hd), wl.wdt)
            b.weight("cross.v.weight", (d, h * hd), wl.wdt)
            k0 = b.input("cross_k_new", (bsz, 0, h * hd), wl.dtype)
            attn = b.node(
                "Attention", [q, k0, k0, "", kc, vc], n_out=3, name="cross.attn", q_num_heads=h, kv_num_heads=h
            )
        else:
            k = c.linear(enc, d, h * hd, "cross.k")
            v = c.linear(enc, d, h * hd, "cross.v")
            attn = b.node("Attention", [q, k, v], n_out=3, name="cross.attn", q_num_heads=h, kv_num_heads=h)
        x = b.node("Add", [x, c.linear(attn[0], h * hd, d, "cross.o")], name="residual_cross")
    x = b.node("Add", [x, c.mlp(c.norm(x, d, "ln_ff"), spec.intermediate_size, "ff")], name="residual_ff")
    b.output(x)
    return b.build()


def _stack(spec: ModelSpec, wl: Workload, decoder: bool, n: int, stack: str, name: str) -> list[Segment]:
    segs = [Segment(layers_label(stack, (0,)), t5_layer(spec, wl, decoder, True, name), (0,), stack)]
    if n > 1:
        rest = tuple(range(1, n))
        segs.append(Segment(layers_label(stack, rest), t5_layer(spec, wl, decoder, False, name), rest, stack))
    return segs


def lower_t5(spec: ModelSpec, wl: Workload) -> list[Segment]:
    """Prefill: the encoder over the prompt, then the first decoder step (cross K/V
    projected once from the encoder states). Decode: one decoder step with the self-
    attention cache and the cached cross K/V."""
    segs: list[Segment] = []
    if wl.phase is not Phase.DECODE:
        enc_wl = Workload(Phase.FORWARD, wl.batch, wl.seq, 0, Logits.NONE, wl.dtype, wl.weight_dtype, wl.kv_dtype)
        segs.append(Segment("embed", embedding(spec, enc_wl)))
        segs += _stack(spec, enc_wl, False, spec.num_layers, "encoder.layers", "enc")
        segs.append(Segment("encoder.final_norm", final_norm(spec, enc_wl, "enc_final")))
        dec_wl = Workload(Phase.PREFILL, wl.batch, 1, 0, wl.logits, wl.dtype, wl.weight_dtype, wl.kv_dtype, wl.seq)
    else:
        dec_wl = wl
    segs.append(Segment("decoder.embed", embedding(spec, dec_wl, "dec_embed")))
    segs += _stack(spec, dec_wl, True, spec.num_decoder_layers, "decoder.layers", "dec")
    segs.append(Segment("head", head(spec, dec_wl)))
    return segs
