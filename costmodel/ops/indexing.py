"""Indexing and resampling: gather/scatter families, one-hot, data-dependent selections
(NonZero, Compress, Unique: their output length becomes a fresh symbol), TopK, Resize.
A gather reads only the rows it selects (an embedding lookup does not read the table)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.dtypes import INT64
from ..symbolic import norm, prod, Shape, sp, symbol
from .context import NodeContext
from .cost import Cost
from .formulas import normalize_axis
from .registry import MOVEMENT, op
from .traffic import RESIDENT


def _gather_traffic(ctx: NodeContext, out_elems: Any, index_inputs: tuple[int, ...] = (1,)) -> None:
    b = ctx.dtype(0).nbytes(out_elems)
    idx = 0
    for i in index_inputs:
        if ctx.has(i):
            idx = idx + ctx.dtype(i).nbytes(prod(ctx.shape(i)))
    if ctx.info(0).role in RESIDENT:
        ctx.bytes_override = Cost(read_weights=b, read_activations=norm(idx), write_activations=b)
    else:
        ctx.bytes_override = Cost(read_activations=norm(b + idx), write_activations=b)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name) or "n"


@op("Gather", kind=MOVEMENT)
def gather(ctx: NodeContext) -> None:
    """0 FLOPs; reads the selected slices and the indices, writes the output."""
    s, ind = ctx.shape(0), ctx.shape(1)
    axis = normalize_axis(ctx.attr("axis", 0), len(s), ctx.where)
    out = s[:axis] + tuple(ind) + s[axis + 1 :]
    d, i = ctx.data(0), ctx.data(1)
    data = None
    if d is not None and i is not None:
        idx = (
            np.asarray(i).astype(np.int64)
            if np.asarray(i).dtype != object
            else np.array([int(v) for v in np.asarray(i).reshape(-1)]).reshape(np.shape(i))
        )
        dim = s[axis]
        if type(dim) is int and ((idx < -dim) | (idx >= dim)).any():
            raise ctx.fail(f"Gather index out of range for axis of size {dim}")
        data = np.take(d, idx, axis=axis)
    ctx.set_output(0, ctx.dtype(0), out, data)
    _gather_traffic(ctx, prod(out))


@op("GatherElements", kind=MOVEMENT)
def gather_elements(ctx: NodeContext) -> None:
    """0 FLOPs; output has the indices' shape."""
    ind = ctx.shape(1)
    ctx.set_output(0, ctx.dtype(0), ind)
    _gather_traffic(ctx, prod(ind))


@op("GatherND", kind=MOVEMENT)
def gather_nd(ctx: NodeContext) -> None:
    """0 FLOPs; output = indices.shape[:-1] + data.shape[batch_dims + k:]."""
    s, ind = ctx.shape(0), ctx.shape(1)
    b = ctx.attr("batch_dims", 0)
    k = ind[-1]
    if type(k) is not int:
        raise ctx.fail("GatherND needs a known last index dimension")
    out = tuple(ind[:-1]) + tuple(s[b + k :])
    ctx.set_output(0, ctx.dtype(0), out)
    _gather_traffic(ctx, prod(out))


def _scatter(ctx: NodeContext, updates_index: int) -> Cost:
    s = ctx.shape(0)
    d = ctx.data(0)
    data = None
    red = ctx.attr("reduction", "none")
    known = ctx.data(1) is not None and ctx.data(2) is not None
    if ctx.node.op_type == "ScatterND" and d is not None and known and red in (None, "none"):
        try:
            data = _scatter_nd(d, np.asarray(ctx.data(1)), np.asarray(ctx.data(2)))
        except (IndexError, TypeError, ValueError, OverflowError):
            data = None
    ctx.set_output(0, ctx.dtype(0), s, data)
    n_upd = prod(ctx.shape(updates_index))
    return Cost(flops=n_upd if red and red != "none" else 0)


def _scatter_nd(data: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> np.ndarray:
    """ScatterND's output with reduction none: a copy of `data` with each index tuple (the
    last axis of `indices`) set to its slice of `updates`, in one fancy-index assignment
    (the ONNX spec leaves the result of duplicate indices undefined)."""
    k = indices.shape[-1]
    out = data.copy()
    where = indices.reshape(-1, k).astype(np.int64)
    out[tuple(where.T)] = updates.reshape((-1, *data.shape[k:]))
    return out


@op("ScatterND", kind=MOVEMENT)
def scatter_nd(ctx: NodeContext) -> Cost:
    """Copies the data and writes the updates; reduction != none adds 1 FLOP per update."""
    return _scatter(ctx, 2)


@op("ScatterElements", "Scatter", kind=MOVEMENT)
def scatter_elements(ctx: NodeContext) -> Cost:
    """Copies the data and writes the updates; reduction != none adds 1 FLOP per update."""
    return _scatter(ctx, 2)


@op("OneHot", kind=MOVEMENT)
def one_hot(ctx: NodeContext) -> Cost:
    """One compare per output element."""
    ind = ctx.shape(0)
    depth = ctx.scalar(1)
    if depth is None:
        depth = symbol(f"onehot_{_safe(ctx.node_name())}")
    depth = norm(int(depth)) if isinstance(depth, (int, float, np.integer, np.floating)) else depth
    r = len(ind) + 1
    axis = normalize_axis(ctx.attr("axis", -1), r, ctx.where)
    out = list(ind)
    out.insert(axis, depth)
    ctx.set_output(0, ctx.dtype(2), tuple(out))
    return Cost(flops=prod(out))


def _data_dependent(ctx: NodeContext, label: str) -> Any:
    """A length known only at run time: a fresh symbol named after the node."""
    return symbol(f"{label}_{_safe(ctx.node_name())}")


@op("NonZero", kind=MOVEMENT)
def non_zero(ctx: NodeContext) -> Cost:
    """One compare per input element; the count of non-zeros is a run-time symbol."""
    s = ctx.shape(0)
    ctx.set_output(0, INT64, (len(s), _data_dependent(ctx, "nonzero")))
    return Cost(flops=prod(s))


@op("Compress", kind=MOVEMENT)
def compress(ctx: NodeContext) -> Cost:
    """Copies the selected slices; their count is a run-time symbol."""
    s = ctx.shape(0)
    axis = ctx.attr("axis", None)
    n = _data_dependent(ctx, "compress")
    if axis is None:
        out = (n,)
    else:
        axis = normalize_axis(axis, len(s), ctx.where)
        out = s[:axis] + (n,) + s[axis + 1 :]
    ctx.set_output(0, ctx.dtype(0), out)
    return Cost(flops=prod(ctx.shape(1)))


@op("Unique", kind=MOVEMENT)
def unique(ctx: NodeContext) -> Cost:
    """A sort: n log2 n compares (n = input elements); unique count is a run-time symbol."""
    s = ctx.shape(0)
    n = prod(s)
    u = _data_dependent(ctx, "unique")
    axis = ctx.attr("axis", None)
    if axis is None:
        ctx.set_output(0, ctx.dtype(0), (u,))
    else:
        axis = normalize_axis(axis, len(s), ctx.where)
        ctx.set_output(0, ctx.dtype(0), s[:axis] + (u,) + s[axis + 1 :])
    ctx.set_output(1, INT64, (u,))
    ctx.set_output(2, INT64, (s[axis] if axis is not None else n,))
    ctx.set_output(3, INT64, (u,))
    return Cost(flops=_nlogn(n))


def _nlogn(n: Any) -> Any:
    if type(n) is int:
        return n * max(1, (n - 1).bit_length())
    sympy = sp()
    return norm(n * sympy.ceiling(sympy.log(n, 2)))


@op("TopK", kind=MOVEMENT)
def topk(ctx: NodeContext) -> Cost:
    """A partial selection: n x log2(k) compares along the axis (heap-based)."""
    s = ctx.shape(0)
    axis = normalize_axis(ctx.attr("axis", -1), len(s), ctx.where)
    k = ctx.scalar(1) if ctx.has(1) else ctx.attr("k")
    k = norm(int(k)) if isinstance(k, (int, np.integer)) else (k if k is not None else _data_dependent(ctx, "topk"))
    out = s[:axis] + (k,) + s[axis + 1 :]
    ctx.set_output(0, ctx.dtype(0), out)
    ctx.set_output(1, INT64, out)
    n = prod(s)
    if type(k) is int:
        return Cost(flops=norm(n * max(1, (k - 1).bit_length())))
    return Cost(flops=n)


# Resize / Upsample: FLOPs per output element by mode: nearest 0; linear 3 per
# interpolated axis (two multiplies and an add per lerp, 2^d - 1 lerps); cubic 4 taps
# (4 multiply-adds) per axis.
def _resize_flops(mode: str, n_axes: Any) -> Any:
    mode = (mode or "nearest").lower()
    if mode in ("linear", "bilinear", "trilinear"):
        return 3 * (2**n_axes - 1)
    if mode == "cubic":
        return sum(8 * 4**i for i in range(n_axes))
    return 0


def _resized_axes(s: Shape, out: Shape) -> int:
    return sum(1 for a, b in zip(s, out) if not (type(a) is int and type(b) is int and a == b) and a is not b)


@op("Resize", kind=MOVEMENT)
def resize(ctx: NodeContext) -> Cost:
    """See _resize_flops for the per-output count by interpolation mode."""
    s = ctx.shape(0)
    out: Shape
    if ctx.has(3):
        sizes = ctx.ints(3)
        axes = ctx.attr("axes", None)
        if axes:
            dims = list(s)
            for a, v in zip(axes, sizes):
                dims[normalize_axis(a, len(s), ctx.where)] = v
            out = tuple(dims)
        else:
            out = tuple(sizes)
    else:
        scales = ctx.data(2) if ctx.has(2) else (ctx.data(1) if ctx.opset == 10 else None)
        if scales is None:
            if ctx.has(2) and ctx.info(2).shape is not None and prod(ctx.shape(2)) != 0:
                raise ctx.fail("Resize scales are not known at analysis time")
            raise ctx.fail("Resize needs scales or sizes")
        sc = [float(x) for x in np.asarray(scales).reshape(-1)]
        axes = ctx.attr("axes", None)
        if axes:
            full = [1.0] * len(s)
            for a, v in zip(axes, sc):
                full[normalize_axis(a, len(s), ctx.where)] = v
            sc = full
        out = tuple(_scale_dim(d, f) for d, f in zip(s, sc))
    ctx.set_output(0, ctx.dtype(0), out)
    per = _resize_flops(ctx.attr("mode", "nearest"), _resized_axes(s, out))
    return Cost(flops=norm(per * prod(out)))


def _scale_dim(d: Any, f: float) -> Any:
    if type(d) is int:
        return int(np.floor(d * f + 1e-9))
    sympy = sp()
    return norm(sympy.floor(d * sympy.Rational(str(f))))


@op("Upsample", kind=MOVEMENT)
def upsample(ctx: NodeContext) -> Cost:
    """As Resize (opset 7-9)."""
    s = ctx.shape(0)
    scales = ctx.attr("scales", None)
    if scales is None:
        d = ctx.data(1)
        if d is None:
            raise ctx.fail("Upsample scales are not known at analysis time")
        scales = [float(x) for x in np.asarray(d).reshape(-1)]
    out = tuple(_scale_dim(d, f) for d, f in zip(s, scales))
    ctx.set_output(0, ctx.dtype(0), out)
    per = _resize_flops(ctx.attr("mode", "nearest"), _resized_axes(s, out))
    return Cost(flops=norm(per * prod(out)))


@op("GridSample", kind=MOVEMENT, since=16)
def grid_sample(ctx: NodeContext) -> Cost:
    """Per output element: unnormalize the coordinate (2 per axis) and interpolate as
    Resize does (bilinear: 3 lerps)."""
    x, grid = ctx.shape(0), ctx.shape(1)
    out = (x[0], x[1]) + tuple(grid[1:-1])
    ctx.set_output(0, ctx.dtype(0), out)
    nsp = len(out) - 2
    mode = ctx.attr("mode", "linear" if ctx.opset >= 20 else "bilinear")
    per = _resize_flops(mode, nsp) + 2 * nsp
    return Cost(flops=norm(per * prod(out)))


@op("AffineGrid", kind=MOVEMENT, since=20)
def affine_grid(ctx: NodeContext) -> Cost:
    """Per output point: a (d x d+1) matrix-vector product: d x (d + 1) MACs."""
    ctx.shape(0)
    size = ctx.ints(1)
    n = size[0]
    sp = tuple(size[2:])
    d = len(sp)
    out = (n,) + sp + (d,)
    ctx.set_output(0, ctx.dtype(0), out)
    pts = norm(n * prod(sp))
    macs = norm(pts * d * (d + 1))
    return Cost(flops=norm(2 * macs), macs=macs)
