"""Contractions: MatMul, Gemm, Einsum. MACs are the multiply-accumulates of the
contraction; FLOPs = 2 x MACs plus the elementwise epilogue (bias, alpha/beta scaling).
The engine gets the GEMM geometry (a GemmShape) for tile quantization."""

from __future__ import annotations

from ..errors import ShapeError
from ..symbolic import norm, prod
from .context import NodeContext
from .cost import Cost
from .formulas import broadcast_shapes, matmul_shapes
from .kernel import GemmShape
from .registry import CONTRACTION, op


@op("MatMul", kind=CONTRACTION)
def matmul(ctx: NodeContext) -> Cost:
    """numpy.matmul: MACs = batch x M x N x K; FLOPs = 2 x MACs. # e.g. 4x6 @ 6x5: 4*6*5 = 120 MACs"""
    out, batch, m, n, k = matmul_shapes(ctx.shape(0), ctx.shape(1), ctx.where)
    ctx.set_output(0, ctx.dtype(0), out)
    macs = norm(batch * m * n * k)
    ctx.set_kernel(GemmShape(batch=batch, m=m, n=n, k=k))
    return Cost(flops=norm(2 * macs), macs=macs)


@op("Gemm", kind=CONTRACTION)
def gemm(ctx: NodeContext) -> Cost:
    """Y = alpha A'B' + beta C: MACs = M N K; FLOPs = 2 M N K, + M N for alpha != 1,
    + M N for adding C, + M N for beta != 1."""
    a, b = ctx.shape(0), ctx.shape(1)
    if len(a) != 2 or len(b) != 2:
        raise ctx.fail(f"Gemm needs 2-D operands, got {a} and {b}")
    m, k = (a[1], a[0]) if ctx.attr("transA", 0) else (a[0], a[1])
    k2, n = (b[1], b[0]) if ctx.attr("transB", 0) else (b[0], b[1])
    if type(k) is int and type(k2) is int and k != k2:
        raise ctx.fail(
            f"Gemm inner dimensions differ: {a} x {b} (transA={ctx.attr('transA', 0)}, transB={ctx.attr('transB', 0)})"
        )
    if ctx.has(2):
        broadcast_shapes([ctx.shape(2), (m, n)], ctx.where)
    ctx.set_output(0, ctx.dtype(0), (m, n))
    macs = norm(m * n * k)
    mn = norm(m * n)
    extra = 0
    if ctx.attr("alpha", 1.0) != 1.0:
        extra += 1
    if ctx.has(2):
        extra += 1
        if ctx.attr("beta", 1.0) != 1.0:
            extra += 1
    ctx.set_kernel(GemmShape(batch=1, m=m, n=n, k=k))
    return Cost(flops=norm(2 * macs + extra * mn), macs=macs)


def parse_einsum(eq: str, ranks: list[int], where: str = "") -> tuple[list[str], str]:
    """Operand subscripts and output subscripts, ellipsis expanded to upper-case letters."""
    eq = eq.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->", 1)
        explicit = True
    else:
        lhs, rhs, explicit = eq, "", False
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ShapeError(f"einsum {eq!r} names {len(terms)} operands, got {len(ranks)}", where=where or None)
    ell_letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    max_ell = 0
    out_terms = []
    for t, r in zip(terms, ranks):
        if "..." in t:
            n_ell = r - (len(t) - 3)
            if n_ell < 0:
                raise ShapeError(f"einsum term {t!r} does not fit rank {r}", where=where or None)
            max_ell = max(max_ell, n_ell)
            t = t.replace("...", ell_letters[26 - n_ell :] if n_ell else "")
        elif len(t) != r:
            raise ShapeError(f"einsum term {t!r} does not match rank {r}", where=where or None)
        out_terms.append(t)
    ell = ell_letters[26 - max_ell :] if max_ell else ""
    if explicit:
        out = rhs.replace("...", ell)
    else:
        counts: dict[str, int] = {}
        for t in out_terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, v in counts.items() if v == 1 and c not in ell))
    return out_terms, out


@op("Einsum", kind=CONTRACTION)
def einsum(ctx: NodeContext) -> Cost:
    """General contraction, evaluated pairwise left to right (as einsum backends do when
    no better path is known): each step costs the product of the sizes of every index
    of its two operands in MACs; indices still needed later are kept. One operand
    (trace, sum, transpose) costs one add per input element and no MACs."""
    shapes = [ctx.shape(i) for i in range(ctx.n_inputs) if ctx.has(i)]
    terms, out = parse_einsum(ctx.attr("equation"), [len(s) for s in shapes], ctx.where)
    sizes: dict[str, object] = {}
    for t, s in zip(terms, shapes):
        for c, d in zip(t, s):
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = d
            elif d != 1 and type(prev) is int and type(d) is int and prev != d:
                raise ctx.fail(f"einsum index {c!r} has sizes {prev} and {d}")
    ctx.set_output(0, ctx.dtype(0), tuple(sizes[c] for c in out))
    if len(terms) == 1:
        n = prod(shapes[0])
        return Cost(flops=n)
    macs = 0
    cur = terms[0]
    for j in range(1, len(terms)):
        nxt = terms[j]
        later = set(out).union(*[set(t) for t in terms[j + 1 :]])
        union = set(cur) | set(nxt)
        macs = macs + prod(sizes[c] for c in union)
        cur = "".join(c for c in union if c in later)
    macs = norm(macs)
    if len(terms) == 2:
        a, b = terms
        batch = prod(sizes[c] for c in set(a) & set(b) & set(out))
        k = prod(sizes[c] for c in (set(a) & set(b)) - set(out))
        m = prod(sizes[c] for c in set(a) - set(b))
        n = prod(sizes[c] for c in set(b) - set(a))
        ctx.set_kernel(GemmShape(batch=batch, m=m, n=n, k=k))
    return Cost(flops=norm(2 * macs), macs=macs)
