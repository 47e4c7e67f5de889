"""Rules of costmodel/ops/misc.py: signal processing, detection, DeformConv, Det, losses,
image decoding and strings. Expected values are written as arithmetic; output shapes are
compared with onnx shape inference where it infers them."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto as TP
from onnx import helper

import costmodel
from costmodel.errors import ShapeError
from costmodel.ir.dtypes import INT64
from costmodel.ir.graph import Node, TensorInfo
from costmodel.ops.context import NodeContext
from costmodel.ops.registry import load_all
from costmodel.symbolic import substitute
from tests.helpers import node_cost
from tests.test_ops_quantized import build, check_shapes, const, onnx_shapes, out_dtype


def run_rule(op_type, infos, opset=17, outputs=1, **attrs):
    """Call a rule directly (a generator whose inputs are known folds in a graph)."""
    d = load_all().lookup("", op_type, opset)
    node = Node(
        "n", op_type, "", tuple(f"x{i}" for i in range(len(infos))), tuple(f"y{i}" for i in range(outputs)), attrs
    )
    ctx = NodeContext(node, infos, opset)
    return d.rule(ctx), ctx.outputs


def known_int(v):
    return TensorInfo(INT64, (), data=np.array(v, dtype=np.int64), const=True)


def free(x):
    return {s.name for s in x.free_symbols} if isinstance(x, sympy.Basic) else set()


# -- DFT ----------------------------------------------------------------------------------


def brute_fft_flops(n):
    """Recursive radix-2 Cooley-Tukey on a power-of-two length: each butterfly is a complex
    multiply (6 FLOPs) and two complex adds (4)."""
    if n == 1:
        return 0
    return 2 * brute_fft_flops(n // 2) + (n // 2) * (6 + 4)


def test_dft_full_and_inverse_opset17():
    m = build("DFT", [("x", TP.FLOAT, [2, 8, 1])], opset=17)
    nc = node_cost(m)
    assert nc.cost.flops == 2 * 5 * 8 * 3  # 2 transforms of 5 N log2 N, N=8: 240
    check_shapes(m, nc)
    m = build("DFT", [("x", TP.FLOAT, [2, 8, 2])], opset=17, inverse=1)
    assert node_cost(m).cost.flops == 240 + 2 * 8 * 2  # + 1 divide per output value = 272


def test_dft_onesided_and_irfft_opset20():
    m = build("DFT", [("x", TP.FLOAT, [2, 8, 1])], opset=20, onesided=1)
    nc = node_cost(m)
    assert nc.output_shapes[0] == (2, 5, 2)  # 8 // 2 + 1 bins
    assert nc.cost.flops == 240
    check_shapes(m, nc)
    m = build("DFT", [("x", TP.FLOAT, [2, 5, 2])], opset=20, onesided=1, inverse=1)
    nc = node_cost(m)
    assert nc.output_shapes[0] == (2, 8, 1)  # IRFFT: N = 2 * (5 - 1)
    assert nc.cost.flops == 240 + 16
    check_shapes(m, nc)


def test_dft_irfft_opset17():
    m = build("DFT", [("x", TP.FLOAT, [1, 6, 10, 2])], opset=17, axis=1, inverse=1, onesided=1)
    nc = node_cost(m)
    assert nc.output_shapes[0] == (1, 10, 10, 1)  # N = 2 * (6 - 1) on axis 1
    # 10 transforms of N=10 (ceil(log2 10) = 4) + 1 divide per output value
    assert nc.cost.flops == 10 * 5 * 10 * 4 + 100
    check_shapes(m, nc)


def test_dft_length_and_axis():
    m = build("DFT", [("x", TP.FLOAT, [2, 5, 2])], inits=[const("n", 16, np.int64)], opset=20)
    nc = node_cost(m)
    assert nc.cost.flops == 2 * 5 * 16 * 4  # 640
    check_shapes(m, nc)
    m = build("DFT", [("x", TP.FLOAT, [3, 4, 6, 2])], opset=17, axis=2)
    nc = node_cost(m)
    assert nc.cost.flops == 3 * 4 * (5 * 6 * 3)  # N=6, ceil(log2 6) = 3: 1080
    check_shapes(m, nc)
    m = build("DFT", [("x", TP.FLOAT, [3, 4, 6, 2])], opset=20)
    assert node_cost(m).cost.flops == 3 * 4 * 5 * 6 * 3  # default axis -2


def test_dft_axis_input_opset20():
    node = helper.make_node("DFT", ["x", "", "a"], ["y0"])
    g = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TP.FLOAT, [3, 4, 6, 2])],
        [helper.make_tensor_value_info("y0", 0, None)],
        [const("a", 1, np.int64)],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)])
    nc = node_cost(m)
    assert nc.cost.flops == 3 * 6 * (5 * 4 * 2)  # N=4 on axis 1, 18 transforms: 720
    check_shapes(m, nc)


def test_dft_unknown_length_is_a_symbol():
    m = build("DFT", [("x", TP.FLOAT, [2, 8, 2]), ("n", TP.INT64, [])], opset=20)
    nc = node_cost(m)
    assert free(nc.output_shapes[0][1]) == {"dft_length_DFT_0"}
    assert substitute(nc.cost.flops, {"dft_length_DFT_0": 8}) == 240


def test_dft_errors():
    with pytest.raises(ShapeError):
        costmodel.analyze(build("DFT", [("x", TP.FLOAT, [2, 8, 3])], opset=20))
    with pytest.raises(ShapeError):
        costmodel.analyze(build("DFT", [("x", TP.FLOAT, [2, 8, 2])], opset=17, axis=2))


@settings(max_examples=25, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    logn=st.integers(0, 5),
    last=st.sampled_from([1, 2]),
    data=st.data(),
)
def test_dft_matches_bruteforce(batch, logn, last, data):
    n = 2**logn
    pos = data.draw(st.integers(0, len(batch)))
    shape = batch[:pos] + [n] + batch[pos:] + [last]
    m = build("DFT", [("x", TP.FLOAT, shape)], opset=17, axis=pos)
    nc = node_cost(m)
    assert nc.cost.flops == int(np.prod(batch)) * brute_fft_flops(n)
    check_shapes(m, nc)


def test_dft_symbolic_batch():
    f = node_cost(build("DFT", [("x", TP.FLOAT, ["batch", 8, 1])], opset=17)).cost.flops
    assert substitute(f, {"batch": 2}) == 240
    assert (
        node_cost(build("DFT", [("x", TP.FLOAT, ["batch", 8, 1])], opset=17), bindings={"batch": 2}).cost.flops == 240
    )


# -- STFT -----------------------------------------------------------------------------------


def test_stft_window():
    def stft(shape, win, **attrs):
        ins = ["x", "step"] + (["w"] if win else [])
        node = helper.make_node("STFT", ins, ["y0"], **attrs)
        vis = [helper.make_tensor_value_info("x", TP.FLOAT, shape)]
        if win:
            vis.append(helper.make_tensor_value_info("w", TP.FLOAT, [win]))
        g = helper.make_graph(
            [node],
            "g",
            vis,
            [helper.make_tensor_value_info("y0", 0, None)],
            [const("step", 8 if shape[1] == 64 else 4, np.int64)],
        )
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])

    m = stft([2, 64, 1], 16)
    nc = node_cost(m)
    frames = (64 - 16) // 8 + 1  # 7
    assert nc.output_shapes[0] == (2, frames, 16 // 2 + 1, 2)  # onesided by default
    assert nc.cost.flops == 2 * frames * (16 + 5 * 16 * 4)  # window multiply + FFT: 4704
    for onesided in (0, 1):  # onnx's inference defaults onesided to 0, the spec to 1
        m = stft([2, 64, 1], 16, onesided=onesided)
        check_shapes(m, node_cost(m))
    m = stft([1, 32, 2], 8, onesided=0)
    nc = node_cost(m)
    frames = (32 - 8) // 4 + 1  # 7
    assert nc.output_shapes[0] == (1, frames, 8, 2)
    assert nc.cost.flops == frames * (2 * 8 + 5 * 8 * 3)  # complex signal x real window: 952
    check_shapes(m, nc)


def test_stft_frame_length_and_unknown_step():
    node = helper.make_node("STFT", ["x", "step", "", "fl"], ["y0"])
    g = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TP.FLOAT, [2, 64, 1])],
        [helper.make_tensor_value_info("y0", 0, None)],
        [const("step", 8, np.int64), const("fl", 10, np.int64)],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    nc = node_cost(m)
    frames = (64 - 10) // 8 + 1  # 7
    assert nc.output_shapes[0] == (2, frames, 6, 2)
    assert nc.cost.flops == 2 * frames * 5 * 10 * 4  # no window: FFT only, 2800
    m = build("STFT", [("x", TP.FLOAT, [2, 64, 1]), ("step", TP.INT64, []), ("w", TP.FLOAT, [16])], opset=17)
    nc = node_cost(m)
    assert free(nc.output_shapes[0][1]) == {"stft_step_STFT_0"}
    assert substitute(nc.cost.flops, {"stft_step_STFT_0": 8}) == 4704


# -- windows and mel matrix ---------------------------------------------------------------


@pytest.mark.parametrize("op_type,per,trans", [("HannWindow", 4, 1), ("HammingWindow", 4, 1), ("BlackmanWindow", 8, 2)])
def test_windows(op_type, per, trans):
    cost, outs = run_rule(op_type, [known_int(10)], output_datatype=TP.FLOAT16)
    assert outs[0].shape == (10,) and outs[0].dtype.name == "fp16"
    assert (cost.flops, cost.transcendentals) == (per * 10, trans * 10)
    m = build(op_type, [], inits=[const("n", 10, np.int64)], opset=17)
    r = costmodel.analyze(m)
    assert r.ops[0].status == "folded"  # a constant size makes a constant window
    assert [r.graph_cost.outputs["y0"].shape] == onnx_shapes(m)
    nc = node_cost(build(op_type, [("n", TP.INT64, [])], opset=17))
    sym = nc.output_shapes[0][0]
    assert free(sym) == {f"window_{op_type}_0"}
    assert nc.cost.flops == per * sym


def test_mel_weight_matrix():
    ins = [known_int(8), known_int(64), known_int(16000), TensorInfo(None, ()), TensorInfo(None, ())]
    cost, outs = run_rule("MelWeightMatrix", ins)
    assert outs[0].shape == (33, 8)  # 64 // 2 + 1 bins x 8 mel bands
    # 4 per output element, 9 per band edge (8 + 2 edges), 8 for the two edge frequencies
    assert cost.flops == 4 * 33 * 8 + 9 * 10 + 8
    assert cost.transcendentals == 10 + 2
    m = build(
        "MelWeightMatrix",
        [],
        opset=17,
        inits=[
            const("a", 8, np.int64),
            const("b", 64, np.int64),
            const("c", 16000, np.int64),
            const("d", 0, np.float32),
            const("e", 8000, np.float32),
        ],
    )
    r = costmodel.analyze(m)
    assert [r.graph_cost.outputs["y0"].shape] == onnx_shapes(m)


# -- detection ----------------------------------------------------------------------------


def test_non_max_suppression():
    m = build("NonMaxSuppression", [("b", TP.FLOAT, [1, 10, 4]), ("s", TP.FLOAT, [1, 3, 10])], opset=11)
    nc = node_cost(m)
    sel, three = nc.output_shapes[0]
    assert three == 3 and free(sel) == {"nms_NonMaxSuppression_0"}
    # areas 3 per box, per class 10 compares + sort 10 * ceil(log2 10), 13 per IoU
    assert nc.cost.flops == 3 * 10 + 3 * (10 + 10 * 4) + 13 * sel * 10
    assert out_dtype(m) == "int64"
    m = build(
        "NonMaxSuppression", [("b", TP.FLOAT, [1, 10, 4]), ("s", TP.FLOAT, [1, 3, 10])], opset=11, center_point_box=1
    )
    assert node_cost(m).cost.flops == 9 * 10 + 3 * (10 + 40) + 130 * sel
    with pytest.raises(ShapeError):
        costmodel.analyze(build("NonMaxSuppression", [("b", TP.FLOAT, [1, 10, 4]), ("s", TP.FLOAT, [1, 3, 9])]))


def _roi(**attrs):
    return build(
        "RoiAlign",
        [("x", TP.FLOAT, [1, 3, 8, 8]), ("r", TP.FLOAT, [5, 4]), ("i", TP.INT64, [5])],
        opset=16,
        output_height=2,
        output_width=3,
        **attrs,
    )


def test_roi_align():
    m = _roi(sampling_ratio=2)
    nc = node_cost(m)
    cells = 5 * 2 * 3  # rois x output cells
    # per cell and channel: 4 samples x 8 + 1 divide; per cell: 12 per sample for weights
    assert nc.cost.flops == cells * 3 * (8 * 4 + 1) + 12 * cells * 4  # 4410
    check_shapes(m, nc)
    assert node_cost(_roi(sampling_ratio=2, mode="max")).cost.flops == cells * 3 * 32 + 12 * cells * 4
    nc = node_cost(_roi())
    assert free(nc.cost.flops) == {"roialign_samples_RoiAlign_0"}
    assert substitute(nc.cost.flops, {"roialign_samples_RoiAlign_0": 4}) == 4410


# -- Det, DeformConv -----------------------------------------------------------------------


def brute_lu_flops(n):
    """Walk LU elimination without pivot compares, then the diagonal product."""
    count = 0
    for k in range(n - 1):
        for _i in range(k + 1, n):
            count += 1  # the multiplier l_ik = a_ik / a_kk
            for _j in range(k + 1, n):
                count += 2  # a_ij -= l_ik * a_kj
    return count + max(n - 1, 0)


def test_det():
    m = build("Det", [("x", TP.FLOAT, [2, 3, 3])], opset=11)
    nc = node_cost(m)
    assert nc.cost.flops == 2 * (13 + 2)  # LU of 3x3 (2 + 8 + 1 + 2) and 2 diagonal products
    check_shapes(m, nc)
    with pytest.raises(ShapeError):
        costmodel.analyze(build("Det", [("x", TP.FLOAT, [3, 4])], opset=11))
    f = node_cost(build("Det", [("x", TP.FLOAT, ["n", "n"])], opset=22)).cost.flops
    for n in (1, 2, 5, 7):
        assert substitute(f, {"n": n}) == brute_lu_flops(n)


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 3), max_size=2), n=st.integers(1, 9))
def test_det_matches_bruteforce(batch, n):
    m = build("Det", [("x", TP.FLOAT, batch + [n, n])], opset=22)
    nc = node_cost(m)
    assert nc.cost.flops == int(np.prod(batch)) * brute_lu_flops(n)
    check_shapes(m, nc)


def _deform(offset, *, bias=False, mask=None, **attrs):
    ins = [("x", TP.FLOAT, [1, 4, 8, 8]), ("w", TP.FLOAT, [6, 2, 3, 3]), ("o", TP.FLOAT, offset)]
    names = ["x", "w", "o"]
    if bias or mask:
        names.append("b" if bias else "")
    if bias:
        ins.append(("b", TP.FLOAT, [6]))
    if mask:
        names.append("m")
        ins.append(("m", TP.FLOAT, mask))
    node = helper.make_node("DeformConv", names, ["y0"], group=2, **attrs)
    g = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in ins],
        [helper.make_tensor_value_info("y0", 0, None)],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])


def test_deform_conv():
    m = _deform([1, 18, 6, 6])
    nc = node_cost(m)
    out = 1 * 6 * 6 * 6  # 216
    macs = out * 2 * 9  # 3888
    samples = 1 * 4 * 36 * 9  # one per (n, c, position, tap): 1296
    assert nc.cost.macs == macs
    assert nc.cost.flops == 2 * macs + 11 * samples  # 22032
    check_shapes(m, nc)
    m = _deform([1, 18, 6, 6], bias=True, mask=[1, 9, 6, 6])
    nc = node_cost(m)
    assert nc.cost.flops == 2 * macs + out + 12 * samples  # 23544
    check_shapes(m, nc)
    m = _deform([1, 36, 6, 6], offset_group=2)
    assert node_cost(m).cost.flops == 2 * macs + 11 * samples
    with pytest.raises(ShapeError):
        costmodel.analyze(_deform([1, 18, 5, 5]))


# -- losses -------------------------------------------------------------------------------


def _nll(reduction, weight=False, **attrs):
    ins = [("x", TP.FLOAT, [2, 5, 3]), ("t", TP.INT64, [2, 3])] + ([("w", TP.FLOAT, [5])] if weight else [])
    return build("NegativeLogLikelihoodLoss", ins, opset=13, reduction=reduction, **attrs)


def test_nll_loss():
    t = 2 * 3
    nc = node_cost(_nll("none"))
    assert nc.cost.flops == t  # a negate per target
    check_shapes(_nll("none"), nc)
    assert node_cost(_nll("sum")).cost.flops == t + (t - 1)
    assert node_cost(_nll("mean")).cost.flops == t + (t - 1) + 1
    # negate, weight, ignore compare per target; sums of losses and weights; a divide
    m = _nll("mean", weight=True, ignore_index=0)
    nc = node_cost(m)
    assert nc.cost.flops == 3 * t + 2 * (t - 1) + 1  # 29
    check_shapes(m, nc)
    with pytest.raises(ShapeError):
        costmodel.analyze(
            build("NegativeLogLikelihoodLoss", [("x", TP.FLOAT, [2, 5, 3]), ("t", TP.INT64, [2, 4])], opset=13)
        )


def test_softmax_cross_entropy():
    m = build("SoftmaxCrossEntropyLoss", [("x", TP.FLOAT, [2, 5, 3]), ("t", TP.INT64, [2, 3])], opset=13, out_count=2)
    nc = node_cost(m)
    n, rows = 30, 6
    assert nc.cost.flops == 5 * n + rows + (rows + (rows - 1) + 1)  # log-softmax + mean NLL: 168
    assert nc.cost.transcendentals == n + rows
    check_shapes(m, nc)
    f = node_cost(
        build(
            "SoftmaxCrossEntropyLoss",
            [("x", TP.FLOAT, ["batch", 5]), ("t", TP.INT64, ["batch"])],
            opset=13,
            reduction="none",
        )
    ).cost.flops
    assert substitute(f, {"batch": 4}) == 5 * 20 + 4 + 4


# -- images and strings -------------------------------------------------------------------


def test_image_decoder():
    nc = node_cost(build("ImageDecoder", [("x", TP.UINT8, [100])], opset=20))
    h, w, c = nc.output_shapes[0]
    assert c == 3 and free(h) == {"image_h_ImageDecoder_0"} and free(w) == {"image_w_ImageDecoder_0"}
    assert sympy.expand(nc.cost.flops - (34 * 3 + 8) * h * w) == 0
    nc = node_cost(build("ImageDecoder", [("x", TP.UINT8, [100])], opset=20, pixel_format="Grayscale"))
    h, w, c = nc.output_shapes[0]
    assert c == 1 and sympy.expand(nc.cost.flops - 34 * h * w) == 0


def test_regex_and_concat():
    m = build("RegexFullMatch", [("x", TP.STRING, [2, 3])], opset=20, pattern="a.*")
    nc = node_cost(m)
    assert nc.cost.flops == 6
    check_shapes(m, nc)
    assert out_dtype(m) == "bool"
    m = build("StringConcat", [("x", TP.STRING, [2, 3]), ("y", TP.STRING, [3])], opset=20)
    nc = node_cost(m)
    assert nc.cost.flops == 6  # one per broadcast output
    check_shapes(m, nc)
    assert out_dtype(m) == "string"


def test_string_split():
    m = build("StringSplit", [("x", TP.STRING, [2, 3])], opset=20, out_count=2, delimiter=",")
    nc = node_cost(m)
    assert nc.cost.flops == 6
    (a, b, k), z = nc.output_shapes
    assert (a, b, z) == (2, 3, (2, 3)) and free(k) == {"splits_StringSplit_0"}
    assert [s[:2] for s in onnx_shapes(m)] == [(2, 3), (2, 3)]


def test_string_normalizer():
    m = build("StringNormalizer", [("x", TP.STRING, [1, 3])], opset=10, case_change_action="LOWER")
    nc = node_cost(m)
    assert nc.output_shapes[0] == (1, 3) and nc.cost.flops == 3
    m = build("StringNormalizer", [("x", TP.STRING, [4])], opset=10, case_change_action="UPPER", stopwords=["a", "the"])
    nc = node_cost(m)
    assert free(nc.output_shapes[0][0]) == {"strings_StringNormalizer_0"}
    assert nc.cost.flops == 2 * 4  # lookup + case change
    with pytest.raises(ShapeError):
        costmodel.analyze(build("StringNormalizer", [("x", TP.STRING, [2, 3])], opset=10))


def brute_tfidf(c, lo, hi, skips):
    """Enumerate every n-gram window (start, n, skip) that fits in a row of c tokens."""
    count = 0
    for n in range(max(lo, 1), hi + 1):
        for k in range(skips + 1 if n > 1 else 1):
            for start in range(c):
                idx = [start + j * (k + 1) for j in range(n)]
                if idx[-1] < c:
                    count += n + 1  # n token lookups + 1 count
    return count


def _tfidf(shape, lo, hi, skips, mode="TF"):
    return build(
        "TfIdfVectorizer",
        [("x", TP.INT64, shape)],
        opset=9,
        mode=mode,
        min_gram_length=lo,
        max_gram_length=hi,
        max_skip_count=skips,
        ngram_counts=[0, 2],
        ngram_indexes=[0, 1, 2, 3],
        pool_int64s=[1, 2, 3, 4, 5, 6],
    )


def test_tfidf():
    m = _tfidf([2, 6], 1, 2, 1)
    nc = node_cost(m)
    # per row: 6 unigrams x 2, 5 bigrams x 3 (skip 0), 4 bigrams x 3 (skip 1) = 39
    assert nc.cost.flops == 2 * 39
    check_shapes(m, nc)
    assert node_cost(_tfidf([2, 6], 1, 2, 1, mode="TFIDF")).cost.flops == 78 + 8  # weight per output
    m = _tfidf([6], 1, 2, 1)
    assert node_cost(m).cost.flops == 39
    check_shapes(m, node_cost(m))


@settings(max_examples=25, deadline=None)
@given(c=st.integers(1, 8), lo=st.integers(1, 3), extra=st.integers(0, 2), skips=st.integers(0, 3))
def test_tfidf_matches_bruteforce(c, lo, extra, skips):
    assert node_cost(_tfidf([c], lo, lo + extra, skips)).cost.flops == brute_tfidf(c, lo, lo + extra, skips)


def test_tfidf_symbolic():
    f = node_cost(_tfidf(["batch", "seq"], 1, 3, 2)).cost.flops
    for seq in (1, 2, 7):
        assert substitute(f, {"batch": 3, "seq": seq}) == 3 * brute_tfidf(seq, 1, 3, 2)


def test_every_rule_documents_its_count():
    ops = {
        "DFT",
        "STFT",
        "HannWindow",
        "HammingWindow",
        "BlackmanWindow",
        "MelWeightMatrix",
        "NonMaxSuppression",
        "RoiAlign",
        "Det",
        "DeformConv",
        "ImageDecoder",
        "RegexFullMatch",
        "StringConcat",
        "StringSplit",
        "StringNormalizer",
        "TfIdfVectorizer",
        "NegativeLogLikelihoodLoss",
        "SoftmaxCrossEntropyLoss",
    }
    reg = load_all()
    for t in ops:
        d = reg.lookup("", t, 23)
        assert d is not None and d.doc, t
