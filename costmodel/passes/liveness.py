"""Peak live activation memory by liveness, over a graph whose value types are known.

A tensor is live from the step that makes it (graph inputs: from the start) until the
last node that reads it has run; weights and constants are not activations. A value that
shares another's storage (a view: `aliases` maps it to the value it views) allocates
nothing and keeps that value alive while it is read.

With symbolic sizes the peak is the live total at the step that is largest when every
symbol is large (1024): the formula of the dominant step, not a Max over thousands of
expressions. Steps are compared by exact integer values at 1024 (each distinct tensor
size is evaluated once) and only the winning step's live tensors are summed symbolically,
so the pass stays linear in the node count.

A repeated block (ir.graph.Repeat: one copy of `count` identical ones run one after
another) is walked once. Each copy has its own graph inputs, live from the start: an input
of the block holds `count` copies until its last reader, then `count - 1` until the end of
the block. That is the unrolled graph's first copy of the block, and no later copy is
larger: copy k holds the same values of its own plus k fewer pending inputs (and the
peak's first step at the largest value is in a first copy, since every later step has an
earlier first-copy step at least as large). tests/test_repeat.py checks the equality.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import accumulate, chain, compress, repeat
from operator import attrgetter, not_
from typing import Any

from ..ir.graph import Graph, Node, Repeat, TensorInfo, tensor_bytes
from ..symbolic import add_all, norm

_LARGE = 1024  # the value every symbol takes when symbolic steps are compared


def peak_live_bytes(
    graph: Graph,
    order: Sequence[Node],
    env: Mapping[str, TensorInfo],
    aliases: Mapping[str, str] | None = None,
    repeats: Mapping[str, Repeat] | None = None,
) -> Any:
    """Peak bytes of live activations (graph inputs and intermediates) over `order`;
    `repeats`: the graph inputs of repeated blocks (see the module docstring)."""
    root = _roots(aliases or {})
    last = _last_use(graph, order, root)
    if not repeats:
        found = _concrete_peak(graph, order, env, last, root)
        if found is not None:
            return found
    rest = _Rest(order, repeats or {}, env)
    at_large: dict[Any, Any] = {}

    def value(b: Any) -> Any:
        if type(b) is int:
            return b
        v = at_large.get(b)
        if v is None:
            v = b.subs({s: _LARGE for s in b.free_symbols})
            v = at_large[b] = int(v) if v.is_Integer else v
        return v

    live: dict[str, Any] = {}
    cur: Any = 0  # live total, symbolic sizes counted at 1024 (exact while n_sym is 0)
    n_sym = 0  # live tensors of symbolic size
    concrete = True
    peak: Any = 0
    best_i, best_v = -2, -1.0  # the symbolic phase's largest step, by its value at 1024
    frees: dict[int, list[str]] = {}  # step -> the values freed after it
    for nm in graph.inputs:
        b = rest.initial(nm)
        if b:
            live[nm] = b
            f = _freed_at(nm, -1, order, last, root)
            if f is not None:
                frees.setdefault(f, []).append(nm)
    for b in live.values() if order else ():  # a graph without nodes has no step
        if type(b) is int:
            cur += b
        else:
            cur, n_sym = cur + value(b), n_sym + 1
    get_info, get_last = env.get, last.get
    sizes: dict[int, Any] = {}  # id of a value's type -> its bytes (nodes of one signature share types)
    end = len(order)
    for i, n in enumerate(order):
        for o in n.outputs:
            if not o or o in root:
                continue
            info = get_info(o)
            if info is None:
                continue
            b = sizes.get(id(info))
            if b is None:
                b = sizes[id(info)] = 0 if info.const else tensor_bytes(info)
            if b:
                live[o] = b
                if type(b) is int:
                    cur += b
                else:
                    cur, n_sym = cur + value(b), n_sym + 1
                f = get_last(o, -1)  # freed after its last reader, or at once when unread
                if f == -1:
                    f = i
                elif f >= end or not (o in order[f].inputs if not root else _names(order[f], o, root)):
                    continue  # a graph output, or read only inside a subgraph: live to the end
                dead = frees.get(f)
                if dead is None:
                    frees[f] = [o]
                else:
                    dead.append(o)
        if concrete and not n_sym:
            if cur > peak:
                peak = cur
        else:
            concrete = False
            if float(cur) > best_v:
                best_i, best_v = i, float(cur)
        dead = frees.pop(i, None)
        if dead:
            for x in dead:
                b = live.pop(x)
                if type(b) is int:
                    cur -= b
                else:
                    cur, n_sym = cur - value(b), n_sym - 1
                if repeats:
                    kept, until = rest.kept(x, i)
                    if kept:
                        live[x] = kept
                        frees.setdefault(until, []).append(x)
                        if type(kept) is int:
                            cur += kept
                        else:
                            cur, n_sym = cur + value(kept), n_sym + 1
    if concrete:
        return peak
    if float(peak) > best_v:
        return norm(peak)
    return norm(add_all(_live_at(graph, order, last, root, best_i, _Rest(order, repeats or {}, env))))


def _concrete_peak(
    graph: Graph,
    order: Sequence[Node],
    env: Mapping[str, TensorInfo],
    last: Mapping[str, int],
    root: Mapping[str, str],
) -> int | None:
    """peak_live_bytes of a graph without repeated blocks whose sizes are all integers
    (None at the first symbolic one): the same walk, the bytes each step frees summed in a
    list instead of live values kept by name. `root`: views (_roots), which allocate
    nothing."""
    end = len(order)
    free_at = [0] * (end + 1)
    get_info, get_last = env.get, last.get
    cur = 0
    for nm in graph.inputs:
        b = tensor_bytes(get_info(nm))
        if not b:
            continue
        if type(b) is not int:
            return None
        cur += b
        f = get_last(nm, -1)
        if 0 <= f < end and _names(order[f], nm, root):
            free_at[f] += b
    if not end:
        return 0
    # Only the outputs that allocate are walked in Python (a model's shape arithmetic and
    # weights are constants: 9 in 10 of swin_t's nodes). The live total only falls between
    # the steps that allocate, so the peak is the start's or one of theirs: that step's
    # allocations so far less the bytes freed before it (a prefix sum, in C).
    outs = list(chain.from_iterable(map(_outputs, order)))
    step = range(end) if len(outs) == end else [i for i, n in enumerate(order) for _ in n.outputs]
    infos = list(map(get_info, outs, repeat(_UNKNOWN)))  # in C; "" and unknown values read as constants
    sizes: dict[int, int] = {}  # id of a value's type -> its bytes (nodes of one signature share types)
    allocs: list[tuple[int, int]] = []
    for k in compress(range(len(outs)), map(not_, map(_const, infos))):
        o = outs[k]
        if o in root:
            continue
        info = infos[k]
        b = sizes.get(id(info))
        if b is None:
            b = tensor_bytes(info)
            if type(b) is not int:
                return None
            sizes[id(info)] = b
        if b:
            i = step[k]
            allocs.append((i, b))
            f = get_last(o, -1)  # freed after its last reader, or at once when unread
            if f == -1:
                free_at[i] += b
            elif f < end and (o in order[f].inputs if not root else _names(order[f], o, root)):
                free_at[f] += b
            # else a graph output, or read only inside a subgraph: live to the end
    freed = list(accumulate(free_at))  # freed[k]: bytes freed after steps 0..k
    peak = total = cur  # step 0 holds at least the graph inputs
    for i, b in allocs:  # several outputs of one step: the last of them is that step's total
        total += b
        live = total - freed[i - 1] if i else total
        if live > peak:
            peak = live
    return peak


_outputs = attrgetter("outputs")
_const = attrgetter("const")
_UNKNOWN = TensorInfo(None, None, const=True)


def _names(n: Node, x: str, root: Mapping[str, str]) -> bool:
    """Whether node `n` reads or writes value `x` itself or through a view of it."""
    if not root:
        return x in n.inputs or x in n.outputs
    return any(root.get(y, y) == x for y in chain(n.inputs, n.outputs))


def _freed_at(x: str, born: int, order: Sequence[Node], last: Mapping[str, int], root: Mapping[str, str]) -> int | None:
    """The step after which value `x` (made at step `born`, -1: a graph input) is freed:
    the first step naming it (through its root) at or after its last use; None: never."""
    f = last.get(x, -1)
    if f == -1:
        return born if born >= 0 else None
    if f >= len(order) or not _names(order[f], x, root):
        return None
    return f


def _roots(aliases: Mapping[str, str]) -> dict[str, str]:
    """Each aliasing value -> the value that owns its storage (chains of views resolved)."""
    root: dict[str, str] = {}
    for a in aliases:
        r, seen = aliases[a], {a}
        while r in aliases and r not in seen:
            seen.add(r)
            r = aliases[r]
        root[a] = r
    return root


def _last_use(graph: Graph, order: Sequence[Node], root: Mapping[str, str]) -> dict[str, int]:
    """Index in `order` of the last node reading each storage-owning value."""
    last = graph.last_use(list(order))
    if root:
        for x, i in list(last.items()):
            r = root.get(x)
            if r is not None and last.get(r, -1) < i:
                last[r] = i
    return last


def _live_at(
    graph: Graph,
    order: Sequence[Node],
    last: Mapping[str, int],
    root: Mapping[str, str],
    step: int,
    rest: _Rest,
) -> list[Any]:
    """Sizes of the tensors live at `step` (after its outputs are made, before frees)."""
    env = rest.env
    live: dict[str, Any] = {}
    ends: dict[int, list[str]] = {}  # step -> repeated inputs whose later copies go after it
    for nm in graph.inputs:
        b = rest.initial(nm)
        if b:
            live[nm] = b
    for i, n in enumerate(order[: step + 1]):
        for o in n.outputs:
            if not o or o in root:
                continue
            info = env.get(o)
            if info is not None and not info.const:
                b = tensor_bytes(info)
                if b:
                    live[o] = b
        if i == step:
            break
        for x in chain(n.inputs, n.outputs, ends.pop(i, ())):
            x = root.get(x, x)
            if x in live and last.get(x, -1) <= i:
                live.pop(x)
                kept, until = rest.kept(x, i)
                if kept:
                    live[x] = kept
                    ends.setdefault(until, []).append(x)
    return list(live.values())


class _Rest:
    """The graph inputs of repeated blocks: `count` copies live from the start; at the
    last reader of the walked copy, `count - 1` stay (the later copies' own) until the
    block's last node."""

    def __init__(self, order: Sequence[Node], repeats: Mapping[str, Repeat], env: Mapping[str, TensorInfo]) -> None:
        self.env = env
        self.repeats = repeats
        self.block_end: dict[str, int] = {}
        if repeats:
            for i, n in enumerate(order):
                if n.repeat is not None:
                    self.block_end[n.repeat.block] = i
        self.reduced: set[str] = set()

    def initial(self, name: str) -> Any:
        b = tensor_bytes(self.env.get(name))
        rep = self.repeats.get(name)
        return b * rep.count if b and rep is not None else b

    def kept(self, name: str, i: int) -> tuple[Any, int]:
        """What stays of `name` once its last reader (step i) ran, and the step after which
        that goes: (0, i), or the later copies' until the block's last node."""
        rep = self.repeats.get(name)
        if rep is None or name in self.reduced:
            return 0, i
        self.reduced.add(name)
        end = self.block_end.get(rep.block, i)
        if end <= i:
            return 0, i
        return tensor_bytes(self.env.get(name)) * (rep.count - 1), end
