"""Convolutions (ONNX Conv / ConvTranspose semantics incl. groups, dilations, auto_pad).
MACs = output elements x (input channels per group) x kernel volume; FLOPs = 2 x MACs
+ one add per output element for the bias."""

from __future__ import annotations

from typing import Any

from ..symbolic import norm, prod, Shape
from .context import NodeContext
from .cost import Cost
from .formulas import conv_geometry
from .kernel import ConvShape, GemmShape
from .registry import CONV, op


def conv_shape(ctx: NodeContext, x: Shape, w: Shape) -> tuple[Shape, dict[str, Any]]:
    if len(x) < 3 or len(w) != len(x):
        raise ctx.fail(f"Conv input {x} and weight {w} must have the same rank >= 3")
    group = ctx.attr("group", 1)
    n, c = x[0], x[1]
    m, cg = w[0], w[1]
    spatial = x[2:]
    kernel = tuple(ctx.attr("kernel_shape", None) or w[2:])
    nsp = len(spatial)
    if type(c) is int and type(cg) is int and c != cg * group:
        raise ctx.fail(f"Conv input has {c} channels but weight expects {cg} x group {group}")
    if type(m) is int and m % group:
        raise ctx.fail(f"Conv output channels {m} are not divisible by group {group}")
    strides = tuple(ctx.attr("strides", None) or (1,) * nsp)
    dil = tuple(ctx.attr("dilations", None) or (1,) * nsp)
    pads = ctx.attr("pads", None)
    out_sp, _used = conv_geometry(spatial, kernel, strides, dil, pads, ctx.attr("auto_pad", "NOTSET"))
    geom = dict(
        n=n,
        c=c,
        m=m,
        group=group,
        kernel=kernel,
        strides=strides,
        dilations=dil,
        spatial=tuple(spatial),
        out_spatial=tuple(out_sp),
    )
    return (n, m) + tuple(out_sp), geom


def conv_cost(ctx: NodeContext, out: Shape, w: Shape, has_bias: bool, geom: dict[str, Any]) -> Cost:
    cin_per_group = w[1]
    kvol = prod(w[2:])
    out_elems = prod(out)
    macs = norm(out_elems * cin_per_group * kvol)
    group = geom["group"]
    gemm = GemmShape(
        batch=group,
        m=norm(prod(out[2:]) * out[0]),
        n=norm(out[1] // group) if type(out[1]) is int else out[1],
        k=norm(cin_per_group * kvol),
    )
    ctx.set_kernel(ConvShape(**geom, transposed=False, bias=has_bias, gemm=gemm))
    return Cost(flops=norm(2 * macs + (out_elems if has_bias else 0)), macs=macs)


@op("Conv", kind=CONV)
def conv(ctx: NodeContext) -> Cost:
    """Conv: MACs = N x M x prod(out spatial) x C/group x prod(kernel). # 1x3x8x8 * 4x3x3x3, pad 1: 1*4*64*3*9 = 6912"""
    x, w = ctx.shape(0), ctx.shape(1)
    out, geom = conv_shape(ctx, x, w)
    ctx.set_output(0, ctx.dtype(0), out)
    return conv_cost(ctx, out, w, ctx.has(2), geom)


@op("ConvTranspose", kind=CONV)
def conv_transpose(ctx: NodeContext) -> Cost:
    """ConvTranspose: every input element is scattered through the kernel into M/group
    output channels: MACs = N x C x prod(in spatial) x M/group x prod(kernel)."""
    x, w = ctx.shape(0), ctx.shape(1)
    if len(x) < 3 or len(w) != len(x):
        raise ctx.fail(f"ConvTranspose input {x} and weight {w} must have the same rank >= 3")
    group = ctx.attr("group", 1)
    n, c = x[0], x[1]
    m = norm(w[1] * group)
    spatial = x[2:]
    nsp = len(spatial)
    kernel = tuple(ctx.attr("kernel_shape", None) or w[2:])
    strides = tuple(ctx.attr("strides", None) or (1,) * nsp)
    dil = tuple(ctx.attr("dilations", None) or (1,) * nsp)
    outpad = tuple(ctx.attr("output_padding", None) or (0,) * nsp)
    out_shape = ctx.attr("output_shape", None)
    auto_pad = (ctx.attr("auto_pad", "NOTSET") or "NOTSET").upper()
    if out_shape:
        out_sp = tuple(out_shape[-nsp:])
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out_sp = tuple(norm(spatial[i] * strides[i]) for i in range(nsp))
    else:
        pads = ctx.attr("pads", None) or (0,) * (2 * nsp)
        if auto_pad == "VALID":
            pads = (0,) * (2 * nsp)
        out_sp = tuple(
            norm(strides[i] * (spatial[i] - 1) + outpad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + nsp])
            for i in range(nsp)
        )
    out = (n, m) + out_sp
    ctx.set_output(0, ctx.dtype(0), out)
    macs = norm(prod(x) * w[1] * prod(kernel))
    ctx.set_kernel(
        ConvShape(
            n=n,
            c=c,
            m=m,
            group=group,
            kernel=tuple(kernel),
            strides=tuple(strides),
            dilations=tuple(dil),
            spatial=tuple(spatial),
            out_spatial=tuple(out_sp),
            transposed=True,
            bias=ctx.has(2),
            gemm=GemmShape(batch=group, m=norm(n * prod(spatial)), n=w[1], k=norm(c // group) if type(c) is int else c),
        )
    )
    return Cost(flops=norm(2 * macs + (prod(out) if ctx.has(2) else 0)), macs=macs)
