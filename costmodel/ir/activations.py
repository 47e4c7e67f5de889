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
