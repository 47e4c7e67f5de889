"""Known tensor contents for shape arithmetic (Shape → Gather → Concat → Reshape...).

Contents are numpy arrays; integer contents use object dtype holding Python ints or
sympy expressions, so symbolic dims flow through exactly. Only small tensors are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..symbolic import is_expr, norm, Shape

MAX_ELEMENTS = 4096
_INT = frozenset({int})


def obj(x: Any) -> np.ndarray:
    """Integer-like content as an object array of Python ints / sympy expressions."""
    if (type(x) is list or type(x) is tuple) and {*map(type, x)} <= _INT:  # a flat list of ints
        out = np.empty(len(x), dtype=object)
        out[:] = x
        return out
    a = np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else x
    if a.dtype != object:
        if a.dtype.kind in "iub":
            return a.astype(object)
        return a
    flat = a.reshape(-1).tolist()
    if not set(map(type, flat)) <= _INT:  # plain ints (the common case) are kept as they are
        flat = [norm(v) if is_expr(v) else (int(v) if isinstance(v, (np.integer, bool, np.bool_)) else v) for v in flat]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(a.shape)


def small(shape: Shape | None) -> bool:
    if shape is None:
        return False
    n = 1
    for d in shape:
        if type(d) is not int:
            return False
        n *= d
    return n <= MAX_ELEMENTS


def apply(fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray | None:
    """Elementwise fold over known contents; None when any result is undecidable."""
    try:
        with np.errstate(all="ignore"):
            out = fn(*arrays)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    out = np.asarray(out)
    if out.dtype == object:
        flat = out.reshape(-1).tolist()
        if {*map(type, flat)} <= _INT:  # plain ints (in C): nothing undecidable, nothing to normalise
            return obj(flat).reshape(out.shape)
        for v in flat:
            if is_expr(v) and v.is_Boolean:
                return None
        return obj(out)
    return out


def cast(arr: np.ndarray, kind: str) -> np.ndarray | None:
    """Cast known contents to an int / float / bool kind."""
    if kind in ("int", "uint"):
        if arr.dtype == object:
            return obj(arr)
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                return None
            return obj(np.trunc(arr).astype(np.int64))
        return obj(arr)
    if kind == "bool":
        if arr.dtype == object:
            try:
                return np.array([bool(v != 0) for v in arr.reshape(-1)], dtype=bool).reshape(arr.shape)
            except TypeError:
                return None
        return arr.astype(bool)
    if kind == "float":
        if arr.dtype == object:
            try:
                return np.array([float(v) for v in arr.reshape(-1)], dtype=np.float64).reshape(arr.shape)
            except TypeError:
                return None
        return arr.astype(np.float64)
    return None
