"""Element types. `bits` is what a tensor element occupies in memory; sub-byte types
(int4, fp4) pack two per byte, so a tensor's bytes are ceil(numel * bits / 8)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import CostModelError
from ..symbolic import sp


@dataclass(frozen=True, slots=True, eq=False)
class DType:
    """One of the element types below, each a single object: equal and hashed by identity
    (in C: the analysis hashes a dtype into every node's signature), and pickled or copied
    as that same object."""

    name: str
    bits: int
    kind: str  # "float" | "int" | "uint" | "bool" | "complex" | "string"

    def __reduce__(self) -> tuple[Any, ...]:
        return (dtype, (self.name,))

    @property
    def is_float(self) -> bool:
        return self.kind in ("float", "complex")

    @property
    def is_integer(self) -> bool:
        return self.kind in ("int", "uint", "bool")

    def nbytes(self, numel: Any) -> Any:
        if type(numel) is int:
            return numel * (self.bits // 8) if self.bits % 8 == 0 else -(-numel * self.bits // 8)
        return _symbolic_nbytes(numel, self.bits)

    def __str__(self) -> str:
        return self.name


@lru_cache(maxsize=16384)  # symbolic sizes recur on most tensors of a model
def _symbolic_nbytes(numel: Any, bits: int) -> Any:
    if bits % 8 == 0:
        return numel * (bits // 8)
    sympy = sp()
    return sympy.ceiling(numel * bits / sympy.Integer(8))


_ALL = [
    DType("fp64", 64, "float"),
    DType("fp32", 32, "float"),
    DType("tf32", 32, "float"),
    DType("fp16", 16, "float"),
    DType("bf16", 16, "float"),
    DType("fp8_e4m3", 8, "float"),
    DType("fp8_e4m3fnuz", 8, "float"),
    DType("fp8_e5m2", 8, "float"),
    DType("fp8_e5m2fnuz", 8, "float"),
    DType("fp8_e8m0", 8, "float"),
    DType("fp4", 4, "float"),
    DType("int64", 64, "int"),
    DType("int32", 32, "int"),
    DType("int16", 16, "int"),
    DType("int8", 8, "int"),
    DType("int4", 4, "int"),
    DType("int2", 2, "int"),
    DType("uint64", 64, "uint"),
    DType("uint32", 32, "uint"),
    DType("uint16", 16, "uint"),
    DType("uint8", 8, "uint"),
    DType("uint4", 4, "uint"),
    DType("uint2", 2, "uint"),
    DType("bool", 8, "bool"),
    DType("complex64", 64, "complex"),
    DType("complex128", 128, "complex"),
    DType("string", 64, "string"),
]
DTYPES: dict[str, DType] = {d.name: d for d in _ALL}
_ALIASES = {
    "float": "fp32",
    "float32": "fp32",
    "float64": "fp64",
    "double": "fp64",
    "half": "fp16",
    "float16": "fp16",
    "bfloat16": "bf16",
    "fp8": "fp8_e4m3",
    "e4m3": "fp8_e4m3",
    "e5m2": "fp8_e5m2",
    "float8": "fp8_e4m3",
    "fp8_e4m3fn": "fp8_e4m3",
    "nvfp4": "fp4",
    "float4": "fp4",
    "mxfp4": "fp4",
    "int": "int64",
    "long": "int64",
}

FP32 = DTYPES["fp32"]
INT64 = DTYPES["int64"]
BOOL = DTYPES["bool"]


def dtype(name: str | DType) -> DType:
    if isinstance(name, DType):
        return name
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return DTYPES[key]
    except KeyError:
        raise CostModelError(f"unknown dtype {name!r}; known: {', '.join(sorted(DTYPES))}") from None


# onnx.TensorProto.DataType numbers (onnx/onnx.proto), kept here so the IR has no onnx import.
ONNX_DTYPES: dict[int, DType] = {
    1: DTYPES["fp32"],
    2: DTYPES["uint8"],
    3: DTYPES["int8"],
    4: DTYPES["uint16"],
    5: DTYPES["int16"],
    6: DTYPES["int32"],
    7: DTYPES["int64"],
    8: DTYPES["string"],
    9: DTYPES["bool"],
    10: DTYPES["fp16"],
    11: DTYPES["fp64"],
    12: DTYPES["uint32"],
    13: DTYPES["uint64"],
    14: DTYPES["complex64"],
    15: DTYPES["complex128"],
    16: DTYPES["bf16"],
    17: DTYPES["fp8_e4m3"],
    18: DTYPES["fp8_e4m3fnuz"],
    19: DTYPES["fp8_e5m2"],
    20: DTYPES["fp8_e5m2fnuz"],
    21: DTYPES["uint4"],
    22: DTYPES["int4"],
    23: DTYPES["fp4"],
    24: DTYPES["fp8_e8m0"],
    25: DTYPES["uint2"],
    26: DTYPES["int2"],
}

# The ONNX code of each dtype (its first entry above: fp8_e4m3 is FLOAT8E4M3FN).
ONNX_CODES: dict[str, int] = {}
for _code, _dt in ONNX_DTYPES.items():
    ONNX_CODES.setdefault(_dt.name, _code)
