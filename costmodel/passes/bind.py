"""Binding symbols to integers and re-typing float tensors (fp32 export, fp16 deployment)."""

from __future__ import annotations

from collections.abc import Mapping

from ..ir.dtypes import DType
from ..symbolic import Shape, substitute

# Only full-precision float types are re-typed; explicitly quantized tensors (fp8, fp4,
# int) keep their type, as a deployment dtype does not change a quantized weight.
RETYPABLE = frozenset({"fp64", "fp32", "tf32", "fp16", "bf16"})


def bind_shape(shape: Shape, bindings: Mapping[str, int]) -> Shape:
    if not bindings:
        return shape
    return tuple(d if type(d) is int else substitute(d, bindings) for d in shape)


def retype(dt: DType | None, target: DType | None) -> DType | None:
    if target is None or dt is None or dt.name not in RETYPABLE:
        return dt
    return target
