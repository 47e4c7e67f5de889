"""Pure helpers shared by the rules: broadcasting, contraction shapes, sliding windows.
Inputs and outputs are ints or sympy expressions; nothing here knows about nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ShapeError
from ..symbolic import ceildiv, floordiv, norm, prod, Shape, smax


def normalize_axis(axis: int, rank: int, where: str = "") -> int:
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < max(rank, 1) and not (rank == 0 and a == 0):
        raise ShapeError(f"axis {axis} is out of range for rank {rank}", where=where or None)
    return a


def broadcast_dim(a: Any, b: Any, where: str = "") -> Any:
    if type(a) is int and type(b) is int:
        if a == b or b == 1:
            return a
        if a == 1:
            return b
        raise ShapeError(f"dimensions {a} and {b} do not broadcast", where=where or None)
    if a == b or b == 1:
        return a
    if a == 1:
        return b
    # max(a, b) is the broadcast result whenever broadcasting is valid at run time.
    return smax(a, b)


def broadcast_shapes(shapes: Sequence[Shape], where: str = "") -> Shape:
    first = shapes[0]
    if shapes.count(first) == len(shapes):  # one shape (in C): most elementwise nodes
        return tuple(first)
    rank = max(map(len, shapes))
    out: list[Any] = [1] * rank
    for s in shapes:
        off = rank - len(s)
        for i, d in enumerate(s, off):
            o = out[i]
            if o == d or d == 1:  # broadcast_dim's first cases, inline
                continue
            out[i] = d if o == 1 else broadcast_dim(o, d, where)
    return tuple(out)


def matmul_shapes(a: Shape, b: Shape, where: str = "") -> tuple[Shape, Any, Any, Any, Any]:
    """numpy.matmul semantics. Returns (output shape, batch count, M, N, K)."""
    if len(a) == 0 or len(b) == 0:
        raise ShapeError("MatMul operands must have rank >= 1", where=where or None)
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    m, k = a2[-2], a2[-1]
    k2, n = b2[-2], b2[-1]
    if type(k) is int and type(k2) is int and k != k2:
        raise ShapeError(f"MatMul inner dimensions differ: {tuple(a)} x {tuple(b)}", where=where or None)
    if type(k) is not int and type(k2) is int:
        k = k2
    batch_shape = broadcast_shapes([a2[:-2], b2[:-2]], where)
    out = list(batch_shape)
    if len(a) > 1:
        out.append(m)
    if len(b) > 1:
        out.append(n)
    return tuple(out), prod(batch_shape), m, n, k


def window_out(size: Any, kernel: Any, stride: int, pad_total: Any, dilation: int, ceil_mode: bool = False) -> Any:
    """Output length of a sliding window (conv/pool) with explicit total padding."""
    eff = dilation * (kernel - 1) + 1
    span = size + pad_total - eff
    if type(span) is int and span < 0:
        raise ShapeError(f"window {eff} is larger than the padded input {size + pad_total}")
    if ceil_mode:
        return norm(ceildiv(span, stride) + 1)
    return norm(floordiv(span, stride) + 1)


def same_pads(size: Any, kernel: Any, stride: int, dilation: int, upper: bool) -> tuple[Any, Any]:
    """auto_pad SAME_UPPER / SAME_LOWER: output = ceil(size / stride)."""
    out = ceildiv(size, stride)
    eff = dilation * (kernel - 1) + 1
    total = (out - 1) * stride + eff - size
    if type(total) is int:
        total = max(total, 0)
    else:
        total = smax(total, 0)
    small = floordiv(total, 2)
    big = norm(total - small)
    return (small, big) if upper else (big, small)


def conv_geometry(
    spatial: Sequence[Any],
    kernel: Sequence[Any],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[Any] | None,
    auto_pad: str,
    ceil_mode: bool = False,
) -> tuple[Shape, Shape]:
    """Output spatial dims and the begin/end pads used, ONNX Conv/Pool semantics."""
    n = len(spatial)
    auto_pad = (auto_pad or "NOTSET").upper()
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(n):
            b, e = same_pads(spatial[i], kernel[i], strides[i], dilations[i], auto_pad == "SAME_UPPER")
            begins.append(b)
            ends.append(e)
        out = tuple(ceildiv(spatial[i], strides[i]) for i in range(n))
        return out, tuple(begins) + tuple(ends)
    if auto_pad == "VALID":
        p = (0,) * (2 * n)
    else:
        p = tuple(pads) if pads else (0,) * (2 * n)
    out = tuple(
        window_out(spatial[i], kernel[i], strides[i], p[i] + p[i + n], dilations[i], ceil_mode) for i in range(n)
    )
    return out, p
