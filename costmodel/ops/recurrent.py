"""Recurrent layers: LSTM, GRU, RNN (ONNX opsets 1-22; `layout` since 14).

Costs follow the ONNX operator equations (onnx/docs/Operators.md, "LSTM", "GRU", "RNN")
for every time step of every direction, over the padded sequence length: kernels run
the whole batch at each step, so `sequence_lens` does not shrink the work, and the
first step's recurrent product is counted though H0 may be zeros.

MACs are the two projections only: X_t W^T (batch x input x gates*hidden per step) and
H_{t-1} R^T (batch x hidden x gates*hidden per step). FLOPs = 2 x MACs plus, per gate
element per step: 1 add joining the two projections, 2 adds for the Wb and Rb biases
(when B is given; the spec adds them as separate terms), 2 for clip (min, max; when the
`clip` attribute is set); then the activations (per the elementwise table) and the
cell update, whose per-element counts are written at each rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..symbolic import Shape, norm
from .context import NodeContext
from .cost import Cost
from .elementwise import UNARY
from .kernel import GemmShape, RecurrentShape
from .registry import RECURRENT, op

# ONNX RNN activation names (Operators.md, "RNN" activation list) → (FLOPs, transcendentals).
# Affine = alpha*x + beta; ScaledTanh = alpha*tanh(beta*x).
_ACT = {name.lower(): per for name, per in UNARY.items()}
_ACT["affine"] = (2, 0)
_ACT["scaledtanh"] = (2 + UNARY["Tanh"][0], UNARY["Tanh"][1])

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# One direction's activations, each as (FLOPs, transcendentals) per element, and what a
# cell costs from them per hidden element per step beyond the per-gate-element work.
Acts = list[tuple[int, int]]
PerDirection = Callable[[Acts], tuple[int, int]]
_DEFAULT_ACTS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"), "RNN": ("Tanh",)}


def _act(ctx: NodeContext, name: str) -> tuple[int, int]:
    per = _ACT.get(str(name).lower())
    if per is None:
        raise ctx.fail(f"unknown recurrent activation {name!r}")
    return per


def _geometry(ctx: NodeContext) -> tuple[Any, Any, Any, Any, int, int]:
    """(seq, batch, input, hidden, directions, layout) checked against W, R, B, initial_h."""
    t = ctx.node.op_type
    gates = _GATES[t]
    layout = ctx.attr("layout", 0) if ctx.opset >= 14 else 0
    x, w, r = ctx.shape(0), ctx.shape(1), ctx.shape(2)
    if len(x) != 3 or len(w) != 3 or len(r) != 3:
        raise ctx.fail(f"{t} needs 3-D X, W and R, got {x}, {w}, {r}")
    seq, batch = (x[1], x[0]) if layout else (x[0], x[1])
    inp = x[2]
    direction = ctx.attr("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise ctx.fail(f"unknown direction {direction!r}")
    dirs = 2 if direction == "bidirectional" else 1
    hidden = ctx.attr("hidden_size", None)
    if hidden is None:
        hidden = r[2]
    expect: dict[str, tuple[Shape, Shape]] = {
        "W": (w, (dirs, gates * hidden, inp)),
        "R": (r, (dirs, gates * hidden, hidden)),
    }
    if ctx.has(3):
        expect["B"] = (ctx.shape(3), (dirs, 2 * gates * hidden))
    state = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
    for i, nm in ((5, "initial_h"), (6, "initial_c")):
        if ctx.has(i) and (t == "LSTM" or i == 5):
            expect[nm] = (ctx.shape(i), state)
    if t == "LSTM" and ctx.has(7):
        expect["P"] = (ctx.shape(7), (dirs, 3 * hidden))
    for nm, (got, want) in expect.items():
        if len(got) != len(want) or any(type(a) is int and type(b) is int and a != b for a, b in zip(got, want)):
            raise ctx.fail(
                f"{t} {nm} has shape {got}, expected {want} "
                f"(direction={direction}, hidden_size={hidden}, layout={layout})"
            )
    return seq, batch, inp, hidden, dirs, layout


def _run(ctx: NodeContext, per_dir: PerDirection) -> Cost:
    """Shared accounting. `per_dir(acts)` gives one direction's (FLOPs, transcendentals)
    per hidden element per step beyond the per-gate-element work, from its activations."""
    t = ctx.node.op_type
    gates = _GATES[t]
    seq, batch, inp, hidden, dirs, layout = _geometry(ctx)
    dt = ctx.dtype(0)
    if layout:
        ctx.set_output(0, dt, (batch, seq, dirs, hidden))
        state = (batch, dirs, hidden)
    else:
        ctx.set_output(0, dt, (seq, dirs, batch, hidden))
        state = (dirs, batch, hidden)
    ctx.set_output(1, dt, state)
    if t == "LSTM":
        ctx.set_output(2, dt, state)
    # Activations are listed per direction, forward first; a list for one direction
    # serves both (RNN's schema default is ["Tanh", "Tanh"] whatever the direction).
    n = len(_DEFAULT_ACTS[t])
    names = tuple(ctx.attr("activations", None) or _DEFAULT_ACTS[t])
    if len(names) < n or len(names) % n:
        raise ctx.fail(f"{t} needs {n} activations per direction, got {names}")
    acts = [_act(ctx, a) for a in names]
    groups = [acts[k * n : (k + 1) * n] if len(acts) >= (k + 1) * n else acts[:n] for k in range(dirs)]
    per_gate = 1 + (2 if ctx.has(3) else 0) + (2 if ctx.attr("clip", None) is not None else 0)
    flops_e = sum(gates * per_gate + per_dir(g)[0] for g in groups)
    trans_e = sum(per_dir(g)[1] for g in groups)
    steps = norm(seq * batch)
    macs = norm(dirs * steps * gates * hidden * (inp + hidden))
    cells = norm(steps * hidden)
    ctx.set_kernel(
        RecurrentShape(
            seq=seq,
            batch=batch,
            hidden=hidden,
            input=inp,
            gates=gates,
            directions=dirs,
            gemm=GemmShape(batch=1, m=steps, n=norm(dirs * gates * hidden), k=inp),
        )
    )
    return Cost(flops=norm(2 * macs + cells * flops_e), macs=macs, transcendentals=norm(cells * trans_e))


@op("LSTM", kind=RECURRENT)
def lstm(ctx: NodeContext) -> Cost:
    """Per gate element (4 gates i, o, f, c): 1 projection join, +2 bias, +2 clip. Per
    hidden element: f(i), f(o), f(f), g(c) (default sigmoid x3 = 12 FLOPs + 3 exp, tanh
    = 1 + 1 tanh); peepholes P (i, f, o) 2 each = 6; c = f*c + i*g: 3; h = o*h(c): 1 +
    h (tanh: 1 + 1 tanh). input_forget=1 replaces f(f) by 1 - i (1 FLOP)."""
    coupled = bool(ctx.attr("input_forget", 0))
    peep = 6 if ctx.has(7) else 0

    def per(acts: Acts) -> tuple[int, int]:
        f, g, h = acts
        fl = 2 * f[0] + g[0] + h[0] + 3 + 1 + (1 if coupled else f[0]) + peep
        tr = 2 * f[1] + g[1] + h[1] + (0 if coupled else f[1])
        return fl, tr

    return _run(ctx, per)


@op("GRU", kind=RECURRENT)
def gru(ctx: NodeContext) -> Cost:
    """Per gate element (3 gates z, r, h): 1 projection join, +2 bias, +2 clip. Per hidden
    element: f(z), f(r), g(h) (default 2 sigmoid = 8 FLOPs + 2 exp, tanh 1 + 1 tanh); the
    reset product r*H (linear_before_reset=0) or r*(H R^T + Rbh) (=1): 1 either way, the
    Rbh add being one of the bias adds; H = (1-z)*h + z*H: 4."""

    def per(acts: Acts) -> tuple[int, int]:
        f, g = acts
        return 2 * f[0] + g[0] + 1 + 4, 2 * f[1] + g[1]

    return _run(ctx, per)


@op("RNN", kind=RECURRENT)
def rnn(ctx: NodeContext) -> Cost:
    """Per hidden element (1 gate): 1 projection join, +2 bias, +2 clip, then f (default
    tanh: 1 FLOP + 1 tanh)."""

    def per(acts: Acts) -> tuple[int, int]:
        return acts[0]

    return _run(ctx, per)
