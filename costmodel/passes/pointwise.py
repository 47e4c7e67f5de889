"""Pointwise and reduction chains fused into one kernel each, as compilers generate them.

Inductor (torch.compile) schedules every pointwise, reduction and data-movement op of
the graph into Triton kernels and fuses a producer into its consumer when their
iteration spaces match (torch/_inductor/scheduler.py, `Scheduler.can_fuse` /
`can_fuse_vertical`: same number of elements, or a pointwise prologue / epilogue of a
reduction over the same elements); GEMMs, convolutions and SDPA stay library calls
(`extern_kernels.mm`, `convolution`, `_scaled_dot_product_*`). TensorRT fuses chains of
pointwise layers (elementwise, activation, scale, shuffles) into one kernel (developer
guide, "Layer Fusion": "PointWise Fusion", "Shuffle and Reduce Fusion").

Here, in topological order, a fusible node joins the kernel of a producer that iterates
over the same number of elements, when that keeps the kernel runnable as one (every
other input made before the kernel starts or by the kernel itself); a value read
outside its kernel is still written (a residual stream feeding a LayerNorm: the fused
kernel writes the sum and the norm). Contractions, convolutions, attention and unknown
ops are never fused (a fused GEMM epilogue is passes/gemm.py's business).
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
# normalizations over the last axis: one block (or warp) per row
ROWWISE = frozenset(
    {
        "LayerNormalization",
        "RMSNormalization",
        "SimplifiedLayerNormalization",
        "SkipLayerNormalization",
        "Softmax",
        "LogSoftmax",
    }
)


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
        group_of: dict[int, int] = {}  # id(node) -> group number
        groups: list[list[Node]] = []
        first: list[int] = []  # topological position of each group's first member
        for n in idx.order:
            if not _fusible(n, facts):
                continue
            size = _size(n, facts)
            target = None
            if size is not None:
                for x in n.inputs:
                    p = idx.producer.get(x)
                    g = group_of.get(id(p)) if p is not None else None
                    if (
                        g is not None
                        and _size(groups[g][-1], facts) == size
                        and _convex_with(n, g, group_of, first, idx)
                    ):
                        target = g
                        break
            if target is None:
                target = len(groups)
                groups.append([])
                first.append(idx.position[id(n)])
            groups[target].append(n)
            group_of[id(n)] = target
        out: list[Found] = []
        for members in groups:
            if sum(1 for m in members if facts.costed(m)) < 2:
                continue
            out.append(Group(tuple(members), _op(members, facts), _principal(members, facts)))
        return out

    return find


def _convex_with(n: Node, g: int, group_of: dict[int, int], first: list[int], idx: Index) -> bool:
    """`n` may join group `g` without a path leaving the group and coming back: each of
    its inputs is made by a member, or before the group's first member (so it cannot
    depend on the group), or is a graph input or initializer."""
    for x in n.inputs:
        p = idx.producer.get(x)
        if p is None or group_of.get(id(p)) == g:
            continue
        if idx.position[id(p)] >= first[g]:
            return False
    return True


def _role(m: Node, facts: Facts) -> str:
    """ "rowwise" for a normalization over the last axis (one block per row), "reduction"
    for another reduction, else "pointwise" (a batch norm at inference is pointwise)."""
    if m.domain == DOMAIN:
        k = FUSED_KINDS.get(m.op_type)
        return "rowwise" if k == "normalization" else ("reduction" if k == "reduction" else "pointwise")
    if m.op_type in ROWWISE:
        return "rowwise"
    return "reduction" if facts.kind(m) == "reduction" else "pointwise"


def _op(members: list[Node], facts: Facts) -> str:
    roles = {_role(m, facts) for m in members}
    if "rowwise" in roles:
        return "FusedNormalization"
    if "reduction" in roles:
        return "FusedReduction"
    return "FusedElementwise"


def _principal(members: list[Node], facts: Facts) -> Node:
    """The node whose record times the kernel: a row-wise normalization or a reduction
    if any."""
    for want in ("rowwise", "reduction"):
        for m in members:
            if _role(m, facts) == want:
                return m
    return members[-1]


__all__ = ["fuse_pointwise"]
