"""Data movement without arithmetic: transpose, concat, split, slice, pad, tile, expand,
depth/space rearrangements. 0 FLOPs; memory traffic is what the kernel reads and writes
(a slice reads only the slice). Known contents are propagated for shape arithmetic."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..symbolic import floordiv, norm, prod, smax, smin
from . import values
from .context import NodeContext
from .cost import Cost
from .formulas import broadcast_shapes, normalize_axis
from .kernel import CopyShape
from .traffic import RESIDENT
from .registry import MOVEMENT, op


@op("Transpose", kind=MOVEMENT)
def transpose(ctx: NodeContext) -> None:
    """0 FLOPs; reads and writes every element once."""
    s = ctx.shape(0)
    perm = ctx.attr("perm", None) or tuple(reversed(range(len(s))))
    if sorted(perm) != list(range(len(s))):
        raise ctx.fail(f"Transpose perm {tuple(perm)} does not fit rank {len(s)}")
    out = tuple(s[p] for p in perm)
    d = ctx.data(0)
    ctx.set_output(0, ctx.dtype(0), out, np.transpose(d, perm) if d is not None else None)
    ctx.set_kernel(CopyShape(strided=True))


@op("Concat", kind=MOVEMENT)
def concat(ctx: NodeContext) -> None:
    """0 FLOPs; copies every input once."""
    idx = [i for i in range(ctx.n_inputs) if ctx.has(i)]
    shapes = [ctx.shape(i) for i in idx]
    r = len(shapes[0])
    axis = normalize_axis(ctx.attr("axis"), r, ctx.where)
    total = 0
    for s in shapes:
        if len(s) != r:
            raise ctx.fail(f"Concat inputs have different ranks: {shapes}")
        total = total + s[axis]
    out = list(shapes[0])
    out[axis] = norm(total)
    for s in shapes[1:]:
        for i, (p, q) in enumerate(zip(out, s)):
            if i != axis and type(p) is int and type(q) is int and p != q:
                raise ctx.fail(f"Concat inputs differ outside axis {axis}: {shapes}")
    ds = [d for d in (ctx.data(i) for i in idx) if d is not None]
    data: np.ndarray | None = None
    if len(ds) == len(idx) and values.small(tuple(out)):
        data = np.concatenate(ds, axis=axis)
        if data.dtype != object and ctx.dtype(idx[0]).kind in ("int", "uint"):
            data = values.obj(data)
    ctx.set_output(0, ctx.dtype(idx[0]), tuple(out), data)


@op("Split", kind=MOVEMENT)
def split(ctx: NodeContext) -> None:
    """0 FLOPs; reads the input once and writes every part."""
    s = ctx.shape(0)
    axis = normalize_axis(ctx.attr("axis", 0), len(s), ctx.where)
    n_out = len(ctx.node.outputs)
    if ctx.has(1):
        parts = ctx.ints(1)
    elif ctx.attr("split", None):
        parts = tuple(ctx.attr("split"))
    else:
        num = ctx.attr("num_outputs", None) or n_out
        d = s[axis]
        if type(d) is int:
            size = -(-d // num)
            parts = tuple(min(size, d - i * size) for i in range(num))
        else:
            parts = (floordiv(d, num),) * num
    if len(parts) != n_out:
        raise ctx.fail(f"Split into {len(parts)} parts but the node has {n_out} outputs")
    if type(s[axis]) is int and all(type(p) is int for p in parts) and sum(parts) != s[axis]:
        raise ctx.fail(f"Split sizes {parts} do not add up to {s[axis]}")
    d = ctx.data(0)
    start = 0
    for k, p in enumerate(parts):
        out = list(s)
        out[axis] = p
        part = None
        if d is not None and type(start) is int and type(p) is int:
            part = np.take(d, range(start, start + p), axis=axis)
        ctx.set_output(k, ctx.dtype(0), tuple(out), part)
        start = norm(start + p)


def _clamp_index(v: Any, dim: Any, step_positive: bool) -> Any:
    """ONNX Slice index clamping, exact for ints; symbolic dims resolve the usual
    exporter idioms (0, -1, INT_MAX-like ends) and otherwise stay symbolic."""
    big = 2**62
    if type(v) is int and type(dim) is int:
        if v < 0:
            v += dim
        lo, hi = (0, dim) if step_positive else (-1, dim - 1)
        return min(max(v, lo), hi)
    if type(v) is int:
        if v >= big // 4:
            return dim if step_positive else norm(dim - 1)
        if v < -(big // 4):
            return 0 if step_positive else -1
        if v < 0:
            return norm(dim + v)
        return smin(v, dim)
    return v


@op("Slice", kind=MOVEMENT)
def slice_(ctx: NodeContext) -> None:
    """0 FLOPs; reads and writes only the selected elements."""
    s = ctx.shape(0)
    if ctx.has(1):
        starts, ends = ctx.ints(1), ctx.ints(2)
        axes = ctx.ints(3) if ctx.has(3) else tuple(range(len(starts)))
        steps = ctx.ints(4) if ctx.has(4) else (1,) * len(starts)
    else:
        starts, ends = tuple(ctx.attr("starts")), tuple(ctx.attr("ends"))
        axes = tuple(ctx.attr("axes", None) or range(len(starts)))
        steps = (1,) * len(starts)
    out = list(s)
    slices = [slice(None)] * len(s)
    concrete = True
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        ax = normalize_axis(ax, len(s), ctx.where)
        if type(sp) is not int or sp == 0:
            raise ctx.fail("Slice steps must be known non-zero integers")
        dim = s[ax]
        a = _clamp_index(st, dim, sp > 0)
        b = _clamp_index(en, dim, sp > 0)
        if type(a) is int and type(b) is int:
            n = max(0, -(-(b - a) // sp)) if sp > 0 else max(0, -(-(a - b) // -sp))
            slices[ax] = slice(a, b if b >= 0 else None, sp)
        else:
            concrete = False
            span = norm(b - a) if sp > 0 else norm(a - b)
            n = smax(norm(-floordiv(-span, abs(sp))), 0)
        out[ax] = norm(n)
    d = ctx.data(0)
    data = d[tuple(slices)] if d is not None and concrete else None
    ctx.set_output(0, ctx.dtype(0), tuple(out), data)
    _read_output_sized(ctx)


def _read_output_sized(ctx: NodeContext, extra_inputs: tuple[int, ...] = ()) -> None:
    """Traffic of a kernel that reads exactly as many elements as it writes."""
    o = ctx.outputs[0]
    if o is None or o.shape is None:
        return
    b = ctx.dtype(0).nbytes(prod(o.shape))
    src = ctx.info(0)
    extra = 0
    for i in extra_inputs:
        if ctx.has(i) and ctx.info(i).shape is not None:
            extra = extra + ctx.dtype(i).nbytes(prod(ctx.shape(i)))
    if src.role in RESIDENT:
        ctx.bytes_override = Cost(read_weights=b, read_activations=norm(extra), write_activations=b)
    else:
        ctx.bytes_override = Cost(read_activations=norm(b + extra), write_activations=b)


@op("Pad", kind=MOVEMENT)
def pad(ctx: NodeContext) -> None:
    """0 FLOPs; reads the input, writes the padded output."""
    s = ctx.shape(0)
    r = len(s)
    if ctx.has(1):
        pads = ctx.ints(1)
        axes = ctx.ints(3) if ctx.has(3) else tuple(range(r))
    else:
        pads = tuple(ctx.attr("pads", None) or ctx.attr("paddings"))
        axes = tuple(range(r))
    axes = tuple(normalize_axis(a, r, ctx.where) for a in axes)
    n = len(axes)
    if len(pads) != 2 * n:
        raise ctx.fail(f"Pad has {len(pads)} pads for {n} axes")
    out = list(s)
    for k, ax in enumerate(axes):
        out[ax] = norm(out[ax] + pads[k] + pads[k + n])
    ctx.set_output(0, ctx.dtype(0), tuple(out))


@op("Tile", kind=MOVEMENT)
def tile(ctx: NodeContext) -> None:
    """0 FLOPs; reads the input, writes the tiled output."""
    s = ctx.shape(0)
    reps = ctx.ints(1)
    if len(reps) != len(s):
        raise ctx.fail(f"Tile repeats {reps} do not match rank {len(s)}")
    out = tuple(norm(a * b) for a, b in zip(s, reps))
    d = ctx.data(0)
    data = np.tile(d, [int(x) for x in reps]) if d is not None and values.small(out) else None
    ctx.set_output(0, ctx.dtype(0), out, data)


@op("Expand", kind=MOVEMENT)
def expand(ctx: NodeContext) -> None:
    """0 FLOPs; reads the input once, writes the broadcast output."""
    s = ctx.shape(0)
    target = ctx.ints(1)
    out = broadcast_shapes([s, tuple(target)], ctx.where)
    d = ctx.data(0)
    data = None
    if d is not None and values.small(out):
        data = np.broadcast_to(d, [int(x) for x in out]).copy()
    ctx.set_output(0, ctx.dtype(0), out, data)


@op("DepthToSpace", "SpaceToDepth", kind=MOVEMENT)
def depth_space(ctx: NodeContext) -> None:
    """0 FLOPs; a permutation copy."""
    n, c, h, w = ctx.shape(0)
    b = ctx.attr("blocksize")
    if ctx.node.op_type == "DepthToSpace":
        out = (n, floordiv(c, b * b), norm(h * b), norm(w * b))
    else:
        out = (n, norm(c * b * b), floordiv(h, b), floordiv(w, b))
    ctx.set_output(0, ctx.dtype(0), out)


@op("Trilu", kind=MOVEMENT)
def trilu(ctx: NodeContext) -> Cost:
    """One select per element (1 FLOP)."""
    s = ctx.same_as(0)
    return Cost(flops=prod(s))


@op("ReverseSequence", kind=MOVEMENT)
def reverse_sequence(ctx: NodeContext) -> None:
    """0 FLOPs; a permutation copy."""
    ctx.same_as(0)


@op("CenterCropPad", kind=MOVEMENT, since=18)
def center_crop_pad(ctx: NodeContext) -> None:
    """0 FLOPs; copies the overlapping window."""
    s = ctx.shape(0)
    target = ctx.ints(1)
    axes = (
        ctx.attr("axes", None) or tuple(range(len(s) - len(target), len(s)))
        if len(target) < len(s)
        else tuple(range(len(s)))
    )
    out = list(s)
    for a, t in zip(axes, target):
        out[normalize_axis(a, len(s), ctx.where)] = t
    ctx.set_output(0, ctx.dtype(0), tuple(out))


@op("Col2Im", kind=MOVEMENT, since=18)
def col2im(ctx: NodeContext) -> Cost:
    """Accumulates overlapping blocks: one add per input element."""
    x = ctx.shape(0)
    image = ctx.ints(1)
    block = ctx.ints(2)
    n, ck = x[0], x[1]
    c = floordiv(ck, prod(block))
    out = (n, c) + tuple(image)
    ctx.set_output(0, ctx.dtype(0), out)
    return Cost(flops=prod(x))
