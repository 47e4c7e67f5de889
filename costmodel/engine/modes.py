"""The engine's options, as string enums whose values are the CLI and JSON strings (a
plain string such as "graph" is accepted wherever an enum is)."""

from __future__ import annotations

from enum import StrEnum

from ..errors import CostModelError


class Mode(StrEnum):
    """`ideal`: the datasheet roofline, a lower bound; `calibrated`: the size-dependent
    efficiency of the kernels real libraries run, plus per-kernel overhead."""

    CALIBRATED = "calibrated"
    IDEAL = "ideal"


class Fusion(StrEnum):
    """Which nodes become one kernel (see engine/latency.py)."""

    NONE = "none"
    ELEMENTWISE = "elementwise"
    FLASH = "flash"


class Execution(StrEnum):
    """How kernels are dispatched: replayed as a CUDA graph, dispatched eagerly by a
    framework from the host, or `auto` (eager for microbenchmark-sized graphs)."""

    AUTO = "auto"
    GRAPH = "graph"
    EAGER = "eager"


def parse_mode(value: str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise CostModelError(f"unknown mode {value!r}; use one of {', '.join(Mode)}") from None


def parse_fusion(value: str) -> Fusion:
    try:
        return Fusion(value)
    except ValueError:
        raise CostModelError(f"unknown fusion policy {value!r}; use one of {', '.join(Fusion)}") from None


def parse_execution(value: str) -> Execution:
    try:
        return Execution(value)
    except ValueError:
        raise CostModelError(f"unknown execution mode {value!r}; use one of {', '.join(Execution)}") from None
