"""State-space token mixers: Mamba-1 (selective scan, Gu & Dao 2023) and Mamba-2 (state-
space duality, Dao & Gu 2024), parameter layouts as HF transformers' MambaMixer /
Mamba2Mixer."""

from __future__ import annotations

import math

from ...ir.dtypes import dtype as to_dtype
from ..spec.architectures import Norm
from .context import Ctx
from .workload import Phase

FP32 = to_dtype("fp32")


def causal_conv(
    c: Ctx, u: str, channels: int, name: str, bias: bool, width: int | None = None, silu: bool = True
) -> str:
    """Depthwise causal conv1d over the sequence (prefill), or over the cached window of
    `width` positions (decode: the conv state is read and rewritten); Mamba's d_conv and
    SiLU unless told otherwise."""
    s, w, b = c.s, c.w, c.b
    if width is None:
        assert s.ssm is not None
        width = s.ssm.d_conv
    k = width
    bsz, seq = c.bs
    ut = c.view(u, (bsz, channels, seq), f"{name}.chw")
    ins = [ut, b.weight(f"{name}.weight", (channels, 1, k), w.dtype)]
    if bias:
        ins.append(b.weight(f"{name}.bias", (channels,), w.dtype))
    if w.phase is Phase.DECODE:
        state = b.input(f"{name}.conv_state", (bsz, channels, k - 1), w.dtype)
        ins[0] = b.node("Concat", [state, ut], name=f"{name}.window", axis=-1)
        y = b.node("Conv", ins, name=name, group=channels, kernel_shape=[k])
    else:
        y = b.node("Conv", ins, name=name, group=channels, kernel_shape=[k], pads=[k - 1, 0])
    if silu:
        y = b.node("Swish", [y], name=f"{name}.silu")
    return c.view(y, (bsz, seq, channels), f"{name}.bsc")


def mamba1(c: Ctx, x: str, name: str) -> str:
    s, w, b = c.s, c.w, c.b
    m = s.ssm
    assert m is not None
    d = s.hidden_size
    di = m.expand * d
    r = m.dt_rank or math.ceil(d / 16)
    bsz, _ = c.bs
    xz = c.linear(x, d, 2 * di, f"{name}.in_proj", m.proj_bias)
    u, z = c.split(xz, [di, di], f"{name}.xz")
    u = causal_conv(c, u, di, f"{name}.conv1d", m.conv_bias)
    dbc = c.linear(u, di, r + 2 * m.d_state, f"{name}.x_proj")
    dt, bm, cm = c.split(dbc, [r, m.d_state, m.d_state], f"{name}.dbc")
    dt = b.node("Softplus", [c.linear(dt, r, di, f"{name}.dt_proj", True)], name=f"{name}.softplus")
    ins = [u, dt, b.weight(f"{name}.A_log", (di, m.d_state), FP32), bm, cm, b.weight(f"{name}.D", (di,), FP32), z]
    if w.phase is Phase.DECODE:
        ins.append(b.input(f"{name}.ssm_state", (bsz, di, m.d_state), FP32))
    y = b.node("SelectiveScan", ins, n_out=2, domain="costmodel", name=f"{name}.scan", d_state=m.d_state)[0]
    return c.linear(y, di, d, f"{name}.out_proj", m.proj_bias)


def mamba2(c: Ctx, x: str, name: str) -> str:
    s, w, b = c.s, c.w, c.b
    m = s.ssm
    assert m is not None
    d = s.hidden_size
    di = m.expand * d
    nh = di // m.headdim
    gn = m.ngroups * m.d_state
    bsz, seq = c.bs
    proj = c.linear(x, d, 2 * di + 2 * gn + nh, f"{name}.in_proj", m.proj_bias)
    z, xbc, dt = c.split(proj, [di, di + 2 * gn, nh], f"{name}.split")
    xbc = causal_conv(c, xbc, di + 2 * gn, f"{name}.conv1d", m.conv_bias)
    u, bm, cm = c.split(xbc, [di, gn, gn], f"{name}.xbc")
    params = [b.weight(f"{name}.{p}", (nh,), FP32) for p in ("dt_bias", "A_log", "D")]
    ins = [c.view(u, (bsz, seq, nh, m.headdim), f"{name}.heads"), dt, bm, cm, *params]
    if w.phase is Phase.DECODE:
        ins.append(b.input(f"{name}.ssm_state", (bsz, nh, m.headdim, m.d_state), FP32))
    y = b.node(
        "SSD",
        ins,
        n_out=2,
        domain="costmodel",
        name=f"{name}.ssd",
        d_state=m.d_state,
        chunk_size=m.chunk_size if w.phase is not Phase.DECODE else 1,
    )[0]
    y = c.view(y, (bsz, seq, di), f"{name}.flat")
    y = b.node("Mul", [y, b.node("Swish", [z], name=f"{name}.gate")], name=f"{name}.gated")
    y = c.norm(y, di, f"{name}.norm", Norm.RMSNORM)
    return c.linear(y, di, d, f"{name}.out_proj", m.proj_bias)
