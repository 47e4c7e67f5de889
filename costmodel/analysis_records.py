"""The analysis records: a node's cost (NodeCost, a named tuple built in the hot loop)
and the graph's (GraphCost) with its rollups by op type and scope, and the exact sum
of many costs. costmodel/analysis.py makes them; everything downstream reads them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from operator import is_not
from collections.abc import Mapping
from typing import Any, NamedTuple

from .ir.graph import TensorInfo
from .ops.context import Unsupported
from .ops.cost import ZERO, Cost
from .ops.kernel import Kernel
from .ops.registry import OpKind
from .symbolic import Shape, add_all, norm, to_json_number

new_tuple = tuple.__new__  # a named tuple from a tuple of its fields, in C (the analysis modules' one copy)


class NodeStatus(StrEnum):
    """What the analysis did with a node (values are the JSON strings)."""

    COSTED = "costed"  # a kernel: compute and traffic
    ZERO = "zero"  # a declared zero-cost op (view, metadata), with its reason
    FOLDED = "folded"  # every input constant: computed once at load time
    UNSUPPORTED = "unsupported"  # no cost: listed in `unsupported`


class NodeCost(NamedTuple):
    """One node's row: what the analysis did with it and its cost (a named tuple:
    immutable, and made from C, one per node)."""

    name: str
    op_type: str
    domain: str
    kind: OpKind
    status: NodeStatus
    cost: Cost
    reason: str = ""
    input_shapes: tuple[Shape | None, ...] = ()
    output_shapes: tuple[Shape | None, ...] = ()
    dtype: str | None = None
    kernel: Kernel | None = None  # what the engine times the kernel by (ops/kernel.py)
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()  # graph nodes this kernel stands for (empty: only itself)
    # copies of a repeated block this row stands for (ir.graph.Repeat): `cost` is all of
    # them together, `kernel` one copy's
    repeat: int = 1
    block: str = ""  # the repeated block's name (ir.graph.Repeat.block), "" when it runs once

    @property
    def covered(self) -> tuple[str, ...]:
        """The names of the exported graph's nodes this row accounts for."""
        return self.covers or (self.name,)

    def one_copy(self) -> NodeCost:
        """This row for one copy of its repeated block (itself when it runs once)."""
        r = self.repeat
        if r == 1:
            return self
        return self._replace(cost=new_tuple(Cost, tuple(per_copy(x, r) for x in self.cost)), repeat=1, block="")

    @property
    def scope(self) -> str:
        n = self.name
        return n.rsplit("/", 1)[0] if "/" in n else ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "op_type": self.op_type,
            "domain": self.domain,
            "kind": self.kind,
            "status": self.status,
        }
        if self.reason:
            d["reason"] = self.reason
        d.update(self.cost.to_dict())
        d["input_shapes"] = [_shape_json(s) for s in self.input_shapes]
        d["output_shapes"] = [_shape_json(s) for s in self.output_shapes]
        d["dtype"] = self.dtype
        d["covers"] = list(self.covered)
        d["repeat"] = self.repeat
        return d


@dataclass(frozen=True, kw_only=True)
class GraphCost:
    nodes: tuple[NodeCost, ...]
    total: Cost
    params: Any
    unsupported: tuple[Unsupported, ...]
    symbols: tuple[str, ...]
    peak_activation_bytes: Any
    weight_bytes: Any
    outputs: Mapping[str, TensorInfo | None] = field(default_factory=dict)
    # every value's type as the analysis found it (what runtime rewrites read)
    values: Mapping[str, TensorInfo] = field(default_factory=dict)
    runtime: str = "none"  # the runtime whose kernels the nodes are (passes/runtimes.py)

    def by_type(self) -> dict[str, Cost]:
        groups: dict[str, list[Cost]] = {}
        for n in self.nodes:
            k = n.op_type if not n.domain else f"{n.domain}::{n.op_type}"
            groups.setdefault(k, []).append(n.cost)
        return {k: sum_costs(v) for k, v in groups.items()}

    def by_scope(self, depth: int = 1) -> dict[str, Cost]:
        groups: dict[str, list[Cost]] = {}
        for n in self.nodes:
            parts = [p for p in n.scope.split("/") if p][:depth]
            k = "/".join(parts) or "(root)"
            groups.setdefault(k, []).append(n.cost)
        return {k: sum_costs(v) for k, v in groups.items()}

    @property
    def coverage(self) -> float:
        real = [n for n in self.nodes if n.status is not NodeStatus.FOLDED]
        if not real:
            return 1.0
        missing = sum(n.repeat for n in real if n.status is NodeStatus.UNSUPPORTED)
        return 1.0 - missing / sum(n.repeat for n in real)


_not_zero = partial(is_not, ZERO)


def sum_costs(costs: Iterable[Cost]) -> Cost:
    """Field-wise exact sum, equal to adding the costs one by one but linear in their
    number: ints add as ints and each field's symbolic terms are combined by one Add."""
    costs = list(filter(_not_zero, costs))  # in C: [c for c in costs if c is not ZERO]
    if not costs:
        return ZERO
    if len(costs) == 1:
        return costs[0] + ZERO  # normalises fields exactly as `+` does
    return Cost(*(add_all(list(col)) for col in zip(*costs)))  # a Cost is a tuple of its fields


def _shape_json(s: Shape | None) -> Any:
    if s is None:
        return None
    return [to_json_number(d) for d in s]


def per_copy(x: Any, r: int) -> Any:
    """One copy's share of a count over r copies of a repeated block (exact)."""
    return x // r if type(x) is int else norm(x / r)


# DType.is_float's kinds, without a property call per tensor
FLOAT_KINDS = ("float", "complex")


def shapes_of(infos: Iterable[TensorInfo | None]) -> tuple[Shape | None, ...]:
    """NodeCost.input_shapes / output_shapes from the values' types."""
    return tuple([i.shape if i is not None else None for i in infos])


def node_dtype(infos: Sequence[TensorInfo | None], outs: Iterable[TensorInfo | None]) -> str | None:
    """The node's dtype: its first float output or input, else its first typed input."""
    for i in outs:
        if i is not None and i.dtype is not None and i.dtype.kind in FLOAT_KINDS:
            return i.dtype.name
    for i in infos:
        if i is not None and i.dtype is not None and i.dtype.kind in FLOAT_KINDS:
            return i.dtype.name
    for i in infos:
        if i is not None and i.dtype is not None:
            return i.dtype.name
    return None
