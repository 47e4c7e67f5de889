"""Elementwise ops: unary functions and activations, binary arithmetic and comparisons
(scalar operands, alpha, rounding modes), where/masked_fill, fused multiply-adds, and
dtype casts."""

from __future__ import annotations

from ...ops import registry as R
from .op import _Op
from .table import TABLE, _reg
from .values import const_info


# -- elementwise ------------------------------------------------------------------------
_UNARY = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "abs": "Abs",
    "neg": "Neg",
    "negative": "Neg",
    "sin": "Sin",
    "cos": "Cos",
    "tan": "Tan",
    "asin": "Asin",
    "acos": "Acos",
    "atan": "Atan",
    "sinh": "Sinh",
    "cosh": "Cosh",
    "asinh": "Asinh",
    "acosh": "Acosh",
    "atanh": "Atanh",
    "erf": "Erf",
    "floor": "Floor",
    "ceil": "Ceil",
    "round": "Round",
    "sign": "Sign",
    "reciprocal": "Reciprocal",
    "hardsigmoid": "HardSigmoid",
    "hardswish": "HardSwish",
    "leaky_relu": "LeakyRelu",
    "elu": "Elu",
    "selu": "Selu",
    "celu": "Celu",
    "softplus": "Softplus",
    "mish": "Mish",
    "logical_not": "Not",
    "bitwise_not": "Not",
    "isnan": "IsNaN",
    "isinf": "IsInf",
    "softsign": "Softsign",
    "trunc": "Floor",
    "fix": "Floor",
    "square": None,
}
for _n, _o in _UNARY.items():
    if _o is None:
        continue

    def _make(op_type: str):
        def tr(t: _Op) -> None:
            t.run(op_type, [t.info(0)])

        return tr

    TABLE[f"aten::{_n}"] = TABLE[f"aten::{_n}_"] = _make(_o)


@_reg("aten::gelu", "aten::gelu_")
def _gelu(t: _Op) -> None:
    approx = t.const(1, "none") or "none"
    t.run("Gelu", [t.info(0)], {"approximate": approx})


@_reg("aten::silu", "aten::silu_")
def _silu(t: _Op) -> None:
    """x * sigmoid(x): Sigmoid and Mul, as an ONNX export writes it."""
    x = t.info(0)
    t.steps("Sigmoid", R.ELEMENTWISE, [("Sigmoid", [x], None), ("Mul", [x, ("out", 0)], None)])


@_reg("aten::log_sigmoid")
def _log_sigmoid(t: _Op) -> None:
    t.steps("Sigmoid", R.ELEMENTWISE, [("Sigmoid", [t.info(0)], None), ("Log", [("out", 0)], None)])


@_reg("aten::rsqrt", "aten::rsqrt_")
def _rsqrt(t: _Op) -> None:
    t.steps("Sqrt", R.ELEMENTWISE, [("Sqrt", [t.info(0)], None), ("Reciprocal", [("out", 0)], None)])


@_reg("aten::expm1", "aten::log1p", "aten::log2", "aten::log10", "aten::exp2", "aten::sigmoid_backward")
def _unary_plus(t: _Op) -> None:
    """exp/log and one scaling or offset op per element."""
    base = {"aten::expm1": "Exp", "aten::exp2": "Exp"}.get(t.kind, "Log")
    x = t.info(0)
    t.steps(base, R.ELEMENTWISE, [(base, [x], None), ("Add", [("out", 0), const_info(1.0)], None)])


@_reg("aten::square", "aten::square_")
def _square(t: _Op) -> None:
    t.run("Mul", [t.info(0), t.info(0)])


@_reg("aten::relu6", "aten::hardtanh", "aten::hardtanh_", "aten::clamp", "aten::clamp_", "aten::clip", "aten::clip_")
def _clip(t: _Op) -> None:
    x = t.info(0)
    if t.kind == "aten::relu6":
        lo: int | None = 0
        hi: int | None = 6
    else:
        lo, hi = (None if t.is_none(1) else 1), (None if t.is_none(2) else 2)
    if lo is not None and hi is not None:
        t.run("Clip", [x])
    else:
        t.run("Max" if lo is not None else "Min", [x, t.scalar_info(1 if lo is not None else 2, x)])


@_reg("aten::clamp_min", "aten::clamp_min_", "aten::clamp_max", "aten::clamp_max_")
def _clamp1(t: _Op) -> None:
    x = t.info(0)
    t.run("Max" if "min" in t.kind else "Min", [x, t.scalar_info(1, x)])


_BINARY = {
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "div": "Div",
    "rsub": "Sub",
    "true_divide": "Div",
    "multiply": "Mul",
    "subtract": "Sub",
    "divide": "Div",
    "maximum": "Max",
    "minimum": "Min",
    "fmax": "Max",
    "fmin": "Min",
    "eq": "Equal",
    "lt": "Less",
    "gt": "Greater",
    "le": "LessOrEqual",
    "ge": "GreaterOrEqual",
    "less": "Less",
    "greater": "Greater",
    "logical_and": "And",
    "logical_or": "Or",
    "logical_xor": "Xor",
    "bitwise_and": "BitwiseAnd",
    "bitwise_or": "BitwiseOr",
    "bitwise_xor": "BitwiseXor",
    "__and__": "And",
    "__or__": "Or",
    "__xor__": "Xor",
    "remainder": "Mod",
    "fmod": "Mod",
    "pow": "Pow",
    "float_power": "Pow",
    "prelu": "PRelu",
    "_prelu_kernel": "PRelu",
}


def _binary(op_type: str):
    def tr(t: _Op) -> None:
        x = t.info(0) if t.tensor(0) else None
        a = x if x is not None else t.scalar_info(0, t.info(1))
        b = t.scalar_info(1, a)
        if t.kind in ("aten::rsub",):
            a, b = b, a
        steps: list[tuple] = [(op_type, [a, b], None)]
        alpha = t.const(2, 1) if t.kind.rstrip("_").split("::")[1] in ("add", "sub", "rsub") else 1
        if isinstance(alpha, (int, float)) and alpha != 1:
            steps = [("Mul", [b, const_info(alpha)], None), (op_type, [a, ("out", 0)], None)]
        if t.kind.startswith("aten::div") and isinstance(t.const(2), str):
            steps.append(("Floor", [("out", len(steps) - 1)], None))  # rounding_mode
        if len(steps) == 1:
            t.run(op_type, [a, b])
        else:
            t.steps(op_type, R.ELEMENTWISE, steps, hints_from=len(steps) - 1)

    return tr


for _n, _o in _BINARY.items():
    TABLE[f"aten::{_n}"] = TABLE[f"aten::{_n}_"] = _binary(_o)


@_reg("aten::ne", "aten::ne_", "aten::not_equal")
def _ne(t: _Op) -> None:
    a = t.info(0)
    t.steps("Equal", R.ELEMENTWISE, [("Equal", [a, t.scalar_info(1, a)], None), ("Not", [("out", 0)], None)])


@_reg("aten::floor_divide", "aten::floor_divide_")
def _floordiv(t: _Op) -> None:
    a = t.info(0)
    t.steps("Div", R.ELEMENTWISE, [("Div", [a, t.scalar_info(1, a)], None), ("Floor", [("out", 0)], None)])


@_reg("aten::where")
def _where(t: _Op) -> None:
    if len(t.ins) < 3:
        t.unsupported("where(condition) returns indices (data-dependent)")
        return
    x = t.info(1) if t.tensor(1) else t.info(2)
    t.run("Where", [t.info(0), t.scalar_info(1, x), t.scalar_info(2, x)])


@_reg("aten::masked_fill", "aten::masked_fill_")
def _masked_fill(t: _Op) -> None:
    x = t.info(0)
    t.run("Where", [t.info(1), t.scalar_info(2, x), x])


@_reg("aten::addcmul", "aten::addcmul_", "aten::addcdiv", "aten::addcdiv_")
def _addc(t: _Op) -> None:
    x = t.info(0)
    op = "Mul" if "addcmul" in t.kind else "Div"
    steps: list[tuple] = [(op, [t.info(1), t.info(2)], None)]
    value = t.const(3, 1)
    if value != 1:
        steps.append(("Mul", [("out", 0), const_info(value)], None))
    steps.append(("Add", [x, ("out", len(steps) - 1)], None))
    t.steps(op, R.ELEMENTWISE, steps)


@_reg("aten::lerp", "aten::lerp_")
def _lerp(t: _Op) -> None:
    """start + weight * (end - start): Sub, Mul, Add."""
    a = t.info(0)
    t.steps(
        "Add",
        R.ELEMENTWISE,
        [
            ("Sub", [t.info(1), a], None),
            ("Mul", [("out", 0), t.scalar_info(2, a)], None),
            ("Add", [a, ("out", 1)], None),
        ],
    )


@_reg("aten::glu")
def _glu(t: _Op) -> None:
    s = t.out_shape(0)
    half = t.req(0)._replace(shape=s)
    t.steps("Mul", R.ELEMENTWISE, [("Sigmoid", [half], None), ("Mul", [half, ("out", 0)], None)])


@_reg(
    "aten::to",
    "aten::type_as",
    "aten::float",
    "aten::half",
    "aten::bfloat16",
    "aten::double",
    "aten::long",
    "aten::int",
    "aten::bool",
    "aten::_to_copy",
)
def _to(t: _Op) -> None:
    a, b = t.ins[0].type(), t.outs[0].type()
    if a.kind() == "TensorType" and a.scalarType() == b.scalarType():
        t.view("view: same dtype and device (no copy)")
    else:
        t.copy("Cast", R.ELEMENTWISE, reads=[(t.w.get(t.ins[0]), t.info(0))])
