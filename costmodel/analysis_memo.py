"""The analysis's memo of rule outcomes: what a rule found for a node, the same for every
node of its signature (ops/memo.py), and the per-thread store that keeps outcomes between
analyses with the same rules, deployment dtype and limits, so that graphs sharing layers
(a NAS space's cells, a sweep over one model) cost each distinct layer once."""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from .ir.dtypes import DType
from .ir.graph import TensorInfo
from .limits import Limits
from .ops import registry as _registry
from .ops.memo import Interner
from .ops.registry import OpDef


class Outcome(NamedTuple):
    """What a rule found for a node, the same for every node of its signature (ops/memo.py)."""

    values: tuple[TensorInfo | None, ...]  # each output's value in the environment (None: unused)
    keys: tuple[Any, ...]  # their input_keys (ops/memo.py)
    fresh: bool  # some output is a folded weight (each node's are its own objects)
    retyped: tuple[int, ...]  # folded outputs re-typed from float to the deployment dtype
    aliases: tuple[tuple[int, int], ...]  # (output, input) pairs sharing storage
    # (input, its bytes, its elements if a float parameter else None) of each weight or
    # buffer read: what is counted once per tensor, by identity (own_row)
    resident: tuple[tuple[int, Any, Any], ...]
    made: tuple[int, ...]  # FOLDED: its float outputs (params counted, never again)
    count: Any  # FOLDED: the elements of the new parameter tensors among them
    derive: bool  # FOLDED: they are computed from floats (their sources stay resident)
    plain: bool  # every output named, none fresh or a view, no weight read: rows alike
    reads: bool  # plain but for the weights it reads (own_row): a weight-reading hit's fast path
    # folded into one new parameter tensor from no weight (ConstantOfShape of a shape): a
    # hit's fast path, its output a value of its own (params counted by identity)
    weight: bool
    # NodeCost's kind, status, cost, reason, input and output shapes, dtype and kernel; the
    # cost is every node's when it reads no weight (COSTED: compute and traffic)
    row: tuple[Any, ...]


class SharedMemo:
    """An analyser's memo, registry look-ups and interned signature parts, kept between
    the analyses of one thread that use the same rules (registry and its generation),
    deployment dtype and expression limit. Everything a rule sees is in its signature
    (ops/memo.py), so an outcome found for one graph is right for any other. The memo's
    outcomes are immutable and every node still gets its own record."""

    __slots__ = ("generation", "interner", "memo", "opdefs", "registry")

    def __init__(self, registry: _registry.Registry, generation: int) -> None:
        self.registry = registry  # kept alive: its id is part of the key
        self.generation = generation
        self.memo: dict[tuple[Any, ...], Outcome] = {}
        self.opdefs: dict[tuple[int, str, str], tuple[int, OpDef | None]] = {}
        self.interner = Interner()


_THREAD = threading.local()
# Outcomes (and 4x as many interned parts) kept per thread before the memo starts afresh:
# a few hundred MiB at most, against the 10^3-10^4 distinct signatures of a large model.
_SHARED_OUTCOMES = 50_000


def shared_memo(registry: _registry.Registry, dtype: DType | None, limits: Limits) -> SharedMemo:
    """This thread's shared memo for analyses with these rules, dtype and limits (checked
    between analyses: one analysis always numbers its signatures with one interner)."""
    states: dict[tuple[int, DType | None, int], SharedMemo] | None = getattr(_THREAD, "states", None)
    if states is None:
        states = _THREAD.states = {}
    key = (id(registry), dtype, limits.max_expr_nodes)
    state = states.get(key)
    generation = _registry.generation()
    if (
        state is None
        or state.registry is not registry
        or state.generation != generation
        or len(state.memo) > _SHARED_OUTCOMES
        or len(state.interner.ids) > 4 * _SHARED_OUTCOMES
        or len(state.interner.attrs) > _SHARED_OUTCOMES  # a dict per load's distinct attributes
    ):
        if len(states) >= 8:  # one-off registries (a per-analysis overlay) do not pile up
            states.clear()
        state = states[key] = SharedMemo(registry, generation)
    return state


def clear_memo() -> None:
    """Forget the outcomes kept between analyses in this thread (benchmarks time the
    first analysis of a graph with it; the results never depend on it)."""
    _THREAD.__dict__.pop("states", None)
