"""Reductions. A reduction of n elements into m outputs does n - m combining ops; the
per-element pre-ops (square, abs, exp) and per-output post-ops (divide, sqrt, log) are
added as written at each rule."""

from __future__ import annotations

import numpy as np

from ..ir.dtypes import INT64
from ..symbolic import norm, prod, Shape
from . import values
from .context import NodeContext
from .cost import Cost
from .formulas import normalize_axis
from .registry import REDUCTION, Rule, op

# op: (pre-ops per input element, post-ops per output, transcendentals per input, per output)
REDUCE = {
    "ReduceSum": (0, 0, 0, 0),
    "ReduceMax": (0, 0, 0, 0),
    "ReduceMin": (0, 0, 0, 0),
    "ReduceProd": (0, 0, 0, 0),
    "ReduceMean": (0, 1, 0, 0),
    "ReduceL1": (1, 0, 0, 0),
    "ReduceL2": (1, 1, 0, 1),
    "ReduceSumSquare": (1, 0, 0, 0),
    "ReduceLogSum": (0, 1, 0, 1),
    "ReduceLogSumExp": (2, 1, 1, 1),
}
# opset where `axes` moved from attribute to input
_AXES_INPUT = {"ReduceSum": 13}
_AXES_INPUT_18 = 18


def reduced_shape(ctx: NodeContext, s: Shape) -> tuple[Shape, set[int]]:
    t = ctx.node.op_type
    since_input = _AXES_INPUT.get(t, _AXES_INPUT_18)
    axes = None
    if ctx.opset >= since_input:
        if ctx.has(1):
            axes = ctx.ints(1)
    else:
        a = ctx.attr("axes", None)
        axes = tuple(a) if a is not None else None
    keep = ctx.attr("keepdims", 1)
    if not axes:
        if axes is not None and ctx.attr("noop_with_empty_axes", 0):
            return s, set()
        ax = set(range(len(s)))
    else:
        ax = {normalize_axis(a, len(s), ctx.where) for a in axes}
    out = tuple((1 if i in ax else d) for i, d in enumerate(s) if keep or i not in ax)
    return out, ax


def _make(t: str, per: tuple[int, int, int, int]) -> Rule:
    def rule(ctx: NodeContext) -> Cost:
        s = ctx.shape(0)
        out, ax = reduced_shape(ctx, s)
        data = None
        d = ctx.data(0)
        if d is not None and t in ("ReduceProd", "ReduceSum") and values.small(s) and d.dtype == object:
            f = np.prod if t == "ReduceProd" else np.sum
            data = values.apply(lambda a: f(a, axis=tuple(sorted(ax)), keepdims=bool(ctx.attr("keepdims", 1))), d)
        ctx.set_output(0, ctx.dtype(0), out, data)
        n, m = prod(s), prod(out)
        flops = norm(n - m + per[0] * n + per[1] * m) if ax else 0
        return Cost(flops=flops, transcendentals=norm(per[2] * n + per[3] * m) if ax else 0)

    rule.__doc__ = (
        f"{t}: n - m combining ops for n inputs and m outputs, plus {per[0]} per input "
        f"and {per[1]} per output; {per[2]}/{per[3]} transcendentals per input/output."
    )
    return rule


for _t, _p in REDUCE.items():
    op(_t, kind=REDUCTION)(_make(_t, _p))


@op("ArgMax", "ArgMin", kind=REDUCTION)
def argmax(ctx: NodeContext) -> Cost:
    """One compare per input element."""
    s = ctx.shape(0)
    axis = normalize_axis(ctx.attr("axis", 0), len(s), ctx.where)
    keep = ctx.attr("keepdims", 1)
    out = tuple((1 if i == axis else d) for i, d in enumerate(s) if keep or i != axis)
    ctx.set_output(0, INT64, out)
    return Cost(flops=prod(s))


@op("CumSum", kind=REDUCTION)
def cumsum(ctx: NodeContext) -> Cost:
    """One add per element."""
    s = ctx.same_as(0)
    return Cost(flops=prod(s))
