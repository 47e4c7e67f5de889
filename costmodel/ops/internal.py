"""Ops of the `costmodel` domain, emitted by the spec front end where ONNX has no single
op for what one kernel does: a linear layer with its bias in the GEMM epilogue, a view
that splits a fused projection, a routed mixture-of-experts MLP, and the state-space /
linear-attention recurrences (Mamba selective scan, Mamba-2 SSD, RWKV-6 WKV, linear
attention). Each cost is written at its rule, with its source."""

from __future__ import annotations

from typing import Any

from ..ir.activations import ACTIVATION_OPS
from ..ir.dtypes import ONNX_DTYPES, DType
from ..symbolic import norm, prod
from .context import NodeContext
from .cost import Cost
from .elementwise import GELU_TANH, UNARY
from .formulas import matmul_shapes
from .kernel import GemmShape, MoEShape
from .registry import CONTRACTION, RECURRENT, VIEW, op

DOMAIN = "costmodel"


def _per_element(op_type: str, attrs: tuple[tuple[str, str], ...], squared: bool) -> tuple[int, int]:
    """(FLOPs, transcendentals) per element of an activation computed by its IR op (the
    op's own figure: Gelu tanh / erf, QuickGelu as Swish x * sigmoid(1.702 x)), plus the
    squaring multiply of relu2."""
    if op_type == "Gelu" and dict(attrs).get("approximate") == "tanh":
        flops, trans = GELU_TANH
    else:
        flops, trans = UNARY["Swish" if op_type == "QuickGelu" else op_type]
    return flops + int(squared), trans


# per-element cost of each activation of ir/activations.py (the fused ExpertMLP kernel's)
ACT = {str(a): _per_element(o.op_type, o.attrs, o.squared) for a, o in ACTIVATION_OPS.items()}


def _output_dtype(ctx: NodeContext) -> DType:
    """Output 0's dtype: the `output_dtype` attribute (an ONNX type code), else input 0's;
    when they differ the node computes in input 0's."""
    code = int(ctx.attr("output_dtype", 0) or 0)
    if not code:
        return ctx.dtype(0)
    dt = ONNX_DTYPES.get(code)
    if dt is None:
        raise ctx.fail(f"unknown output_dtype {code}")
    if dt != ctx.dtype(0):
        ctx.set_compute_dtype(ctx.dtype(0))
    return dt


@op("Linear", kind=CONTRACTION, domain=DOMAIN)
def linear(ctx: NodeContext) -> Cost:
    """y = x W (+ b), W stored (K, N) or with transB=1 (N, K) (a tied embedding).
    MACs = rows x K x N; FLOPs = 2 x MACs + rows x N for the bias (GEMM epilogue).
    `output_dtype` (an ONNX type code, as QuantizeLinear's): a quantized GEMM that
    multiplies x's dtype (fp8 inputs) and writes y in this one (cuBLASLt scaled matmul,
    `out_dtype`); the node computes in x's dtype."""
    x, w = ctx.shape(0), ctx.shape(1)
    if ctx.attr("transB", 0):
        w = (w[1], w[0])
    out, batch, m, n, k = matmul_shapes(x, w, ctx.where)
    ctx.set_output(0, _output_dtype(ctx), out)
    macs = norm(batch * m * n * k)
    ctx.set_kernel(GemmShape(batch=1, m=norm(batch * m), n=n, k=k))
    return Cost(flops=norm(2 * macs + (batch * m * n if ctx.has(2) else 0)), macs=macs)


@op("SplitView", kind=VIEW, domain=DOMAIN, zero="view: slices of a fused projection, no copy")
def split_view(ctx: NodeContext) -> None:
    s = ctx.shape(0)
    sizes = ctx.attr("sizes")
    axis = len(s) - 1
    if type(s[axis]) is int and sum(sizes) != s[axis]:
        raise ctx.fail(f"SplitView sizes {tuple(sizes)} do not add up to {s[axis]}")
    for i, n in enumerate(sizes):
        ctx.set_output(i, ctx.dtype(0), s[:axis] + (n,))


@op("View", kind=VIEW, domain=DOMAIN, zero="view: a reshape/permutation kernels read through strides")
def view(ctx: NodeContext) -> None:
    shape = tuple(ctx.attr("shape"))
    a, b = prod(ctx.shape(0)), prod(shape)
    if type(a) is int and type(b) is int and a != b:
        raise ctx.fail(f"View of {ctx.shape(0)} as {shape} changes the element count")
    ctx.set_output(0, ctx.dtype(0), shape)


def expected_unique_experts(tokens: Any, experts: int, top_k: int) -> Any:
    """Experts touched by `tokens` tokens routing uniformly to top_k of `experts`:
    E (1 - (1 - k/E)^tokens). Decode at small batch reads only these experts' weights."""
    if type(tokens) is not int:
        return experts
    return experts * (1 - (1 - top_k / experts) ** tokens)


@op("ExpertMLP", kind=CONTRACTION, domain=DOMAIN)
def expert_mlp(ctx: NodeContext) -> Cost:
    """Routed experts, top_k per token. Inputs: x (..., d), W_in (E, d, m·I) with m = 2
    for gated MLPs, W_out (E, I, d). MACs = tokens x top_k x (d·m·I + I·d); activation
    per routed hidden element (gated: +1 multiply); the routing-weight scale and the
    top_k sum, 2 per routed output element. Weight traffic: the experts the tokens touch
    (expected_unique_experts), not all E. `output_dtype` as Linear's (quantized experts:
    x in the GEMM dtype, y 16-bit)."""
    x, w_in, w_out = ctx.shape(0), ctx.shape(1), ctx.shape(2)
    e, d, mi = w_in
    i = w_out[1]
    k = ctx.attr("top_k")
    gated = bool(ctx.attr("gated", 1))
    tokens = prod(x[:-1])
    ydt = _output_dtype(ctx)
    ctx.set_output(0, ydt, x)
    routed = norm(tokens * k)
    macs = norm(routed * (d * mi + i * d))
    act = ACT.get(ctx.attr("activation", "silu"), (1, 0))
    per_hidden = act[0] + (1 if gated else 0)
    flops = norm(2 * macs + routed * i * per_hidden + 2 * routed * d)
    used = expected_unique_experts(tokens, int(e), int(k))
    eb = ctx.dtype(1)
    wbytes = eb.nbytes(prod(w_in[1:])) + ctx.dtype(2).nbytes(prod(w_out[1:]))
    if type(used) is float:
        read_w = int(round(used * wbytes))
    else:
        read_w = norm(used * wbytes)
    xb = ctx.dtype(0).nbytes(prod(x))
    ctx.bytes_override = Cost(
        read_weights=read_w,
        read_activations=norm(xb * 2),
        write_activations=norm(ydt.nbytes(prod(x)) + ctx.dtype(0).nbytes(routed * mi)),
    )
    ctx.set_kernel(MoEShape(tokens=tokens, experts=e, top_k=k, gemm=GemmShape(batch=1, m=routed, n=mi, k=d)))
    return Cost(flops=flops, macs=macs, transcendentals=norm(routed * i * act[1]))


@op("SelectiveScan", kind=RECURRENT, domain=DOMAIN)
def selective_scan(ctx: NodeContext) -> Cost:
    """Mamba-1 selective scan (Gu & Dao 2023, Alg. 2) over x (B, L, D) with state N:
    per (token, channel, state): discretize dA = exp(dt A) (1 mul + 1 exp), dB x (2 mul),
    h = dA h + dBx (2), y += C h (2) = 7 FLOPs + 1 exp; per (token, channel): the D skip
    and the SiLU(z) gate (2 + 5, 1 exp). Reads x, dt, B, C, z; the state (B, D, N) in
    fp32 is read and written once (decode) or kept on chip (prefill)."""
    x = ctx.shape(0)
    b, length, dch = x
    n = ctx.attr("d_state")
    ctx.set_output(0, ctx.dtype(0), x)
    elems = norm(b * length * dch)
    per_state = norm(elems * n)
    return Cost(flops=norm(7 * per_state + 7 * elems), transcendentals=norm(per_state + elems))


@op("SSD", kind=RECURRENT, domain=DOMAIN)
def ssd(ctx: NodeContext) -> Cost:
    """Mamba-2 state-space duality, chunked (Dao & Gu 2024, sec. 6): heads H of size P,
    state N, chunk Q. Per token and head: intra-chunk C B^T and its product with x
    (2·Q·N + 2·Q·P MACs... counted as Q(N + P) MACs), state passing B^T x and C h
    (2·N·P MACs), plus decay exps (Q per token and head)."""
    x = ctx.shape(0)
    b, length, h, p = x
    n = ctx.attr("d_state")
    q = ctx.attr("chunk_size", 256)
    q = q if type(length) is not int else min(q, length)
    ctx.set_output(0, ctx.dtype(0), x)
    th = norm(b * length * h)
    macs = norm(th * (q * (n + p) + 2 * n * p))
    return Cost(flops=norm(2 * macs + 3 * th * p), macs=macs, transcendentals=norm(th * q))


@op("WKV", kind=RECURRENT, domain=DOMAIN)
def wkv(ctx: NodeContext) -> Cost:
    """RWKV-6 WKV recurrence (Peng et al. 2024, eq. 17-18), heads H of size S: per token
    and head, the state S x S is decayed (1), updated with k^T v (2) and read with r
    (2 MAC-equivalents = 2 FLOPs... counted 6 FLOPs per state element)."""
    x = ctx.shape(0)
    b, length, h, s = x
    ctx.set_output(0, ctx.dtype(0), x)
    return Cost(flops=norm(6 * b * length * h * s * s))


@op("LinearAttention", kind=RECURRENT, domain=DOMAIN)
def linear_attention(ctx: NodeContext) -> Cost:
    """Causal linear attention (Katharopoulos et al. 2020), per token and head with key
    dim K and value dim V. Recurrent form (chunk_size 0, and every decode step): state
    update S += phi(k)^T v and output phi(q) S, 2 K V MACs; feature map on q and k (2 per
    element). Chunkwise form (chunk_size C > 0; Sun et al. 2023 sec. 2.4, Yang et al.
    2024): inside a chunk causal q k^T and its product with v, (C + 1)/2 (K + V) MACs per
    token on average; across chunks the output from the carried state (K V) and the
    state's update (K V). With decay (RetNet's retention, gamma per head): one more
    multiply per state element per token (recurrent) or per masked score (chunkwise)."""
    q = ctx.shape(0)
    b, length, h, kd = q
    vd = ctx.shape(2)[3]
    ctx.set_output(0, ctx.dtype(0), (b, length, h, vd))
    th = norm(b * length * h)
    chunk = ctx.attr("chunk_size", 0)
    decay = ctx.attr("decay", 0)
    if chunk and not (type(length) is int and length == 1):
        c = chunk if type(length) is not int else min(chunk, length)
        pairs = norm(th * (c + 1) / 2)
        macs = norm(pairs * (kd + vd) + 2 * th * kd * vd)
        extra = pairs if decay else 0
    else:
        macs = norm(2 * th * kd * vd)
        extra = norm(th * kd * vd) if decay else 0
    return Cost(flops=norm(2 * macs + 4 * th * kd + extra), macs=macs)
