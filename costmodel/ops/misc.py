"""The rest of the default domain: signal processing (DFT, STFT, windows, mel matrix),
detection (NonMaxSuppression, RoiAlign), DeformConv, Det, losses, image decoding and
string ops. Per-element counts are written at each rule.

FFT convention: a complex transform of length N costs 5 N ceil(log2 N) real FLOPs, the
usual radix-2 Cooley-Tukey estimate (N/2 log2 N butterflies of one complex multiply,
6 FLOPs, and two complex adds, 4 FLOPs); twiddle factors are precomputed constants.
log2 N is rounded up so counts stay integers (mixed-radix transforms of other lengths do
about as much work per point). Real input is costed as a complex transform (an upper
bound: a packed real FFT does about half).

Sizes known only at run time (boxes kept by NMS, a decoded image's height) become fresh
symbols named after the node, as in indexing.py.
"""

from __future__ import annotations


from typing import Any

from ..ir.dtypes import BOOL, DTYPES, FP32, INT64, ONNX_DTYPES
from ..symbolic import floordiv, is_expr, norm, prod, Shape, smax, sp, symbol
from .context import NodeContext, UnknownShape
from .conv import conv_cost, conv_shape
from .cost import Cost
from .formulas import broadcast_shapes
from .registry import CONV, ELEMENTWISE, GENERATOR, NORMALIZATION, POOL, REDUCTION, op

STRING = DTYPES["string"]
UINT8 = DTYPES["uint8"]


def _fresh(ctx: NodeContext, label: str) -> Any:
    """A length known only at run time: a fresh symbol named after the node."""
    safe = "".join(c if c.isalnum() else "_" for c in ctx.node_name()) or "n"
    return symbol(f"{label}_{safe}")


def _known_int(ctx: NodeContext, i: int, label: str) -> Any:
    """A scalar int input's value, or a fresh symbol when it is not known."""
    v = ctx.scalar(i)
    if v is None:
        return _fresh(ctx, label)
    return norm(v) if is_expr(v) else norm(int(v))


def ceil_log2(n: Any) -> Any:
    if type(n) is int:
        return max(n - 1, 0).bit_length()
    return norm(sp().ceiling(sp().log(n, 2)))


def fft_flops(n: Any) -> Any:
    """5 N ceil(log2 N): see the module docstring."""
    return norm(5 * n * ceil_log2(n))


def _minus1(n: Any) -> Any:
    return max(n - 1, 0) if type(n) is int else norm(n - 1)


# -- signal processing ----------------------------------------------------------------


@op("DFT", kind=REDUCTION, since=17)
def dft(ctx: NodeContext) -> Cost:
    """One FFT of length dft_length per transformed vector (5 N ceil(log2 N)); the inverse
    adds 1 divide by N per output value."""
    s = ctx.shape(0)
    r = len(s)
    if r < 2 or (type(s[-1]) is int and s[-1] not in (1, 2)):
        raise ctx.fail(f"DFT input {s} must end in a dimension of 1 (real) or 2 (complex)")
    inverse, onesided = ctx.attr("inverse", 0), ctx.attr("onesided", 0)
    if ctx.opset >= 20:
        axis = -2
        if ctx.has(2):
            axis = ctx.scalar(2)
            if axis is None:
                raise UnknownShape("DFT axis input is not known")
    else:
        axis = ctx.attr("axis", 1)
    a = int(axis) + r if int(axis) < 0 else int(axis)
    if not 0 <= a <= r - 2:
        raise ctx.fail(f"DFT axis {axis} is out of range for rank {r}")
    irfft = bool(onesided and inverse)
    if ctx.has(1):
        n = _known_int(ctx, 1, "dft_length")
    else:
        n = norm(2 * (s[a] - 1)) if irfft else s[a]
    bins = norm(floordiv(n, 2) + 1) if onesided and not irfft else n
    out = s[:a] + (bins,) + s[a + 1 : -1] + (1 if irfft else 2,)
    ctx.set_output(0, ctx.dtype(0), out)
    transforms = prod(s[:a] + s[a + 1 : -1])
    return Cost(flops=norm(transforms * fft_flops(n) + (prod(out) if inverse else 0)))


@op("STFT", kind=REDUCTION, since=17)
def stft(ctx: NodeContext) -> Cost:
    """Per frame: the window multiply (1 per sample, 2 for complex input) and an FFT of
    frame_length (5 N ceil(log2 N))."""
    sig = ctx.shape(0)
    if len(sig) != 3:
        raise ctx.fail(f"STFT signal must be [batch, length, 1 or 2], got {sig}")
    step = _known_int(ctx, 1, "stft_step")
    if ctx.has(3):
        fl = _known_int(ctx, 3, "stft_frame")
    elif ctx.has(2):
        fl = ctx.shape(2)[0]
    else:
        fl = sig[1]
    if ctx.has(2) and type(fl) is int and type(ctx.shape(2)[0]) is int and ctx.shape(2)[0] != fl:
        raise ctx.fail(f"STFT window length {ctx.shape(2)[0]} differs from frame_length {fl}")
    frames = norm(floordiv(norm(sig[1] - fl), step) + 1)
    bins = norm(floordiv(fl, 2) + 1) if ctx.attr("onesided", 1) else fl
    ctx.set_output(0, ctx.dtype(0), (sig[0], frames, bins, 2))
    n_frames = norm(sig[0] * frames)
    window = (2 if sig[2] == 2 else 1) * fl if ctx.has(2) else 0
    return Cost(flops=norm(n_frames * (window + fft_flops(fl))))


# Window generators: (FLOPs, transcendentals) per element, the argument 2 pi n / N
# counted as one multiply by a precomputed constant.
#   Hann / Hamming: a0 - a1 cos(arg): multiply, cos, multiply, subtract = 4 FLOPs, 1 cos.
#   Blackman: 0.42 - 0.5 cos(arg) + 0.08 cos(2 arg): 2 arguments, 2 cos, 2 multiplies,
#   a subtract and an add = 8 FLOPs, 2 cos.
WINDOWS = {"HannWindow": (4, 1), "HammingWindow": (4, 1), "BlackmanWindow": (8, 2)}


@op(*WINDOWS, kind=GENERATOR, since=17)
def window(ctx: NodeContext) -> Cost:
    """See WINDOWS for the per-element count."""
    n = _known_int(ctx, 0, "window")
    ctx.set_output(0, ONNX_DTYPES.get(int(ctx.attr("output_datatype", 1)), FP32), (n,))
    f, t = WINDOWS[ctx.node.op_type]
    return Cost(flops=norm(f * n), transcendentals=norm(t * n))


@op("MelWeightMatrix", kind=GENERATOR, since=17)
def mel_weight_matrix(ctx: NodeContext) -> Cost:
    """Output [floor(dft_length / 2) + 1, num_mel_bins]. The two edge frequencies to mel
    (1 + f/700, log10, x 2595: 4 FLOPs, 1 log each); per band edge (num_mel_bins + 2):
    spacing (2), mel to Hz (divide, 10^x, subtract, multiply: 4, 1 pow) and the DFT bin
    (multiply, divide, floor: 3) = 9 FLOPs, 1 transcendental; per output element: two
    compares, a subtract and a divide = 4 FLOPs."""
    bins = _known_int(ctx, 0, "mel_bins")
    dft_len = _known_int(ctx, 1, "mel_dft")
    out = (norm(floordiv(dft_len, 2) + 1), bins)
    ctx.set_output(0, ONNX_DTYPES.get(int(ctx.attr("output_datatype", 1)), FP32), out)
    edges = norm(bins + 2)
    return Cost(flops=norm(4 * prod(out) + 9 * edges + 8), transcendentals=norm(edges + 2))


# -- detection --------------------------------------------------------------------------

# Intersection-over-union of two boxes: 4 max/min for the overlap corners, 2 subtracts,
# 2 clamps at 0, 1 multiply, union = a1 + a2 - inter (2), 1 divide, 1 threshold compare.
IOU_FLOPS = 13


@op("NonMaxSuppression", kind=REDUCTION, since=10)
def non_max_suppression(ctx: NodeContext) -> Cost:
    """Per box: its area (2 subtracts, 1 multiply; + 6 to convert center_point_box
    format). Per (batch, class): a score-threshold compare per box and a sort
    (n ceil(log2 n) compares). Greedy suppression tests each candidate against the boxes
    selected so far: at most n IoUs (13 FLOPs) per selected box, an upper bound. The
    number selected is a run-time symbol; output [selected, 3] int64."""
    boxes, scores = ctx.shape(0), ctx.shape(1)
    if len(boxes) != 3 or len(scores) != 3:
        raise ctx.fail(f"NonMaxSuppression boxes {boxes} and scores {scores} must be rank 3")
    b, n, four = boxes
    if type(four) is int and four != 4:
        raise ctx.fail(f"NonMaxSuppression boxes {boxes} must end in 4")
    for x, y in ((b, scores[0]), (n, scores[2])):
        if type(x) is int and type(y) is int and x != y:
            raise ctx.fail(f"NonMaxSuppression boxes {boxes} and scores {scores} disagree")
    c = scores[1]
    selected = _fresh(ctx, "nms")
    ctx.set_output(0, INT64, (selected, 3))
    per_box = 3 + (6 if ctx.attr("center_point_box", 0) else 0)
    flops = per_box * b * n + b * c * (n + n * ceil_log2(n)) + IOU_FLOPS * selected * n
    return Cost(flops=norm(flops))


@op("RoiAlign", kind=POOL, since=10)
def roi_align(ctx: NodeContext) -> Cost:
    """Per output cell and channel: s bilinear samples (s = sampling_ratio^2; a run-time
    symbol when sampling_ratio = 0, the adaptive grid), each 4 multiplies + 3 adds of the
    corner values and 1 combine (add or max) = 8 FLOPs, + 1 divide per cell for avg.
    The sample positions and corner weights (12 FLOPs per sample) are shared by the
    channels and computed once per ROI cell."""
    x, rois = ctx.shape(0), ctx.shape(1)
    if len(x) != 4 or len(rois) != 2:
        raise ctx.fail(f"RoiAlign needs X [N, C, H, W] and rois [R, 4], got {x} and {rois}")
    if type(rois[1]) is int and rois[1] != 4:
        raise ctx.fail(f"RoiAlign rois {rois} must be [R, 4]")
    r, c = rois[0], x[1]
    oh, ow = ctx.attr("output_height", 1), ctx.attr("output_width", 1)
    ctx.set_output(0, ctx.dtype(0), (r, c, oh, ow))
    ratio = ctx.attr("sampling_ratio", 0)
    s = ratio * ratio if ratio > 0 else _fresh(ctx, "roialign_samples")
    cells = norm(r * oh * ow)
    avg = 1 if ctx.attr("mode", "avg") == "avg" else 0
    return Cost(flops=norm(cells * c * (8 * s + avg) + 12 * cells * s))


# -- linear algebra, convolution ----------------------------------------------------------


@op("Det", kind=REDUCTION, since=11)
def det(ctx: NodeContext) -> Cost:
    """Per n x n matrix, LU with partial pivoting: step k does n-k divides and (n-k)^2
    multiply-subtracts (2 FLOPs), sum = n(n-1)(4n+1)/6 (~2/3 n^3); then n-1 multiplies
    of the diagonal. Pivot compares are not counted. # n=3: 13 + 2 = 15"""
    s = ctx.shape(0)
    if len(s) < 2:
        raise ctx.fail(f"Det needs [*, M, M], got {s}")
    n, n2 = s[-2], s[-1]
    if type(n) is int and type(n2) is int and n != n2:
        raise ctx.fail(f"Det needs square matrices, got {s}")
    ctx.set_output(0, ctx.dtype(0), s[:-2])
    lu = n * (n - 1) * (4 * n + 1) // 6 if type(n) is int else n * (n - 1) * (4 * n + 1) / 6
    return Cost(flops=norm(prod(s[:-2]) * (lu + _minus1(n))))


# A bilinear sample at a fractional position: 2 adds for position + offset, then 3 lerps
# of 3 FLOPs (as Resize's linear mode in indexing.py) = 11; x mask: +1.
DEFORM_SAMPLE_FLOPS = 11


@op("DeformConv", kind=CONV, since=19)
def deform_conv(ctx: NodeContext) -> Cost:
    """Conv MACs (conv.py) on an im2col buffer of bilinear samples: one sample per
    (n, c, output position, kernel tap), 11 FLOPs each, 12 with mask."""
    x, w = ctx.shape(0), ctx.shape(1)
    out, geom = conv_shape(ctx, x, w)
    kvol = prod(geom["kernel"])
    og = ctx.attr("offset_group", 1)
    want = (out[0], norm(og * 2 * kvol)) + tuple(out[2:])
    for name, i, exp in (("offset", 2, want), ("mask", 4, want[:1] + (norm(og * kvol),) + want[2:])):
        if ctx.has(i):
            got = ctx.shape(i)
            if len(got) != len(exp) or any(type(a) is int and type(b) is int and a != b for a, b in zip(got, exp)):
                raise ctx.fail(f"DeformConv {name} shape {got}, expected {exp}")
    ctx.set_output(0, ctx.dtype(0), out)
    base = conv_cost(ctx, out, w, ctx.has(3), geom)
    samples = norm(out[0] * x[1] * prod(out[2:]) * kvol)
    per = DEFORM_SAMPLE_FLOPS + (1 if ctx.has(4) else 0)
    return Cost(flops=norm(base.flops + per * samples), macs=base.macs)


# -- losses -------------------------------------------------------------------------------


def _nll(ctx: NodeContext, x: Shape, t: Shape, w_i: int) -> tuple[object, object]:
    """Shared by both losses: validates shapes, sets the loss output and returns
    (loss FLOPs, rows). Per target element: negate (1), x weight (1 with weights),
    ignore_index compare (1 when set). sum: + (T - 1) adds; mean: + (T - 1) adds,
    + (T - 1) for the weight (or kept-count) sum when weights or ignore_index are
    used, + 1 divide."""
    if len(x) < 2 or len(t) != len(x) - 1:
        raise ctx.fail(f"loss input {x} and target {t} must be [N, C, d...] and [N, d...]")
    for a, b in zip((x[0],) + tuple(x[2:]), t):
        if type(a) is int and type(b) is int and a != b:
            raise ctx.fail(f"loss input {x} and target {t} disagree")
    reduction = ctx.attr("reduction", "mean")
    ctx.set_output(0, ctx.dtype(0), t if reduction == "none" else ())
    rows = prod(t)
    weighted = ctx.has(w_i) or ctx.attr("ignore_index", None) is not None
    per = 1 + (1 if ctx.has(w_i) else 0) + (1 if ctx.attr("ignore_index", None) is not None else 0)
    flops = per * rows
    if reduction == "sum":
        flops = flops + _minus1(rows)
    elif reduction == "mean":
        flops = flops + _minus1(rows) * (2 if weighted else 1) + 1
    elif reduction != "none":
        raise ctx.fail(f"unknown reduction {reduction!r}")
    return norm(flops), rows


@op("NegativeLogLikelihoodLoss", kind=REDUCTION, since=12)
def nll_loss(ctx: NodeContext) -> Cost:
    """Gathers input[n, target, d...]; see _nll for the per-element count."""
    flops, _ = _nll(ctx, ctx.shape(0), ctx.shape(1), 2)
    return Cost(flops=flops)


@op("SoftmaxCrossEntropyLoss", kind=NORMALIZATION, since=12)
def softmax_cross_entropy(ctx: NodeContext) -> Cost:
    """LogSoftmax over C (per score: max, subtract, exp, sum, subtract = 5 FLOPs, 1 exp;
    per row: 1 log) then the NLL of _nll. Output 1 (optional) is log_prob."""
    x = ctx.shape(0)
    flops, rows = _nll(ctx, x, ctx.shape(1), 2)
    ctx.set_output(1, ctx.dtype(0), x)
    n = prod(x)
    return Cost(flops=norm(5 * n + rows + flops), transcendentals=norm(n + rows))


# -- images and strings -------------------------------------------------------------------


@op("ImageDecoder", kind=ELEMENTWISE, since=20)
def image_decoder(ctx: NodeContext) -> Cost:
    """Height and width are run-time symbols; output [H, W, 3] (RGB/BGR) or [H, W, 1]
    uint8. Modeled as a baseline JPEG decode: per output value a two-pass 8-point IDCT
    (16 multiply-adds = 32 FLOPs), dequantize and level-shift/clamp (2); per pixel of a
    color image YCbCr to RGB (4 multiplies, 4 adds). Entropy decoding is integer work
    and not counted; other codecs (PNG) are costed the same way."""
    ch = 1 if ctx.attr("pixel_format", "RGB") == "Grayscale" else 3
    h, w = _fresh(ctx, "image_h"), _fresh(ctx, "image_w")
    ctx.set_output(0, UINT8, (h, w, ch))
    pixels = h * w
    return Cost(flops=norm(34 * ch * pixels + (8 * pixels if ch == 3 else 0)))


# String ops: string lengths are not known at analysis time, so each string element
# counts as 1 operation (one match, concatenation, split scan or case change).


@op("RegexFullMatch", kind=ELEMENTWISE, since=20)
def regex_full_match(ctx: NodeContext) -> Cost:
    """1 per element (one match); output bool."""
    s = ctx.shape(0)
    ctx.set_output(0, BOOL, s)
    return Cost(flops=prod(s))


@op("StringConcat", kind=ELEMENTWISE, since=20)
def string_concat(ctx: NodeContext) -> Cost:
    """1 per output element (broadcast)."""
    out = broadcast_shapes([ctx.shape(0), ctx.shape(1)], ctx.where)
    ctx.set_output(0, STRING, out)
    return Cost(flops=prod(out))


@op("StringSplit", kind=ELEMENTWISE, since=20)
def string_split(ctx: NodeContext) -> Cost:
    """1 per input element (one scan); Y = X.shape + [max substrings] (a run-time symbol),
    Z = X.shape int64 substring counts."""
    s = ctx.shape(0)
    ctx.set_output(0, STRING, s + (_fresh(ctx, "splits"),))
    ctx.set_output(1, INT64, s)
    return Cost(flops=prod(s))


@op("StringNormalizer", kind=ELEMENTWISE, since=10)
def string_normalizer(ctx: NodeContext) -> Cost:
    """Per element: a stopword lookup (1, when stopwords are given) and a case change (1,
    unless NONE). Removing stopwords leaves a run-time number of strings."""
    s = ctx.shape(0)
    if len(s) not in (1, 2) or (len(s) == 2 and type(s[0]) is int and s[0] != 1):
        raise ctx.fail(f"StringNormalizer input must be [C] or [1, C], got {s}")
    stop = bool(ctx.attr("stopwords", None))
    out = s[:-1] + (_fresh(ctx, "strings"),) if stop else s
    ctx.set_output(0, STRING, out)
    per = (1 if stop else 0) + (1 if ctx.attr("case_change_action", "NONE") != "NONE" else 0)
    return Cost(flops=norm(per * prod(s)))


@op("TfIdfVectorizer", kind=REDUCTION, since=9)
def tfidf_vectorizer(ctx: NodeContext) -> Cost:
    """Every candidate n-gram (n in [min_gram_length, max_gram_length], skips 0..
    max_skip_count; unigrams once) is looked up one token at a time (n) and, when found,
    counted (1): n + 1 per candidate. IDF/TFIDF weighting: 1 multiply per output."""
    s = ctx.shape(0)
    if len(s) not in (1, 2):
        raise ctx.fail(f"TfIdfVectorizer input must be [C] or [N, C], got {s}")
    idx = ctx.attr("ngram_indexes")
    width = max(idx) + 1 if idx else 0
    out = (width,) if len(s) == 1 else (s[0], width)
    ctx.set_output(0, FP32, out)
    c = s[-1]
    lo, hi = ctx.attr("min_gram_length"), ctx.attr("max_gram_length")
    skips = ctx.attr("max_skip_count")
    per_row = 0
    for n in range(max(lo, 1), hi + 1):
        for k in range(skips + 1 if n > 1 else 1):
            span = (n - 1) * (k + 1)
            cand = max(c - span, 0) if type(c) is int else smax(c - span, 0)
            per_row = per_row + (n + 1) * cand
    rows = s[0] if len(s) == 2 else 1
    weigh = prod(out) if ctx.attr("mode") in ("IDF", "TFIDF") else 0
    return Cost(flops=norm(rows * per_row + weigh))
