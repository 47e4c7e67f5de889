"""Control flow: If, Loop, Scan and SequenceMap.

A control-flow node costs what its subgraphs do: each subgraph is analysed by the
subgraph runner (every nested node costed by its own rule) and the totals are rolled
up: If = field-wise max of its branches (or the one branch a known condition selects),
Loop = body x trip count, Scan = body x sequence length, SequenceMap = body x the
sequence's length. The rolled-up subgraph traffic replaces the outer node's own
input/output bytes (`bytes_override`), which are not the real traffic. Params are never
multiplied by trips. Nested unsupported nodes are passed up (`report_unsupported`), so
they appear in the top-level `unsupported` list. Sequence values: sequences.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ir.dtypes import BOOL, INT64
from ..ir.graph import Graph, Role, TensorInfo
from ..symbolic import known_eq, norm, Shape, smax, symbol
from .context import NodeContext, UnknownShape, Unsupported
from .cost import Cost
from .formulas import normalize_axis
from .kernel import LoopShape
from .registry import CONTROL, op
from .sequences import Seq, same_shape, seqof

# A Loop trip count this large is the "no limit" sentinel exporters write for while
# loops (torch.onnx writes INT64_MAX), not a real count.
_NO_LIMIT = 2**31 - 1
# Most iterations unrolled one by one when a loop-carried value changes shape.
_UNROLL = 64


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
    return TensorInfo(info.dtype, info.shape, Role.ACTIVATION, seqof(info.data), False)


def _set(ctx: NodeContext, i: int, info: TensorInfo | None, keep_data: bool = True) -> None:
    if info is None:
        ctx.set_output(i, None, None)
    else:
        data = info.data if keep_data else seqof(info.data)
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
    a, b = seqof(first.data) if first else None, seqof(out.data)
    if a is not None and b is not None:
        if a.length is None or b.length is None:
            return True, TensorInfo(out.dtype, None, data=Seq(b.elem, None))
        grown = a.length == 0 or (
            a.elem is not None and b.elem is not None and same_shape(a.elem.shape, b.elem.shape) is True
        )
        if not grown:
            return False, out
        length = norm(a.length + (b.length - a.length) * trips)
        return True, TensorInfo(out.dtype, None, data=Seq(b.elem, length))
    same = same_shape(first.shape if first else None, out.shape)
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
            if same_shape(o.shape if o else None, f.shape if f else None)
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
        if same_shape(body_states[k].shape, _shape_of(outs[k])) is False:
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


@op("SequenceMap", kind=CONTROL, since=17)
def sequence_map(ctx: NodeContext) -> Cost:
    """Body cost x length, the body seeing one element of each sequence input (and each
    tensor input whole); needs the elements' common shape and the length."""
    uns: list[Unsupported] = []
    seqs = {i: seqof(ctx.data(i)) for i in range(ctx.n_inputs)}
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
