"""Elementwise ops, unary and broadcasting n-ary. Per-element FLOPs and transcendentals
for each op are in the tables below; a transcendental (exp, log, erf, tanh, sin, sqrt...)
counts 1 FLOP and also 1 in `transcendentals`, which the engine sends to the special-
function units. Known contents (shape arithmetic) are folded exactly."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..ir.dtypes import BOOL
from ..symbolic import is_expr, norm, Shape, smax, smin, sp
from . import values
from .context import NodeContext
from .cost import Cost
from .formulas import broadcast_shapes
from .registry import ELEMENTWISE, Rule, op

# op: (FLOPs per element, transcendentals per element)
UNARY: dict[str, tuple[int, int]] = {
    "Abs": (1, 0),
    "Neg": (1, 0),
    "Sign": (1, 0),
    "Ceil": (1, 0),
    "Floor": (1, 0),
    "Round": (1, 0),
    "Relu": (1, 0),
    "Not": (1, 0),
    "BitwiseNot": (1, 0),
    "Reciprocal": (1, 0),
    "IsNaN": (1, 0),
    "IsInf": (1, 0),
    "Sqrt": (1, 1),
    "Exp": (1, 1),
    "Log": (1, 1),
    "Erf": (1, 1),
    "Tanh": (1, 1),
    "Sin": (1, 1),
    "Cos": (1, 1),
    "Tan": (1, 1),
    "Asin": (1, 1),
    "Acos": (1, 1),
    "Atan": (1, 1),
    "Sinh": (1, 1),
    "Cosh": (1, 1),
    "Asinh": (1, 1),
    "Acosh": (1, 1),
    "Atanh": (1, 1),
    # sigmoid(x) = 1 / (1 + exp(-x)): neg, exp, add, div
    "Sigmoid": (4, 1),
    # hard_sigmoid = max(0, min(1, alpha*x + beta)): mul, add, min, max
    "HardSigmoid": (4, 0),
    # hard_swish = x * hard_sigmoid(x)
    "HardSwish": (5, 0),
    # leaky: compare, mul, select
    "LeakyRelu": (2, 0),
    "ThresholdedRelu": (2, 0),
    "Shrink": (3, 0),
    # elu = x if x>0 else alpha*(exp(x)-1): compare, exp, sub, mul
    "Elu": (4, 1),
    "Celu": (5, 1),
    # selu = gamma * elu(x, alpha)
    "Selu": (5, 1),
    # softplus = log(1 + exp(x)): exp, add, log
    "Softplus": (3, 2),
    # softsign = x / (1 + |x|)
    "Softsign": (3, 0),
    # mish = x * tanh(softplus(x)): exp, add, log, tanh, mul
    "Mish": (5, 3),
    # gelu (erf form) = 0.5 * x * (1 + erf(x / sqrt 2)): div, erf, add, mul, mul
    "Gelu": (5, 1),
    # swish (opset 24) = x * sigmoid(alpha x)
    "Swish": (6, 1),
}
# Gelu with approximate="tanh": 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))): 9 FLOPs, 1 tanh
GELU_TANH = (9, 1)

BINARY: dict[str, tuple[int, int]] = {
    "Add": (1, 0),
    "Sub": (1, 0),
    "Mul": (1, 0),
    "Div": (1, 0),
    "Mod": (1, 0),
    "Equal": (1, 0),
    "Greater": (1, 0),
    "Less": (1, 0),
    "GreaterOrEqual": (1, 0),
    "LessOrEqual": (1, 0),
    "And": (1, 0),
    "Or": (1, 0),
    "Xor": (1, 0),
    "BitShift": (1, 0),
    "BitwiseAnd": (1, 0),
    "BitwiseOr": (1, 0),
    "BitwiseXor": (1, 0),
    # prelu: compare, mul, select
    "PRelu": (2, 0),
    # pow: exp(y * log(x)) in general; see _pow for small integer exponents
    "Pow": (1, 1),
}
COMPARE = {"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Not", "IsNaN", "IsInf"}
# Variadic ops: (n_inputs - 1) binary ops per element; Mean adds one divide.
VARIADIC = {"Sum": 0, "Max": 0, "Min": 0, "Mean": 1}

_FOLD_BINARY: dict[str, Callable[[Any, Any], Any] | None] = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": None,
    "Mod": None,
    "Equal": lambda a, b: _cmp(a, b, "=="),
    "Less": lambda a, b: _cmp(a, b, "<"),
    "Greater": lambda a, b: _cmp(a, b, ">"),
    "LessOrEqual": lambda a, b: _cmp(a, b, "<="),
    "GreaterOrEqual": lambda a, b: _cmp(a, b, ">="),
    "And": lambda a, b: np.logical_and(a, b),
    "Or": lambda a, b: np.logical_or(a, b),
    "Xor": lambda a, b: np.logical_xor(a, b),
}


def _cmp(a: np.ndarray, b: np.ndarray, how: str) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape, dtype=bool)
    fa, fb, fo = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    for i in range(fa.size):
        x, y = fa[i], fb[i]
        if is_expr(x) or is_expr(y):
            s = sp()
            rel = {"==": s.Eq, "<": s.Lt, ">": s.Gt, "<=": s.Le, ">=": s.Ge}[how](x, y)
            if rel is s.true:
                fo[i] = True
            elif rel is s.false:
                fo[i] = False
            else:
                raise TypeError("undecidable comparison")
        else:
            fo[i] = {"==": x == y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[how]
    return out


def _div(a: np.ndarray, b: np.ndarray, integer: bool) -> np.ndarray:
    if not integer:
        return np.asarray(a / b)
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape, dtype=object)
    fa, fb, fo = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    for i in range(fa.size):
        x, y = fa[i], fb[i]
        if type(x) is int and type(y) is int:
            q = abs(x) // abs(y)  # ONNX integer Div truncates toward zero
            fo[i] = q if (x >= 0) == (y >= 0) else -q
        else:
            fo[i] = norm(sp().floor(sp().sympify(x) / y))
    return out


def _mod(a: np.ndarray, b: np.ndarray, fmod: int) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape, dtype=object)
    fa, fb, fo = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    for i in range(fa.size):
        x, y = fa[i], fb[i]
        if type(x) is int and type(y) is int:
            fo[i] = int(math.fmod(x, y)) if fmod else x % y
        else:
            fo[i] = norm(sp().Mod(x, y))
    return out


def _unary(ctx: NodeContext, per: tuple[int, int]) -> Cost:
    s = ctx.shape(0)
    out_dtype = BOOL if ctx.node.op_type in COMPARE else ctx.dtype(0)
    data = None
    d = ctx.data(0)
    if d is not None:
        t = ctx.node.op_type
        if t == "Neg":
            data = values.apply(lambda a: -a, d)
        elif t == "Abs":
            data = values.apply(lambda a: np.vectorize(abs, otypes=[object])(a) if a.dtype == object else np.abs(a), d)
        elif t == "Not":
            data = values.apply(np.logical_not, d)
        elif t in ("Ceil", "Floor", "Sqrt", "Exp", "Log", "Reciprocal", "Relu") and d.dtype != object:
            folds: dict[str, Callable[[Any], Any]] = {
                "Ceil": np.ceil,
                "Floor": np.floor,
                "Sqrt": np.sqrt,
                "Exp": np.exp,
                "Log": np.log,
                "Reciprocal": lambda x: 1.0 / x,
                "Relu": lambda x: np.maximum(x, 0),
            }
            f = folds[t]
            data = values.apply(f, d)
    ctx.set_output(0, out_dtype, s, data)
    n = ctx.out_numel()
    return Cost(flops=norm(per[0] * n), transcendentals=norm(per[1] * n))


def _make_unary(name: str, per: tuple[int, int]) -> Rule:
    def rule(ctx: NodeContext) -> Cost:
        return _unary(ctx, per)

    rule.__doc__ = f"{name}: {per[0]} FLOP(s) and {per[1]} transcendental(s) per element."
    return rule


for _name, _per in UNARY.items():
    if _name != "Gelu":
        op(_name, kind=ELEMENTWISE)(_make_unary(_name, _per))


@op("Gelu", kind=ELEMENTWISE)
def gelu(ctx: NodeContext) -> Cost:
    """Gelu: erf form 5 FLOPs + 1 erf per element; approximate="tanh" 9 FLOPs + 1 tanh."""
    per = GELU_TANH if ctx.attr("approximate", "none") == "tanh" else UNARY["Gelu"]
    return _unary(ctx, per)


@op("Clip", kind=ELEMENTWISE)
def clip(ctx: NodeContext) -> Cost:
    """Clip: a min and a max per element (2 FLOPs)."""
    ctx.same_as(0)
    return Cost(flops=norm(2 * ctx.out_numel()))


def _broadcast(ctx: NodeContext, indices: Iterable[int]) -> Shape:
    shapes = [ctx.shape(i) for i in indices if ctx.has(i)]
    return broadcast_shapes(shapes, ctx.where)


def _binary(ctx: NodeContext, per: tuple[int, int]) -> Cost:
    t = ctx.node.op_type
    out = _broadcast(ctx, (0, 1))
    out_dtype = BOOL if t in COMPARE else ctx.dtype(0)
    data = None
    a, b = ctx.data(0), ctx.data(1)
    if a is not None and b is not None and values.small(out):
        integer = ctx.dtype(0).kind in ("int", "uint")
        if t == "Div":
            data = values.apply(lambda x, y: _div(x, y, integer), a, b)
        elif t == "Mod":
            data = values.apply(lambda x, y: _mod(x, y, ctx.attr("fmod", 0)), a, b)
        elif t == "Pow":
            data = values.apply(lambda x, y: x**y, a, b)
        elif (fold := _FOLD_BINARY.get(t)) is not None:
            data = values.apply(fold, a, b)
        if data is not None and data.dtype == object and out_dtype.kind not in ("int", "uint"):
            data = values.cast(data, out_dtype.kind)
    ctx.set_output(0, out_dtype, out, data)
    n = ctx.out_numel()
    return Cost(flops=norm(per[0] * n), transcendentals=norm(per[1] * n))


def _make_binary(name: str, per: tuple[int, int]) -> Rule:
    def rule(ctx: NodeContext) -> Cost:
        return _binary(ctx, per)

    rule.__doc__ = f"{name}: {per[0]} FLOP(s) and {per[1]} transcendental(s) per output element."
    return rule


for _name, _per in BINARY.items():
    if _name != "Pow":
        op(_name, kind=ELEMENTWISE)(_make_binary(_name, _per))


@op("Pow", kind=ELEMENTWISE)
def pow_(ctx: NodeContext) -> Cost:
    """Pow: a known integer exponent e in 1..8 is (e - 1) multiplies (x^2 = x*x, the
    common variance pattern); 0.5 is a sqrt; anything else exp(y log x): 1 FLOP and
    1 transcendental per element."""
    e = ctx.scalar(1) if ctx.data(1) is not None and np.asarray(ctx.data(1)).size == 1 else None
    if e is not None and float(e).is_integer() and 1 <= float(e) <= 8:
        per = (max(int(e) - 1, 1), 0)
    else:
        per = (1, 1)
    return _binary(ctx, per)


def _variadic(ctx: NodeContext) -> Cost:
    idx = [i for i in range(ctx.n_inputs) if ctx.has(i)]
    out = _broadcast(ctx, idx)
    data = None
    t = ctx.node.op_type
    ds = [ctx.data(i) for i in idx]
    if all(d is not None for d in ds) and values.small(out) and t != "Mean":

        def fold(*arrs: Any) -> Any:
            acc = arrs[0]
            for x in arrs[1:]:
                if t == "Sum":
                    acc = acc + x
                else:
                    f = smax if t == "Max" else smin
                    acc, x = np.broadcast_arrays(acc, x)
                    acc = np.array([f(p, q) for p, q in zip(acc.reshape(-1), x.reshape(-1))], dtype=object).reshape(
                        acc.shape
                    )
            return acc

        data = values.apply(fold, *[x for x in ds if x is not None])
    ctx.set_output(0, ctx.dtype(idx[0]), out, data)
    n = ctx.out_numel()
    return Cost(flops=norm((len(idx) - 1 + VARIADIC[t]) * n))


for _name in VARIADIC:
    op(_name, kind=ELEMENTWISE)(_variadic)


@op("Where", kind=ELEMENTWISE)
def where(ctx: NodeContext) -> Cost:
    """Where: one select per output element (1 FLOP)."""
    out = _broadcast(ctx, (0, 1, 2))
    data = None
    c, x, y = ctx.data(0), ctx.data(1), ctx.data(2)
    if c is not None and x is not None and y is not None and values.small(out):
        data = values.apply(lambda cc, xx, yy: np.where(cc.astype(bool), xx, yy), c, x, y)
        if data is not None and ctx.dtype(1).kind in ("int", "uint"):
            data = values.obj(data)
    ctx.set_output(0, ctx.dtype(1), out, data)
    return Cost(flops=ctx.out_numel())
