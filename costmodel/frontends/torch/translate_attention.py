"""Attention: scaled_dot_product_attention and nn.MultiheadAttention's fused path."""

from __future__ import annotations

from ...ops.cost import ZERO, Cost
from ...symbolic import norm, prod
from .op import _Op
from .table import _reg


# -- attention ----------------------------------------------------------------------------
@_reg("aten::scaled_dot_product_attention")
def _sdpa(t: _Op) -> None:
    """ONNX Attention (opset 23) on (batch, heads, seq, head_dim) views of q, k, v, with
    enable_gqa's grouped heads and an additive/boolean mask as the rule's mask input.
    Causal: see the package docstring (dense by default, as an opset-17 export)."""
    q, k, v = t.shape(0), t.shape(1), t.shape(2)

    def bnsd(s: tuple) -> tuple:
        if len(s) == 4:
            return s
        if len(s) == 3:
            return (s[0], 1, s[1], s[2])
        return (int(prod(s[:-2])), 1, s[-2], s[-1])

    qi = t.req(0)._replace(shape=bnsd(q))
    ki = t.req(1)._replace(shape=bnsd(k))
    vi = t.req(2)._replace(shape=bnsd(v))
    mask = None if t.is_none(3) else t.info(3)
    causal = bool(t.const(5, False))
    extra = ZERO
    attrs = {"is_causal": 0}
    if causal and t.w.causal == "skip":
        attrs["is_causal"] = 1
    elif causal:
        b, h, sq, skv = (*bnsd(q)[:3], bnsd(k)[2])
        extra = Cost(flops=norm(b * h * sq * skv))  # the additive causal mask of an export
    t.run("Attention", [qi, ki, vi, mask], attrs, n_out=1, extra=extra)


@_reg("aten::_native_multi_head_attention")
def _native_mha(t: _Op) -> None:
    """nn.MultiheadAttention's fused path: packed QKV projection, attention, output
    projection (three kernels)."""
    q, kk = t.shape(0), t.shape(1)
    heads = int(t.const(4))
    qkv_w, qkv_b, proj_w, proj_b = t.info(5), t.info(6), t.info(7), t.info(8)
    e = q[-1]
    d = e // heads
    b, sq, skv = q[0], q[1], kk[1]
    dt = t.info(0)
    w_e = [(t.w.get(t.ins[5]), qkv_w), (t.w.get(t.ins[6]), qkv_b)]
    y = dt._replace(shape=(b, sq, 3 * e))
    t.run(
        "Linear",
        [dt, qkv_w, qkv_b],
        {"transB": 1},
        domain="costmodel",
        reads=[(t.w.get(t.ins[0]), dt)] + w_e,
        writes=[y],
        suffix="/qkv",
    )
    qi = dt._replace(shape=(b, heads, sq, d))
    ki = dt._replace(shape=(b, heads, skv, d))
    mask = None if t.is_none(9) else t.info(9)
    att = dt._replace(shape=(b, sq, e))
    t.run("Attention", [qi, ki, ki, mask], {"is_causal": 0}, reads=[("qkv", y)], writes=[att], suffix="/attention")
    t.run(
        "Linear",
        [att, proj_w, proj_b],
        {"transB": 1},
        domain="costmodel",
        reads=[("att", att), (t.w.get(t.ins[7]), proj_w), (t.w.get(t.ins[8]), proj_b)],
        writes=[t.out_info(0)],
        suffix="/out_proj",
    )
