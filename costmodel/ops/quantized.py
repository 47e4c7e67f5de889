"""Linear quantization (ONNX QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear)
and the integer contractions (QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger).

The integer contractions do the same multiply-accumulates as Conv / MatMul. On top of
them: one subtract per operand element for each zero point (the operand is shifted once
before the product, as the spec's formula `(a - a_zero_point) * (b - b_zero_point)`
reads), and for the QLinear ops a requantization of every output (multiply by the
combined scale, round, add y_zero_point, clamp = 4 FLOPs). The combined scale
`a_scale * b_scale / y_scale` is a function of constants in practice (runtimes fold it at
load time) and is not counted.
"""

from __future__ import annotations

from typing import Any

from ..ir.dtypes import DTYPES, FP32, ONNX_DTYPES
from ..symbolic import ceildiv, norm, prod, Shape
from .conv import conv_cost, conv_shape
from .context import NodeContext
from .cost import Cost
from .formulas import matmul_shapes, normalize_axis
from .kernel import GemmShape
from .registry import CONTRACTION, CONV, QUANTIZE, op

INT32 = DTYPES["int32"]
UINT8 = DTYPES["uint8"]

# Per element: divide by scale, round (to nearest even), add zero point, clamp.
QUANT_FLOPS = 4
# Per element: subtract zero point, multiply by scale.
DEQUANT_FLOPS = 2
# Per output of a QLinear op: multiply by the combined scale, round, add zero point, clamp.
REQUANT_FLOPS = 4


def _check_scale(ctx: NodeContext, x: Shape, scale_i: int, zp_i: int) -> None:
    """Per-tensor, per-axis or blocked granularity, from the scale's shape (ONNX
    QuantizeLinear-21): a scalar, a 1-D tensor of length x[axis], or x's shape with
    ceil(x[axis] / block_size) along the axis."""
    if ctx.info(scale_i).shape is None:
        return  # nothing to check against; the output does not depend on it
    ss = ctx.shape(scale_i)
    if ctx.has(zp_i) and ctx.info(zp_i).shape is not None:
        zs = ctx.shape(zp_i)
        scalars = prod(zs) == 1 and prod(ss) == 1  # () and (1,) are both per-tensor
        if not scalars and (
            len(zs) != len(ss) or any(type(a) is int and type(b) is int and a != b for a, b in zip(zs, ss))
        ):
            raise ctx.fail(f"zero point shape {zs} differs from scale shape {ss}")
    n = prod(ss)
    if len(ss) == 0 or (type(n) is int and n == 1 and len(ss) <= 1):
        return
    block = ctx.attr("block_size", 0) or 0
    if len(ss) == 1 and not block:
        if not x:
            raise ctx.fail(f"per-axis scale {ss} for a scalar input")
        axis = normalize_axis(ctx.attr("axis", 1), len(x), ctx.where)
        if type(ss[0]) is int and type(x[axis]) is int and ss[0] != x[axis]:
            raise ctx.fail(f"per-axis scale of length {ss[0]} for axis {axis} of size {x[axis]}")
        return
    if block and len(ss) == len(x):
        axis = normalize_axis(ctx.attr("axis", 1), len(x), ctx.where)
        for i, (d, s) in enumerate(zip(x, ss)):
            want = ceildiv(d, block) if i == axis else d
            if type(want) is int and type(s) is int and want != s:
                raise ctx.fail(f"blocked scale {ss} does not fit input {x} with block_size {block} on axis {axis}")
        return
    raise ctx.fail(f"scale shape {ss} fits neither per-tensor, per-axis nor blocked quantization of {x}")


@op("QuantizeLinear", kind=QUANTIZE, since=10)
def quantize_linear(ctx: NodeContext) -> Cost:
    """Per element: divide by scale, round, add zero point, clamp = 4 FLOPs. The zero
    point defaults to 0 and the spec's formula still adds it. Output type: output_dtype
    (opset 21), else y_zero_point's type, else uint8."""
    x = ctx.shape(0)
    _check_scale(ctx, x, 1, 2)
    code = int(ctx.attr("output_dtype", 0) or 0)
    if code:
        dt = ONNX_DTYPES.get(code)
        if dt is None:
            raise ctx.fail(f"unknown output_dtype {code}")
    elif ctx.has(2):
        dt = ctx.info(2).dtype or UINT8
    else:
        dt = UINT8
    ctx.set_output(0, dt, x)
    return Cost(flops=norm(QUANT_FLOPS * prod(x)))


@op("DequantizeLinear", kind=QUANTIZE, since=10)
def dequantize_linear(ctx: NodeContext) -> Cost:
    """Per element: subtract zero point, multiply by scale = 2 FLOPs. Output type:
    output_dtype (opset 23), else the scale's type."""
    x = ctx.shape(0)
    _check_scale(ctx, x, 1, 2)
    code = int(ctx.attr("output_dtype", 0) or 0)
    dt = ONNX_DTYPES.get(code) if code else ctx.dtype(1)
    if dt is None:
        raise ctx.fail(f"unknown output_dtype {code}")
    ctx.set_output(0, dt, x)
    return Cost(flops=norm(DEQUANT_FLOPS * prod(x)))


@op("DynamicQuantizeLinear", kind=QUANTIZE, since=11)
def dynamic_quantize_linear(ctx: NodeContext) -> Cost:
    """Per element: a min and a max (2) and the quantization (4) = 6 FLOPs. Once: widen
    the range to include 0 (2), scale = (max - min) / 255 (2), zero point =
    clamp(round(-min / scale)) (4) = 8 FLOPs. Outputs y (uint8), y_scale (float scalar),
    y_zero_point (uint8 scalar)."""
    x = ctx.shape(0)
    ctx.set_output(0, UINT8, x)
    ctx.set_output(1, FP32, ())
    ctx.set_output(2, UINT8, ())
    return Cost(flops=norm(6 * prod(x) + 8))


def _zp_flops(ctx: NodeContext, pairs: tuple[tuple[int, int | None], ...]) -> Any:
    """One subtract per element of each operand that has a zero point."""
    total = 0
    for operand, zp in pairs:
        if zp is None or ctx.has(zp):
            total = total + prod(ctx.shape(operand))
    return total


@op("QLinearConv", kind=CONV, since=10)
def qlinear_conv(ctx: NodeContext) -> Cost:
    """Conv MACs (see conv.py) x 2, + 1 subtract per x and per w element (zero points),
    + 1 bias add per output when B is given, + 4 per output (requantize). Output type:
    y_zero_point's type."""
    x, w = ctx.shape(0), ctx.shape(3)
    out, geom = conv_shape(ctx, x, w)
    ctx.set_output(0, ctx.info(7).dtype or UINT8, out)
    base = conv_cost(ctx, out, w, ctx.has(8), geom)
    extra = _zp_flops(ctx, ((0, None), (3, None))) + REQUANT_FLOPS * prod(out)
    return Cost(flops=norm(base.flops + extra), macs=base.macs)


@op("ConvInteger", kind=CONV, since=10)
def conv_integer(ctx: NodeContext) -> Cost:
    """Conv MACs x 2 (int32 accumulation), + 1 subtract per x element when x_zero_point
    is given and per w element when w_zero_point is given. Output int32."""
    x, w = ctx.shape(0), ctx.shape(1)
    out, geom = conv_shape(ctx, x, w)
    ctx.set_output(0, INT32, out)
    base = conv_cost(ctx, out, w, False, geom)
    return Cost(flops=norm(base.flops + _zp_flops(ctx, ((0, 2), (1, 3)))), macs=base.macs)


def _int_matmul(ctx: NodeContext, a_i: int, b_i: int) -> tuple[Shape, Any]:
    out, batch, m, n, k = matmul_shapes(ctx.shape(a_i), ctx.shape(b_i), ctx.where)
    macs = norm(batch * m * n * k)
    ctx.set_kernel(GemmShape(batch=batch, m=m, n=n, k=k))
    return out, macs


@op("QLinearMatMul", kind=CONTRACTION, since=10)
def qlinear_matmul(ctx: NodeContext) -> Cost:
    """numpy.matmul MACs = batch x M x N x K; FLOPs = 2 x MACs + 1 subtract per a and per
    b element (zero points) + 4 per output (requantize). Output type: y_zero_point's."""
    out, macs = _int_matmul(ctx, 0, 3)
    ctx.set_output(0, ctx.info(7).dtype or UINT8, out)
    extra = _zp_flops(ctx, ((0, None), (3, None))) + REQUANT_FLOPS * prod(out)
    return Cost(flops=norm(2 * macs + extra), macs=macs)


@op("MatMulInteger", kind=CONTRACTION, since=10)
def matmul_integer(ctx: NodeContext) -> Cost:
    """numpy.matmul MACs = batch x M x N x K; FLOPs = 2 x MACs + 1 subtract per a element
    when a_zero_point is given and per b element when b_zero_point is. Output int32."""
    out, macs = _int_matmul(ctx, 0, 1)
    ctx.set_output(0, INT32, out)
    return Cost(flops=norm(2 * macs + _zp_flops(ctx, ((0, 2), (1, 3)))), macs=macs)
