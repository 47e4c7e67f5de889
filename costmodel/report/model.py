"""The report model: every result a command prints (analysis, LLM serving, training,
plans, rooflines, comparisons) is built once into a `Document` of sections holding
key-value blocks, tables with typed columns and charts; the renderers (terminal table,
Markdown, CSV, HTML, JSON) only format it, so every format carries the same content.

Values stay raw here (exact ints, floats in SI units, sympy formulas); each renderer
formats them by the column's kind. Nothing here imports rich, plotly or matplotlib."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# How a value is shown: count (exact int or formula, SI prefix in tables), bytes (binary
# prefix), seconds, percent (a fraction 0..1), rate (SI prefix + unit: FLOP/s, tokens/s),
# number (plain, with unit), ratio ("1.19x"), usd, bool (yes/no), shape, formula, text.
KINDS = frozenset(
    {"count", "bytes", "seconds", "percent", "rate", "number", "ratio", "usd", "bool", "shape", "formula", "text"}
)


@dataclass(frozen=True)
class Column:
    """One table column. `key` is the machine name (CSV header) and carries its unit
    (`time_s`, `bytes`); `priority` 0 is never dropped, higher numbers are dropped first
    when the terminal is narrow; `elide` shortens long text in the middle instead of
    wrapping it (op and module names)."""

    key: str
    label: str
    kind: str = "text"
    priority: int = 1
    unit: str = ""
    elide: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    levels: tuple[int, ...] | None = None  # tree depth per row: the first column is indented
    note: str = ""

    def __post_init__(self) -> None:
        for r in self.rows:
            if len(r) != len(self.columns):
                raise ValueError(f"table {self.key}: a row has {len(r)} cells for {len(self.columns)} columns")
        if self.levels is not None and len(self.levels) != len(self.rows):
            raise ValueError(f"table {self.key}: one level per row")

    def column(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    value: Any
    kind: str = "text"
    unit: str = ""


@dataclass(frozen=True)
class KeyValues:
    key: str
    title: str
    fields: tuple[Field, ...]
    note: str = ""


@dataclass(frozen=True)
class Series:
    """One trace of a chart: points (`markers`), a curve (`lines`) or `bars`; `labels` name the
    points (op names) for hover text; axis "y2" puts it on a second, labelled y axis."""

    name: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    mode: str = "markers"
    labels: tuple[str, ...] = ()
    axis: str = "y"
    marker: str = "*"  # the character drawn for it in a terminal plot

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or (self.labels and len(self.labels) != len(self.x)):
            raise ValueError(f"series {self.name}: x, y and labels differ in length")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    x_log: bool = False
    y_log: bool = False
    y2_label: str = ""
    y2_log: bool = False
    categories: tuple[str, ...] = ()  # named x positions (bars): series x are their indices


@dataclass(frozen=True)
class Notes:
    key: str
    title: str
    lines: tuple[str, ...]
    warning: bool = False


Block = Table | KeyValues | Chart | Notes


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    """A whole report. `data` is the JSON payload (the public keys of design.md plus
    extra keys for everything the sections show); `csv_blocks` names the blocks the CSV
    output holds (None: every table and key-value block)."""

    title: str
    kind: str
    sections: tuple[Section, ...]
    data: Mapping[str, Any] = field(default_factory=dict)
    csv_blocks: tuple[str, ...] | None = None

    def blocks(self) -> list[Block]:
        return [b for s in self.sections for b in s.blocks]

    def block(self, key: str) -> Block:
        return next(b for b in self.blocks() if b.key == key)


def json_ready(x: Any) -> Any:
    """The JSON boundary: exact ints stay ints, sympy numbers become numbers and formulas
    their text, non-finite floats null (JSON has no NaN/Infinity), tuples lists."""
    from ..symbolic import is_expr, to_json_number

    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    if is_expr(x):
        return json_ready(to_json_number(x))
    if hasattr(x, "item"):  # numpy scalars
        return json_ready(x.item())
    return str(x)


# json's C encoder (used only without `indent`) writes what json_ready would give for
# dicts, lists, tuples, str, int, finite floats, bool and None; json_ready converts the
# rest as it meets them. A non-finite float raises (allow_nan=False): that rare document
# goes through json_ready first, which writes null.
_encode = json.JSONEncoder(allow_nan=False, ensure_ascii=True, default=json_ready).encode


def to_json(data: Any) -> str:
    """Strict JSON (no NaN/Infinity; control and bidi characters \\u-escaped), laid out for
    reading: the document's keys and the entries of its sections one per line, each
    entry (an op's row, a block's fields) compact on its line. The same values as
    json.dumps(json_ready(data)), written ten times faster than an indented dump, which
    only json's pure-Python encoder writes (resnet50's report: 28 -> 2.6 ms)."""
    try:
        return _layout(data, 0)
    except (ValueError, TypeError):  # a non-finite float; a key json cannot write (a tuple)
        return _layout(json_ready(data), 0)


def _layout(x: Any, depth: int) -> str:
    if depth < 2:
        t = type(x)
        pad = "\n" + " " * (depth + 1)
        if t is dict or (t is not str and isinstance(x, Mapping)):
            if x:
                items = [f"{pad}{_encode(str(k))}: {_layout(v, depth + 1)}" for k, v in x.items()]
                return "{" + ",".join(items) + "\n" + " " * depth + "}"
        elif (t is list or t is tuple) and any(isinstance(v, (Mapping, list, tuple)) for v in x):
            return "[" + ",".join([pad + _layout(v, 2) for v in x]) + "\n" + " " * depth + "]"
    return _encode(x)


def integral(x: Any) -> Any:
    """A count computed through floats (a mean over decode steps, a scaled total) as the
    nearest exact int for JSON: 15097965063.999998 -> 15097965064."""
    if isinstance(x, float) and math.isfinite(x):
        return int(round(x))
    return x


def fraction(part: Any, total: Any) -> float | None:
    """part / total as a float, None when either is symbolic or the total is zero."""
    if type(part) is int and type(total) is int:  # exact counts past 1e308 divide exactly
        return part / total if total else None
    from ..symbolic import is_symbolic

    if is_symbolic(part) or is_symbolic(total):  # float() would first try to evaluate a formula
        return None
    try:
        p, t = float(part), float(total)
    except (TypeError, ValueError, OverflowError):
        return None
    if not t or not math.isfinite(p) or not math.isfinite(t):
        return None
    return p / t


def rows(items: Sequence[Sequence[Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(r) for r in items)
