"""RWKV-6 "Finch" block (Peng et al. 2024, "Eagle and Finch", sec. 4), parameters and
data flow as the reference implementations (BlinkDL RWKV-LM RWKV_Tmix_x060 /
RWKV_CMix_x060; RWKV/v6-Finch-*-HF modeling_rwkv6.py Rwkv6SelfAttention,
Rwkv6FeedForward, Rwkv6Block):

  layer 0 only: ln0 (pre_ln) on the embedding
  time mix: xx = shift(x) - x; xxx = x + xx * maa_x;
            (m_w, m_k, m_v, m_r, m_g) = bmm(tanh(xxx @ maa_w1), maa_w2)   maa_w1 (d, 5D), maa_w2 (5, D, d)
            x_p = x + xx * (maa_p + m_p) for p in w, k, v, r, g
            decay = time_decay + tanh(x_w @ decay_w1) @ decay_w2
            r, k, v = linear(x_r), linear(x_k), linear(x_v); g = silu(linear(x_g))
            y = output(GroupNorm_H(WKV(r, k, v, decay, u = time_faaaa)) * g)
  channel mix: xx = shift(x) - x; k = relu(key(x + xx * maa_k))^2;
               y = sigmoid(receptance(x + xx * maa_r)) * value(k)
"""

from __future__ import annotations

from ...ir.dtypes import dtype as to_dtype
from ...ir.graph import Graph
from ..spec.architectures import Norm
from .context import Ctx
from .workload import Phase

FP32 = to_dtype("fp32")
MIXES = ("w", "k", "v", "r", "g")


def ffn_width(c: Ctx) -> int:
    """The channel-mix width: intermediate_size, else int(3.5 d / 32) x 32 (RWKV-LM
    train.py dim_ffn default; modeling_rwkv6.py Rwkv6FeedForward)."""
    d = c.s.hidden_size
    return c.s.intermediate_size or int((d * 3.5) // 32 * 32)


def rwkv6_layer(c: Ctx, x: str, i: int) -> Graph:
    s, w, b = c.s, c.w, c.b
    r = s.rwkv
    assert r is not None
    d = s.hidden_size
    h = d // r.head_size
    mix, dec = r.time_mix_extra_dim, r.time_decay_extra_dim
    bsz, seq = c.bs
    if i == 0 and s.arch.first_layer_norm:
        x = c.norm(x, d, "ln0", Norm.LAYERNORM)
    xa = c.norm(x, d, "ln1", Norm.LAYERNORM)
    prev = b.input("shift_state", (bsz, 1, d), w.dtype) if w.phase is Phase.DECODE else xa
    dx = b.node("Sub", [prev, xa], name="att.shift")
    maa = {p: b.weight(f"att.time_maa_{p}", (d,), w.dtype) for p in ("x", *MIXES)}
    xxx = b.node("Add", [xa, b.node("Mul", [dx, maa["x"]], name="att.maa_x")], name="att.mix_x")
    lora = b.node("Tanh", [c.linear(xxx, d, 5 * mix, "att.maa_w1")], name="att.maa_tanh")
    # (B, T, 5D) -> (5, B*T, D), then one batched product with maa_w2 (5, D, d)
    lora = c.view(lora, (5, bsz * seq, mix), "att.maa_lora_5")
    w2 = b.weight("att.time_maa_w2", (5, mix, d), w.wdt)
    mixed = c.split(
        c.view(b.node("MatMul", [lora, w2], name="att.maa_w2"), (bsz, seq, 5 * d), "att.maa_out"),
        [d] * 5,
        "att.maa_split",
    )
    xs = {}
    for p, m in zip(MIXES, mixed):
        coef = b.node("Add", [maa[p], m], name=f"att.maa_{p}_coef")
        xs[p] = b.node("Add", [xa, b.node("Mul", [dx, coef], name=f"att.lerp_{p}")], name=f"att.mix_{p}")
    lora_w = b.node("Tanh", [c.linear(xs["w"], d, dec, "att.decay_w1")], name="att.decay_tanh")
    decay = b.node(
        "Add",
        [b.weight("att.time_decay", (d,), w.dtype), c.linear(lora_w, dec, d, "att.decay_w2")],
        name="att.decay",
    )
    kk = c.linear(xs["k"], d, d, "att.key")
    vv = c.linear(xs["v"], d, d, "att.value")
    rr = c.linear(xs["r"], d, d, "att.receptance")
    gg = b.node("Swish", [c.linear(xs["g"], d, d, "att.gate")], name="att.gate_silu")
    ins = [
        c.view(t, (bsz, seq, h, r.head_size), f"att.{n}_heads")
        for t, n in ((rr, "r"), (kk, "k"), (vv, "v"), (decay, "w"))
    ]
    ins.append(b.weight("att.time_faaaa", (h, r.head_size), w.dtype))  # the bonus u of the current token
    if w.phase is Phase.DECODE:
        ins.append(b.input("att.wkv_state", (bsz, h, r.head_size, r.head_size), FP32))
    y = b.node("WKV", ins, n_out=2, domain="costmodel", name="att.wkv")[0]
    y = b.node(
        "GroupNormalization",
        [
            c.view(y, (bsz * seq, d, 1), "att.gn_in"),
            b.weight("att.ln_x.weight", (d,), w.dtype),
            b.weight("att.ln_x.bias", (d,), w.dtype),
        ],
        name="att.ln_x",
        num_groups=h,
    )
    y = b.node("Mul", [c.view(y, (bsz, seq, d), "att.gn_out"), gg], name="att.gated")
    x = b.node("Add", [x, c.linear(y, d, d, "att.output")], name="residual_1")
    x = b.node("Add", [x, channel_mix(c, x)], name="residual_2")
    b.output(x)
    return b.build()


def channel_mix(c: Ctx, x: str) -> str:
    s, w, b = c.s, c.w, c.b
    d, f = s.hidden_size, ffn_width(c)
    bsz, _ = c.bs
    xf = c.norm(x, d, "ln2", Norm.LAYERNORM)
    prev = b.input("ffn_shift_state", (bsz, 1, d), w.dtype) if w.phase is Phase.DECODE else xf
    dxf = b.node("Sub", [prev, xf], name="ffn.shift")
    maa = {p: b.weight(f"ffn.time_maa_{p}", (d,), w.dtype) for p in ("k", "r")}
    xk = b.node("Add", [xf, b.node("Mul", [dxf, maa["k"]], name="ffn.lerp_k")], name="ffn.mix_k")
    xr = b.node("Add", [xf, b.node("Mul", [dxf, maa["r"]], name="ffn.lerp_r")], name="ffn.mix_r")
    k2 = b.node("Relu", [c.linear(xk, d, f, "ffn.key")], name="ffn.relu")
    k2 = b.node("Mul", [k2, k2], name="ffn.square")
    rv = b.node("Sigmoid", [c.linear(xr, d, d, "ffn.receptance")], name="ffn.sigmoid")
    out: str = b.node("Mul", [rv, c.linear(k2, f, d, "ffn.value")], name="ffn.gated")
    return out
