"""One value of a report as human text (tables, Markdown, HTML) or as a raw machine value
(CSV, HTML sort keys), by the kind of its column. The text is not yet escaped: each
renderer passes it through its own function of report/text.py."""

from __future__ import annotations

import math
from typing import Any

from . import fmt


def human(value: Any, kind: str, unit: str = "", *, symbolic: bool = False) -> str:
    """`symbolic` shows counts exactly (1,235,814,400 and formulas) instead of 1.24 G."""
    if value is None:
        return "-"
    if kind == "count":
        return fmt.exact(value) if symbolic else fmt.count(value, unit)
    if kind == "bytes":
        return fmt.exact(value) + " B" if symbolic and type(value) is int else fmt.nbytes(value)
    if kind == "seconds":
        return fmt.seconds(value)
    if kind == "percent":
        return fmt.percent(value)
    if kind == "rate":
        return fmt.si(value, unit)
    if kind == "number":
        return fmt.number(value, unit)
    if kind == "ratio":
        return fmt.ratio(value)
    if kind == "usd":
        return fmt.usd(value)
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "shape":
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple, type(None))):
            return fmt.shapes(value)
        return fmt.shape(value) if isinstance(value, (list, tuple)) else str(value)
    return str(value)


def raw(value: Any, kind: str) -> Any:
    """The machine value: exact ints, floats in SI units, formulas as text, shapes as
    1x3x224x224 (several joined by ';'), None as empty."""
    from ..symbolic import is_expr, to_json_number

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "shape":
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple, type(None))):
            return ";".join(fmt.shape(s) for s in value)
        return fmt.shape(value) if isinstance(value, (list, tuple)) else str(value)
    if is_expr(value):
        v = to_json_number(value)
        return v if isinstance(v, (int, float)) else str(v)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


def sort_key(value: Any) -> float | None:
    """A number to sort by (HTML tables), None when the value is not numeric."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def elide(text: str, width: int) -> str:
    """Shorten in the middle: 'encoder/layers.11/…/MatMul_3'. Keeps both ends, where
    names differ (scope prefix, op suffix)."""
    from rich.cells import cell_len

    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width == 1:
        return "…"
    keep = width - 1
    head = (keep + 1) // 2
    tail = keep - head
    out_h, out_t = "", ""
    for ch in text:
        if cell_len(out_h + ch) > head:
            break
        out_h += ch
    for ch in reversed(text):
        if cell_len(ch + out_t) > tail:
            break
        out_t = ch + out_t
    return out_h + "…" + out_t
