"""Recurrent layers: LSTM, GRU and RNN, one ONNX node per layer."""

from __future__ import annotations

from ...symbolic import Shape

from typing import Any

from ...ir.graph import TensorInfo
from .base import UntranslatableOp
from .op import _Op
from .table import _reg


# -- recurrent --------------------------------------------------------------------------
@_reg("aten::lstm", "aten::gru", "aten::rnn_tanh", "aten::rnn_relu")
def _rnn(t: _Op) -> None:
    """One ONNX LSTM/GRU/RNN per layer (both directions in one), PyTorch gate layouts:
    GRU with linear_before_reset=1. The layer's weights are packed as the export packs
    them (W, R and B of both directions: views and concatenations of parameters, folded
    at load time); PyTorch's (seq, batch, directions x hidden) output is a view of Y."""
    v2 = t.v(2)
    if not t.tensor(0) or v2 is None or v2.type().kind() != "ListType":
        raise UntranslatableOp("packed sequences are not supported")
    op = {"aten::lstm": "LSTM", "aten::gru": "GRU"}.get(t.kind, "RNN")
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    params = t.list_values(2)
    has_bias, layers = bool(t.const(3)), int(t.const(4))
    bidir, batch_first = bool(t.const(7)), bool(t.const(8))
    dirs = 2 if bidir else 1
    per = len(params) // (layers * dirs)
    if per not in (2, 4):
        raise UntranslatableOp(f"{t.kind} with {per} weights per layer (proj_size) is not supported")
    hidden = _dims(t, params[1])[1]
    attrs: dict[str, Any] = {
        "hidden_size": hidden,
        "direction": "bidirectional" if bidir else "forward",
        "layout": int(batch_first),
    }
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    if op == "RNN":
        attrs["activations"] = ["Relu"] * dirs if t.kind == "aten::rnn_relu" else ["Tanh"] * dirs
    x, x_info = t.val(0), t.info(0)
    s: Shape = t.shape(0)
    outs = t.out_names()
    n_state = 2 if op == "LSTM" else 1
    for layer in range(layers):
        lp = params[layer * dirs * per : (layer + 1) * dirs * per]
        tag = f"/layer{layer}" if layers > 1 else ""
        w_ih = [lp[d * per] for d in range(dirs)]
        w_hh = [lp[d * per + 1] for d in range(dirs)]
        biases = [lp[d * per + k] for d in range(dirs) for k in (2, 3)] if has_bias and per == 4 else []
        inp = s[-1]
        W = _pack(t, w_ih, (dirs, gates * hidden, inp), f"{tag}/W")
        R = _pack(t, w_hh, (dirs, gates * hidden, hidden), f"{tag}/R")
        B = _pack(t, biases, (dirs, 2 * gates * hidden), f"{tag}/B") if biases else None
        y, y_h, y_c = t.tmp(f"y{layer}"), t.tmp(f"h{layer}"), t.tmp(f"c{layer}")
        t.emit(op, [x, W, R, B], attrs, outputs=[y, y_h, y_c][: 1 + n_state], suffix=tag)
        # Y as PyTorch lays it out: (seq, batch, dirs*hidden) or batch-first
        y_info = x_info._replace(shape=(s[0], s[1], dirs * hidden))
        last = layer == layers - 1
        y_out = outs[0] if last else t.tmp(f"x{layer + 1}")
        t.alias(y, [y_out], [y_info], suffix=f"{tag}/out")
        x, x_info, s = y_out, y_info, (s[0], s[1], dirs * hidden)
        if last:  # h_n (and c_n) as traced, read from the last layer's final states
            states = [y_h, y_c][:n_state]
            for k, (st, name) in enumerate(zip(states, outs[1:])):
                t.alias(st, [name], [t.out_info(1 + k)], suffix=f"/state{k}")


def _pack(t: _Op, values: list[Any], shape: Shape, suffix: str) -> str:
    """One (directions, ...) weight of an ONNX recurrent node from PyTorch's per-direction
    parameters: a concatenation when there are several, then a view."""
    names = [t.name_of(v) for v in values]
    info = t.info_of(values[0])
    src = names[0]
    if len(names) > 1:
        flat = sum(_rows(t, v) for v in values)
        src = t.tmp(f"{suffix}/cat")
        rest = tuple(info.shape[1:]) if info.shape else ()
        t.emit("Concat", names, {"axis": 0}, outputs=[src], suffix=f"{suffix}/cat")
        info = TensorInfo(info.dtype, (flat, *rest))
    out = t.tmp(suffix.lstrip("/"))
    t.alias(src, [out], [info._replace(shape=shape)], suffix=suffix)
    return out


def _dims(t: _Op, v: Any) -> Shape:
    shape = t.info_of(v).shape
    if shape is None:
        raise UntranslatableOp("a recurrent weight of unknown shape")
    return shape


def _rows(t: _Op, v: Any) -> int:
    return int(_dims(t, v)[0])
