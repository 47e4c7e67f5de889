"""The activation functions a model description may name: one table, read by the spec
front end (which names are valid), the Hugging Face import (which `hidden_act` spellings
mean which function), the lowering (which IR op computes it) and the op rules (a fused
kernel's per-element cost is that op's).

Hugging Face spellings are the keys of transformers' `ACT2FN` (activations.py):
gelu_new / gelu_fast / gelu_pytorch_tanh are the tanh approximation, gelu_python the
exact erf form, swish an alias of silu, relu2 squared ReLU (Primer, So et al. 2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Activation(StrEnum):
    SILU = "silu"
    GELU = "gelu"
    GELU_TANH = "gelu_tanh"
    RELU = "relu"
    RELU2 = "relu2"
    QUICK_GELU = "quick_gelu"


@dataclass(frozen=True, kw_only=True)
class ActivationOp:
    """How the IR computes an activation: one op (type, domain, attributes), squared
    afterwards for relu2 (one Mul)."""

    op_type: str
    domain: str = ""
    attrs: tuple[tuple[str, str], ...] = ()
    squared: bool = False


ACTIVATION_OPS: dict[Activation, ActivationOp] = {
    Activation.SILU: ActivationOp(op_type="Swish"),
    Activation.GELU: ActivationOp(op_type="Gelu"),
    Activation.GELU_TANH: ActivationOp(op_type="Gelu", attrs=(("approximate", "tanh"),)),
    Activation.RELU: ActivationOp(op_type="Relu"),
    Activation.RELU2: ActivationOp(op_type="Relu", squared=True),
    Activation.QUICK_GELU: ActivationOp(op_type="QuickGelu", domain="com.microsoft"),
}

HF_ACTIVATIONS: dict[str, Activation] = {
    "silu": Activation.SILU,
    "swish": Activation.SILU,
    "gelu": Activation.GELU,
    "gelu_python": Activation.GELU,
    "gelu_new": Activation.GELU_TANH,
    "gelu_fast": Activation.GELU_TANH,
    "gelu_pytorch_tanh": Activation.GELU_TANH,
    "bloom_gelu": Activation.GELU_TANH,
    "relu": Activation.RELU,
    "relu2": Activation.RELU2,
    "quick_gelu": Activation.QUICK_GELU,
}


# Activations whose transformers class (activations.py) is a Python formula: eager PyTorch
# runs one kernel per operation. Each step is (op_type, first operand, second operand):
# "x" the input, "c" a Python scalar, a digit the output of that earlier step; the last
# step is the result. The order is Python's evaluation order of the formula.
EAGER_FORMULAS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # NewGELUActivation: 0.5 * x * (1.0 + tanh(sqrt(2 / pi) * (x + 0.044715 * pow(x, 3.0))))
    "gelu_new": (
        ("Mul", "x", "c"),
        ("Pow", "x", "c"),
        ("Mul", "1", "c"),
        ("Add", "x", "2"),
        ("Mul", "3", "c"),
        ("Tanh", "4", ""),
        ("Add", "5", "c"),
        ("Mul", "0", "6"),
    ),
    # FastGELUActivation: 0.5 * x * (1.0 + tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))
    "gelu_fast": (
        ("Mul", "x", "c"),
        ("Mul", "x", "c"),
        ("Mul", "x", "c"),
        ("Mul", "2", "x"),
        ("Add", "3", "c"),
        ("Mul", "1", "4"),
        ("Tanh", "5", ""),
        ("Add", "6", "c"),
        ("Mul", "0", "7"),
    ),
    # GELUActivation(use_gelu_python=True): x * 0.5 * (1.0 + erf(x / sqrt(2.0)))
    "gelu_python": (
        ("Mul", "x", "c"),
        ("Div", "x", "c"),
        ("Erf", "1", ""),
        ("Add", "2", "c"),
        ("Mul", "0", "3"),
    ),
    # QuickGELUActivation: x * sigmoid(1.702 * x)
    "quick_gelu": (("Mul", "x", "c"), ("Sigmoid", "0", ""), ("Mul", "x", "1")),
}
