"""Control flow (If, Loop, Scan) and the sequence ops.

A control-flow node costs what its subgraphs do: each subgraph is analysed by the
subgraph runner (every nested node costed by its own rule) and the totals are rolled
up: If = field-wise max of its branches (or the one branch a known condition selects),
Loop = body x trip count, Scan = body x sequence length. The rolled-up subgraph traffic
replaces the outer node's own input/output bytes (`bytes_override`), which are not the
real traffic. Params are never multiplied by trips. Nested unsupported nodes are passed
up (`report_unsupported`), so they appear in the top-level `unsupported` list.

Sequences (ONNX opset 11+) carry no tensor shape; what is known of their structure
(element type and shape, length, each element when known one by one) rides in the
value's `data` as a `Seq`, never their contents. Sequence ops move tensors in and out
(onnxruntime's sequence kernels copy them), costed as a read and a write of the tensors
moved; bookkeeping (empty, erase, length) is free. An op whose moved tensors have no
known shape is reported unsupported rather than costed 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..ir.dtypes import BOOL, FP32, INT64, ONNX_DTYPES, DType
from ..ir.graph import Graph, Role, TensorInfo
from ..symbolic import ceildiv, known_eq, norm, prod, Shape, smax, symbol
from . import values
from .context import NodeContext, UnknownShape, Unsupported
from .cost import ZERO, Cost
from .formulas import normalize_axis
from .kernel import LoopShape
from .registry import CONTROL, MOVEMENT, op

# A Loop trip count this large is the "no limit" sentinel exporters write for while
# loops (torch.onnx writes INT64_MAX), not a real count.
_NO_LIMIT = 2**31 - 1
# Most iterations unrolled one by one when a loop-carried value changes shape.
_UNROLL = 64


class Seq(NamedTuple):
    """Known structure of a sequence value: a common element (dtype; shape None when the
    elements differ), the length (int, sympy expression or None), and each element when
    known one by one."""

    elem: TensorInfo | None
    length: Any
    items: Shape | None = None


def _seqof(data: Any) -> Seq | None:
    """The Seq a value carries (set_output boxes non-array data in a 0-d object array)."""
    if isinstance(data, np.ndarray) and data.dtype == object and data.shape == ():
        data = data[()]
    return data if isinstance(data, Seq) else None


# -- subgraph plumbing -----------------------------------------------------------------
def _graph(ctx: NodeContext, name: str) -> Graph:
    g = ctx.node.subgraphs.get(name)
    if g is None:
        raise ctx.fail(f"missing subgraph attribute {name!r}")
    return g


def _run(
    ctx: NodeContext, name: str, inputs: Sequence[TensorInfo | None], unsupported: list[Unsupported]
) -> tuple[Cost, list[TensorInfo | None]]:
    if ctx.subgraph_runner is None:
        raise UnknownShape("no subgraph runner")
    g = _graph(ctx, name)
    if len(inputs) != len(g.inputs):
        raise ctx.fail(f"subgraph {name!r} takes {len(g.inputs)} inputs, the node gives {len(inputs)}")
    res = ctx.subgraph_runner(g, inputs)
    seen = {(u.name, u.reason) for u in unsupported}
    unsupported.extend(u for u in res.unsupported if (u.name, u.reason) not in seen)
    return res.cost, list(res.outputs)


def _finish(ctx: NodeContext, total: Cost, unsupported: list[Unsupported], *, fold: bool, trips: Any = None) -> Cost:
    """Split a rolled-up subgraph total into the compute the rule returns and the traffic
    that replaces the node's own bytes; pass nested unsupported nodes up; a node that
    loops (`trips`) or may not fold says so."""
    ctx.bytes_override = total.replace(flops=0, macs=0, transcendentals=0, params=0)
    ctx.report_unsupported(unsupported)
    if not fold:
        ctx.never_fold()
    if trips is not None:
        ctx.set_kernel(LoopShape(trips=trips))
    return Cost(flops=total.flops, macs=total.macs, transcendentals=total.transcendentals, params=total.params)


def _elem_or_info(ctx: NodeContext, seq: Seq | None, i: int) -> TensorInfo | None:
    """A sequence input's element type, or a tensor input's own type."""
    return seq.elem if seq is not None else ctx.info(i)


def _shape_of(info: TensorInfo | None) -> Shape | None:
    return None if info is None else info.shape


def _fresh(info: TensorInfo | None) -> TensorInfo | None:
    """A loop-carried value as the body sees it: changes every iteration, so never a
    constant nor a weight, contents unknown (a sequence keeps its structure)."""
    if info is None:
        return None
    return TensorInfo(info.dtype, info.shape, Role.ACTIVATION, _seqof(info.data), False)


def _same_shape(a: Shape | None, b: Shape | None) -> bool | None:
    if a is None or b is None:
        return None
    if len(a) != len(b):
        return False
    verdicts = [known_eq(x, y) for x, y in zip(a, b)]
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _set(ctx: NodeContext, i: int, info: TensorInfo | None, keep_data: bool = True) -> None:
    if info is None:
        ctx.set_output(i, None, None)
    else:
        data = info.data if keep_data else _seqof(info.data)
        ctx.set_output(i, info.dtype, info.shape, data)


# -- If ----------------------------------------------------------------------------------
def _merge(a: TensorInfo | None, b: TensorInfo | None) -> TensorInfo | None:
    """One output of an If whose branch is not known: the shape both branches agree on;
    differing dims of equal rank take the larger (the costlier branch, as the cost does);
    differing ranks are unknown."""
    if a is None or b is None:
        return a or b
    dt = a.dtype or b.dtype
    if a.shape is None or b.shape is None:
        return TensorInfo(dt, a.shape if a.shape is not None else b.shape)
    if len(a.shape) != len(b.shape):
        return TensorInfo(dt, None)
    return TensorInfo(dt, tuple(x if known_eq(x, y) else smax(x, y) for x, y in zip(a.shape, b.shape)))


def _truth(x: Any) -> bool | None:
    if x is None:
        return None
    try:
        return bool(x)
    except TypeError:
        return None


@op("If", kind=CONTROL)
def if_(ctx: NodeContext) -> Cost:
    """The branch taken when the condition is known; otherwise the field-wise max of the
    two branches' costs (Cost.maximum). Params of both branches count."""
    uns: list[Unsupported] = []
    cond = _truth(ctx.scalar(0))
    names = ("then_branch", "else_branch") if cond is None else ("then_branch" if cond else "else_branch",)
    runs = [_run(ctx, nm, [], uns) for nm in names]
    n = len(ctx.node.outputs)
    for nm, (_, outs) in zip(names, runs):
        if len(outs) != n:
            raise ctx.fail(f"{nm} has {len(outs)} outputs, the node {n}")
    if len(runs) == 1:
        total, outs = runs[0]
    else:
        (ca, oa), (cb, ob) = runs
        total = ca.maximum(cb).replace(params=norm(ca.params + cb.params))
        outs = [_merge(x, y) for x, y in zip(oa, ob)]
    for i, o in enumerate(outs):
        _set(ctx, i, o, keep_data=len(runs) == 1)
    # A known condition over constant branch outputs folds away like any constant node.
    folds = len(runs) == 1 and all(o is not None and o.const for o in outs)
    return _finish(ctx, total, uns, fold=folds)


# -- Loop --------------------------------------------------------------------------------
def _trips(ctx: NodeContext) -> Any:
    """Trip count: 0 when the initial condition is known false; M when known (an upper
    bound when a condition may stop it earlier); else the symbol loop_<node>_trips."""
    if ctx.has(1) and _truth(ctx.scalar(1)) is False:
        return 0
    m = ctx.scalar(0) if ctx.has(0) else None
    if isinstance(m, (int, np.integer)) and not isinstance(m, bool):
        m = int(m)
        if m < _NO_LIMIT:
            return max(m, 0)
    elif m is not None and not isinstance(m, (float, bool)) and hasattr(m, "free_symbols"):
        return norm(m)
    return symbol("loop_" + re.sub(r"[^A-Za-z0-9_]", "_", ctx.node_name()) + "_trips")


def _carry(first: TensorInfo | None, out: TensorInfo | None, trips: Any) -> tuple[bool, TensorInfo | None]:
    """(stable, final value) of one loop-carried value after `trips` iterations, from its
    value before and after one iteration. A sequence that grows by a fixed count per
    iteration with a fixed element shape is stable (its length is extrapolated)."""
    if out is None:
        return True, TensorInfo(first.dtype if first else None, None)
    a, b = _seqof(first.data) if first else None, _seqof(out.data)
    if a is not None and b is not None:
        if a.length is None or b.length is None:
            return True, TensorInfo(out.dtype, None, data=Seq(b.elem, None))
        grown = a.length == 0 or (
            a.elem is not None and b.elem is not None and _same_shape(a.elem.shape, b.elem.shape) is True
        )
        if not grown:
            return False, out
        length = norm(a.length + (b.length - a.length) * trips)
        return True, TensorInfo(out.dtype, None, data=Seq(b.elem, length))
    same = _same_shape(first.shape if first else None, out.shape)
    if same is False:
        return False, out
    shape = _shape_of(first) if same else out.shape
    return True, TensorInfo(out.dtype or (first.dtype if first else None), shape)


@op("Loop", kind=CONTROL)
def loop(ctx: NodeContext) -> Cost:
    """Body cost x trip count. Body inputs: (iteration_num int64 scalar, cond bool scalar,
    carried...); body outputs: (cond, carried..., scan outputs...). Loop-carried outputs
    keep their shapes; a value that changes shape per iteration is unrolled when the trip
    count is a known number up to 64, and unsupported otherwise. Scan outputs gain a
    leading trip-count dim."""
    uns: list[Unsupported] = []
    body = _graph(ctx, "body")
    n_carry = max(len(ctx.node.inputs) - 2, 0)
    n_scan = len(body.outputs) - 1 - n_carry
    if n_scan < 0:
        raise ctx.fail(f"body has {len(body.outputs)} outputs for {n_carry} loop-carried values")
    trips = _trips(ctx)
    carried = [_fresh(ctx.inputs[2 + k]) if ctx.has(2 + k) else None for k in range(n_carry)]
    counters: list[TensorInfo | None] = [TensorInfo(INT64, ()), TensorInfo(BOOL, ())]
    total, outs = _run(ctx, "body", counters + carried, uns)
    finals = [_carry(carried[k], outs[1 + k], trips) for k in range(n_carry)]
    if all(stable for stable, _ in finals):
        total = total.scale(trips)
        scans = outs[1 + n_carry :]
        final = [f for _, f in finals]
    elif type(trips) is int and trips <= _UNROLL:
        first = list(outs)
        cur = [_fresh(o) for o in outs[1 : 1 + n_carry]]
        if trips == 0:
            final, total = carried, Cost(params=total.params)
        else:
            for _ in range(trips - 1):
                c, outs = _run(ctx, "body", counters + cur, uns)
                # the body's own initializers are new objects on every run: count them once
                total = total + c.replace(params=0)
                cur = [_fresh(o) for o in outs[1 : 1 + n_carry]]
            final = cur
        scans = [
            o
            if _same_shape(o.shape if o else None, f.shape if f else None)
            else TensorInfo(o.dtype if o else None, None)
            for o, f in zip(outs[1 + n_carry :], first[1 + n_carry :])
        ]
    else:
        k = next(i for i, (stable, _) in enumerate(finals) if not stable)
        raise UnknownShape(
            f"loop-carried value {k} changes shape per iteration "
            f"({_shape_of(carried[k])} -> {_shape_of(outs[1 + k])}) "
            f"and the trip count {trips} is not a known number up to {_UNROLL}"
        )
    for k, f in enumerate(final):
        _set(ctx, k, f, keep_data=False)
    for j, o in enumerate(scans):
        shape = None if o is None or o.shape is None else (trips,) + tuple(o.shape)
        ctx.set_output(n_carry + j, o.dtype if o else None, shape)
    return _finish(ctx, total, uns, fold=False, trips=trips)


# -- Scan --------------------------------------------------------------------------------
@op("Scan", kind=CONTROL)
def scan(ctx: NodeContext) -> Cost:
    """Body cost x sequence length (x batch for Scan-8, whose body sees one batch row).
    Body inputs: (states..., one slice of each scan input); outputs: (states..., scan
    output elements), stacked along scan_output_axes."""
    uns: list[Unsupported] = []
    body = _graph(ctx, "body")
    n_in = ctx.attr("num_scan_inputs")
    v8 = ctx.opset < 9
    first = 1 if v8 else 0  # Scan-8 takes sequence_lens first
    names = ctx.node.inputs[first:]
    n_state = len(names) - n_in
    if n_state < 0 or len(body.outputs) < n_state:
        raise ctx.fail(f"Scan with {len(names)} inputs cannot have {n_in} scan inputs")
    n_out = len(body.outputs) - n_state
    states = [ctx.info(first + k) for k in range(n_state)]
    scans = [ctx.shape(first + n_state + j) for j in range(n_in)]
    in_axes = [0] * n_in if v8 else list(ctx.attr("scan_input_axes", None) or [0] * n_in)
    out_axes = [0] * n_out if v8 else list(ctx.attr("scan_output_axes", None) or [0] * n_out)
    lead = 1 if v8 else 0  # Scan-8: batch is dim 0 of every input and output
    length = batch = None
    slices = []
    for j, s in enumerate(scans):
        ax = normalize_axis(in_axes[j], len(s) - lead, ctx.where) + lead
        if length is None:
            length = s[ax]
        elif known_eq(length, s[ax]) is False:
            raise ctx.fail(f"scan inputs have lengths {length} and {s[ax]}")
        if v8:
            batch = s[0] if batch is None else batch
        slices.append(TensorInfo(ctx.dtype(first + n_state + j), tuple(s[lead:ax]) + tuple(s[ax + 1 :])))
    if length is None:
        raise ctx.fail("Scan needs at least one scan input")
    body_states = [TensorInfo(st.dtype, None if st.shape is None else tuple(st.shape[lead:])) for st in states]
    total, outs = _run(ctx, "body", [*(_fresh(s) for s in body_states), *slices], uns)
    for k, st in enumerate(states):
        if _same_shape(body_states[k].shape, _shape_of(outs[k])) is False:
            raise ctx.fail(f"Scan state {k} changes shape {body_states[k].shape} -> {_shape_of(outs[k])}")
        ctx.set_output(k, st.dtype, st.shape)
    for j in range(n_out):
        o = outs[n_state + j]
        shape = None
        if o is not None and o.shape is not None:
            ax = normalize_axis(out_axes[j], len(o.shape) + 1, ctx.where)
            shape = tuple(o.shape[:ax]) + (length,) + tuple(o.shape[ax:])
            if v8:
                shape = (batch,) + shape
        ctx.set_output(n_state + j, o.dtype if o else None, shape)
    reps = norm(length * batch) if v8 else length
    return _finish(ctx, total.scale(reps), uns, fold=False, trips=reps)


# -- sequences ---------------------------------------------------------------------------
def _seq(ctx: NodeContext, i: int) -> Seq:
    d = _seqof(ctx.data(i))
    if d is not None:
        return d
    dt = ctx.info(i).dtype if ctx.has(i) else None
    return Seq(TensorInfo(dt, None), None)


def _of(items: Sequence[TensorInfo]) -> Seq:
    items = tuple(TensorInfo(t.dtype, t.shape) for t in items)
    if not items:
        return Seq(None, 0, ())
    shape = items[0].shape
    if any(_same_shape(shape, t.shape) is not True for t in items[1:]):
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


@op("SequenceMap", kind=CONTROL, since=17)
def sequence_map(ctx: NodeContext) -> Cost:
    """Body cost x length, the body seeing one element of each sequence input (and each
    tensor input whole); needs the elements' common shape and the length."""
    uns: list[Unsupported] = []
    seqs = {i: _seqof(ctx.data(i)) for i in range(ctx.n_inputs)}
    s0 = seqs[0]
    if (
        s0 is None
        or s0.length is None
        or any(s is not None and (s.elem is None or s.elem.shape is None) for s in seqs.values())
    ):
        raise UnknownShape("the sequence's element shapes or length are not known")
    args = [_elem_or_info(ctx, seqs[i], i) for i in range(ctx.n_inputs)]
    cost, outs = _run(ctx, "body", [_fresh(a) for a in args], uns)
    for j, o in enumerate(outs):
        ctx.set_output(j, o.dtype if o is not None else None, None, Seq(o, s0.length))
    return _finish(ctx, cost.scale(s0.length), uns, fold=False, trips=s0.length)
