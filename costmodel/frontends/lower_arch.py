"""Lowering for the architectures beyond the decoder transformer: state-space mixers
(Mamba, Mamba-2), RWKV-6, linear attention, encoder-decoder (T5), ViT and diffusion
transformers (DiT). Parameter layouts follow the reference implementations (HF
transformers MambaMixer / Mamba2Mixer, RWKV-6 "Finch", T5, torchvision ViT, DiT).
"""

from __future__ import annotations

import math
from typing import Any

from ..ir.dtypes import dtype as to_dtype
from ..ir.graph import Graph
from .lower import Ctx, Segment, Workload, batch_seq, embedding, ffn, head, self_attention
from .spec import ModelSpec

FP32 = to_dtype("fp32")


def _view(c: Ctx, t: str, shape: tuple, tag: str) -> str:
    return c.b.node("View", [t], domain="costmodel", name=tag, shape=tuple(shape))


def mixer_layer(c: Ctx, x: str, i: int, kind: str) -> Graph:
    s, d = c.s, c.s.hidden_size
    if kind == "mamba":
        y = (
            mamba2(c, c.norm(x, d, "norm"), "mixer")
            if s.architecture == "mamba2"
            or (s.ssm is not None and s.architecture == "hybrid" and s.ssm.headdim and s.ssm.ngroups > 1)
            else mamba1(c, c.norm(x, d, "norm"), "mixer")
        )
    elif kind == "rwkv":
        return rwkv6_layer(c, x, i)
    elif kind == "linear":
        y = linear_attention(c, c.norm(x, d, "norm"), "mixer")
    else:  # pragma: no cover - attention layers go through decoder_layer
        raise ValueError(kind)
    x = c.b.node("Add", [x, y], name="residual_1")
    if s.intermediate_size and s.architecture not in ("mamba", "mamba2"):
        x = c.b.node("Add", [x, ffn(c, c.norm(x, d, "ln_2"), i, "mlp")], name="residual_2")
    c.b.output(x)
    return c.b.build()


def _causal_conv(c: Ctx, u: str, channels: int, name: str, bias: bool) -> str:
    """Depthwise causal conv1d over the sequence (prefill), or over the cached window of
    d_conv positions (decode: the conv state is read and rewritten)."""
    s, w, b = c.s, c.w, c.b
    k = s.ssm.d_conv
    bsz, seq = batch_seq(w)
    ut = _view(c, u, (bsz, channels, seq), f"{name}.chw")
    ins = [ut, b.weight(f"{name}.weight", (channels, 1, k), w.dtype)]
    if bias:
        ins.append(b.weight(f"{name}.bias", (channels,), w.dtype))
    if w.phase == "decode":
        state = b.input(f"{name}.conv_state", (bsz, channels, k - 1), w.dtype)
        ins[0] = b.node("Concat", [state, ut], name=f"{name}.window", axis=-1)
        y = b.node("Conv", ins, name=name, group=channels, kernel_shape=[k])
    else:
        y = b.node("Conv", ins, name=name, group=channels, kernel_shape=[k], pads=[k - 1, 0])
    return _view(c, b.node("Swish", [y], name=f"{name}.silu"), (bsz, seq, channels), f"{name}.bsc")


def mamba1(c: Ctx, x: str, name: str) -> str:
    s, w, b = c.s, c.w, c.b
    d, m = s.hidden_size, s.ssm
    di = m.expand * d
    r = m.dt_rank or math.ceil(d / 16)
    bsz, _seq = batch_seq(w)
    xz = c.linear(x, d, 2 * di, f"{name}.in_proj", m.proj_bias)
    u, z = c.split(xz, [di, di], f"{name}.xz")
    u = _causal_conv(c, u, di, f"{name}.conv1d", m.conv_bias)
    dbc = c.linear(u, di, r + 2 * m.d_state, f"{name}.x_proj")
    dt, bm, cm = c.split(dbc, [r, m.d_state, m.d_state], f"{name}.dbc")
    dt = c.b.node("Softplus", [c.linear(dt, r, di, f"{name}.dt_proj", True)], name=f"{name}.softplus")
    ins = [u, dt, b.weight(f"{name}.A_log", (di, m.d_state), FP32), bm, cm, b.weight(f"{name}.D", (di,), FP32), z]
    if w.phase == "decode":
        ins.append(b.input(f"{name}.ssm_state", (bsz, di, m.d_state), FP32))
    y = b.node("SelectiveScan", ins, n_out=2, domain="costmodel", name=f"{name}.scan", d_state=m.d_state)[0]
    return c.linear(y, di, d, f"{name}.out_proj", m.proj_bias)


def mamba2(c: Ctx, x: str, name: str) -> str:
    s, w, b = c.s, c.w, c.b
    d, m = s.hidden_size, s.ssm
    di = m.expand * d
    nh = di // m.headdim
    gn = m.ngroups * m.d_state
    bsz, seq = batch_seq(w)
    proj = c.linear(x, d, 2 * di + 2 * gn + nh, f"{name}.in_proj", m.proj_bias)
    z, xbc, dt = c.split(proj, [di, di + 2 * gn, nh], f"{name}.split")
    xbc = _causal_conv(c, xbc, di + 2 * gn, f"{name}.conv1d", m.conv_bias)
    u, bm, cm = c.split(xbc, [di, gn, gn], f"{name}.xbc")
    for p in ("dt_bias", "A_log", "D"):
        b.weight(f"{name}.{p}", (nh,), FP32)
    ins = [
        _view(c, u, (bsz, seq, nh, m.headdim), f"{name}.heads"),
        dt,
        bm,
        cm,
        b.prefix + f"{name}.dt_bias",
        b.prefix + f"{name}.A_log",
        b.prefix + f"{name}.D",
    ]
    if w.phase == "decode":
        ins.append(b.input(f"{name}.ssm_state", (bsz, nh, m.headdim, m.d_state), FP32))
    y = b.node(
        "SSD",
        ins,
        n_out=2,
        domain="costmodel",
        name=f"{name}.ssd",
        d_state=m.d_state,
        chunk_size=m.chunk_size if w.phase != "decode" else 1,
    )[0]
    y = _view(c, y, (bsz, seq, di), f"{name}.flat")
    y = b.node("Mul", [y, b.node("Swish", [z], name=f"{name}.gate")], name=f"{name}.gated")
    y = c.norm(y, di, f"{name}.norm", "rmsnorm")
    return c.linear(y, di, d, f"{name}.out_proj", m.proj_bias)


def rwkv6_layer(c: Ctx, x: str, i: int) -> Graph:
    """RWKV-6 "Finch" block (Peng et al. 2024): token shift with data-dependent lerp
    (LoRA w1/w2), receptance/key/value/gate/output projections, decay LoRA, WKV, GroupNorm
    per head; channel mix with squared ReLU."""
    s, w, b = c.s, c.w, c.b
    d, r = s.hidden_size, s.rwkv
    h = d // r.head_size
    ffn_dim = s.intermediate_size or int(d * 3.5) // 32 * 32
    bsz, seq = batch_seq(w)
    if i == 0:
        x = c.norm(x, d, "ln0", "layernorm")
    xa = c.norm(x, d, "ln1", "layernorm")
    prev = b.input("shift_state", (bsz, 1, d), w.dtype) if w.phase == "decode" else xa
    dx = b.node("Sub", [prev, xa], name="att.shift")
    for p in (
        "time_maa_x",
        "time_maa_w",
        "time_maa_k",
        "time_maa_v",
        "time_maa_r",
        "time_maa_g",
        "time_decay",
        "time_faaaa",
    ):
        b.weight(f"att.{p}", (d,), w.dtype)
    xx = b.node("Add", [xa, b.node("Mul", [dx, b.prefix + "att.time_maa_x"], name="att.maa_x")], name="att.mix_x")
    lo = c.linear(
        b.node("Tanh", [c.linear(xx, d, 5 * r.time_mix_extra_dim, "att.maa_w1")], name="att.maa_tanh"),
        5 * r.time_mix_extra_dim,
        5 * d,
        "att.maa_w2",
    )
    mixes = c.split(lo, [d] * 5, "att.maa_split")
    proj = []
    for k, nm in enumerate(("w", "k", "v", "r", "g")):
        proj.append(b.node("Add", [xa, b.node("Mul", [dx, mixes[k]], name=f"att.lerp_{nm}")], name=f"att.mix_{nm}"))
    decay = c.linear(
        b.node("Tanh", [c.linear(proj[0], d, r.time_decay_extra_dim, "att.decay_w1")], name="att.decay_tanh"),
        r.time_decay_extra_dim,
        d,
        "att.decay_w2",
    )
    kk = c.linear(proj[1], d, d, "att.key")
    vv = c.linear(proj[2], d, d, "att.value")
    rr = c.linear(proj[3], d, d, "att.receptance")
    gg = b.node("Swish", [c.linear(proj[4], d, d, "att.gate")], name="att.gate_silu")
    ins = [
        _view(c, t, (bsz, seq, h, r.head_size), f"att.{n}_heads")
        for t, n in ((rr, "r"), (kk, "k"), (vv, "v"), (decay, "w"))
    ]
    if w.phase == "decode":
        ins.append(b.input("att.wkv_state", (bsz, h, r.head_size, r.head_size), FP32))
    y = b.node("WKV", ins, n_out=2, domain="costmodel", name="att.wkv")[0]
    y = b.node(
        "GroupNormalization",
        [
            _view(c, y, (bsz * seq, d, 1), "att.gn_in"),
            b.weight("att.ln_x.weight", (d,), w.dtype),
            b.weight("att.ln_x.bias", (d,), w.dtype),
        ],
        name="att.ln_x",
        num_groups=h,
    )
    y = b.node("Mul", [_view(c, y, (bsz, seq, d), "att.gn_out"), gg], name="att.gated")
    x = b.node("Add", [x, c.linear(y, d, d, "att.output")], name="residual_1")
    xf = c.norm(x, d, "ln2", "layernorm")
    for p in ("time_maa_k", "time_maa_r"):
        b.weight(f"ffn.{p}", (d,), w.dtype)
    prevf = b.input("ffn_shift_state", (bsz, 1, d), w.dtype) if w.phase == "decode" else xf
    dxf = b.node("Sub", [prevf, xf], name="ffn.shift")
    xk = b.node("Add", [xf, b.node("Mul", [dxf, b.prefix + "ffn.time_maa_k"], name="ffn.lerp_k")], name="ffn.mix_k")
    xr = b.node("Add", [xf, b.node("Mul", [dxf, b.prefix + "ffn.time_maa_r"], name="ffn.lerp_r")], name="ffn.mix_r")
    k2 = b.node("Relu", [c.linear(xk, d, ffn_dim, "ffn.key")], name="ffn.relu")
    k2 = b.node("Mul", [k2, k2], name="ffn.square")
    rv = b.node("Sigmoid", [c.linear(xr, d, d, "ffn.receptance")], name="ffn.sigmoid")
    y = b.node("Mul", [rv, c.linear(k2, ffn_dim, d, "ffn.value")], name="ffn.gated")
    x = b.node("Add", [x, y], name="residual_2")
    c.b.output(x)
    return c.b.build()


def linear_attention(c: Ctx, x: str, name: str) -> str:
    s, w, b = c.s, c.w, c.b
    d, h, hd = s.hidden_size, s.num_heads, s.hd
    bsz, seq = batch_seq(w)
    q = c.linear(x, d, h * hd, f"{name}.q")
    k = c.linear(x, d, h * hd, f"{name}.k")
    v = c.linear(x, d, h * hd, f"{name}.v")
    ins = [_view(c, t, (bsz, seq, h, hd), f"{name}.{n}_heads") for t, n in ((q, "q"), (k, "k"), (v, "v"))]
    y = b.node("LinearAttention", ins, domain="costmodel", name=f"{name}.core")
    return c.linear(_view(c, y, (bsz, seq, h * hd), f"{name}.flat"), h * hd, d, f"{name}.o")


# -- encoder-decoder, ViT, DiT ---------------------------------------------------------


def lower_other(spec: ModelSpec, wl: Workload) -> list[Segment]:
    if spec.architecture == "encoder-decoder":
        return _t5(spec, wl)
    if spec.architecture == "vit":
        return _vit(spec, wl)
    return _dit(spec, wl)


def _t5_layer(spec: ModelSpec, wl: Workload, decoder: bool, first: bool, name: str) -> Graph:
    c = Ctx(spec, wl, name)
    s, d, h, hd = spec, spec.hidden_size, spec.num_heads, spec.hd
    b = c.b
    bsz, seq = batch_seq(wl)
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
        if wl.phase == "decode":
            kc = b.input("cross_key", (bsz, h, wl.encoder_len, hd), wl.kvdt)
            vc = b.input("cross_value", (bsz, h, wl.encoder_len, hd), wl.kvdt)
            b.weight("cross.k.weight", (d, h * hd), wl.wdt)
            b.weight("cross.v.weight", (d, h * hd), wl.wdt)
            k0 = b.input("cross_k_new", (bsz, 0, h * hd), wl.dtype)
            y = b.node("Attention", [q, k0, k0, "", kc, vc], n_out=3, name="cross.attn", q_num_heads=h, kv_num_heads=h)[
                0
            ]
        else:
            k = c.linear(enc, d, h * hd, "cross.k")
            v = c.linear(enc, d, h * hd, "cross.v")
            y = b.node("Attention", [q, k, v], n_out=3, name="cross.attn", q_num_heads=h, kv_num_heads=h)[0]
        x = b.node("Add", [x, c.linear(y, h * hd, d, "cross.o")], name="residual_cross")
    x = b.node("Add", [x, c.mlp(c.norm(x, d, "ln_ff"), s.intermediate_size, "ff")], name="residual_ff")
    b.output(x)
    return b.build()


def _t5(spec: ModelSpec, wl: Workload) -> list[Segment]:
    """Prefill: the encoder over the prompt, then the first decoder step (cross K/V
    projected once from the encoder states). Decode: one decoder step with the self-
    attention cache and the cached cross K/V."""
    segs: list[Segment] = []
    n_enc, n_dec = spec.num_layers, spec.num_decoder_layers
    if wl.phase != "decode":
        enc_wl = Workload("forward", wl.batch, wl.seq, 0, "none", wl.dtype, wl.weight_dtype, wl.kv_dtype)
        segs.append(Segment("embed", embedding(spec, enc_wl)))
        segs.append(Segment("encoder.layers[0]", _t5_layer(spec, enc_wl, False, True, "enc")))
        if n_enc > 1:
            segs.append(
                Segment(
                    f"encoder.layers[1..{n_enc - 1}]x{n_enc - 1}",
                    _t5_layer(spec, enc_wl, False, False, "enc"),
                    n_enc - 1,
                )
            )
        segs.append(Segment("encoder.final_norm", _final_norm(spec, enc_wl)))
        dec_wl = Workload("prefill", wl.batch, 1, 0, wl.logits, wl.dtype, wl.weight_dtype, wl.kv_dtype, wl.seq)
    else:
        dec_wl = wl
    segs.append(Segment("decoder.embed", embedding(spec, dec_wl, "dec_embed")))
    segs.append(Segment("decoder.layers[0]", _t5_layer(spec, dec_wl, True, True, "dec")))
    if n_dec > 1:
        segs.append(
            Segment(
                f"decoder.layers[1..{n_dec - 1}]x{n_dec - 1}", _t5_layer(spec, dec_wl, True, False, "dec"), n_dec - 1
            )
        )
    segs.append(Segment("head", head(spec, dec_wl)))
    return segs


def _final_norm(spec: ModelSpec, wl: Workload) -> Graph:
    c = Ctx(spec, wl, "enc_final")
    bsz, seq = batch_seq(wl)
    x = c.b.input("h", (bsz, seq, spec.hidden_size), wl.dtype)
    c.b.output(c.norm(x, spec.hidden_size, "final_norm"))
    return c.b.build()


def _encoder_layer(spec: ModelSpec, wl: Workload, name: str, tokens: Any) -> Graph:
    c = Ctx(spec, wl, name)
    d = spec.hidden_size
    x = c.b.input("h", (wl.batch, tokens, d), wl.dtype)
    a = self_attention(c, c.norm(x, d, "ln_1"), 0, "attn", causal=False)
    x = c.b.node("Add", [x, a], name="residual_1")
    x = c.b.node("Add", [x, c.mlp(c.norm(x, d, "ln_2"), spec.intermediate_size, "mlp")], name="residual_2")
    c.b.output(x)
    return c.b.build()


def _vit(spec: ModelSpec, wl: Workload) -> list[Segment]:
    s, d, p = spec, spec.hidden_size, spec.patch_size
    n = (s.image_size // p) ** 2
    tokens = n + (1 if s.class_token else 0)
    fw = Workload("forward", wl.batch, tokens, 0, "none", wl.dtype, wl.weight_dtype, wl.kv_dtype)
    c = Ctx(spec, fw, "patch")
    img = c.b.input("pixel_values", (wl.batch, s.num_channels, s.image_size, s.image_size), wl.dtype)
    x = c.b.node(
        "Conv",
        [
            img,
            c.b.weight("conv_proj.weight", (d, s.num_channels, p, p), wl.dtype),
            c.b.weight("conv_proj.bias", (d,), wl.dtype),
        ],
        name="conv_proj",
        kernel_shape=[p, p],
        strides=[p, p],
    )
    x = _view(c, x, (wl.batch, n, d), "tokens")
    if s.class_token:
        cls = c.b.node(
            "Expand",
            [c.b.weight("class_token", (1, 1, d), wl.dtype), c.b.ints("cls_shape", [wl.batch, 1, d])],
            name="cls_expand",
        )
        x = c.b.node("Concat", [cls, x], name="cat_cls", axis=1)
    x = c.b.node("Add", [x, c.b.weight("pos_embedding", (1, tokens, d), wl.dtype)], name="add_pos")
    c.b.output(x)
    segs = [
        Segment("patch_embed", c.b.build()),
        Segment(
            f"encoder.layers[0..{s.num_layers - 1}]x{s.num_layers}",
            _encoder_layer(spec, fw, "layer", tokens),
            s.num_layers,
        ),
    ]
    hc = Ctx(spec, fw, "head")
    x = hc.b.input("h", (wl.batch, tokens, d), wl.dtype)
    x = hc.norm(x, d, "ln")
    x = hc.b.node("Gather", [x, hc.b.ints("cls_index", [0])], name="cls_token", axis=1)
    if s.num_classes:
        x = hc.linear(x, d, s.num_classes, "heads", True, wdt=wl.dtype)
    hc.b.output(x)
    segs.append(Segment("head", hc.b.build()))
    return segs


def _dit(spec: ModelSpec, wl: Workload) -> list[Segment]:
    """One denoising step of a DiT (Peebles & Xie 2023) with adaLN-Zero blocks; the
    planner multiplies by the number of steps (and 2 for classifier-free guidance)."""
    s, d, p = spec, spec.hidden_size, spec.patch_size
    n = (s.image_size // p) ** 2
    out_ch = s.num_channels * (2 if s.learn_sigma else 1)
    fw = Workload("forward", wl.batch, n, 0, "none", wl.dtype, wl.weight_dtype, wl.kv_dtype)
    c = Ctx(spec, fw, "embed")
    b = c.b
    img = b.input("latent", (wl.batch, s.num_channels, s.image_size, s.image_size), wl.dtype)
    x = b.node(
        "Conv",
        [
            img,
            b.weight("x_embedder.weight", (d, s.num_channels, p, p), wl.dtype),
            b.weight("x_embedder.bias", (d,), wl.dtype),
        ],
        name="x_embedder",
        kernel_shape=[p, p],
        strides=[p, p],
    )
    # fixed sin-cos table, stored as a (frozen) nn.Parameter in the reference code
    x = b.node(
        "Add", [_view(c, x, (wl.batch, n, d), "tokens"), b.weight("pos_embed", (1, n, d), wl.dtype)], name="add_pos"
    )
    freq = b.input("t_freq", (wl.batch, 256), wl.dtype)
    t = c.linear(
        b.node("Swish", [c.linear(freq, 256, d, "t_embedder.0", True)], name="t_silu"), d, d, "t_embedder.2", True
    )
    ytab = b.weight("y_embedder.weight", (s.num_classes + 1, d), wl.dtype)
    yv = b.node("Gather", [ytab, b.input("labels", (wl.batch,), to_dtype("int64"))], name="y_embedder", axis=0)
    b.node("Add", [t, yv], name="cond")
    b.output(x)
    segs = [Segment("embed", b.build())]
    blk = Ctx(spec, fw, "block")
    bb = blk.b
    x = bb.input("h", (wl.batch, n, d), wl.dtype)
    cond = bb.input("c", (wl.batch, 1, d), wl.dtype)
    ones = bb.input("unit_scale", (d,), wl.dtype)
    mod = blk.linear(bb.node("Swish", [cond], name="adaln_silu"), d, 6 * d, "adaLN_modulation", True)
    parts = blk.split(mod, [d] * 6, "adaln_split")

    def modulate(t: str, shift: str, scale: str, tag: str) -> str:
        return bb.node("Add", [bb.node("Mul", [t, scale], name=f"{tag}.scale"), shift], name=f"{tag}.shift")

    h1 = modulate(bb.node("LayerNormalization", [x, ones], name="norm1", axis=-1), parts[0], parts[1], "mod1")
    a = self_attention(blk, h1, 0, "attn", causal=False)
    x = bb.node("Add", [x, bb.node("Mul", [a, parts[2]], name="gate_msa")], name="residual_1")
    h2 = modulate(bb.node("LayerNormalization", [x, ones], name="norm2", axis=-1), parts[3], parts[4], "mod2")
    x = bb.node(
        "Add",
        [x, bb.node("Mul", [blk.mlp(h2, s.intermediate_size, "mlp"), parts[5]], name="gate_mlp")],
        name="residual_2",
    )
    bb.output(x)
    segs.append(Segment(f"blocks[0..{s.num_layers - 1}]x{s.num_layers}", bb.build(), s.num_layers))
    fc = Ctx(spec, fw, "final")
    fb = fc.b
    x = fb.input("h", (wl.batch, n, d), wl.dtype)
    cond = fb.input("c", (wl.batch, 1, d), wl.dtype)
    ones = fb.input("unit_scale", (d,), wl.dtype)
    mod = fc.linear(fb.node("Swish", [cond], name="adaln_silu"), d, 2 * d, "adaLN_modulation", True)
    shift, scale = fc.split(mod, [d, d], "adaln_split")
    h = fb.node(
        "Add",
        [
            fb.node(
                "Mul", [fb.node("LayerNormalization", [x, ones], name="norm_final", axis=-1), scale], name="mod.scale"
            ),
            shift,
        ],
        name="mod.shift",
    )
    fb.output(fc.linear(h, d, p * p * out_ch, "linear", True))
    segs.append(Segment("final_layer", fb.build()))
    return segs
