"""The one place that makes sympy symbols, and the helpers that keep plain ints fast.

Dims and counts are Python ints where known and sympy expressions where symbolic.
Every helper here returns a Python int when its result is a concrete integer, so the
common all-concrete path never touches sympy.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Mapping, Union

import sympy

Dim = Union[int, sympy.Expr]

_SYMBOLS: dict[str, sympy.Symbol] = {}


def symbol(name: str) -> sympy.Symbol:
    """Shared symbol for a dimension name; integer and positive, as dims are."""
    s = _SYMBOLS.get(name)
    if s is None:
        s = sympy.Symbol(name, integer=True, positive=True)
        _SYMBOLS[name] = s
    return s


def norm(x: Any) -> Any:
    """Collapse sympy integers to int; leave other values alone."""
    if type(x) is int:
        return x
    if isinstance(x, sympy.Basic):
        if x.is_Integer:
            return int(x)
        if x.is_Rational:
            return x
    return x


def is_concrete(x: Any) -> bool:
    return type(x) is int or (isinstance(x, sympy.Basic) and x.is_Integer)


def is_symbolic(x: Any) -> bool:
    return isinstance(x, sympy.Basic) and not x.is_number


def prod(xs: Iterable[Any]) -> Any:
    out: Any = 1
    for x in xs:
        out = out * x
    return norm(out) if type(out) is not int else out


def floordiv(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a // b
    return norm(sympy.floor(sympy.sympify(a) / b))


def ceildiv(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return -(-a // b)
    return norm(sympy.ceiling(sympy.sympify(a) / b))


def smax(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a if a >= b else b
    return norm(sympy.Max(a, b))


def smin(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a if a <= b else b
    return norm(sympy.Min(a, b))


def known_eq(a: Any, b: Any) -> bool | None:
    """True/False when decidable, None when it depends on the symbols."""
    if type(a) is int and type(b) is int:
        return a == b
    d = sympy.simplify(sympy.sympify(a) - b)
    if d == 0:
        return True
    if d.is_zero is False:
        return False
    return None


def free_symbol_names(x: Any) -> set[str]:
    if isinstance(x, sympy.Basic):
        return {s.name for s in x.free_symbols}
    return set()


def substitute(x: Any, bindings: Mapping[str, int]) -> Any:
    if not isinstance(x, sympy.Basic) or not bindings:
        return x
    subs = {symbol(k): v for k, v in bindings.items() if k in free_symbol_names(x)}
    if not subs:
        return x
    return norm(x.xreplace(subs))


def to_json_number(x: Any) -> Any:
    """JSON boundary: ints stay ints, symbolic values become their string formula."""
    x = norm(x)
    if type(x) is int or isinstance(x, float):
        return x
    if isinstance(x, sympy.Basic):
        if x.is_Rational:
            return float(x)
        return str(x)
    return x


@lru_cache(maxsize=4096)
def _lambdified(expr: sympy.Expr, names: tuple[str, ...]):
    return sympy.lambdify([symbol(n) for n in names], expr, modules="numpy")


def evaluate_many(expr: Any, grid: Mapping[str, Any]) -> Any:
    """Evaluate one symbolic result at many points at numpy speed.

    `grid` maps symbol names to scalars or numpy arrays (broadcast together). The compiled
    function is cached per expression, so sweeping planners pay sympy once.
    """
    import numpy as np

    if not isinstance(expr, sympy.Basic):
        return np.broadcast_to(np.asarray(expr, dtype=float), np.broadcast(*[np.asarray(v) for v in grid.values()]).shape) if grid else expr
    names = tuple(sorted(s.name for s in expr.free_symbols))
    missing = [n for n in names if n not in grid]
    if missing:
        from .errors import BindingError

        raise BindingError(f"no value for symbol(s) {', '.join(missing)}")
    fn = _lambdified(expr, names)
    args = [np.asarray(grid[n], dtype=float) for n in names]
    out = fn(*args)
    shape = np.broadcast(*[np.asarray(v) for v in grid.values()]).shape
    return np.broadcast_to(np.asarray(out, dtype=float), shape)
