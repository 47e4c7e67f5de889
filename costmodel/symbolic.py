"""The one place that makes sympy symbols, and the helpers that keep plain ints fast.

Dims and counts are Python ints where known and sympy expressions where symbolic.
Every helper returns a Python int when its result is a concrete integer. sympy is
imported only when a symbol is first made or symbolic arithmetic is needed (`sp()`, the
one import of sympy in the package): importing it takes ~0.5 s, longer than analysing a
small model, and a model with no dynamic dims never pays for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from collections import Counter
from functools import lru_cache
from typing import Any

from .errors import BindingError

Dim = Any  # int | sympy.Expr
Shape = tuple[Dim, ...]  # a tensor's dims

_SYMBOLS: dict[str, Any] = {}


def sp() -> Any:
    """The sympy module, imported on first use (start-up speed: see the module docstring).
    Typed Any: sympy ships no type information."""
    import sympy

    return sympy


_BASIC: Any = None  # sympy.Basic, remembered once sympy is imported


def is_expr(x: Any) -> bool:
    """True for any sympy object. Nothing can be one before sympy is imported, so this
    never imports it: it looks sympy's base class up once sympy is loaded."""
    global _BASIC
    if type(x) is int:
        return False
    if _BASIC is None:
        m = sys.modules.get("sympy.core.basic")
        if m is None:
            return False
        _BASIC = m.Basic
    return isinstance(x, _BASIC)


def symbol(name: str) -> Any:
    """Shared symbol for a dimension name; integer and positive, as dims are."""
    s = _SYMBOLS.get(name)
    if s is None:
        s = sp().Symbol(name, integer=True, positive=True)
        _SYMBOLS[name] = s
    return s


def norm(x: Any) -> Any:
    """Collapse sympy integers to int; leave other values alone."""
    if type(x) is int or _BASIC is None and not is_expr(x):
        return x
    if isinstance(x, _BASIC) and x.is_Integer:
        return int(x)
    return x


def is_concrete(x: Any) -> bool:
    return type(x) is int or (is_expr(x) and x.is_Integer)


def is_symbolic(x: Any) -> bool:
    return is_expr(x) and not x.is_number


def prod(xs: Iterable[Any]) -> Any:
    if type(xs) is tuple:  # a shape: the same shapes recur on most tensors of a model
        try:
            return _prod_of_shape(xs)
        except TypeError:  # an unhashable entry
            pass
    out: Any = 1
    for x in xs:
        out = out * x
    return out if type(out) is int else norm(out)


@lru_cache(maxsize=65536)
def _prod_of_shape(xs: Shape) -> Any:
    out: Any = 1
    for x in xs:
        out = out * x
    return out if type(out) is int else norm(out)


_INT_ONLY = frozenset({int})


def add_all(xs: Iterable[Any]) -> Any:
    """Exact sum of many counts: plain ints summed as ints, symbolic terms combined by one
    sympy Add (adding n expressions one at a time re-flattens the growing sum n times)."""
    xs = xs if type(xs) is list else list(xs)
    if set(map(type, xs)) <= _INT_ONLY:  # the common case, summed in C
        return sum(xs)
    total: Any = 0
    terms: list[Any] = []
    for x in xs:
        if type(x) is int:
            total += x
        elif is_expr(x):
            terms.append(x)
        else:
            total = total + x
    if not terms:
        return total if type(total) is int else norm(total)
    if len(terms) == 1 and type(total) is int and total == 0:
        return norm(terms[0])
    if len(terms) > 2:
        # equal terms (a model's repeated layers) counted once each, as sympy's Add would
        # collect them: the same sum, without flattening every repeat
        counts = Counter(terms)
        if len(counts) < len(terms):
            terms = [t if c == 1 else c * t for t, c in counts.items()]
    return norm(sp().Add(total, *terms))


def floordiv(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a // b
    s = sp()
    return norm(s.floor(s.sympify(a) / b))


def ceildiv(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return -(-a // b)
    s = sp()
    return norm(s.ceiling(s.sympify(a) / b))


def smax(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return max(a, b)
    m = sp().Max
    return _bounded_call(m, lambda: m(a, b, evaluate=False), a, b)


def smin(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return min(a, b)
    m = sp().Min
    return _bounded_call(m, lambda: m(a, b, evaluate=False), a, b)


def _bounded_call(fn: Any, fallback: Any, *args: Any) -> Any:
    """fn(*args) for the sympy calls that compare or simplify their arguments, which can run
    for minutes on large expressions: within symbudget's size and time budget, else
    fallback() (the same value left unevaluated: exact, only not simplified)."""
    from .symbudget import bounded

    return norm(bounded(fn, fallback, *args))


def known_eq(a: Any, b: Any) -> bool | None:
    """True/False when decidable, None when it depends on the symbols."""
    if type(a) is int and type(b) is int:
        return a == b
    s = sp()
    d = s.sympify(a) - b
    if d != 0:  # past the budget the difference stays unsimplified: "not known" below
        d = _bounded_call(s.simplify, lambda: d, d)
    if d == 0:
        return True
    if d.is_zero is False:
        return False
    return None


def free_symbol_names(x: Any) -> set[str]:
    if is_expr(x):
        return {s.name for s in x.free_symbols}
    return set()


def substitute(x: Any, bindings: Mapping[str, int]) -> Any:
    if not bindings or not is_expr(x):
        return x
    subs = {symbol(k): v for k, v in bindings.items() if k in free_symbol_names(x)}
    if not subs:
        return x
    return norm(x.xreplace(subs))


def to_json_number(x: Any) -> Any:
    """JSON boundary: ints stay ints, symbolic values become their string formula."""
    x = norm(x)
    if type(x) is int or isinstance(x, float) or x is None:
        return x
    if is_expr(x):
        if x.is_Rational:
            return float(x)
        return str(x)
    return x


def to_float(x: Any) -> float:
    """A concrete count as a float (for timing arithmetic only)."""
    if type(x) is int or isinstance(x, float):
        return float(x)
    return float(x)


@lru_cache(maxsize=4096)
def _lambdified(expr: Any, names: tuple[str, ...]) -> Callable[..., Any]:
    fn: Callable[..., Any] = sp().lambdify([symbol(n) for n in names], expr, modules="numpy")
    return fn


def evaluate_many(expr: Any, grid: Mapping[str, Any]) -> Any:
    """Evaluate one symbolic result at many points at numpy speed.

    `grid` maps symbol names to scalars or numpy arrays (broadcast together). The compiled
    function is cached per expression, so sweeping planners pay sympy once.
    """
    import numpy as np  # here only: the commands that never evaluate on a grid skip its import

    shape = np.broadcast(*[np.asarray(v) for v in grid.values()]).shape if grid else ()
    if not is_expr(expr):
        return np.broadcast_to(np.asarray(float(expr)), shape)
    names = tuple(sorted(s.name for s in expr.free_symbols))
    missing = [n for n in names if n not in grid]
    if missing:
        raise BindingError(f"no value for symbol(s) {', '.join(missing)}")
    fn = _lambdified(expr, names)
    out = fn(*[np.asarray(grid[n], dtype=float) for n in names])
    return np.broadcast_to(np.asarray(out, dtype=float), shape)
