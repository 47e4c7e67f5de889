"""Views and metadata: ops that move no data in any runtime (zero cost, with the reason),
and the shape arithmetic they carry (contents of shape tensors are propagated)."""

from __future__ import annotations

import numpy as np

from ..ir.dtypes import DTYPES, INT64, ONNX_DTYPES
from ..symbolic import floordiv, norm, prod, Shape
from . import values
from .context import NodeContext
from .cost import ZERO, Cost
from .formulas import normalize_axis
from .registry import ELEMENTWISE, SHAPE, VIEW, op

_VIEW = "view: only the shape metadata changes, no data moves"


@op("Shape", kind=SHAPE, zero="metadata: reads the shape, not the data")
def shape_(ctx: NodeContext) -> None:
    s = ctx.shape(0)
    r = len(s)
    start = ctx.attr("start", 0)
    end = ctx.attr("end", r)
    start = max(0, min(r, start + r if start < 0 else start))
    end = max(0, min(r, end + r if end < 0 else end))
    dims = s[start:end] if end > start else ()
    ctx.set_output(0, INT64, (len(dims),), values.obj(list(dims)).reshape(len(dims)))


@op("Size", kind=SHAPE, zero="metadata: reads the shape, not the data")
def size_(ctx: NodeContext) -> None:
    ctx.set_output(0, INT64, (), values.obj(np.array(prod(ctx.shape(0)), dtype=object)))


def _reshape_target(ctx: NodeContext, src: Shape, target: Shape, allowzero: int) -> Shape:
    out = []
    unknown = -1
    for i, d in enumerate(target):
        if type(d) is int and d == 0 and not allowzero:
            if i >= len(src):
                raise ctx.fail(f"Reshape target {target} copies dim {i} of a rank-{len(src)} input")
            out.append(src[i])
        elif type(d) is int and d == -1:
            if unknown >= 0:
                raise ctx.fail(f"Reshape target {target} has more than one -1")
            unknown = i
            out.append(None)
        else:
            if type(d) is int and d < 0:
                raise ctx.fail(f"Reshape target {target} has a negative dimension")
            out.append(d)
    if unknown >= 0:
        total = prod(src)
        known = prod(d for d in out if d is not None)
        if type(total) is int and type(known) is int:
            if known == 0 or total % known:
                raise ctx.fail(f"cannot reshape {src} into {target}")
            out[unknown] = total // known
        else:
            out[unknown] = floordiv(total, known)
    else:
        a, b = prod(src), prod(out)
        if type(a) is int and type(b) is int and a != b:
            raise ctx.fail(f"cannot reshape {src} ({a} elements) into {tuple(out)} ({b} elements)")
    return tuple(norm(d) for d in out)


@op("Reshape", kind=VIEW, zero=_VIEW)
def reshape(ctx: NodeContext) -> None:
    src = ctx.shape(0)
    target = ctx.ints(1) if ctx.has(1) else tuple(ctx.attr("shape"))
    out = _reshape_target(ctx, src, target, ctx.attr("allowzero", 0))
    data = ctx.data(0)
    ctx.set_output(
        0, ctx.dtype(0), out, data.reshape([int(d) for d in out]) if data is not None and values.small(out) else None
    )


@op("Flatten", kind=VIEW, zero=_VIEW)
def flatten(ctx: NodeContext) -> None:
    s = ctx.shape(0)
    axis = ctx.attr("axis", 1)
    axis = axis + len(s) if axis < 0 else axis
    out = (prod(s[:axis]), prod(s[axis:]))
    data = ctx.data(0)
    ctx.set_output(
        0, ctx.dtype(0), out, data.reshape([int(d) for d in out]) if data is not None and values.small(out) else None
    )


def _axes(ctx: NodeContext, input_index: int) -> Shape | None:
    if ctx.has(input_index):
        return ctx.ints(input_index)
    a = ctx.attr("axes", None)
    return tuple(a) if a is not None else None


@op("Squeeze", kind=VIEW, zero=_VIEW)
def squeeze(ctx: NodeContext) -> None:
    s = ctx.shape(0)
    axes = _axes(ctx, 1)
    if axes is None:
        keep = [d for d in s if not (type(d) is int and d == 1)]
    else:
        ax = {normalize_axis(a, len(s), ctx.where) for a in axes}
        for a in ax:
            if type(s[a]) is int and s[a] != 1:
                raise ctx.fail(f"Squeeze axis {a} has size {s[a]}, not 1")
        keep = [d for i, d in enumerate(s) if i not in ax]
    data = ctx.data(0)
    ctx.set_output(0, ctx.dtype(0), tuple(keep), data.reshape([int(d) for d in keep]) if data is not None else None)


@op("Unsqueeze", kind=VIEW, zero=_VIEW)
def unsqueeze(ctx: NodeContext) -> None:
    s = ctx.shape(0)
    axes = _axes(ctx, 1)
    if axes is None:
        raise ctx.fail("Unsqueeze needs axes")
    r = len(s) + len(axes)
    ax = sorted(normalize_axis(a, r, ctx.where) for a in axes)
    out = list(s)
    for a in ax:
        out.insert(a, 1)
    data = ctx.data(0)
    ctx.set_output(0, ctx.dtype(0), tuple(out), data.reshape([int(d) for d in out]) if data is not None else None)


@op("Identity", kind=VIEW, zero="view: the output is the input")
def identity(ctx: NodeContext) -> None:
    ctx.set_output(0, ctx.dtype(0), ctx.shape(0), ctx.data(0))


@op("Dropout", kind=VIEW, zero="inference: Dropout is the identity")
def dropout(ctx: NodeContext) -> None:
    s = ctx.shape(0)
    ctx.set_output(0, ctx.dtype(0), s, ctx.data(0))
    ctx.set_output(1, DTYPES["bool"], s)


@op("Cast", kind=ELEMENTWISE)
def cast(ctx: NodeContext) -> None:
    """0 FLOPs; reads the input and writes it in the new type (a real copy unless fused)."""
    to = ONNX_DTYPES.get(int(ctx.attr("to")))
    if to is None:
        raise ctx.fail(f"Cast to unknown type {ctx.attr('to')}")
    data = ctx.data(0)
    ctx.set_output(0, to, ctx.shape(0), values.cast(data, to.kind) if data is not None else None)
    out = ctx.outputs[0]
    if ctx.dtype(0) == to or (ctx.dtype_override is not None and out is not None and out.dtype == ctx.dtype(0)):
        ctx.bytes_override = _no_bytes()


@op("CastLike", kind=ELEMENTWISE)
def cast_like(ctx: NodeContext) -> None:
    """0 FLOPs; a copy into the type of the second input."""
    to = ctx.dtype(1)
    data = ctx.data(0)
    ctx.set_output(0, to, ctx.shape(0), values.cast(data, to.kind) if data is not None else None)
    if ctx.dtype(0) == to:
        ctx.bytes_override = _no_bytes()


def _no_bytes() -> Cost:
    return ZERO


@op("Optional", "OptionalGetElement", "OptionalHasElement", kind=VIEW, zero="metadata: optional wrapper")
def optional_(ctx: NodeContext) -> None:
    if ctx.node.op_type == "OptionalHasElement":
        ctx.set_output(0, DTYPES["bool"], ())
    elif ctx.has(0):
        i = ctx.info(0)
        ctx.set_output(0, i.dtype, i.shape, i.data)
