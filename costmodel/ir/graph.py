"""The graph IR: nodes, typed values and their roles. No cost, hardware or ONNX knowledge.

networkx stays private to this module: it orders nodes when a file's order is not
topological and names a cycle when there is one. The common case (a file already in
topological order) is checked in one linear pass without building a networkx graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from itertools import chain
from operator import attrgetter
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from ..errors import GraphError
from ..symbolic import prod, Shape
from .dtypes import DType


class Role(StrEnum):
    INPUT = "input"
    WEIGHT = "weight"  # a parameter: resident, counted in `params`
    BUFFER = "buffer"  # resident and read like a weight, not a parameter (running statistics)
    ACTIVATION = "activation"
    KV_CACHE = "kv_cache"
    CONSTANT = "constant"  # known at load time, not a parameter (shape arithmetic, scalars)


class TensorInfo(NamedTuple):
    """What is known about one value. `shape` entries are ints or sympy expressions;
    `data` is the content (a numpy array, object dtype for symbolic entries) when it is
    known at analysis time (shape arithmetic, small constants); `const` marks values that
    depend only on constants, so the nodes making them fold away at load time."""

    dtype: DType | None
    shape: Shape | None
    role: Role = Role.ACTIVATION
    data: Any = None
    const: bool = False


def tensor_bytes(info: TensorInfo | None) -> Any:
    """Bytes of a tensor of known type (0 when its shape or dtype is unknown)."""
    if info is None or info.shape is None or info.dtype is None:
        return 0
    return info.dtype.nbytes(prod(info.shape))


@dataclass(frozen=True, slots=True)
class Initializer:
    """A tensor stored with the model. `role` None lets the analysis decide (a float or
    large tensor is a weight, a small integer one a constant); a front end that knows
    better (a framework buffer, a scalar argument) says so. Equal and hashed by value,
    its data by dtype, shape and content (an attribute's tensor is part of a node's
    signature, ops/memo.py)."""

    name: str
    dtype: DType
    shape: Shape
    data: Any = None  # numpy array for small tensors; None when not loaded (weights)
    role: Role | None = None
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.dtype, self.shape, self.role, None if self.data is None else value_key(self.data))

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if type(other) is not Initializer:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        h = self._hash
        if h is None:  # computed once: a shared tensor attribute is hashed into many signatures
            h = hash(self._key())
            object.__setattr__(self, "_hash", h)
        return h


@dataclass(frozen=True, slots=True)
class Repeat:
    """Nodes, inputs and weights that stand for `count` identical copies run one after
    another (a spec's repeated layers, lowered once): a node's costs are one copy's
    times `count`, each copy has its own weights and inputs. `block` names the copies'
    group (frontends/lower: the segment's label, e.g. `layers[1..31]x31`); a block's nodes
    are contiguous in the graph."""

    count: int
    block: str


_new = object.__new__
# the slots' own setters: one C call per field, no attribute look-up by name
_SET_NAME, _SET_DTYPE, _SET_SHAPE, _SET_DATA, _SET_ROLE, _SET_HASH = (
    Initializer.__dict__[f.name].__set__ for f in dataclass_fields(Initializer)
)


def new_initializer(name: str, dtype: DType, shape: Shape, data: Any) -> Initializer:
    """Initializer(name, dtype, shape, data), its fields set through their slots (the
    generated __init__ of a frozen dataclass goes through object.__setattr__ per field;
    a reader makes one per tensor)."""
    obj: Initializer = _new(Initializer)
    _SET_NAME(obj, name)
    _SET_DTYPE(obj, dtype)
    _SET_SHAPE(obj, shape)
    _SET_DATA(obj, data)
    _SET_ROLE(obj, None)
    _SET_HASH(obj, None)
    return obj


def value_key(data: Any) -> Any:
    """A known value as a hashable key: an array by its dtype, shape and bytes (object
    arrays, of ints and sympy expressions, by their elements)."""
    if type(data) is np.ndarray:
        if data.dtype.hasobject:
            return (data.shape, tuple(data.ravel().tolist()))
        return (data.dtype.str, data.shape, data.tobytes())
    return (type(data), data)


NO_ATTRS: dict[str, Any] = MappingProxyType({})  # type: ignore[assignment]  # read-only: shared default
NO_SUBGRAPHS: dict[str, Graph] = MappingProxyType({})  # type: ignore[assignment]


class Node(NamedTuple):
    """One operator of a graph. Immutable (a named tuple: made from C, one per node of a
    model of millions); passes that change a graph make new nodes."""

    name: str
    op_type: str
    domain: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = NO_ATTRS
    subgraphs: dict[str, Graph] = NO_SUBGRAPHS
    # Why the front end could not translate this node (the analysis lists it as
    # unsupported with this reason); empty for a translated node.
    untranslated: str = ""
    # The nodes of the graph as exported that this node stands for, when a runtime's
    # rewrite (passes/rewrite.py) made it one kernel of several; empty: only itself.
    covers: tuple[str, ...] = ()
    # None: the node runs once; else it is one copy of a repeated block (Repeat)
    repeat: Repeat | None = None

    @property
    def key(self) -> str:
        return f"{self.domain}::{self.op_type}" if self.domain else self.op_type


@dataclass(slots=True)
class Graph:
    name: str
    nodes: list[Node]
    inputs: list[str]
    outputs: list[str]
    initializers: dict[str, Initializer]
    declared: dict[str, tuple[DType | None, Shape | None]]  # inputs, outputs, value_info
    opsets: dict[str, int]
    symbols: tuple[str, ...] = ()
    doc: str = ""
    # lowered from a model's own PyTorch code run eagerly (frontends/lower, Workload.
    # eager_code): each node is already a kernel eager PyTorch launches, as the code is
    # written, so a runtime that runs that code eagerly rewrites nothing (passes/runtimes.py)
    eager_code: bool = False
    # graph inputs that are one copy's of a repeated block (each copy reads its own)
    repeats: dict[str, Repeat] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    @property
    def repeated(self) -> bool:
        """Whether some nodes stand for several copies (ir.graph.Repeat)."""
        return bool(self.repeats) or any(map(_repeat, self.nodes))  # in C: a Repeat is truthy

    def topological(self, outer: set[str] | frozenset[str] = frozenset()) -> list[Node]:
        """Nodes in topological order; raises GraphError naming a cycle or a dangling input."""
        available = set(self.inputs) | set(self.initializers) | set(outer)
        available.add("")
        made = list(chain.from_iterable(map(_outputs, self.nodes)))  # in C; "" names an unused output
        named = set(made)
        named.discard("")
        if len(named) == len(made) - made.count("") and self.initializers.keys().isdisjoint(named):
            # the common case, checked in C per node: every value made once, in order
            has, add = available.issuperset, available.update
            for n in self.nodes:
                if not has(n.inputs):
                    break
                add(n.outputs)
            else:
                return self.nodes
            available = set(self.inputs) | set(self.initializers) | set(outer)
            available.add("")
        in_order = True
        produced: dict[str, int] = {}
        for i, n in enumerate(self.nodes):
            for o in n.outputs:
                if o in produced or (o and o in self.initializers):
                    raise GraphError(f"value {o!r} is produced twice", where=f"node {n.name or n.op_type}")
                if o:
                    produced[o] = i
        for n in self.nodes:
            for x in n.inputs:
                if x not in available:
                    if x in produced:
                        in_order = False
                    else:
                        raise GraphError(
                            f"input {x!r} is not a graph input, initializer or node output",
                            where=f"node {n.name or n.op_type}",
                        )
            available.update(n.outputs)
        if in_order:
            return self.nodes
        return self._sorted_with_networkx(produced)

    def _sorted_with_networkx(self, produced: dict[str, int]) -> list[Node]:
        import networkx as nx  # ~0.3 s to import: only graphs stored out of order need it

        g = nx.DiGraph()
        g.add_nodes_from(range(len(self.nodes)))
        for i, n in enumerate(self.nodes):
            for x in _all_inputs(n):
                j = produced.get(x)
                if j is not None:
                    g.add_edge(j, i)
        try:
            order = list(nx.lexicographical_topological_sort(g))
        except nx.NetworkXUnfeasible:
            cyc = nx.find_cycle(g)
            names = " -> ".join(self.nodes[a].name or self.nodes[a].op_type for a, _ in cyc)
            raise GraphError(f"the graph has a cycle: {names}") from None
        return [self.nodes[i] for i in order]

    def last_use(self, order: list[Node]) -> dict[str, int]:
        """Liveness: index in `order` of the last node reading each value."""
        last = {x: i for i, n in enumerate(order) for x in n.inputs}
        if any(map(_subgraphs, order)):  # in C; most graphs have none
            for i, n in enumerate(order):
                if n.subgraphs:
                    for x in _all_inputs(n):
                        if last.get(x, -1) < i:
                            last[x] = i
        end = len(order)
        for o in self.outputs:
            last[o] = end
        return last


_outputs = attrgetter("outputs")
_repeat = attrgetter("repeat")
_subgraphs = attrgetter("subgraphs")


def _all_inputs(n: Node) -> Iterator[str]:
    yield from n.inputs
    for g in n.subgraphs.values():
        yield from _outer_references(g)


def _outer_references(g: Graph) -> set[str]:
    """Names a subgraph reads from its enclosing scope."""
    local = set(g.inputs) | set(g.initializers)
    for n in g.nodes:
        local.update(n.outputs)
    refs: set[str] = set()
    for n in g.nodes:
        for x in _all_inputs(n):
            if x and x not in local:
                refs.add(x)
    for o in g.outputs:
        if o not in local:
            refs.add(o)
    return refs
