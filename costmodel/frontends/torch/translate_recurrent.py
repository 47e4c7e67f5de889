"""Recurrent layers: LSTM, GRU and RNN, one ONNX rule per layer."""

from __future__ import annotations

from typing import Any

from ...ir.graph import Role
from ...ops import registry as R
from .op import _Op
from .table import _reg


# -- recurrent --------------------------------------------------------------------------
@_reg("aten::lstm", "aten::gru", "aten::rnn_tanh", "aten::rnn_relu")
def _rnn(t: _Op) -> None:
    """One ONNX LSTM/GRU/RNN per layer (both directions in one), PyTorch gate layouts:
    GRU with linear_before_reset=1; biases b_ih and b_hh are the rule's Wb and Rb."""
    if not t.tensor(0) or t.v(2).type().kind() != "ListType":
        t.unsupported("packed sequences are not supported")
        return
    op = {"aten::lstm": "LSTM", "aten::gru": "GRU"}.get(t.kind, "RNN")
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    params = t.list_values(2)
    has_bias, layers = bool(t.const(3)), int(t.const(4))
    bidir, batch_first = bool(t.const(7)), bool(t.const(8))
    dirs = 2 if bidir else 1
    per = len(params) // (layers * dirs)
    if per not in (2, 4):
        t.unsupported(f"{t.kind} with {per} weights per layer (proj_size) is not supported")
        return
    x_info = t.info(0)
    x_key: Any = t.w.get(t.ins[0])
    hidden = t.shape_of(params[1])[1]
    attrs: dict[str, Any] = {
        "hidden_size": hidden,
        "direction": "bidirectional" if bidir else "forward",
        "layout": int(batch_first),
    }
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    if op == "RNN":
        attrs["activations"] = ["Relu"] * dirs if t.kind == "aten::rnn_relu" else ["Tanh"] * dirs
    for layer in range(layers):
        lp = params[layer * dirs * per : (layer + 1) * dirs * per]
        w_e = [t.w.get(v) for v in lp]
        s = x_info.shape or ()
        inp = s[-1]
        wdt = w_e[0].info
        W = wdt._replace(shape=(dirs, gates * hidden, inp))
        Rr = wdt._replace(shape=(dirs, gates * hidden, hidden))
        B = wdt._replace(shape=(dirs, 2 * gates * hidden)) if has_bias else None
        reads = [(x_key, x_info)] + [(e, e.info) for e in w_e]
        cost, ctx, _ = t.rule(op, [x_info, W, Rr, B], attrs, n_out=3 if op == "LSTM" else 2)
        # Y as PyTorch lays it out: (seq, batch, dirs*hidden) or batch-first
        y_info = x_info._replace(shape=(s[0], s[1], dirs * hidden), role=Role.ACTIVATION)
        writes = [y_info] + [o for o in ctx.outputs[1:] if o is not None]
        suffix = f"/layer{layer}" if layers > 1 else ""
        t.emit(
            op,
            R.RECURRENT,
            cost,
            kernel=ctx.kernel,
            reads=reads,
            writes=writes,
            suffix=suffix,
            out_shapes=tuple(o.shape for o in writes),
        )
        if layers > 1 and layer < layers - 1:
            x_info, x_key = y_info, f"{t.base}{suffix}"
