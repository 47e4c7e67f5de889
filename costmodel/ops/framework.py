"""Ops of the `costmodel` domain for what a framework's eager kernels do and ONNX has no
single op for; the PyTorch front end (frontends/torch/) emits them.

- Alias: a view (PyTorch views share their base's storage): zero cost, and the outputs
  alias the input for the liveness pass.
- Copy: a data-movement kernel (clone, cat, pad, tile, flip, one_hot...): 0 FLOPs, reads
  its inputs, writes its outputs; `strided` when it permutes.
- Fill / Empty: a tensor factory called in the forward (zeros, arange, rand / empty): a
  kernel at every call, never constant-folded; Empty writes nothing.
- Index / Scatter: advanced indexing (reads the selected elements and the indices) and
  scatters (read the updates and indices, write the updated elements in place).
- FusedElementwise / FusedContraction / FusedReduction / FusedNormalization /
  FusedAttention / FusedConv: one kernel whose arithmetic is several ONNX ops (silu = Sigmoid, Mul;
  baddbmm = MatMul, scale, add; a decomposed LayerNorm; MatMul-Softmax-MatMul), given as
  the subgraph `body`: its ops are costed by their own rules and added; the traffic is
  the kernel's own inputs and outputs; the kernel record is that of body node
  `principal`, except where an attribute says the library runs another shape (`fold`:
  the leading dims of a contraction flattened into one GEMM; `strided`: an elementwise
  kernel reading a permuted view; FusedAttention: a flash kernel over the body's
  QK and PV products; FusedNormalization: one block per row of the normalized axis).
  The PyTorch front end emits some of them; runtime rewrites (passes/) emit all.
- Parameters: the parameters a traced forward never reads (counted, never moved).

Output types that the node cannot infer from its inputs (a view's shape, a factory's
tensor) are attributes: `shapes` (one tuple per output) and `dtypes` (one name each, or
absent for the first input's dtype).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..ir.dtypes import DType, dtype
from ..ir.graph import Role, TensorInfo
from ..symbolic import norm, prod, Shape
from .context import NodeContext, SubgraphResult, UnknownShape
from .cost import Cost
from .kernel import AttentionShape, ConvShape, CopyShape, GemmShape, Kernel, RowwiseShape
from .registry import ATTENTION, CONTRACTION, CONV, ELEMENTWISE, GENERATOR, MOVEMENT, NORMALIZATION, REDUCTION, VIEW, op
from .traffic import RESIDENT

DOMAIN = "costmodel"


def _out_types(ctx: NodeContext) -> list[tuple[DType | None, Shape | None]]:
    shapes = ctx.attr("shapes")
    names = ctx.attr("dtypes", None) or [None] * len(shapes)
    if len(names) != len(shapes):
        raise ctx.fail(f"{len(shapes)} output shapes but {len(names)} dtypes")
    base = ctx.info(0).dtype if ctx.has(0) else None
    return [(dtype(n) if n is not None else base, tuple(s) if s is not None else None) for s, n in zip(shapes, names)]


def _set_outputs(ctx: NodeContext) -> None:
    for i, (dt, shape) in enumerate(_out_types(ctx)):
        ctx.set_output(i, dt, shape)


@op("Alias", kind=VIEW, domain=DOMAIN, zero="view: no data movement (shares the input's storage)")
def alias(ctx: NodeContext) -> None:
    """Outputs are views of input 0 (reshape, transpose, slice, expand, unbind...)."""
    _set_outputs(ctx)
    for i in range(len(ctx.outputs)):
        ctx.alias(i, 0)


@op("Copy", kind=MOVEMENT, domain=DOMAIN)
def copy(ctx: NodeContext) -> Cost:
    """0 FLOPs; reads every input once and writes every output."""
    _set_outputs(ctx)
    if ctx.attr("strided", 0):
        ctx.set_kernel(CopyShape(strided=True))
    return Cost()


@op("Fill", kind=GENERATOR, domain=DOMAIN, fold=False)
def fill(ctx: NodeContext) -> Cost:
    """0 FLOPs; writes the tensor it makes (reads nothing)."""
    _set_outputs(ctx)
    return Cost()


@op("Empty", kind=GENERATOR, domain=DOMAIN, fold=False, zero="allocation: no data is written")
def empty(ctx: NodeContext) -> None:
    _set_outputs(ctx)


@op("Index", kind=MOVEMENT, domain=DOMAIN)
def index(ctx: NodeContext) -> Cost:
    """Advanced indexing x[i, j...]: 0 FLOPs; reads the selected elements of input 0 (as
    many as it writes) and every index tensor (inputs 1...), writes the output."""
    _set_outputs(ctx)
    out = ctx.outputs[0]
    if out is None or out.shape is None or out.dtype is None:
        raise UnknownShape("shape of the output unknown")
    b = out.dtype.nbytes(prod(out.shape))
    idx = ctx.traffic(range(1, ctx.n_inputs), writes=())
    if ctx.info(0).role in RESIDENT:
        ctx.bytes_override = idx.replace(read_weights=b, write_activations=b)
    else:
        ctx.bytes_override = idx.replace(read_activations=idx.read_activations + b, write_activations=b)
    return Cost()


@op("Scatter", kind=MOVEMENT, domain=DOMAIN)
def scatter(ctx: NodeContext) -> Cost:
    """index_put / scatter / index_add...: 0 FLOPs; input 0 is updated in place (not read),
    inputs 1... (updates and indices) are read, the updated elements (the last float
    input's size) are written."""
    ctx.set_output(0, ctx.info(0).dtype, ctx.shape(0))
    rest = range(1, ctx.n_inputs)
    io = ctx.traffic(rest, writes=())
    floats = [ctx.info(i) for i in rest if ctx.has(i) and ctx.dtype(i).is_float]
    w = floats[-1] if floats else None
    wb = w.dtype.nbytes(prod(w.shape)) if w is not None and w.shape is not None and w.dtype is not None else 0
    ctx.bytes_override = io.replace(write_activations=wb)
    return Cost()


def _fused(ctx: NodeContext, record: Callable[[SubgraphResult], Kernel | None] | None = None) -> Cost:
    g = ctx.node.subgraphs.get("body")
    if g is None or ctx.subgraph_runner is None:
        raise ctx.fail("a fused kernel needs its 'body' subgraph")
    # the kernel computes at every call from whatever it reads: its body folds nothing and
    # counts no parameter (the node itself reads, and counts, its inputs)
    fresh = [None if i is None else TensorInfo(i.dtype, i.shape, Role.ACTIVATION, i.data, False) for i in ctx.inputs]
    res = ctx.subgraph_runner(g, fresh)
    if res.unsupported:
        raise UnknownShape(f"{res.unsupported[0].op_type} inside the kernel: {res.unsupported[0].reason}")
    for i, o in enumerate(res.outputs):
        if o is not None:
            ctx.set_output(i, o.dtype, o.shape, o.data)
    kernel = record(res) if record is not None else _body_kernel(ctx, res, "principal")
    if kernel is not None:
        ctx.set_kernel(kernel)

    c = res.cost
    return Cost(flops=c.flops, macs=c.macs, transcendentals=c.transcendentals, params=c.params)


def _body_kernel(ctx: NodeContext, res: SubgraphResult, attr: str) -> Kernel | None:
    k = int(ctx.attr(attr, 0))
    return res.kernels[k] if 0 <= k < len(res.kernels) else None


@op("FusedElementwise", kind=ELEMENTWISE, domain=DOMAIN)
def fused_elementwise(ctx: NodeContext) -> Cost:
    """One elementwise kernel: the sum of its body's ops (silu: Sigmoid + Mul). With
    `strided`, it reads a permuted view (a strided, non-vectorized loop)."""
    if ctx.attr("strided", 0):
        return _fused(ctx, lambda res: CopyShape(strided=True))
    return _fused(ctx)


@op("FusedContraction", kind=CONTRACTION, domain=DOMAIN)
def fused_contraction(ctx: NodeContext) -> Cost:
    """One GEMM with its epilogue: the sum of its body's ops (baddbmm: MatMul, Mul, Add).
    With `fold`, the library flattens the leading dims of a [..., M, K] x [K, N] product
    into one M' x K by K x N GEMM (M' = the product of the leading dims and M)."""
    if ctx.attr("fold", 0):
        return _fused(ctx, lambda res: _folded(_body_kernel(ctx, res, "principal")))
    return _fused(ctx)


def _folded(k: Kernel | None) -> Kernel | None:
    if not isinstance(k, GemmShape):
        return k
    return GemmShape(batch=1, m=norm(k.batch * k.m), n=k.n, k=k.k)


@op("FusedConv", kind=CONV, domain=DOMAIN)
def fused_conv(ctx: NodeContext) -> Cost:
    """A convolution with its bias and activation in the epilogue (cuDNN's
    ConvolutionBiasActivation, TensorRT's fused convolution tactics): the sum of its
    body's ops, timed as the convolution with no separate bias kernel."""

    def record(res: SubgraphResult) -> Kernel | None:
        k = _body_kernel(ctx, res, "principal")
        return replace(k, bias=False) if isinstance(k, ConvShape) else k

    return _fused(ctx, record)


@op("FusedReduction", kind=REDUCTION, domain=DOMAIN)
def fused_reduction(ctx: NodeContext) -> Cost:
    """One reduction kernel: the sum of its body's ops (var: mean, subtract, square, sum)."""
    return _fused(ctx)


@op("FusedNormalization", kind=NORMALIZATION, domain=DOMAIN)
def fused_normalization(ctx: NodeContext) -> Cost:
    """One normalization kernel (a LayerNorm or RMSNorm the graph spells in reductions
    and elementwise ops, with any residual add or activation fused in): the sum of its
    body's ops; timed by the principal's row-wise record (a LayerNormalization node), or
    else one block per row of output 0's last axis."""

    def rows(res: SubgraphResult) -> Kernel | None:
        k = _body_kernel(ctx, res, "principal")
        if isinstance(k, RowwiseShape):
            return k
        out = res.outputs[0] if res.outputs else None
        if out is None or out.shape is None or not out.shape:
            return None
        shape = out.shape
        return RowwiseShape(rows=prod(shape[:-1]), cols=shape[-1], softmax=False)

    return _fused(ctx, rows)


@op("FusedAttention", kind=ATTENTION, domain=DOMAIN)
def fused_attention(ctx: NodeContext) -> Cost:
    """One flash-attention kernel for a MatMul -> [scale] -> [mask] -> Softmax -> MatMul
    chain (and the views around it): the sum of its body's ops. The body's QK product
    (`qk`, a batch of Sq x Skv by head-dim GEMMs) and PV product (`pv`) give the
    attention record; heads are folded into the batch, as the graph's MatMuls fold them.
    The scores never reach memory: the traffic is Q, K, V, the mask and the output."""

    def record(res: SubgraphResult) -> Kernel | None:
        qk, pv = _body_kernel(ctx, res, "qk"), _body_kernel(ctx, res, "pv")
        if not isinstance(qk, GemmShape) or not isinstance(pv, GemmShape):
            raise UnknownShape("the attention's QK or PV product has no GEMM shape")
        return AttentionShape(
            batch=qk.batch,
            q_heads=1,
            kv_heads=1,
            q_len=qk.m,
            kv_len=qk.n,
            head_dim=qk.k,
            v_head_dim=pv.n,
            causal=False,
            pairs=norm(qk.m * qk.n),
        )

    return _fused(ctx, record)


@op("Parameters", kind=VIEW, domain=DOMAIN, zero="parameters the traced forward never reads")
def parameters(ctx: NodeContext) -> None:
    """Reads (counts) its inputs, moves nothing."""
