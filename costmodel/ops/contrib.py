"""onnxruntime contrib ops (com.microsoft) found in transformer exports, and RotaryEmbedding
(ONNX opset 23 and com.microsoft). Attributes follow the ORT contrib-op documentation
(docs/ContribOperators.md in microsoft/onnxruntime); the attention family is in
attention.py.

Normalizations reuse the rules of normalization.py (LayerNorm, RMSNorm, GroupNorm) on the
normalized tensor, so fused ops count exactly what the plain ops count; activations reuse
the per-element tables of elementwise.py. Quantized elementwise ops use quantized.py's
conventions: dequantizing costs 2 FLOPs per element (subtract zero point, multiply
scale) and quantizing 4 (divide by scale, round, add zero point, clamp).
"""

from __future__ import annotations

from typing import Any

from ..ir.dtypes import FP32
from ..symbolic import ceildiv, norm, prod, Shape
from .attention import ROTARY, per_head, same
from .context import NodeContext
from .cost import Cost
from .elementwise import BINARY, GELU_TANH, UNARY
from .formulas import broadcast_shapes, matmul_shapes, normalize_axis
from .kernel import GemmShape
from .normalization import group_norm_cost, layer_norm_cost, rms_norm_cost
from .quantized import DEQUANT_FLOPS as DEQUANT
from .quantized import QUANT_FLOPS as QUANT
from .registry import CONTRACTION, ELEMENTWISE, MOVEMENT, NORMALIZATION, POOL, op

MS = "com.microsoft"


def _per_element(n: Any, per: tuple[int, int], extra: int = 0) -> Cost:
    return Cost(flops=norm((per[0] + extra) * n), transcendentals=norm(per[1] * n))


def _stats(ctx: NodeContext, s: Shape, first: int = 1) -> None:
    """Mean / inv_std_var outputs: fp32, the normalized axis reduced to 1."""
    for k in (first, first + 1):
        ctx.set_output(k, FP32, tuple(s[:-1]) + (1,))


def _residual(ctx: NodeContext, skip: int, bias: int | None) -> tuple[Shape, int]:
    """Shape of input + skip (+ bias) and the adds per element it costs."""
    s = ctx.shape(0)
    if broadcast_shapes([s, ctx.shape(skip)], ctx.where) != tuple(s):
        raise ctx.fail(f"skip {ctx.shape(skip)} does not broadcast to input {s}")
    adds = 1
    if bias is not None and ctx.has(bias):
        same(ctx, ctx.shape(bias)[-1], s[-1], "bias/input hidden sizes")
        adds += 1
    return tuple(s), adds


@op("SimplifiedLayerNormalization", kind=NORMALIZATION)
@op("SimplifiedLayerNormalization", kind=NORMALIZATION, domain=MS)
def simplified_layer_norm(ctx: NodeContext) -> Cost:
    """RMSNorm (ORT registers it in the default domain): as RMSNormalization."""
    s = ctx.shape(0)
    axis = normalize_axis(ctx.attr("axis", -1), len(s), ctx.where)
    ctx.set_output(0, ctx.dtype(0), s)
    ctx.set_output(1, FP32, tuple(s[:axis]) + (1,) * (len(s) - axis))
    return rms_norm_cost(ctx, s, axis)


@op("SkipLayerNormalization", kind=NORMALIZATION, domain=MS)
def skip_layer_norm(ctx: NodeContext) -> Cost:
    """input + skip (+ bias): 1 (+1) per element, then LayerNorm with gamma (and beta):
    6 (+1) per element, 4 + 1 rsqrt per row. Outputs mean, inv_std_var and the sum."""
    s, adds = _residual(ctx, 1, 4)
    ctx.set_output(0, ctx.dtype(0), s)
    _stats(ctx, s)
    ctx.set_output(3, ctx.dtype(0), s)
    return Cost(flops=norm(adds * prod(s))) + layer_norm_cost(ctx, s, ctx.has(3))


@op("SkipSimplifiedLayerNormalization", kind=NORMALIZATION, domain=MS)
def skip_simplified_layer_norm(ctx: NodeContext) -> Cost:
    """input + skip (+ bias): 1 (+1) per element, then RMSNorm: 4 per element, 3 + 1 rsqrt
    per row."""
    s, adds = _residual(ctx, 1, 3)
    ctx.set_output(0, ctx.dtype(0), s)
    _stats(ctx, s)
    ctx.set_output(3, ctx.dtype(0), s)
    return Cost(flops=norm(adds * prod(s))) + rms_norm_cost(ctx, s)


def _group_norm(ctx: NodeContext, skip: bool) -> Cost:
    s = ctx.shape(0)
    adds = 0
    if skip and len(ctx.shape(3)) == 2 and len(s) > 2:
        # a (N, C) skip is one value per image and channel
        c = s[-1] if ctx.attr("channels_last", 1) else s[1]
        same(ctx, ctx.shape(3)[0], s[0], "skip/input batch sizes")
        same(ctx, ctx.shape(3)[1], c, "skip/input channels")
        adds = 1 + int(ctx.has(4))
    elif skip:
        s, adds = _residual(ctx, 3, 4)
    ctx.set_output(0, ctx.dtype(0), s)
    ctx.set_output(1, ctx.dtype(0), s)
    cost = Cost(flops=norm(adds * prod(s)))
    cost = cost + group_norm_cost(s, ctx.attr("groups"))
    if ctx.attr("activation", 0) == 1:
        cost = cost + _per_element(prod(s), UNARY["Swish"], -1)
    return cost


@op("GroupNorm", kind=NORMALIZATION, domain=MS)
def ms_group_norm(ctx: NodeContext) -> Cost:
    """GroupNormalization (7 per element, 4 + 1 rsqrt per group), then SiLU x*sigmoid(x)
    (5 FLOPs + 1 exp) when activation=1. NHWC or NCHW: only the element count matters."""
    return _group_norm(ctx, False)


@op("SkipGroupNorm", kind=NORMALIZATION, domain=MS)
def skip_group_norm(ctx: NodeContext) -> Cost:
    """x + skip (+ bias): 1 (+1) per element, then GroupNorm as com.microsoft.GroupNorm."""
    return _group_norm(ctx, True)


@op("EmbedLayerNormalization", kind=NORMALIZATION, domain=MS)
def embed_layer_norm(ctx: NodeContext) -> Cost:
    """Word + position (+ segment) embedding rows added: 1 (+1) per element, then
    LayerNorm with beta (7 per element, 4 + 1 rsqrt per row); mask_index counts the mask:
    1 per mask element. Reads only the gathered embedding rows."""
    ids = ctx.shape(0)
    if len(ids) != 2:
        raise ctx.fail(f"input_ids must be (batch, sequence), got {ids}")
    h = ctx.shape(2)[-1]
    out = (ids[0], ids[1], h)
    dt = ctx.dtype(2)
    ctx.set_output(0, dt, out)
    ctx.set_output(1, ctx.dtype(0), (ids[0],))
    ctx.set_output(2, dt, out)
    n = prod(out)
    tables = (2, 3) + ((4,) if ctx.has(4) else ())
    cost = Cost(flops=norm((len(tables) - 1) * n)) + layer_norm_cost(ctx, out, True)
    if ctx.has(7):
        cost = cost + Cost(flops=prod(ctx.shape(7)))
    io = ctx.traffic((0, 1, 5, 6, 7, 8), writes=(0, 1, 2))
    rows = norm(len(tables) * dt.nbytes(n))
    ctx.bytes_override = io.replace(read_weights=norm(io.read_weights + rows))
    return cost


def _unary(ctx: NodeContext, per: tuple[int, int], bias: int | None = None) -> Cost:
    s = ctx.shape(0)
    extra = 0
    if bias is not None and ctx.has(bias):
        s = broadcast_shapes([s, ctx.shape(bias)], ctx.where)
        extra = 1
    ctx.set_output(0, ctx.dtype(0), s)
    return _per_element(prod(s), per, extra)


@op("Gelu", kind=ELEMENTWISE, domain=MS)
def ms_gelu(ctx: NodeContext) -> Cost:
    """Erf GELU: 5 FLOPs + 1 erf per element (elementwise.py)."""
    return _unary(ctx, UNARY["Gelu"])


@op("BiasGelu", kind=ELEMENTWISE, domain=MS)
def bias_gelu(ctx: NodeContext) -> Cost:
    """(A + B) then erf GELU: 6 FLOPs + 1 erf per element."""
    return _unary(ctx, UNARY["Gelu"], 1)


@op("FastGelu", kind=ELEMENTWISE, domain=MS)
def fast_gelu(ctx: NodeContext) -> Cost:
    """Tanh GELU 0.5x(1 + tanh(0.797885x + 0.035677x^3)): 9 FLOPs + 1 tanh per element,
    + 1 with the optional bias."""
    return _unary(ctx, GELU_TANH, 1)


@op("QuickGelu", kind=ELEMENTWISE, domain=MS)
def quick_gelu(ctx: NodeContext) -> Cost:
    """x * sigmoid(alpha x): as Swish, 6 FLOPs + 1 exp per element."""
    return _unary(ctx, UNARY["Swish"])


@op("BiasAdd", kind=ELEMENTWISE, domain=MS)
def bias_add(ctx: NodeContext) -> Cost:
    """X + bias + skip: 2 FLOPs per element."""
    s = broadcast_shapes([ctx.shape(0), ctx.shape(1), ctx.shape(2)], ctx.where)
    ctx.set_output(0, ctx.dtype(0), s)
    return Cost(flops=norm(2 * prod(s)))


@op("BiasSplitGelu", kind=ELEMENTWISE, domain=MS)
def bias_split_gelu(ctx: NodeContext) -> Cost:
    """(X + bias) split in halves L, R on the last axis; Y = L * gelu(R). Per output
    element: 2 bias adds, erf GELU (5 + 1 erf), 1 multiply = 8 FLOPs, 1 erf."""
    s = ctx.shape(0)
    same(ctx, ctx.shape(1)[-1], s[-1], "bias/input hidden sizes")
    out = tuple(s[:-1]) + (per_head(ctx, s[-1], 2, "BiasSplitGelu input"),)
    ctx.set_output(0, ctx.dtype(0), out)
    return _per_element(prod(out), UNARY["Gelu"], 3)


def _rotary(ctx: NodeContext, cos: int) -> Cost:
    """Per rotated element 3 FLOPs (2 multiplies, 1 add); the unrotated tail is copied.
    rotary_embedding_dim 0 means head_size; a 3-D input without num_heads has
    head_size = 2 x cache width (as ORT's rotary helper)."""
    s = ctx.shape(0)
    if len(s) not in (3, 4):
        raise ctx.fail(f"input must be 3-D or 4-D, got {s}")
    ctx.set_output(0, ctx.dtype(0), s)
    half = ctx.shape(cos)[-1]
    heads = ctx.attr("num_heads", 0)
    if len(s) == 4:
        head = s[-1]
    elif heads:
        head = per_head(ctx, s[-1], heads, "input")
    else:
        head = norm(2 * half)
    rot = ctx.attr("rotary_embedding_dim", 0) or head
    if type(rot) is int and type(half) is int and rot != 2 * half:
        raise ctx.fail(f"cos/sin cache width {half} is not rotary_embedding_dim / 2 = {rot} / 2")
    if type(rot) is int and type(head) is int and (rot > head or rot % 2):
        raise ctx.fail(f"rotary_embedding_dim {rot} must be even and at most head_size {head}")
    rows = per_head(ctx, prod(s), head, "input")
    return Cost(flops=norm(ROTARY * rows * rot))


@op("RotaryEmbedding", kind=ELEMENTWISE, since=23)
def rotary_embedding(ctx: NodeContext) -> Cost:
    """ONNX RotaryEmbedding (X, cos_cache, sin_cache, position_ids): 3 FLOPs per rotated
    element."""
    return _rotary(ctx, 1)


@op("RotaryEmbedding", kind=ELEMENTWISE, domain=MS)
def ms_rotary_embedding(ctx: NodeContext) -> Cost:
    """ORT RotaryEmbedding (input, position_ids, cos_cache, sin_cache): 3 FLOPs per rotated
    element."""
    return _rotary(ctx, 2)


def _fused_operand(s: Shape, trans: int, trans_batch: int) -> Shape:
    """ORT FusedMatMul: transBatch moves dim 0 next to the last dim, then trans swaps
    the last two; a vector is never transposed."""
    s = tuple(s)
    if len(s) < 2:
        return s
    if trans_batch and len(s) > 2:
        s = s[1:-1] + (s[0], s[-1])
    if trans:
        s = s[:-2] + (s[-1], s[-2])
    return s


@op("FusedMatMul", kind=CONTRACTION, domain=MS)
def fused_matmul(ctx: NodeContext) -> Cost:
    """alpha * op(A) @ op(B): MACs = batch x M x N x K, FLOPs = 2 x MACs (+ 1 per output
    element when alpha != 1)."""
    a = _fused_operand(ctx.shape(0), ctx.attr("transA", 0), ctx.attr("transBatchA", 0))
    b = _fused_operand(ctx.shape(1), ctx.attr("transB", 0), ctx.attr("transBatchB", 0))
    out, batch, m, n, k = matmul_shapes(a, b, ctx.where)
    ctx.set_output(0, ctx.dtype(0), out)
    macs = norm(batch * m * n * k)
    ctx.set_kernel(GemmShape(batch=batch, m=m, n=n, k=k))
    extra = prod(out) if ctx.attr("alpha", 1.0) != 1.0 else 0
    return Cost(flops=norm(2 * macs + extra), macs=macs)


@op("MatMulNBits", kind=CONTRACTION, domain=MS)
def matmul_nbits(ctx: NodeContext) -> Cost:
    """A @ dequant(B) with B block-quantized along K (bits, block_size): MACs = M x N x K;
    FLOPs = 2 x MACs + 2 per weight element (subtract zero point, multiply scale: the
    dequantization, once per call) + M x N with the bias. Bytes read are the packed
    weight (N x K x bits / 8 plus scales), as stored. Parameters: N x K for a constant B."""
    a = ctx.shape(0)
    k, n = ctx.attr("K"), ctx.attr("N")
    bits, block = ctx.attr("bits", 4), ctx.attr("block_size")
    same(ctx, a[-1], k, "A's last dimension and K")
    bs = ctx.shape(1)
    if not ctx.attr("weight_prepacked", 0) and len(bs) == 3:
        want = (n, ceildiv(k, block), block * bits // 8)
        for got, exp, what in zip(bs, want, ("N", "k_blocks", "blob_size")):
            same(ctx, got, exp, f"B's {what} ({bs} for N={n}, K={k}, bits={bits}, block_size={block})")
    out = tuple(a[:-1]) + (n,)
    ctx.set_output(0, ctx.dtype(0), out)
    m = prod(a[:-1])
    macs = norm(m * n * k)
    ctx.set_kernel(GemmShape(batch=1, m=m, n=n, k=k))
    bias = norm(m * n) if ctx.has(5) else 0
    return Cost(flops=norm(2 * macs + 2 * n * k + bias), macs=macs, params=norm(n * k) if ctx.is_const(1) else 0)


def _qlinear(ctx: NodeContext, shape: Shape, per: tuple[int, int]) -> Cost:
    ctx.set_output(0, ctx.dtype(0), shape)
    return _per_element(prod(shape), per)


@op("QLinearAdd", "QLinearMul", kind=ELEMENTWISE, domain=MS)
def qlinear_binary(ctx: NodeContext) -> Cost:
    """Dequantize both operands (2 + 2), add or multiply (1), quantize (4): 9 FLOPs per
    output element."""
    s = broadcast_shapes([ctx.shape(0), ctx.shape(3)], ctx.where)
    return _qlinear(ctx, s, (2 * DEQUANT + BINARY["Add"][0] + QUANT, 0))


@op("QLinearSigmoid", kind=ELEMENTWISE, domain=MS)
def qlinear_sigmoid(ctx: NodeContext) -> Cost:
    """Dequantize (2), sigmoid (4 + 1 exp), quantize (4): 10 FLOPs + 1 exp per element."""
    per = UNARY["Sigmoid"]
    return _qlinear(ctx, ctx.shape(0), (DEQUANT + per[0] + QUANT, per[1]))


@op("QLinearLeakyRelu", kind=ELEMENTWISE, domain=MS)
def qlinear_leaky_relu(ctx: NodeContext) -> Cost:
    """Dequantize (2), leaky relu (2), quantize (4): 8 FLOPs per element."""
    return _qlinear(ctx, ctx.shape(0), (DEQUANT + UNARY["LeakyRelu"][0] + QUANT, 0))


@op("QLinearSoftmax", kind=NORMALIZATION, domain=MS)
def qlinear_softmax(ctx: NodeContext) -> Cost:
    """Dequantize (2), softmax (5 + 1 exp), quantize (4): 11 FLOPs + 1 exp per element."""
    return _qlinear(ctx, ctx.shape(0), (DEQUANT + 5 + QUANT, 1))


@op("QLinearGlobalAveragePool", kind=POOL, domain=MS)
def qlinear_global_average_pool(ctx: NodeContext) -> Cost:
    """Per input element: dequantize (2) and add (1); per output element: divide (1) and
    quantize (4). channels_last puts C last."""
    s = ctx.shape(0)
    if len(s) < 3:
        raise ctx.fail(f"input must have spatial dims, got {s}")
    if ctx.attr("channels_last", 0):
        out = (s[0],) + (1,) * (len(s) - 2) + (s[-1],)
    else:
        out = (s[0], s[1]) + (1,) * (len(s) - 2)
    ctx.set_output(0, ctx.dtype(0), out)
    return Cost(flops=norm((DEQUANT + 1) * prod(s) + (1 + QUANT) * prod(out)))


@op("QLinearConcat", kind=MOVEMENT, domain=MS)
def qlinear_concat(ctx: NodeContext) -> Cost:
    """Inputs (Y_scale, Y_zero_point, then tensor, scale, zero point per operand); every
    element is requantized to Y's scale: dequantize 2 + quantize 4 = 6 FLOPs."""
    parts = [ctx.shape(i) for i in range(2, ctx.n_inputs, 3) if ctx.has(i)]
    if not parts:
        raise ctx.fail("QLinearConcat needs at least one (tensor, scale, zero point) triple")
    axis = normalize_axis(ctx.attr("axis"), len(parts[0]), ctx.where)
    out = list(parts[0])
    for p in parts[1:]:
        if len(p) != len(out):
            raise ctx.fail(f"concat operands have ranks {len(out)} and {len(p)}")
        for d in range(len(p)):
            if d == axis:
                out[d] = norm(out[d] + p[d])
            else:
                out[d] = same(ctx, out[d], p[d], f"dimension {d} of the operands")
    dt = ctx.dtype(1)
    ctx.set_output(0, dt, tuple(out))
    return Cost(flops=norm((DEQUANT + QUANT) * prod(out)))
