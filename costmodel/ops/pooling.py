"""Pooling. Max pooling compares each window element (kernel volume per output);
average pooling adds them and divides once; Lp pooling raises, adds and roots."""

from __future__ import annotations

from typing import Any

from ..ir.dtypes import INT64
from ..symbolic import norm, prod, Shape
from .context import NodeContext
from .cost import Cost
from .formulas import conv_geometry
from .registry import POOL, op


def pool_shape(ctx: NodeContext) -> tuple[Shape, Any]:
    x = ctx.shape(0)
    if len(x) < 3:
        raise ctx.fail(f"pooling input {x} must have rank >= 3")
    nsp = len(x) - 2
    kernel = tuple(ctx.attr("kernel_shape"))
    strides = tuple(ctx.attr("strides", None) or (1,) * nsp)
    dil = tuple(ctx.attr("dilations", None) or (1,) * nsp)
    out_sp, _ = conv_geometry(
        x[2:],
        kernel,
        strides,
        dil,
        ctx.attr("pads", None),
        ctx.attr("auto_pad", "NOTSET"),
        bool(ctx.attr("ceil_mode", 0)),
    )
    return x[:2] + tuple(out_sp), prod(kernel)


@op("MaxPool", kind=POOL)
def max_pool(ctx: NodeContext) -> Cost:
    """kernel volume compares per output element."""
    out, k = pool_shape(ctx)
    ctx.set_output(0, ctx.dtype(0), out)
    ctx.set_output(1, INT64, out)
    return Cost(flops=norm(prod(out) * k))


@op("AveragePool", kind=POOL)
def avg_pool(ctx: NodeContext) -> Cost:
    """kernel volume adds and 1 divide per output element."""
    out, k = pool_shape(ctx)
    ctx.set_output(0, ctx.dtype(0), out)
    return Cost(flops=norm(prod(out) * (k + 1)))


@op("LpPool", kind=POOL)
def lp_pool(ctx: NodeContext) -> Cost:
    """Per window element: pow and add (2, 1 transcendental); per output: 1 root."""
    out, k = pool_shape(ctx)
    ctx.set_output(0, ctx.dtype(0), out)
    n = prod(out)
    return Cost(flops=norm(n * (2 * k + 1)), transcendentals=norm(n * (k + 1)))


def _global(ctx: NodeContext) -> tuple[Any, Any]:
    x = ctx.shape(0)
    out = x[:2] + (1,) * (len(x) - 2)
    ctx.set_output(0, ctx.dtype(0), out)
    return prod(x), prod(out)


@op("GlobalAveragePool", kind=POOL)
def global_avg(ctx: NodeContext) -> Cost:
    """One add per input element, one divide per output."""
    n, m = _global(ctx)
    return Cost(flops=norm(n + m))


@op("GlobalMaxPool", kind=POOL)
def global_max(ctx: NodeContext) -> Cost:
    """One compare per input element."""
    n, _m = _global(ctx)
    return Cost(flops=n)


@op("GlobalLpPool", kind=POOL)
def global_lp(ctx: NodeContext) -> Cost:
    """Pow and add per input element; a root per output."""
    n, m = _global(ctx)
    return Cost(flops=norm(2 * n + m), transcendentals=norm(n + m))


@op("MaxRoiPool", kind=POOL)
def max_roi_pool(ctx: NodeContext) -> Cost:
    """Each output cell takes the max over its bin: bounded by one compare per input
    element of the region; counted as (H x W / pooled cells) per output cell."""
    x, rois = ctx.shape(0), ctx.shape(1)
    ph, pw = ctx.attr("pooled_shape")
    out = (rois[0], x[1], ph, pw)
    ctx.set_output(0, ctx.dtype(0), out)
    per_cell = norm((x[2] * x[3]) // (ph * pw)) if all(type(d) is int for d in x[2:]) else 1
    return Cost(flops=norm(prod(out) * max(per_cell, 1) if type(per_cell) is int else prod(out) * per_cell))


@op("MaxUnpool", kind=POOL)
def max_unpool(ctx: NodeContext) -> Cost:
    """A scatter: no arithmetic, one write per input element into a zeroed output."""
    x = ctx.shape(0)
    if ctx.has(2):
        shape = ctx.ints(2)
    else:
        nsp = len(x) - 2
        kernel = ctx.attr("kernel_shape")
        strides = ctx.attr("strides", None) or (1,) * nsp
        pads = ctx.attr("pads", None) or (0,) * (2 * nsp)
        shape = x[:2] + tuple(
            norm((x[2 + i] - 1) * strides[i] + kernel[i] - pads[i] - pads[i + nsp]) for i in range(nsp)
        )
    ctx.set_output(0, ctx.dtype(0), tuple(shape))
    return Cost()
