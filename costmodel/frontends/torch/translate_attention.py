"""Attention: scaled_dot_product_attention and nn.MultiheadAttention's fused path."""

from __future__ import annotations

from ...ir.graph import TensorInfo
from ...symbolic import prod, Shape
from .op import _Op
from .table import _reg


def _bnsd(s: Shape) -> Shape:
    """A (batch, heads, seq, head_dim) view of an SDPA operand: 3-D is one head, more
    leading dims fold into the batch."""
    if len(s) == 4:
        return s
    if len(s) == 3:
        return (s[0], 1, s[1], s[2])
    return (int(prod(s[:-2])), 1, s[-2], s[-1])


# -- attention ----------------------------------------------------------------------------
@_reg("aten::scaled_dot_product_attention")
def _sdpa(t: _Op) -> None:
    """ONNX Attention (opset 23) on (batch, heads, seq, head_dim) views of q, k, v, with
    enable_gqa's grouped heads and an additive/boolean mask as the rule's mask input.
    Causal (see the package docstring): "skip" is the rule's causal mode (only unmasked
    pairs); "dense" scores every pair and adds the causal mask an opset-17 export stores,
    one add per score, as the rule's mask input."""
    q, k, v = t.shape(0), t.shape(1), t.shape(2)
    names: list[str] = []
    for i, (label, s) in enumerate((("q", q), ("k", k), ("v", v))):
        if len(s) == 4:
            names.append(t.val(i))
        else:
            view = t.tmp(label)
            t.alias(t.val(i), [view], [t.info(i)._replace(shape=_bnsd(s))], suffix=f"/{label}")
            names.append(view)
    mask = t.opt(3)
    causal = bool(t.const(5, False))
    attrs = {"is_causal": 0}
    if causal and t.w.causal == "skip":
        attrs["is_causal"] = 1
    elif causal and mask is None:
        qd = t.info(0).dtype
        assert qd is not None  # a traced tensor with a known shape has a dtype
        mask = t.w.stored((_bnsd(q)[2], _bnsd(k)[2]), qd)
    out = t.out_names()
    if len(q) != 4:
        out = [t.tmp("y")]
    t.emit("Attention", [*names, mask], attrs, outputs=out)
    if len(q) != 4:
        t.alias(out[0], t.out_names(), [t.out_info(0)], suffix="/out")


@_reg("aten::_native_multi_head_attention")
def _native_mha(t: _Op) -> None:
    """nn.MultiheadAttention's fused path: packed QKV projection, attention, output
    projection (three kernels). The attention reads the packed projection as its Q, K
    and V views."""
    q, kk = t.shape(0), t.shape(1)
    heads = int(t.const(4))
    e = q[-1]
    d = e // heads
    b, sq, skv = q[0], q[1], kk[1]
    x = t.info(0)
    qkv = t.tmp("qkv")
    t.emit("Linear", [t.val(0), t.val(5), t.val(6)], {"transB": 1}, domain="costmodel", outputs=[qkv], suffix="/qkv")
    views = [t.tmp("q"), t.tmp("k"), t.tmp("v")]
    shapes = [(b, heads, sq, d), (b, heads, skv, d), (b, heads, skv, d)]
    t.alias(qkv, views, [TensorInfo(x.dtype, s) for s in shapes], suffix="/heads")
    att, merged = t.tmp("att"), t.tmp("merged")
    t.emit("Attention", [*views, t.opt(9)], {"is_causal": 0}, outputs=[att], suffix="/attention")
    t.alias(att, [merged], [TensorInfo(x.dtype, (b, sq, e))], suffix="/merge")
    out = t.out_names()
    t.emit(
        "Linear", [merged, t.val(7), t.val(8)], {"transB": 1}, domain="costmodel", outputs=out[:1], suffix="/out_proj"
    )
    if len(out) > 1:  # the attention weights, not computed (need_weights=False)
        t.factory("Empty", outputs=out[1:], infos=[t.out_info(1)], suffix="/weights")
