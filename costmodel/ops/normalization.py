"""Normalizations and softmax. Per-element counts are written at each rule; a per-row
rsqrt/log/exp is a transcendental."""

from __future__ import annotations

from typing import Any

from ..ir.dtypes import FP32
from ..symbolic import norm, prod, Shape
from .context import NodeContext
from .cost import Cost
from .formulas import normalize_axis
from .kernel import RowwiseShape
from .registry import NORMALIZATION, op


def _rows(shape: Shape, axis: int) -> Shape:
    return prod(shape[:axis]), prod(shape[axis:])


def layer_norm_cost(ctx: NodeContext, shape: Shape, bias: bool, axis: int = -1) -> Cost:
    """LayerNorm of a tensor of `shape` over the axes from `axis` on, as one row-wise kernel.
    Per element: mean add, subtract, square, variance add, normalize, scale (6) and bias
    add (+1); per row: 2 divides, eps add and 1 rsqrt (transcendental)."""
    axis = normalize_axis(axis, len(shape), ctx.where)
    rows, cols = _rows(shape, axis)
    ctx.set_kernel(RowwiseShape(rows=rows, cols=cols, softmax=False))
    per = 6 + (1 if bias else 0)
    return Cost(flops=norm(per * prod(shape) + 4 * rows), transcendentals=rows)


def rms_norm_cost(ctx: NodeContext, shape: Shape, axis: int = -1) -> Cost:
    """RMSNorm of a tensor of `shape` over the axes from `axis` on, as one row-wise kernel.
    Per element: square, sum, normalize, scale (4); per row: divide, eps add, rsqrt."""
    axis = normalize_axis(axis, len(shape), ctx.where)
    rows, cols = _rows(shape, axis)
    ctx.set_kernel(RowwiseShape(rows=rows, cols=cols, softmax=False))
    return Cost(flops=norm(4 * prod(shape) + 3 * rows), transcendentals=rows)


def group_norm_cost(shape: Shape, groups: int) -> Cost:
    """GroupNorm: as LayerNormalization over each (n, group): 7 per element, 4 + rsqrt per group."""
    g = norm(shape[0] * groups)
    return Cost(flops=norm(7 * prod(shape) + 4 * g), transcendentals=g)


@op("LayerNormalization", kind=NORMALIZATION)
def layer_norm(ctx: NodeContext) -> Cost:
    """Per element: mean add, subtract, square, variance add, normalize, scale (6) and
    bias add (+1); per row: 2 divides, eps add and 1 rsqrt (transcendental)."""
    s = ctx.shape(0)
    axis = normalize_axis(ctx.attr("axis", -1), len(s), ctx.where)
    cost = layer_norm_cost(ctx, s, ctx.has(2), axis)
    ctx.set_output(0, ctx.dtype(0), s)
    stat = s[:axis] + (1,) * (len(s) - axis)
    ctx.set_output(1, FP32, stat)
    ctx.set_output(2, FP32, stat)
    return cost


@op("RMSNormalization", kind=NORMALIZATION, since=23)
def rms_norm(ctx: NodeContext) -> Cost:
    """Per element: square, sum, normalize, scale (4); per row: divide, eps add, rsqrt."""
    s = ctx.shape(0)
    cost = rms_norm_cost(ctx, s, ctx.attr("axis", -1))
    ctx.set_output(0, ctx.dtype(0), s)
    return cost


@op("BatchNormalization", kind=NORMALIZATION)
def batch_norm(ctx: NodeContext) -> Cost:
    """Inference: y = x * a + b with a, b per channel (2 FLOPs per element) and per channel
    a = scale / sqrt(var + eps), b = bias - mean * a (4 FLOPs + 1 sqrt). Training mode
    also computes mean and variance (+4 per element)."""
    s = ctx.shape(0)
    c = s[1] if len(s) > 1 else 1
    ctx.set_output(0, ctx.dtype(0), s)
    training = ctx.attr("training_mode", 0) or (
        ctx.opset < 9 and ctx.attr("is_test", 1) == 0 and len(ctx.node.outputs) > 1
    )
    for k in range(1, 5):
        ctx.set_output(k, ctx.dtype(1) if ctx.has(1) else ctx.dtype(0), (c,))
    n = prod(s)
    per = 6 if training else 2
    return Cost(flops=norm(per * n + 4 * c), transcendentals=c)


@op("InstanceNormalization", kind=NORMALIZATION)
def instance_norm(ctx: NodeContext) -> Cost:
    """As LayerNormalization over each (n, c) plane: 7 per element, 4 + rsqrt per plane."""
    s = ctx.shape(0)
    rows = prod(s[:2])
    ctx.set_output(0, ctx.dtype(0), s)
    return Cost(flops=norm(7 * prod(s) + 4 * rows), transcendentals=rows)


@op("GroupNormalization", kind=NORMALIZATION, since=18)
def group_norm(ctx: NodeContext) -> Cost:
    """As LayerNormalization over each (n, group): 7 per element, 4 + rsqrt per group."""
    s = ctx.shape(0)
    ctx.set_output(0, ctx.dtype(0), s)
    return group_norm_cost(s, ctx.attr("num_groups"))


@op("MeanVarianceNormalization", kind=NORMALIZATION)
def mvn(ctx: NodeContext) -> Cost:
    """Mean, subtract, square, variance, divide: 5 per element; sqrt per slice."""
    s = ctx.shape(0)
    axes = ctx.attr("axes", (0, 2, 3))
    axes = {normalize_axis(a, len(s), ctx.where) for a in axes}
    slices = prod(d for i, d in enumerate(s) if i not in axes)
    ctx.set_output(0, ctx.dtype(0), s)
    return Cost(flops=norm(5 * prod(s) + 2 * slices), transcendentals=slices)


@op("LpNormalization", kind=NORMALIZATION)
def lp_norm(ctx: NodeContext) -> Cost:
    """p=2: square, sum, divide per element (3); sqrt per row. p=1: abs, sum, divide."""
    s = ctx.shape(0)
    axis = normalize_axis(ctx.attr("axis", -1), len(s), ctx.where)
    rows = norm(prod(s) // s[axis]) if type(s[axis]) is int and s[axis] else prod(s[:axis] + s[axis + 1 :])
    ctx.set_output(0, ctx.dtype(0), s)
    return Cost(flops=norm(3 * prod(s)), transcendentals=rows if ctx.attr("p", 2) == 2 else 0)


@op("LRN", kind=NORMALIZATION)
def lrn(ctx: NodeContext) -> Cost:
    """Per element: size multiply-adds for the squared window sum (2 x size), then
    alpha/size scale, add bias, pow (transcendental) and divide (4)."""
    s = ctx.shape(0)
    size = ctx.attr("size")
    ctx.set_output(0, ctx.dtype(0), s)
    n = prod(s)
    return Cost(flops=norm((2 * size + 4) * n), transcendentals=n)


def _softmax(ctx: NodeContext, log: bool) -> tuple[Any, Any]:
    s = ctx.shape(0)
    if ctx.opset < 13:
        axis = normalize_axis(ctx.attr("axis", 1), len(s), ctx.where)
        rows = prod(s[:axis])
    else:
        axis = normalize_axis(ctx.attr("axis", -1), len(s), ctx.where)
        rows = norm(prod(s) // s[axis]) if type(s[axis]) is int and s[axis] else prod(s[:axis] + s[axis + 1 :])
    ctx.set_output(0, ctx.dtype(0), s)
    n = prod(s)
    if ctx.opset >= 13:
        cols = s[axis]
    else:
        cols = norm(n // rows) if type(n) is int and type(rows) is int and rows else prod(s[axis:])
    ctx.set_kernel(RowwiseShape(rows=rows, cols=cols, softmax=True))
    return n, rows


@op("Softmax", kind=NORMALIZATION)
def softmax(ctx: NodeContext) -> Cost:
    """Per element: max, subtract, exp, sum, divide (5 FLOPs, 1 exp)."""
    n, _ = _softmax(ctx, False)
    return Cost(flops=norm(5 * n), transcendentals=n)


@op("LogSoftmax", kind=NORMALIZATION)
def log_softmax(ctx: NodeContext) -> Cost:
    """Per element: max, subtract, exp, sum, subtract (5 FLOPs, 1 exp); per row 1 log."""
    n, rows = _softmax(ctx, True)
    return Cost(flops=norm(5 * n + rows), transcendentals=norm(n + rows))


@op("Hardmax", kind=NORMALIZATION)
def hardmax(ctx: NodeContext) -> Cost:
    """Per element: a compare for the argmax and a write (2)."""
    n, _ = _softmax(ctx, False)
    return Cost(flops=norm(2 * n))
