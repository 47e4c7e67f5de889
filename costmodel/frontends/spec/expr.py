"""A small, safe expression language for derived fields in model specs.

Grammar (whitelisted; nothing is evaluated by Python): integer and decimal numbers,
names of other fields, + - * / // % and unary minus, parentheses, and the functions
min, max, ceil, floor. `/` is exact division (an integer result is required where an
integer is expected). The text is parsed with `ast.parse(mode="eval")` and only the node
types above are accepted; no `eval`, `exec` or `sympify` ever sees user text.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from ...errors import ExpressionError

MAX_LENGTH = 500
MAX_DEPTH = 40
_FUNCS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "ceil": math.ceil, "floor": math.floor}


def parse(text: str, where: str = "") -> ast.Expression:
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be text, got {type(text).__name__}", where=where or None)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", where=where or None)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ExpressionError(f"cannot parse expression {text!r}", where=where or None) from None
    _check(tree.body, where, 0)
    return tree


def _check(node: ast.AST, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ExpressionError("expression nested too deeply", where=where or None)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"only numbers are allowed, not {node.value!r}", where=where or None)
        return
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.BinOp) and isinstance(
        node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
    ):
        _check(node.left, where, depth + 1)
        _check(node.right, where, depth + 1)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, where, depth + 1)
        return
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCS
        and not node.keywords
        and node.args
    ):
        for a in node.args:
            _check(a, where, depth + 1)
        return
    raise ExpressionError(
        f"{type(node).__name__} is not allowed in expressions (numbers, names, + - * / // %, min, max, ceil, floor)",
        where=where or None,
    )


def names_in(text: str | int | float, where: str = "") -> set[str]:
    """The field names an expression refers to (none for a plain number)."""
    if not isinstance(text, str):
        return set()  # a number (parse refuses anything else with a typed error)
    return {n.id for n in ast.walk(parse(text, where)) if isinstance(n, ast.Name)} - set(_FUNCS)


def evaluate(text: str | int | float, names: Mapping[str, Any], where: str = "") -> Fraction:
    """Evaluate to an exact Fraction; names must resolve to numbers."""
    if isinstance(text, bool):
        raise ExpressionError("expected a number or an expression, got a boolean", where=where or None)
    if isinstance(text, (int, float)):
        return _num(text, where)
    tree = parse(text, where)
    return _eval(tree.body, names, where)


def _num(v: Any, where: str) -> Fraction:
    if isinstance(v, bool) or not isinstance(v, (int, float, Fraction)):
        raise ExpressionError(f"{v!r} is not a number", where=where or None)
    if isinstance(v, float) and not math.isfinite(v):
        raise ExpressionError(f"{v!r} is not a finite number", where=where or None)
    return Fraction(v)


def _eval(node: ast.AST, names: Mapping[str, Any], where: str) -> Fraction:
    if isinstance(node, ast.Constant):
        return _num(node.value, where)
    if isinstance(node, ast.Name):
        if node.id not in names or names[node.id] is None:
            raise ExpressionError(f"unknown name {node.id!r} in expression", where=where or None)
        return _num(names[node.id], where)
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, names, where)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, names, where), _eval(node.right, names, where)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if b == 0:
            raise ExpressionError("division by zero in expression", where=where or None)
        if isinstance(node.op, ast.Div):
            return a / b
        if isinstance(node.op, ast.FloorDiv):
            return Fraction(math.floor(a / b))
        return a - b * math.floor(a / b)
    if isinstance(node, ast.Call):
        args = [_eval(a, names, where) for a in node.args]
        assert isinstance(node.func, ast.Name)  # guaranteed by _check
        fn = node.func.id
        if fn in ("ceil", "floor"):
            if len(args) != 1:
                raise ExpressionError(f"{fn} takes one argument", where=where or None)
            return Fraction(_FUNCS[fn](args[0]))
        return min(args) if fn == "min" else max(args)
    raise ExpressionError("invalid expression", where=where or None)  # pragma: no cover


def evaluate_int(text: str | int | float, names: Mapping[str, Any], where: str = "") -> int:
    v = evaluate(text, names, where)
    if v.denominator != 1:
        raise ExpressionError(f"expression {text!r} = {float(v):g} is not an integer", where=where or None)
    return int(v)
