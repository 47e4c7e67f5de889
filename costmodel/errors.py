"""Typed errors. Every error a user can cause is a `CostModelError`; the CLI maps them to
exit status 2 and one line on stderr."""

from __future__ import annotations

from collections.abc import Iterable


def name_list(names: Iterable[object], limit: int = 12) -> str:
    """Names for an error message, short: the first `limit` (sorted), then how many more.
    A graph exported with per-node dims can have hundreds of symbols."""
    items = sorted(str(n) for n in names)
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def did_you_mean(word: str, choices: Iterable[object], n: int = 3) -> str:
    """'; did you mean X?' when a choice is close to `word` (difflib), else ''."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=n, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


class CostModelError(Exception):
    """Base class for every error caused by input (files, arguments, configuration)."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ModelLoadError(CostModelError):
    """A model file cannot be read or is not a valid model."""


class GraphError(CostModelError):
    """The graph is structurally invalid (cycle, dangling input, duplicate name...)."""


class ShapeError(CostModelError):
    """Shapes are inconsistent (e.g. a MatMul whose inner dimensions differ)."""


class UnsupportedOpError(CostModelError):
    """Raised under strict=True when an op has no cost rule."""


class BindingError(CostModelError):
    """A symbol binding is unknown or invalid."""


class ExpressionError(CostModelError):
    """A user expression is not in the whitelisted grammar."""


class SpecError(CostModelError):
    """A model spec or Hugging Face config is invalid."""


class HardwareError(CostModelError):
    """A hardware profile is unknown or invalid."""


class PlanError(CostModelError):
    """An execution plan (parallel layout, batch...) is invalid."""


class MeasurementError(CostModelError):
    """A measurement file (kernel timings for calibration) is unreadable or holds an
    invalid value; the message names the file, the row and the column."""


class OutputError(CostModelError):
    """An output file cannot be written where asked (an input, a folder, a missing folder,
    a wrong suffix, a write error)."""


class LimitExceeded(CostModelError):
    """An input exceeds a resource limit (node count, expression size, time)."""


class RegistryError(Exception):
    """Programming error in the op registry (duplicate rule). Not user input."""
