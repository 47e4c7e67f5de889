"""The sequence ops (ONNX opset 11+): SequenceEmpty, SequenceConstruct, SequenceInsert,
SequenceErase, SequenceLength, SequenceAt, SplitToSequence, ConcatFromSequence
(SequenceMap, which runs a subgraph, is in control_flow.py).

Sequences carry no tensor shape; what is known of their structure (element type and
shape, length, each element when known one by one) rides in the value's `data` as a
`Seq`, never their contents. Sequence ops move tensors in and out (onnxruntime's
sequence kernels copy them), costed as a read and a write of the tensors moved;
bookkeeping (empty, erase, length) is free. An op whose moved tensors have no known shape
is reported unsupported rather than costed 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..ir.dtypes import FP32, INT64, ONNX_DTYPES, DType
from ..ir.graph import TensorInfo
from ..symbolic import Shape, ceildiv, known_eq, norm, prod
from . import values
from .context import NodeContext, UnknownShape
from .cost import ZERO, Cost
from .formulas import normalize_axis
from .registry import MOVEMENT, op


class Seq(NamedTuple):
    """Known structure of a sequence value: a common element (dtype; shape None when the
    elements differ), the length (int, sympy expression or None), and each element when
    known one by one."""

    elem: TensorInfo | None
    length: Any
    items: Shape | None = None


def seqof(data: Any) -> Seq | None:
    """The Seq a value carries (set_output boxes non-array data in a 0-d object array)."""
    if isinstance(data, np.ndarray) and data.dtype == object and data.shape == ():
        data = data[()]
    return data if isinstance(data, Seq) else None


# -- subgraph plumbing -----------------------------------------------------------------


def same_shape(a: Shape | None, b: Shape | None) -> bool | None:
    if a is None or b is None:
        return None
    if len(a) != len(b):
        return False
    verdicts = [known_eq(x, y) for x, y in zip(a, b)]
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _seq(ctx: NodeContext, i: int) -> Seq:
    d = seqof(ctx.data(i))
    if d is not None:
        return d
    dt = ctx.info(i).dtype if ctx.has(i) else None
    return Seq(TensorInfo(dt, None), None)


def _of(items: Sequence[TensorInfo]) -> Seq:
    items = tuple(TensorInfo(t.dtype, t.shape) for t in items)
    if not items:
        return Seq(None, 0, ())
    shape = items[0].shape
    if any(same_shape(shape, t.shape) is not True for t in items[1:]):
        shape = None
    return Seq(TensorInfo(items[0].dtype, shape), len(items), items)


def _out_seq(ctx: NodeContext, s: Seq, dtype: DType | None = None) -> None:
    dt = dtype or (s.elem.dtype if s.elem is not None else None)
    ctx.set_output(0, dt, None, s)


def _copy(ctx: NodeContext, infos: Sequence[TensorInfo | None]) -> None:
    """A read and a write of the tensors moved into or out of a sequence."""
    total: Any = 0
    for t in infos:
        if t is None or t.shape is None or t.dtype is None:
            raise UnknownShape("a sequence element has no known shape")
        total = total + t.dtype.nbytes(prod(t.shape))
    ctx.bytes_override = Cost(read_activations=norm(total), write_activations=norm(total))


def _position(ctx: NodeContext, i: int, n: Any, default: Any) -> int | None:
    if not ctx.has(i):
        return default if type(n) is int else None
    p = ctx.scalar(i)
    if type(n) is not int or not isinstance(p, (int, np.integer)):
        return None
    p = int(p)
    return p + n if p < 0 else p


@op("SequenceEmpty", kind=MOVEMENT, zero="metadata: an empty sequence")
def sequence_empty(ctx: NodeContext) -> None:
    dt = ONNX_DTYPES.get(ctx.attr("dtype", 1), FP32)
    ctx.set_output(0, dt, None, Seq(TensorInfo(dt, None), 0, ()))


@op("SequenceConstruct", kind=MOVEMENT)
def sequence_construct(ctx: NodeContext) -> Cost:
    """0 FLOPs; each input is copied into the sequence."""
    items = [ctx.info(i) for i in range(ctx.n_inputs)]
    _out_seq(ctx, _of(items))
    _copy(ctx, items)
    return ZERO


@op("SequenceInsert", kind=MOVEMENT)
def sequence_insert(ctx: NodeContext) -> Cost:
    """0 FLOPs; the inserted tensor is copied in."""
    s, t = _seq(ctx, 0), ctx.info(1)
    pos = _position(ctx, 2, s.length, s.length)
    if s.items is not None and pos is not None:
        new = _of(s.items[:pos] + (t,) + s.items[pos:])
    else:
        elem = t if s.length == 0 or s.elem is None else _of([s.elem, t]).elem
        new = Seq(elem, None if s.length is None else norm(s.length + 1))
    _out_seq(ctx, new, t.dtype)
    _copy(ctx, [t])
    return ZERO


@op("SequenceErase", kind=MOVEMENT, zero="metadata: drops one element")
def sequence_erase(ctx: NodeContext) -> None:
    s = _seq(ctx, 0)
    pos = _position(ctx, 1, s.length, None if s.length is None else s.length - 1)
    if s.items is not None and pos is not None:
        _out_seq(ctx, _of(s.items[:pos] + s.items[pos + 1 :]), s.elem.dtype if s.elem else None)
    else:
        _out_seq(ctx, Seq(s.elem, None if s.length is None else norm(s.length - 1)))


@op("SequenceLength", kind=MOVEMENT, zero="metadata: the length of a sequence")
def sequence_length(ctx: NodeContext) -> None:
    n = _seq(ctx, 0).length
    ctx.set_output(0, INT64, (), None if n is None else values.obj(np.array(n, dtype=object)))


@op("SequenceAt", kind=MOVEMENT)
def sequence_at(ctx: NodeContext) -> Cost:
    """0 FLOPs; the element is copied out."""
    s = _seq(ctx, 0)
    pos = _position(ctx, 1, s.length, None)
    t = s.items[pos] if s.items is not None and pos is not None and 0 <= pos < len(s.items) else s.elem
    if t is None or t.shape is None:
        raise UnknownShape("the element's shape is not known")
    ctx.set_output(0, t.dtype, t.shape)
    _copy(ctx, [t])
    return ZERO


@op("SplitToSequence", kind=MOVEMENT)
def split_to_sequence(ctx: NodeContext) -> Cost:
    """0 FLOPs; the input is copied into the pieces."""
    x, dt = ctx.shape(0), ctx.dtype(0)
    ax = normalize_axis(ctx.attr("axis", 0), len(x), ctx.where)
    dim = x[ax]

    def piece(k: Any) -> TensorInfo:
        return TensorInfo(dt, x[:ax] + (k,) + x[ax + 1 :])

    if not ctx.has(1):
        keep = ctx.attr("keepdims", 1)
        new = Seq(TensorInfo(dt, x[:ax] + ((1,) if keep else ()) + x[ax + 1 :]), dim)
    elif ctx.data(1) is None:  # runtime split sizes: the pieces are unknown, the copy is not
        new = Seq(TensorInfo(dt, None), ctx.shape(1)[0] if ctx.rank(1) == 1 else None)
    else:
        split = ctx.ints(1)
        if ctx.rank(1) == 1:
            new = _of([piece(k) for k in split])
        elif type(dim) is int:
            k = split[0]
            new = _of([piece(min(k, dim - s)) for s in range(0, dim, k)])
        else:
            new = Seq(TensorInfo(dt, None), ceildiv(dim, split[0]))
    _out_seq(ctx, new, dt)
    _copy(ctx, [ctx.info(0)])
    return ZERO


@op("ConcatFromSequence", kind=MOVEMENT)
def concat_from_sequence(ctx: NodeContext) -> Cost:
    """0 FLOPs; the elements are copied into the output."""
    s = _seq(ctx, 0)
    stack = bool(ctx.attr("new_axis", 0))
    axis = ctx.attr("axis")
    if s.items is not None and all(t.shape is not None for t in s.items) and s.items:
        shapes = [t.shape for t in s.items]
        r = len(shapes[0])
        ax = normalize_axis(axis, r + 1 if stack else r, ctx.where)
        for sh in shapes[1:]:
            if len(sh) != r or any(
                known_eq(a, b) is False for k, (a, b) in enumerate(zip(sh, shapes[0])) if stack or k != ax
            ):
                raise ctx.fail(f"sequence elements {shapes[0]} and {sh} differ off the concat axis")
        if stack:
            shape = shapes[0][:ax] + (len(shapes),) + shapes[0][ax:]
        else:
            shape = shapes[0][:ax] + (norm(sum(sh[ax] for sh in shapes)),) + shapes[0][ax + 1 :]
    elif s.elem is not None and s.elem.shape is not None and s.length is not None:
        e = s.elem.shape
        ax = normalize_axis(axis, len(e) + 1 if stack else len(e), ctx.where)
        mid = (s.length,) if stack else (norm(e[ax] * s.length),)
        shape = e[:ax] + mid + e[ax + (0 if stack else 1) :]
    else:
        raise UnknownShape("the sequence's element shapes or length are not known")
    dt = s.elem.dtype if s.elem is not None else None
    ctx.set_output(0, dt, shape)
    _copy(ctx, [TensorInfo(dt or FP32, shape)])
    return ZERO
