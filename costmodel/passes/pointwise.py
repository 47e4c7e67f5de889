"""Pointwise and reduction chains fused into one kernel each, as compilers generate them.

Inductor (torch.compile) schedules every pointwise, reduction and data-movement op of
the graph into Triton kernels and fuses a producer into its consumer when their
iteration spaces match (torch/_inductor/scheduler.py, `Scheduler.can_fuse` /
`can_fuse_vertical`: same number of elements, or a pointwise prologue / epilogue of a
reduction over the same elements); GEMMs, convolutions and SDPA stay library calls
(`extern_kernels.mm`, `convolution`, `_scaled_dot_product_*`). TensorRT fuses chains of
pointwise layers (elementwise, activation, scale, shuffles) into one kernel (developer
guide, "Layer Fusion": "PointWise Fusion", "Shuffle and Reduce Fusion").

Here: an edge producer -> consumer is fused when both are fusible, iterate over the
same number of elements, and every reader of the producer's output joins the same
kernel (else the intermediate is written anyway and the edge is no saving); groups are
the connected pieces. Contractions, convolutions, attention and unknown ops are never
fused (a fused GEMM epilogue is passes/gemm.py's business).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..ir.graph import Graph, Node
from ..symbolic import prod
from .rewrite import DOMAIN, FUSED_KINDS, Facts, Found, Group, Index

# kinds a compiler turns into generated code (ops.registry.OpKind values)
FUSIBLE = frozenset({"elementwise", "reduction", "normalization", "movement", "view"})
# movement ops that are index arithmetic for a generated kernel (a gather of rows, a
# pad, a concat are too, but a compiler keeps the copy when the layout changes for a
# library kernel after it)
MOVEMENT = frozenset({"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Slice", "Expand", "Cast"})


def _fusible(n: Node, facts: Facts) -> bool:
    if not facts.joinable(n):
        return False
    if n.domain == DOMAIN:
        return FUSED_KINDS.get(n.op_type) in FUSIBLE - {"movement", "view"}
    k = facts.kind(n)
    if k in ("movement", "view"):
        return n.op_type in MOVEMENT
    return k in FUSIBLE


def _size(n: Node, facts: Facts) -> Any:
    """The kernel's iteration space: the largest tensor it reads or writes."""
    best: Any = None
    for v in (*n.inputs, *n.outputs):
        s = facts.shape(v) if v else None
        if s is None or facts.constant(v):
            continue
        e = prod(s)
        if best is None or (type(e) is int and type(best) is int and e > best):
            best = e
    return best


def fuse_pointwise() -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        parent: dict[int, int] = {}
        nodes = {id(n): n for n in idx.order}

        def root(i: int) -> int:
            while parent.get(i, i) != i:
                parent[i] = parent.get(parent[i], parent[i])
                i = parent[i]
            return i

        fusible = {id(n) for n in idx.order if _fusible(n, facts)}
        sizes = {i: _size(nodes[i], facts) for i in fusible}
        for n in idx.order:
            if id(n) not in fusible or sizes[id(n)] is None:
                continue
            for o in n.outputs:
                users = idx.users(o)
                if not o or not users or o in idx.outputs:
                    continue
                if not all(id(u) in fusible and sizes[id(u)] == sizes[id(n)] for u in users):
                    continue
                for u in users:
                    parent[root(id(u))] = root(id(n))
        groups: dict[int, list[Node]] = {}
        for n in idx.order:
            if id(n) in fusible:
                groups.setdefault(root(id(n)), []).append(n)
        out: list[Found] = []
        for members in groups.values():
            costed = [m for m in members if facts.costed(m)]
            if len(costed) < 2:
                continue
            out.append(Group(tuple(members), _op(members, facts), _principal(members, facts)))
        return out

    return find


def _op(members: list[Node], facts: Facts) -> str:
    kinds = {FUSED_KINDS.get(m.op_type) if m.domain == DOMAIN else facts.kind(m) for m in members}
    if "normalization" in kinds:
        return "FusedNormalization"
    if "reduction" in kinds:
        return "FusedReduction"
    return "FusedElementwise"


def _principal(members: list[Node], facts: Facts) -> Node:
    """The node whose record times the kernel: a normalization or reduction if any."""
    for want in ("normalization", "reduction"):
        for m in members:
            k = FUSED_KINDS.get(m.op_type) if m.domain == DOMAIN else facts.kind(m)
            if k == want:
                return m
    return members[-1]


__all__ = ["fuse_pointwise"]
