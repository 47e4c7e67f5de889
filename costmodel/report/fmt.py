"""Number formatting for humans (tables); JSON keeps exact values."""

from __future__ import annotations

from typing import Any

from ..symbolic import is_expr

_SI = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(x: Any, unit: str = "", digits: int = 3) -> str:
    if x is None:
        return "-"
    if is_expr(x) and not x.is_number:
        return str(x)
    v = float(x)
    for f, p in _SI:
        if abs(v) >= f:
            return f"{v / f:.{digits}g} {p}{unit}".rstrip()
    if isinstance(x, int) or v.is_integer():
        return f"{int(v)} {unit}".rstrip()
    return f"{v:.{digits}g} {unit}".rstrip()


def nbytes(x: Any) -> str:
    if x is None:
        return "-"
    if is_expr(x) and not x.is_number:
        return str(x) + " B"
    v = float(x)
    for f, p in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(v) >= f:
            return f"{v / f:.3g} {p}"
    return f"{int(v)} B"


def seconds(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 3600 * 24:
        return f"{x / 86400:.3g} d"
    if x >= 3600:
        return f"{x / 3600:.3g} h"
    if x >= 60:
        return f"{x / 60:.3g} min"
    if x >= 1:
        return f"{x:.3g} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    if x >= 1e-6:
        return f"{x * 1e6:.3g} µs"
    return f"{x * 1e9:.3g} ns"


def exact(x: Any) -> str:
    if x is None:
        return "-"
    if type(x) is int:
        return f"{x:,}"
    return str(x)
