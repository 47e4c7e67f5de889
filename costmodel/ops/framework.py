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
- FusedElementwise / FusedContraction / FusedReduction: one kernel whose arithmetic is
  several ONNX ops (silu = Sigmoid, Mul; baddbmm = MatMul, scale, add), given as the
  subgraph `body`: its ops are costed by their own rules and added; the traffic is the
  kernel's own inputs and outputs; the kernel record is that of body node `principal`.
- Parameters: the parameters a traced forward never reads (counted, never moved).

Output types that the node cannot infer from its inputs (a view's shape, a factory's
tensor) are attributes: `shapes` (one tuple per output) and `dtypes` (one name each, or
absent for the first input's dtype).
"""

from __future__ import annotations

from ..ir.dtypes import DType, dtype
from ..ir.graph import Role, TensorInfo
from ..symbolic import prod, Shape
from .context import NodeContext, UnknownShape
from .cost import Cost
from .kernel import CopyShape
from .registry import CONTRACTION, ELEMENTWISE, GENERATOR, MOVEMENT, REDUCTION, VIEW, op
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


def _fused(ctx: NodeContext) -> Cost:
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
    k = int(ctx.attr("principal", 0))
    kernel = res.kernels[k] if k < len(res.kernels) else None
    if kernel is not None:
        ctx.set_kernel(kernel)
    c = res.cost
    return Cost(flops=c.flops, macs=c.macs, transcendentals=c.transcendentals, params=c.params)


@op("FusedElementwise", kind=ELEMENTWISE, domain=DOMAIN)
def fused_elementwise(ctx: NodeContext) -> Cost:
    """One elementwise kernel: the sum of its body's ops (silu: Sigmoid + Mul)."""
    return _fused(ctx)


@op("FusedContraction", kind=CONTRACTION, domain=DOMAIN)
def fused_contraction(ctx: NodeContext) -> Cost:
    """One GEMM with its epilogue: the sum of its body's ops (baddbmm: MatMul, Mul, Add)."""
    return _fused(ctx)


@op("FusedReduction", kind=REDUCTION, domain=DOMAIN)
def fused_reduction(ctx: NodeContext) -> Cost:
    """One reduction kernel: the sum of its body's ops (var: mean, subtract, square, sum)."""
    return _fused(ctx)


@op("Parameters", kind=VIEW, domain=DOMAIN, zero="parameters the traced forward never reads")
def parameters(ctx: NodeContext) -> None:
    """Reads (counts) its inputs, moves nothing."""
