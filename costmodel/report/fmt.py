"""Number formatting for humans (tables, Markdown, HTML); JSON and CSV keep exact values.

Every quantity is shown with three significant digits in a unit chosen so that at most
three integer digits remain: a value that rounds up to 1000 of a unit moves to the next
unit ("999.7 ms" is "1.00 s", never "1e+03 ms"; 1020 KiB is "0.996 MiB", never
"1.02e+03 KiB"). Exact integers below 1000 are shown exactly."""

from __future__ import annotations

import math
from typing import Any

from ..symbolic import is_expr

_SI = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))
_BIN = ((2**50, "PiB"), (2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B"))
_TIME = ((86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def sig(v: float, digits: int = 3) -> str:
    """`v` with `digits` significant digits in fixed notation (no exponent): 1.00, 38.1, 787."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    mag = math.floor(math.log10(abs(v)))
    decimals = max(digits - 1 - mag, 0)
    s = f"{v:.{decimals}f}"
    # rounding can add a digit (9.996 -> "10.00"): keep `digits` significant digits
    if len(s.lstrip("-").replace(".", "").lstrip("0")) > digits and decimals > 0:
        s = f"{v:.{decimals - 1}f}"
    return s


def _scaled(v: float, units: tuple[tuple[float, str], ...], digits: int) -> tuple[str, str]:
    a = abs(v)
    for i, (f, name) in enumerate(units):
        if a >= f or i == len(units) - 1:
            m = sig(v / f, digits)
            # rounded up into the next unit (999.7 ms -> "1000" -> 1.00 s; 59.99 s -> 1.00 min)
            if i > 0 and (abs(float(m)) >= 1000 or abs(float(m)) * f >= units[i - 1][0]):
                f, name = units[i - 1]
                m = sig(v / f, digits)
            return m, name
    raise AssertionError("unreachable")


def _symbolic(x: Any) -> bool:
    """A formula (sympy, or its text at the JSON boundary): shown as it is."""
    return isinstance(x, str) or (is_expr(x) and not x.is_number)


def si(x: Any, unit: str = "", digits: int = 3) -> str:
    """A count or a rate with an SI prefix: 8.22 G, 712 tokens/s, 1.98 PFLOP/s."""
    if x is None:
        return "-"
    if _symbolic(x):
        return f"{x} {unit}".rstrip()
    if isinstance(x, bool):
        return str(x)
    v = float(x)
    if not math.isfinite(v):
        return "-"
    if abs(v) < 1000 and (isinstance(x, int) or (not isinstance(x, float) and v.is_integer())):
        return f"{int(v)} {unit}".rstrip()
    m, p = _scaled(v, _SI, digits)
    if unit[:1].islower() and p:  # a word: "1.74 M tokens/s"; a symbol: "1.98 PFLOP/s"
        return f"{m} {p} {unit}"
    return f"{m} {p}{unit}".rstrip()


def count(x: Any, unit: str = "") -> str:
    """A count: exact below 100,000 (1,024 tokens), else with an SI prefix (25.6 M)."""
    if type(x) is int and abs(x) < 100_000:
        return f"{x:,} {unit}".rstrip()
    return si(x, unit)


def nbytes(x: Any) -> str:
    """Bytes with binary prefixes: 97.7 MiB, 0.996 MiB, 512 B."""
    if x is None:
        return "-"
    if _symbolic(x):
        return f"{x} B"
    v = float(x)
    if not math.isfinite(v):
        return "-"
    if abs(v) < 1000 and v.is_integer():
        return f"{int(v)} B"
    m, p = _scaled(v, _BIN, 3)
    return f"{m} {p}"


def seconds(x: Any) -> str:
    """A duration: 787 µs, 1.00 s, 11.9 min, 2.16 d."""
    if x is None:
        return "-"
    if _symbolic(x):
        return f"{x} s"
    v = float(x)
    if not math.isfinite(v):
        return "-"
    if v == 0:
        return "0 s"
    m, p = _scaled(v, _TIME, 3)
    return f"{m} {p}"


def band(b: Any, point: Any = None) -> str:
    """An 80% prediction interval of a time, with its ends relative to the point
    prediction: 10.6 ms .. 21.2 ms (-33% / +34%)."""
    if not b:
        return "-"
    text = f"{seconds(b[0])} .. {seconds(b[1])}"
    if point:
        p = float(point)
        text += f" ({b[0] / p - 1:+.0%} / {b[1] / p - 1:+.0%})"
    return text


def percent(x: Any) -> str:
    """A fraction (0.123) as a percentage (12.3%)."""
    if x is None:
        return "-"
    v = float(x)
    if not math.isfinite(v):
        return "-"
    if v == 0:
        return "0%"
    p = 100 * v
    return f"{p:.1f}%" if abs(p) >= 0.1 else "<0.1%"


def number(x: Any, unit: str = "") -> str:
    """A plain measured value (no prefix): 0.375, 1.19, 65.1 FLOP/B."""
    if x is None:
        return "-"
    if _symbolic(x):
        return f"{x} {unit}".rstrip()
    if isinstance(x, bool):
        return "yes" if x else "no"
    v = float(x)
    if not math.isfinite(v):
        return "-"
    if isinstance(x, int) or (v.is_integer() and abs(v) < 1e15):
        return f"{int(v):,} {unit}".rstrip()
    if abs(v) >= 1e6 or abs(v) < 1e-3:
        return si(v, unit)
    return f"{sig(v)} {unit}".rstrip()


def ratio(x: Any) -> str:
    if x is None:
        return "-"
    v = float(x)
    return f"{sig(v)}x" if math.isfinite(v) else "-"


def usd(x: Any) -> str:
    if x is None:
        return "-"
    v = float(x)
    if not math.isfinite(v):
        return "-"
    if abs(v) >= 1000:
        return f"${v:,.0f}"
    return f"${sig(v)}"


def exact(x: Any) -> str:
    """Exact: 1,235,814,400 or the formula itself."""
    if x is None:
        return "-"
    if type(x) is int:
        return f"{x:,}"
    return str(x)


def shape(s: Any) -> str:
    """A tensor shape: 1x64x112x112, ? when unknown, () for a scalar."""
    if s is None:
        return "?"
    if len(s) == 0:
        return "()"
    return "x".join(str(d) if d is not None else "?" for d in s)


def shapes(ss: Any) -> str:
    return ", ".join(shape(s) for s in ss) if ss else "-"
