"""Runtime rewrites: which kernels a runtime launches for a graph, as IR -> IR passes.

An exported graph is not what runs: a runtime launches fewer, larger kernels (one GEMM
for a Linear over a [B, S, K] input, one attention kernel for an SDPA call, one kernel
for a GELU that ONNX spells in five ops). A pass reads the graph and what an analysis of
it found (`Facts`: each value's type and known contents, each node's status and kind)
and returns `Group`s, the sets of nodes one kernel runs, and `View`s, nodes that copy in
the graph but are views in the runtime. `apply` replaces each group by one node of the
`costmodel` domain (ops/framework.py) whose `body` subgraph holds the group's nodes: the
analysis costs the body's ops by their own rules, so FLOPs and parameters never change,
while the node's traffic is the kernel's own inputs and outputs (what a fused kernel
keeps on chip is not moved). Every new node names the graph nodes it stands for
(`Node.covers`), so per-kernel tables reconcile with the exported graph.

Only nodes the analysis costed or found zero-cost join a group: a node folded at load
time stays outside (inside a body it would be costed, and FLOPs would change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir.graph import Graph, Initializer, Node, Role, TensorInfo
from ..symbolic import Shape

DOMAIN = "costmodel"

# The kind of each fused op of ops/framework.py (values of ops.registry.OpKind): a pass
# that fuses a fused node again reads its kind here.
FUSED_KINDS = {
    "FusedElementwise": "elementwise",
    "FusedContraction": "contraction",
    "FusedReduction": "reduction",
    "FusedNormalization": "normalization",
    "FusedAttention": "attention",
    "FusedConv": "conv",
}
# Kinds whose nodes only move or relabel data (a transpose, a reshape, a gather of rows).
MOVEMENT_KINDS = frozenset({"movement", "view"})
JOINABLE = frozenset({"costed", "zero"})
METADATA = frozenset({"Shape", "Size"})  # statuses a node may have to join a group


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What the analysis did with a node: its status (analysis.NodeStatus value) and
    kind (ops.registry.OpKind value)."""

    status: str
    kind: str


@dataclass
class Facts:
    """What an analysis of the graph found, for patterns to read. Nodes are keyed by
    their output names (unique in an SSA graph, unlike node names)."""

    values: Mapping[str, TensorInfo]
    nodes: dict[tuple[str, ...], NodeFacts]

    def of(self, node: Node) -> NodeFacts | None:
        return self.nodes.get(node.outputs)

    def joinable(self, node: Node) -> bool:
        """The node may join a group: costed or zero-cost, translated, and without
        subgraphs unless it is a fused node (whose body is a group already)."""
        f = self.of(node)
        if f is None or f.status not in JOINABLE or node.untranslated:
            return False
        return not node.subgraphs or (node.domain == DOMAIN and node.op_type in FUSED_KINDS)

    def kind(self, node: Node) -> str:
        f = self.of(node)
        return f.kind if f is not None else "unknown"

    def costed(self, node: Node) -> bool:
        f = self.of(node)
        return f is not None and f.status == "costed"

    def info(self, value: str) -> TensorInfo | None:
        return self.values.get(value)

    def shape(self, value: str) -> Shape | None:
        i = self.values.get(value)
        return i.shape if i is not None else None

    def rank(self, value: str) -> int | None:
        s = self.shape(value)
        return len(s) if s is not None else None

    def resident(self, value: str) -> bool:
        """A weight or buffer (read from memory every run, never produced by a kernel)."""
        i = self.values.get(value)
        return i is not None and i.role in (Role.WEIGHT, Role.BUFFER)

    def constant(self, value: str) -> bool:
        i = self.values.get(value)
        return i is not None and (i.const or i.role in (Role.WEIGHT, Role.BUFFER, Role.CONSTANT))

    def scalar(self, value: str) -> float | None:
        """The value of a one-element constant with known contents (a folded scale)."""
        i = self.values.get(value)
        if i is None or i.data is None or not i.const:
            return None
        try:
            a = np.asarray(i.data)
            if a.size != 1:
                return None
            return float(a.reshape(-1)[0])
        except (TypeError, ValueError):
            return None


def metadata_reader(n: Node) -> bool:
    """A node that reads only its input's shape, never its data."""
    return n.domain in ("", "ai.onnx") and n.op_type in METADATA


class Index:
    """Producers and consumers of a graph's values, and its nodes in topological order."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.order = graph.topological()
        self.position = {id(n): i for i, n in enumerate(self.order)}
        self.producer: dict[str, Node] = {}
        self.consumers: dict[str, list[Node]] = {}
        for n in self.order:
            for o in n.outputs:
                if o:
                    self.producer[o] = n
            for x in dict.fromkeys(n.inputs):
                if x:
                    self.consumers.setdefault(x, []).append(n)
        self.outputs = frozenset(graph.outputs)

    def users(self, value: str) -> list[Node]:
        """The nodes reading `value`'s data (not those reading only its shape)."""
        return [u for u in self.consumers.get(value, []) if not metadata_reader(u)]

    def only_user(self, value: str) -> Node | None:
        """The one node reading `value`'s data, when it is not also a graph output."""
        us = self.users(value)
        if len(us) != 1 or value in self.outputs:
            return None
        return us[0]

    def private(self, node: Node, members: Iterable[Node]) -> bool:
        """Every output of `node` is read only by `members` (and is no graph output);
        readers of its shape alone (Shape, Size) do not count."""
        ids = {id(m) for m in members}
        for o in node.outputs:
            if not o:
                continue
            if o in self.outputs:
                return False
            if any(id(u) not in ids for u in self.users(o)):
                return False
        return True


@dataclass(frozen=True)
class Group:
    """Nodes one kernel runs. `op_type` is the fused op of ops/framework.py the group
    becomes; `principal` the node whose name the kernel takes and whose kernel record
    times it (unless `attrs` say otherwise, e.g. a folded GEMM or an attention)."""

    nodes: tuple[Node, ...]
    op_type: str
    principal: Node
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class View:
    """A node the graph spells as a copy (a transpose) that the runtime runs as a view:
    it becomes a `costmodel::Alias` of the same name (zero cost, shares its storage)."""

    node: Node


Found = Group | View


@dataclass(frozen=True)
class Rewrite:
    """One rewrite pass: `find` returns the groups and views of a graph; `source` says
    which runtime does it, where (docs or code)."""

    name: str
    find: Callable[[Graph, Facts, Index], Sequence[Found]]
    source: str


def apply(graph: Graph, found: Sequence[Found], facts: Facts, index: Index | None = None) -> Graph:
    """The graph with each group replaced by one fused node and each view by a
    `costmodel::Alias`. Groups that overlap an earlier one, or that are not convex (a path
    leaves the group and comes back, so no single kernel can run it), are skipped.
    `facts` learn the new nodes' status and kind."""
    if not found:
        return graph
    idx = index or Index(graph)
    taken: set[int] = set()
    replace: dict[int, Node | None] = {}  # id(node) -> its replacement (None: removed)
    constants: dict[str, Initializer] = {}
    for f in found:
        if isinstance(f, View):
            n = f.node
            if id(n) in taken:
                continue
            new = _view_node(n, facts)
            if new is None:
                continue
            taken.add(id(n))
            replace[id(n)] = new
            facts.nodes[new.outputs] = NodeFacts("zero", "view")
            continue
        members = sorted({id(n): n for n in f.nodes}.values(), key=lambda n: idx.position[id(n)])
        if any(id(m) in taken for m in members):
            continue
        readers = _shape_readers(members, idx, facts)
        if readers is None or not _convex(members, idx, readers.ids()):
            continue
        node = fused_node(f, members, idx)
        for m in members:
            taken.add(id(m))
            replace[id(m)] = None
        replace[id(members[-1])] = node
        for reader, const in readers.items():  # a Shape of a value kept on chip: its known result
            replace[id(reader)] = Node(
                reader.name, "Identity", "", (const.name,), reader.outputs, covers=covers_of(reader)
            )
            constants[const.name] = const
        facts.nodes[node.outputs] = NodeFacts("costed", FUSED_KINDS[f.op_type])
    if not replace:
        return graph
    nodes: list[Node] = []
    for n in idx.order:
        if id(n) in replace:
            new = replace[id(n)]
            if new is not None:
                nodes.append(new)
        else:
            nodes.append(n)
    return Graph(
        graph.name,
        nodes,
        list(graph.inputs),
        list(graph.outputs),
        {**graph.initializers, **constants},
        dict(graph.declared),
        dict(graph.opsets),
        graph.symbols,
        graph.doc,
    )


def covers_of(node: Node) -> tuple[str, ...]:
    """The exported nodes a node stands for (itself unless a rewrite made it)."""
    return node.covers or (node.name,)


def fused_node(group: Group, members: Sequence[Node], idx: Index) -> Node:
    """One node of the `costmodel` domain running `members` (in topological order)."""
    ids = {id(m) for m in members}
    produced = {o for m in members for o in m.outputs if o}
    inputs: list[str] = []
    for m in members:
        for x in m.inputs:
            if x and x not in produced and x not in inputs:
                inputs.append(x)
    outputs = [
        o for m in members for o in m.outputs if o and (o in idx.outputs or any(id(u) not in ids for u in idx.users(o)))
    ]
    body = Graph(
        f"{group.principal.name}.body",
        list(members),
        list(inputs),
        list(outputs),
        {},
        {},
        dict(idx.graph.opsets),
    )
    # a Node in the attributes (the QK product of an attention) becomes its body index
    attrs = {k: members.index(v) if isinstance(v, Node) else v for k, v in group.attrs.items()}
    attrs["principal"] = members.index(group.principal)
    covers = tuple(c for m in members for c in covers_of(m))
    return Node(
        group.principal.name,
        group.op_type,
        DOMAIN,
        tuple(inputs),
        tuple(outputs),
        attrs,
        {"body": body},
        covers=covers,
    )


def _view_node(n: Node, facts: Facts) -> Node | None:
    """`costmodel::Alias` of `n`'s first input (a view sharing its storage), shaped as
    its output; None when that shape is unknown."""
    if len(n.outputs) != 1 or not n.inputs:
        return None
    shape = facts.shape(n.outputs[0])
    if shape is None:
        return None
    return Node(n.name, "Alias", DOMAIN, (n.inputs[0],), n.outputs, {"shapes": [tuple(shape)]}, covers=covers_of(n))


def _convex(members: Sequence[Node], idx: Index, constant: set[int]) -> bool:
    """No path leaves the group and re-enters it: no non-member between the first and
    last member both depends on a member and feeds one (`constant`: shape readers that
    become constants, cutting the paths through them)."""
    ids = {id(m) for m in members}
    lo, hi = idx.position[id(members[0])], idx.position[id(members[-1])]
    tainted: set[str] = set()  # values depending on a member, made outside the group
    for n in idx.order[lo : hi + 1]:
        if id(n) in ids:
            if any(x in tainted for x in n.inputs):
                return False
            continue
        if id(n) in constant:
            continue
        member_fed = any(x in tainted or _made_by_member(x, idx, ids) for x in n.inputs)
        if member_fed:
            tainted.update(o for o in n.outputs if o)
    return True


class _Readers:
    """Shape readers and the constants they become (nodes are compared by identity)."""

    def __init__(self, pairs: Iterable[tuple[Node, Initializer]]) -> None:
        self.pairs = list(pairs)

    def items(self) -> list[tuple[Node, Initializer]]:
        return self.pairs

    def ids(self) -> set[int]:
        return {id(n) for n, _ in self.pairs}


def _shape_readers(members: Sequence[Node], idx: Index, facts: Facts) -> _Readers | None:
    """Shape / Size nodes outside the group reading a value that only the group (and
    they) read: the value stays on chip, so they become Identities of a constant of
    their known result. None if one of them has no known result."""
    ids = {id(m) for m in members}
    out: dict[int, tuple[Node, Initializer]] = {}
    for m in members:
        for o in m.outputs:
            if not o or o in idx.outputs:
                continue
            outside = [u for u in idx.consumers.get(o, []) if id(u) not in ids]
            if not outside or not all(metadata_reader(u) for u in outside):
                continue
            for u in outside:
                const = _known(u, facts)
                if const is None:
                    return None
                out[id(u)] = (u, const)
    return _Readers(out.values())


def _known(n: Node, facts: Facts) -> Initializer | None:
    """A Shape / Size node's output as a constant (named after it; the node becomes an
    Identity of it, which folds), when the analysis knew its contents."""
    if len(n.outputs) != 1:
        return None
    info = facts.info(n.outputs[0])
    if info is None or info.data is None or info.shape is None or info.dtype is None:
        return None
    return Initializer(f"{n.outputs[0]}.known", info.dtype, info.shape, info.data, Role.CONSTANT)


def _made_by_member(value: str, idx: Index, ids: set[int]) -> bool:
    p = idx.producer.get(value)
    return p is not None and id(p) in ids


def run(graph: Graph, rewrites: Sequence[Rewrite], facts: Facts) -> Graph:
    """Each rewrite in order, each seeing the graph the ones before it made."""
    for r in rewrites:
        idx = Index(graph)
        found = r.find(graph, facts, idx)
        graph = apply(graph, found, facts, idx)
    return graph


__all__ = [
    "DOMAIN",
    "FUSED_KINDS",
    "MOVEMENT_KINDS",
    "Facts",
    "Found",
    "Group",
    "Index",
    "NodeFacts",
    "Rewrite",
    "View",
    "apply",
    "covers_of",
    "fused_node",
    "run",
]
