"""LSTM / GRU / RNN: costs against a brute-force count of the ONNX equations, output
shapes against onnx.shape_inference, symbolic dims, bidirectional = 2 x forward."""

from __future__ import annotations

import onnx
import pytest
from helpers import analyze, big_init, model, node_cost, vi
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

from costmodel.errors import CostModelError
from costmodel.ops.kernel import GemmShape, RecurrentShape

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


# -- brute force: evaluate the ONNX equations on counting scalars -----------------------
class Count:
    flops = macs = trans = 0


class V:
    """A scalar whose every arithmetic operation counts 1 FLOP."""

    def _op(self, *_):
        Count.flops += 1
        return V()

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _op
    __truediv__ = __rtruediv__ = __neg__ = _op


def trans(x):
    Count.flops += 1
    Count.trans += 1
    return V()


def cmp(x):  # a compare / min / max / select
    Count.flops += 1
    return V()


ACTS = {
    "sigmoid": lambda x: 1 / (1 + trans(-x)),
    "tanh": trans,
    "relu": cmp,
    "affine": lambda x: 2 * x + 1,
    "scaledtanh": lambda x: 2 * trans(3 * x),
    "hardsigmoid": lambda x: cmp(cmp(2 * x + 1)),
    "leakyrelu": lambda x: cmp(0.1 * x),
    "softsign": lambda x: x / (1 + cmp(x)),
    "softplus": lambda x: trans(1 + trans(x)),
    "elu": lambda x: cmp(2 * (trans(x) - 1)),
}


def dot(k):
    """One output element of a k-long product: k MACs, 2k FLOPs."""
    Count.macs += k
    Count.flops += 2 * k
    return V()


def brute(op, seq, batch, inp, hid, dirs, bias, peep, clip, acts, lbr=0, coupled=0):
    Count.flops = Count.macs = Count.trans = 0
    n = {"LSTM": 3, "GRU": 2, "RNN": 1}[op]
    for d in range(dirs):
        f = [ACTS[a.lower()] for a in (acts[d * n : (d + 1) * n] if len(acts) > n else acts)]
        for _t in range(seq):
            for _b in range(batch):

                def pre():
                    return dot(inp) + dot(hid)  # X W^T + H R^T

                def tail(x):
                    if bias:
                        x = x + V() + V()  # Wb, Rb
                    if clip:
                        x = cmp(cmp(x))
                    return x

                if op == "RNN":
                    for _j in range(hid):
                        f[0](tail(pre()))
                elif op == "GRU":
                    if not lbr:
                        [V() * V() for _ in range(hid)]  # rt (.) Ht-1, then its product with Rh
                    for _j in range(hid):
                        z = f[0](tail(pre()))
                        f[0](tail(pre()))  # r
                        if lbr:
                            hr = dot(hid)
                            if bias:
                                hr = hr + V()  # Rbh
                            x = dot(inp) + V() * hr  # rt (.) (...)
                            if bias:
                                x = x + V()  # Wbh
                            if clip:
                                x = cmp(cmp(x))
                            h = f[1](x)
                        else:
                            h = f[1](tail(pre()))
                        (1 - z) * h + z * V()
                else:  # LSTM: gates i, o, f, c
                    for _j in range(hid):
                        c_prev = V()

                        def gate(fn, peephole, c_prev=c_prev):
                            x = pre()
                            if peephole and peep:
                                x = x + V() * c_prev
                            return fn(tail(x))

                        i = gate(f[0], True)
                        # input_forget couples the gates: f = 1 - i replaces f's activation
                        fg = 1 - gate(lambda x, i=i: i, True) if coupled else gate(f[0], True)
                        g = gate(f[1], False)
                        c = fg * c_prev + i * g
                        o = gate(f[0], True)
                        o * f[2](c)
    return Count.flops, Count.macs, Count.trans


def rnn_model(
    op,
    seq,
    batch,
    inp,
    hid,
    *,
    direction="forward",
    bias=False,
    peep=False,
    clip=None,
    acts=None,
    layout=0,
    lbr=0,
    coupled=0,
    opset=17,
    hidden_attr=True,
    initial=False,
):
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    x_shape = [batch, seq, inp] if layout else [seq, batch, inp]
    inits = [big_init("W", [dirs, g * hid, inp]), big_init("R", [dirs, g * hid, hid])]
    names = ["X", "W", "R"]
    if bias or peep or initial:
        names.append("B" if bias else "")
        if bias:
            inits.append(big_init("B", [dirs, 2 * g * hid]))
    state = [batch, dirs, hid] if layout else [dirs, batch, hid]
    inputs = [vi("X", x_shape)]
    if peep or initial:
        names += ["", "h0"] + (["c0"] if op == "LSTM" else [])
        inputs.append(vi("h0", state))
        if op == "LSTM":
            inputs.append(vi("c0", state))
    if peep:
        names.append("P")
        inits.append(big_init("P", [dirs, 3 * hid]))
    attrs = {"direction": direction}
    if hidden_attr:
        attrs["hidden_size"] = hid
    if clip is not None:
        attrs["clip"] = clip
    if acts is not None:
        attrs["activations"] = acts
    if opset >= 14:
        attrs["layout"] = layout
    if op == "GRU":
        attrs["linear_before_reset"] = lbr
    if op == "LSTM" and coupled:
        attrs["input_forget"] = 1
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, names, outs, name="rnn", **attrs)
    return model([node], inputs, [vi(o, None) for o in outs], inits, opset=opset)


def check(
    op,
    seq,
    batch,
    inp,
    hid,
    direction="forward",
    bias=False,
    peep=False,
    clip=None,
    acts=None,
    layout=0,
    lbr=0,
    coupled=0,
):
    m = rnn_model(
        op,
        seq,
        batch,
        inp,
        hid,
        direction=direction,
        bias=bias,
        peep=peep,
        clip=clip,
        acts=acts,
        layout=layout,
        lbr=lbr,
        coupled=coupled,
    )
    n = node_cost(m)
    dirs = 2 if direction == "bidirectional" else 1
    default = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}[op]
    want = brute(op, seq, batch, inp, hid, dirs, bias, peep, clip is not None, acts or default, lbr, coupled)
    assert (n.cost.flops, n.cost.macs, n.cost.transcendentals) == want
    return n, m


# -- golden values written as arithmetic -------------------------------------------------
def test_lstm_golden():
    n, _ = check("LSTM", 2, 3, 4, 5)
    # MACs: steps 2 * batch 3 * gates 4 * hidden 5 * (input 4 + hidden 5) = 1080
    assert n.cost.macs == 2 * 3 * 4 * 5 * (4 + 5) == 1080
    # per cell (2*3*5 = 30): 4 projection joins + 3 sigmoid (12) + 2 tanh (2) + c (3) + h (1)
    assert n.cost.flops == 2 * 1080 + 30 * (4 + 12 + 2 + 3 + 1)
    assert n.cost.transcendentals == 30 * 5
    assert n.output_shapes == ((2, 1, 3, 5), (1, 3, 5), (1, 3, 5))
    assert n.kernel == RecurrentShape(
        seq=2, batch=3, hidden=5, input=4, gates=4, directions=1, gemm=GemmShape(batch=1, m=2 * 3, n=4 * 5, k=4)
    )


def test_gru_golden():
    n, _ = check("GRU", 3, 2, 4, 6, bias=True)
    assert n.cost.macs == 3 * 2 * 3 * 6 * (4 + 6)
    # per cell (3*2*6 = 36): 3 gates x (join + 2 bias) + 2 sigmoid (8) + tanh (1) + reset (1) + update (4)
    assert n.cost.flops == 2 * n.cost.macs + 36 * (3 * 3 + 8 + 1 + 1 + 4)
    assert n.cost.transcendentals == 36 * 3


def test_rnn_golden():
    n, _ = check("RNN", 4, 2, 3, 5, bias=True)
    assert n.cost.macs == 4 * 2 * 5 * (3 + 5)
    assert n.cost.flops == 2 * n.cost.macs + 4 * 2 * 5 * (1 + 2 + 1)
    assert n.cost.transcendentals == 4 * 2 * 5


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_bidirectional_is_twice_forward(op):
    fwd, _ = check(op, 3, 2, 4, 5, bias=True)
    bi, _ = check(op, 3, 2, 4, 5, direction="bidirectional", bias=True)
    rev, _ = check(op, 3, 2, 4, 5, direction="reverse", bias=True)
    assert bi.cost.flops == 2 * fwd.cost.flops
    assert bi.cost.macs == 2 * fwd.cost.macs
    assert bi.cost.transcendentals == 2 * fwd.cost.transcendentals
    assert rev.cost.flops == fwd.cost.flops


@settings(max_examples=25, deadline=None)
@given(
    op=st.sampled_from(["LSTM", "GRU", "RNN"]),
    seq=st.integers(1, 3),
    batch=st.integers(1, 3),
    inp=st.integers(1, 4),
    hid=st.integers(1, 4),
    direction=st.sampled_from(["forward", "reverse", "bidirectional"]),
    bias=st.booleans(),
    peep=st.booleans(),
    clip=st.sampled_from([None, 3.0]),
    layout=st.integers(0, 1),
    lbr=st.integers(0, 1),
    coupled=st.integers(0, 1),
)
def test_random_against_brute_force(op, seq, batch, inp, hid, direction, bias, peep, clip, layout, lbr, coupled):
    check(
        op,
        seq,
        batch,
        inp,
        hid,
        direction,
        bias,
        peep and op == "LSTM",
        clip,
        None,
        layout,
        lbr,
        coupled and op == "LSTM",
    )


@pytest.mark.parametrize(
    "op,acts",
    [
        ("RNN", ["Relu"]),
        ("RNN", ["Affine"]),
        ("RNN", ["ScaledTanh"]),
        ("RNN", ["LeakyRelu"]),
        ("RNN", ["Relu", "Softsign"]),
        ("GRU", ["HardSigmoid", "Softplus"]),
        ("GRU", ["Sigmoid", "Tanh", "HardSigmoid", "Elu"]),
        ("LSTM", ["Sigmoid", "Relu", "Tanh"]),
        ("LSTM", ["HardSigmoid", "Tanh", "Softsign", "Sigmoid", "Tanh", "Tanh"]),
    ],
)
def test_activations(op, acts):
    direction = "bidirectional" if len(acts) > {"LSTM": 3, "GRU": 2, "RNN": 1}[op] else "forward"
    check(op, 2, 2, 3, 4, direction=direction, bias=True, acts=acts)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
def test_shapes_match_onnx(op, direction, layout):
    m = rnn_model(op, 5, 3, 4, 6, direction=direction, bias=True, initial=True, layout=layout)
    r = analyze(m)
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    dims = {
        v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
        for v in list(inferred.graph.value_info) + list(inferred.graph.output)
        if v.type.tensor_type.HasField("shape")
    }
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    assert tuple(r.graph_cost.outputs[o].shape for o in outs) == tuple(dims[o] for o in outs)


@pytest.mark.parametrize("opset", [7, 13, 14, 22])
def test_versions(opset):
    m = rnn_model("GRU", 2, 3, 4, 5, bias=True, opset=opset)
    n = node_cost(m)
    assert n.cost.macs == 2 * 3 * 3 * 5 * (4 + 5)
    assert n.output_shapes[0] == (2, 1, 3, 5)


def test_hidden_size_from_r():
    m = rnn_model("LSTM", 2, 3, 4, 5, hidden_attr=False)
    n = node_cost(m)
    assert n.cost.macs == 2 * 3 * 4 * 5 * (4 + 5)
    assert n.output_shapes[1] == (1, 3, 5)


def test_symbolic_dims_bind():
    m = rnn_model("LSTM", 7, 3, 4, 5, direction="bidirectional", bias=True, peep=True)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "seq"
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "batch"
    for v in m.graph.input[1:]:
        dim = v.type.tensor_type.shape.dim[1]
        dim.dim_param = "batch"
    sym = analyze(m)
    conc = node_cost(rnn_model("LSTM", 7, 3, 4, 5, direction="bidirectional", bias=True, peep=True))
    assert set(sym.symbols) == {"seq", "batch"}
    b = sym.bind(seq=7, batch=3)
    assert (b["flops"], b["macs"]) == (conc.cost.flops, conc.cost.macs)
    bound = analyze(m, bindings={"seq": 7, "batch": 3})
    assert bound.flops == conc.cost.flops
    assert bound.transcendentals == conc.cost.transcendentals


def test_bad_shapes_raise():
    m = rnn_model("LSTM", 2, 3, 4, 5)
    m.graph.initializer[0].CopyFrom(big_init("W", [1, 4 * 5, 7]))  # input size 7 != 4
    with pytest.raises(CostModelError, match="W has shape"):
        analyze(m)
    m = rnn_model("GRU", 2, 3, 4, 5, direction="bidirectional")
    m.graph.initializer[0].CopyFrom(big_init("W", [1, 3 * 5, 4]))  # one direction only
    with pytest.raises(CostModelError, match="expected"):
        analyze(m)
    m = rnn_model("RNN", 2, 3, 4, 5, acts=["Bogus"])
    with pytest.raises(CostModelError, match="activation"):
        analyze(m)
