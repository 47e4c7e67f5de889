"""Elementwise ops: unary functions and activations, binary arithmetic and comparisons
(scalar operands, alpha, rounding modes), where/masked_fill, fused multiply-adds, and
dtype casts. Ops PyTorch runs as one kernel but an export splits are one
FusedElementwise node whose body holds the export's ops."""

from __future__ import annotations

from typing import Any

from ...ir.dtypes import ONNX_CODES
from .base import UntranslatableOp
from .op import _Op, shape_attr
from .table import TABLE, Handler, _reg

Steps = list[tuple[str, list[Any], dict[str, Any] | None]]


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

    def _make(op_type: str) -> Handler:
        def tr(t: _Op) -> None:
            t.run(op_type, [t.val(0)])

        return tr

    TABLE[f"aten::{_n}"] = TABLE[f"aten::{_n}_"] = _make(_o)


@_reg("aten::gelu", "aten::gelu_")
def _gelu(t: _Op) -> None:
    approx = t.const(1, "none") or "none"
    t.run("Gelu", [t.val(0)], {"approximate": approx})


@_reg("aten::silu", "aten::silu_")
def _silu(t: _Op) -> None:
    """x * sigmoid(x): Sigmoid and Mul, as an ONNX export writes it."""
    x = ("in", 0)
    t.fused("FusedElementwise", [t.val(0)], [("Sigmoid", [x], None), ("Mul", [x, ("out", 0)], None)])


@_reg("aten::log_sigmoid")
def _log_sigmoid(t: _Op) -> None:
    t.fused("FusedElementwise", [t.val(0)], [("Sigmoid", [("in", 0)], None), ("Log", [("out", 0)], None)])


@_reg("aten::rsqrt", "aten::rsqrt_")
def _rsqrt(t: _Op) -> None:
    t.fused("FusedElementwise", [t.val(0)], [("Sqrt", [("in", 0)], None), ("Reciprocal", [("out", 0)], None)])


@_reg("aten::expm1", "aten::log1p", "aten::log2", "aten::log10", "aten::exp2", "aten::sigmoid_backward")
def _unary_plus(t: _Op) -> None:
    """exp/log and one scaling or offset op per element."""
    base = {"aten::expm1": "Exp", "aten::exp2": "Exp"}.get(t.kind, "Log")
    one = t.constant(1.0)
    t.fused("FusedElementwise", [t.val(0)], [(base, [("in", 0)], None), ("Add", [("out", 0), one], None)])


@_reg("aten::square", "aten::square_")
def _square(t: _Op) -> None:
    t.run("Mul", [t.val(0), t.val(0)])


@_reg("aten::relu6", "aten::hardtanh", "aten::hardtanh_", "aten::clamp", "aten::clamp_", "aten::clip", "aten::clip_")
def _clip(t: _Op) -> None:
    x = t.val(0)
    if t.kind == "aten::relu6":
        lo: int | None = 0
        hi: int | None = 6
    else:
        lo, hi = (None if t.is_none(1) else 1), (None if t.is_none(2) else 2)
    if lo is not None and hi is not None:
        t.run("Clip", [x])
    else:
        t.run("Max" if lo is not None else "Min", [x, t.scalar(1 if lo is not None else 2, t.info(0))])


@_reg("aten::clamp_min", "aten::clamp_min_", "aten::clamp_max", "aten::clamp_max_")
def _clamp1(t: _Op) -> None:
    t.run("Max" if "min" in t.kind else "Min", [t.val(0), t.scalar(1, t.info(0))])


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


def _binary(op_type: str) -> Handler:
    def tr(t: _Op) -> None:
        like = t.info(0) if t.tensor(0) else t.info(1)
        ops = [(t.scalar(0, like), t.tensor(0)), (t.scalar(1, like), t.tensor(1))]
        if t.kind in ("aten::rsub",):
            ops.reverse()
        (a, _), (b, _) = ops
        alpha = t.const(2, 1) if t.kind.rstrip("_").split("::")[1] in ("add", "sub", "rsub") else 1
        scaled = isinstance(alpha, (int, float)) and alpha != 1
        rounding = t.kind.startswith("aten::div") and isinstance(t.const(2), str)
        if not scaled and not rounding:
            t.run(op_type, [a, b])
            return
        # one kernel: its tensor operands are its inputs, Python scalars stay arguments
        tensors = [x for x, is_tensor in ops if is_tensor]
        arg = {x: (("in", tensors.index(x)) if is_tensor else x) for x, is_tensor in ops}
        steps: Steps = [(op_type, [arg[a], arg[b]], None)]
        if scaled:
            steps = [("Mul", [arg[b], t.constant(alpha)], None), (op_type, [arg[a], ("out", 0)], None)]
        if rounding:
            steps.append(("Floor", [("out", len(steps) - 1)], None))  # rounding_mode
        t.fused("FusedElementwise", tensors, steps, principal=len(steps) - 1)

    return tr


for _n, _o in _BINARY.items():
    TABLE[f"aten::{_n}"] = TABLE[f"aten::{_n}_"] = _binary(_o)


@_reg("aten::ne", "aten::ne_", "aten::not_equal")
def _ne(t: _Op) -> None:
    _fused_pair(t, "Equal", "Not")


@_reg("aten::floor_divide", "aten::floor_divide_")
def _floordiv(t: _Op) -> None:
    _fused_pair(t, "Div", "Floor")


def _fused_pair(t: _Op, first: str, then: str) -> None:
    """first(x, y) then a unary op on its result, as one kernel (y a tensor or a scalar)."""
    y = t.scalar(1, t.info(0))
    inputs = [t.val(0)] + ([y] if t.tensor(1) else [])
    other: Any = ("in", 1) if t.tensor(1) else y
    t.fused("FusedElementwise", inputs, [(first, [("in", 0), other], None), (then, [("out", 0)], None)])


@_reg("aten::where")
def _where(t: _Op) -> None:
    if len(t.ins) < 3:
        raise UntranslatableOp("where(condition) returns indices (data-dependent)")
    x = t.info(1) if t.tensor(1) else t.info(2)
    t.run("Where", [t.val(0), t.scalar(1, x), t.scalar(2, x)])


@_reg("aten::masked_fill", "aten::masked_fill_")
def _masked_fill(t: _Op) -> None:
    t.run("Where", [t.val(1), t.scalar(2, t.info(0)), t.val(0)])


@_reg("aten::addcmul", "aten::addcmul_", "aten::addcdiv", "aten::addcdiv_")
def _addc(t: _Op) -> None:
    op = "Mul" if "addcmul" in t.kind else "Div"
    steps: Steps = [(op, [("in", 1), ("in", 2)], None)]
    value = t.const(3, 1)
    if value != 1:
        steps.append(("Mul", [("out", 0), t.constant(value)], None))
    steps.append(("Add", [("in", 0), ("out", len(steps) - 1)], None))
    t.fused("FusedElementwise", [t.val(0), t.val(1), t.val(2)], steps)


@_reg("aten::lerp", "aten::lerp_")
def _lerp(t: _Op) -> None:
    """start + weight * (end - start): Sub, Mul, Add."""
    weight = t.scalar(2, t.info(0))
    inputs = [t.val(0), t.val(1)] + ([weight] if t.tensor(2) else [])
    w: Any = ("in", 2) if t.tensor(2) else weight
    t.fused(
        "FusedElementwise",
        inputs,
        [
            ("Sub", [("in", 1), ("in", 0)], None),
            ("Mul", [("out", 0), w], None),
            ("Add", [("in", 0), ("out", 1)], None),
        ],
    )


@_reg("aten::glu")
def _glu(t: _Op) -> None:
    """Reads x, writes half of it: sigmoid(b) * a over the two halves (a view of each)."""
    half = {"shapes": [shape_attr(t.out_info(0))]}
    t.fused(
        "FusedElementwise",
        [t.val(0)],
        [
            ("costmodel::Alias", [("in", 0)], half),
            ("Sigmoid", [("out", 0)], None),
            ("Mul", [("out", 0), ("out", 1)], None),
        ],
    )


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
    """Same dtype: a view (no copy); else Cast, a read and a write in the new type."""
    a, b = t.ins[0].type(), t.outs[0].type()
    if a.kind() == "TensorType" and a.scalarType() == b.scalarType():
        t.view()
        return
    to = t.out_info(0).dtype
    if to is None or to.name not in ONNX_CODES:
        raise UntranslatableOp(f"cast to {b.scalarType()}")
    t.run("Cast", [t.val(0)], {"to": ONNX_CODES[to.name]})
