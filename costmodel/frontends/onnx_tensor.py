"""Content of small ONNX tensors (shape constants, axes, scalars) as numpy arrays, decoded
without onnx.numpy_helper (whose import costs about 1.6 s, mostly ml_dtypes).

Values follow onnx.numpy_helper.to_array (onnx 1.23) element for element: raw_data is
little-endian, typed fields hold what the TensorProto comments in onnx/onnx.proto say
(16-bit and 8-bit floats as bit patterns in int32_data, 4- and 2-bit integers packed two
and four to a byte, low bits first). The element types numpy lacks come back widened,
with the same values: bfloat16 and the 8-, 4-bit floats as float32, int4/int2 as int8,
uint4/uint2 as uint8 (numpy_helper returns ml_dtypes arrays for those). Anything that
does not decode cleanly (wrong byte count, segments) is None: the value is then unknown,
as before. tests/test_onnx_reader.py compares every element type with numpy_helper.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

SMALL_TENSOR = 4096  # elements decoded eagerly (shape arithmetic, scalars); weights stay unread

# raw_data as numpy reads it (TensorProto.DataType number -> little-endian numpy type)
_RAW = {
    1: "<f4",
    2: "u1",
    3: "i1",
    4: "<u2",
    5: "<i2",
    6: "<i4",
    7: "<i8",
    9: "?",
    10: "<f2",
    11: "<f8",
    12: "<u4",
    13: "<u8",
    14: "<c8",
    15: "<c16",
}
_ITEMSIZE = {c: 1 if t in ("u1", "i1", "?") else int(t[2:]) for c, t in _RAW.items()}
# typed field, its storage type and the element type (narrower types wrap, as in C)
_TYPED = {
    1: ("float_data", "float32", "float32"),
    2: ("int32_data", "int32", "uint8"),
    3: ("int32_data", "int32", "int8"),
    6: ("int32_data", "int32", "int32"),
    7: ("int64_data", "int64", "int64"),
    11: ("double_data", "float64", "float64"),
    12: ("uint64_data", "uint64", "uint32"),
    13: ("uint64_data", "uint64", "uint64"),
}
_BITS16 = {4: "uint16", 5: "int16", 10: "float16"}  # int32_data holds the 16-bit pattern
_COMPLEX = {14: ("float_data", "float32", "complex64"), 15: ("double_data", "float64", "complex128")}
BF16, FP8_E4M3FN, FP8_E4M3FNUZ, FP8_E5M2, FP8_E5M2FNUZ = 16, 17, 18, 19, 20
UINT4, INT4, FP4_E2M1, FP8_E8M0, UINT2, INT2 = 21, 22, 23, 24, 25, 26
BOOL = 9
# (exponent bits, mantissa bits, bias, special values) of the minifloats, from the ONNX
# spec's Float8 and Float4 pages (onnx/docs/technical/float8.md, float4.md)
_MINIFLOATS = {
    FP8_E4M3FN: (4, 3, 7, "fn"),  # S.1111.111 is NaN; no infinities
    FP8_E4M3FNUZ: (4, 3, 8, "fnuz"),  # 0x80 is NaN; no negative zero, no infinities
    FP8_E5M2: (5, 2, 15, "ieee"),  # exponent all ones: infinity (mantissa 0) or NaN
    FP8_E5M2FNUZ: (5, 2, 16, "fnuz"),
    FP4_E2M1: (2, 1, 1, "none"),  # 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives
}


def small_array(t: Any, shape: tuple[int, ...], numel: int) -> Any:
    """The content of tensor `t` (a TensorProto) as a numpy array of `shape`, or None."""
    if t.HasField("segment"):
        return None
    code = t.data_type
    try:
        if t.HasField("raw_data"):
            return _from_raw(code, t.raw_data, shape, numel)
        return _from_typed(code, t, shape, numel)
    except (ValueError, TypeError, OverflowError):  # a count or value that does not fit
        return None


def _from_raw(code: int, raw: bytes, shape: tuple[int, ...], numel: int) -> Any:
    import numpy as np

    np_type = _RAW.get(code)
    if np_type is not None:
        if len(raw) != numel * _ITEMSIZE[code]:
            return None
        flat = np.frombuffer(raw, dtype=np_type)
        return flat if len(shape) == 1 else flat.reshape(shape)
    if code == BF16:
        if len(raw) != 2 * numel:
            return None
        return _bf16(np.frombuffer(raw, dtype="<u2"), shape)
    if code in _MINIFLOATS and code != FP4_E2M1 or code == FP8_E8M0:
        if len(raw) != numel:
            return None
        return _table(code)[np.frombuffer(raw, dtype="u1")].reshape(shape)
    if code in (UINT4, INT4, FP4_E2M1, UINT2, INT2):
        return _packed(code, np.frombuffer(raw, dtype="u1"), shape, numel)
    return None


def _from_typed(code: int, t: Any, shape: tuple[int, ...], numel: int) -> Any:
    import numpy as np

    typed = _TYPED.get(code)
    if typed is not None:
        field, storage, element = typed
        values = getattr(t, field)
        if len(values) != numel:
            return None
        arr = np.asarray(values, dtype=storage)
        return (arr if storage == element else arr.astype(element)).reshape(shape)
    if code in _COMPLEX:
        field, real, cplx = _COMPLEX[code]
        values = getattr(t, field)
        if len(values) != 2 * numel:
            return None
        return np.array(values, dtype=real).view(cplx).reshape(shape)
    if code not in _BITS16 and code != BOOL and code < BF16:
        return None  # strings, undefined
    if len(t.int32_data) != numel and code not in (UINT4, INT4, FP4_E2M1, UINT2, INT2):
        return None
    words = np.array(t.int32_data, dtype=np.int32).view(np.uint32)
    if code in _BITS16:
        return words.astype(np.uint16).view(_BITS16[code]).reshape(shape)
    if code == BF16:
        return _bf16(words.astype(np.uint16), shape)
    if code == BOOL:
        return words.astype(np.uint8).view(np.bool_).reshape(shape)
    if code in (UINT4, INT4, FP4_E2M1, UINT2, INT2):
        return _packed(code, words.astype(np.uint8), shape, numel)
    if code in _MINIFLOATS or code == FP8_E8M0:
        return _table(code)[words.astype(np.uint8)].reshape(shape)
    return None


def _bf16(bits: Any, shape: tuple[int, ...]) -> Any:
    """bfloat16 bit patterns as float32 (bfloat16 is the top half of a float32)."""
    import numpy as np

    return (bits.astype(np.uint32) << 16).view(np.float32).reshape(shape)


def _packed(code: int, data: Any, shape: tuple[int, ...], numel: int) -> Any:
    """4-bit (two per byte) or 2-bit (four per byte) elements, low bits first; extra
    padding elements at the end are dropped, as numpy_helper does."""
    import numpy as np

    per = 4 if code in (UINT2, INT2) else 2
    if data.size * per < numel:
        return None
    width = 8 // per
    mask = (1 << width) - 1
    out = np.empty(data.size * per, dtype=np.uint8)
    for k in range(per):
        out[k::per] = (data >> (k * width)) & mask
    out = out[:numel].reshape(shape)
    if code == FP4_E2M1:
        return _table(FP4_E2M1)[out]
    if code in (INT4, INT2):
        sign = 1 << (width - 1)
        return ((out.astype(np.int8) ^ sign) - sign).astype(np.int8)  # two's complement of `width` bits
    return out


@cache
def _table(code: int) -> Any:
    """float32 value of every bit pattern of a minifloat type."""
    import numpy as np

    if code == FP8_E8M0:  # a power of two: 2**(e - 127); 0xFF is NaN
        return np.array([math.ldexp(1.0, e - 127) if e != 255 else math.nan for e in range(256)], dtype=np.float32)
    ebits, mbits, bias, special = _MINIFLOATS[code]
    values = []
    emax, mmax = (1 << ebits) - 1, (1 << mbits) - 1
    for c in range(1 << (1 + ebits + mbits)):
        sign = -1.0 if c >> (ebits + mbits) else 1.0
        e, m = (c >> mbits) & emax, c & mmax
        if special == "fnuz" and c == 1 << (ebits + mbits):
            values.append(math.nan)
            continue
        if special == "fn" and e == emax and m == mmax:
            values.append(math.nan)
            continue
        if special == "ieee" and e == emax:
            values.append(sign * math.inf if m == 0 else math.nan)
            continue
        if e == 0:  # subnormal
            v = math.ldexp(m / (1 << mbits), 1 - bias)
        else:
            v = math.ldexp(1.0 + m / (1 << mbits), e - bias)
        values.append(sign * v)
    return np.array(values, dtype=np.float32)
