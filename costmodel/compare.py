"""Side-by-side comparisons: one analysis (or LLM serving plan) per combination of the
values given on each axis (models, devices, dtypes, ...), in the order given, so the
report can show each against the first.

An axis is a name and the keyword it sets on `costmodel.analyze` / `plan_llm`; adding
one (a runtime, say) is one line in AXES once the library takes that keyword."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from .errors import CostModelError

# axis -> keyword of the library call, per kind of comparison
AXES: dict[str, dict[str, str]] = {
    "analyze": {"model": "model", "hardware": "hardware", "dtype": "dtype"},
    "llm": {"model": "model", "hardware": "hardware", "dtype": "dtype", "weight_dtype": "weight_dtype"},
}
MAX_VARIANTS = 64


@dataclass(frozen=True)
class Variant:
    """One column of a comparison: the value of every axis, and its result."""

    values: Mapping[str, Any]
    result: Any

    def label(self, axes: Sequence[str]) -> str:
        return " / ".join(str(self.values[a]) for a in axes) or "baseline"


@dataclass(frozen=True)
class Comparison:
    kind: str  # "analyze" | "llm"
    axes: Mapping[str, tuple[Any, ...]]  # every axis with its values (None: not given)
    variants: tuple[Variant, ...]

    @property
    def varying(self) -> list[str]:
        return [a for a, vs in self.axes.items() if len(vs) > 1]

    @property
    def constant(self) -> dict[str, Any]:
        return {a: vs[0] for a, vs in self.axes.items() if len(vs) == 1 and vs[0] is not None}


def split_list(text: str | None) -> tuple[str | None, ...]:
    """'h100, h200' -> ('h100', 'h200'); None -> (None,)."""
    if text is None:
        return (None,)
    vals = tuple(v.strip() for v in text.split(",") if v.strip())
    if not vals:
        raise CostModelError(f"{text!r} names nothing to compare")
    return vals


def compare(kind: str, axes: Mapping[str, Sequence[str | None]], **options: Any) -> Comparison:
    """Run `kind` for every combination of axis values (first axis slowest)."""
    if kind not in AXES:
        raise CostModelError(f"cannot compare {kind!r}; use one of {', '.join(AXES)}")
    known = AXES[kind]
    unknown = [a for a in axes if a not in known]
    if unknown:
        raise CostModelError(f"{kind} comparisons have no axis {', '.join(unknown)}; axes: {', '.join(known)}")
    names = list(axes)
    values: list[tuple[Any, ...]] = [tuple(axes[a]) for a in names]
    combos = list(product(*values))
    if len(combos) > MAX_VARIANTS:
        raise CostModelError(f"{len(combos)} combinations to compare; at most {MAX_VARIANTS}")
    run = _analyze if kind == "analyze" else _llm
    out = []
    for combo in combos:
        kw = {known[a]: v for a, v in zip(names, combo) if v is not None}
        out.append(Variant(dict(zip(names, combo)), run(dict(options), kw)))
    return Comparison(kind, {a: tuple(v) for a, v in zip(names, values)}, tuple(out))


def _analyze(options: dict[str, Any], kw: dict[str, Any]) -> Any:
    from .api import analyze

    model = kw.pop("model")
    if not kw.get("hardware"):
        for k in ("mode", "fusion", "execution"):
            options.pop(k, None)
    return analyze(model, **kw, **options)


def _llm(options: dict[str, Any], kw: dict[str, Any]) -> Any:
    from .planners.llm import plan_llm

    model = kw.pop("model")
    hardware = kw.pop("hardware", None)
    if not hardware:
        raise CostModelError("an LLM comparison needs --hardware")
    return plan_llm(model, hardware, **{**options, **kw})
