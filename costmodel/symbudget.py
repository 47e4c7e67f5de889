"""A size and time budget around sympy calls that can blow up.

`sympy.simplify` on a difference of two large expressions can run for minutes: an ONNX
file of 3 KB whose `If` nodes each merge two branch shapes doubles a symbolic dimension
per level, and simplifying the 8th level never ended, while the analysis deadline was
only looked at between nodes. `bounded(fn, fallback, *args)` runs `fn(*args)` only when
the arguments are small (MAX_ARG_NODES sympy tree nodes) and for at most CALL_SECONDS
(less when the analysis deadline is nearer); otherwise it returns `fallback()`, a bounded
answer that is never wrong, only less precise (for an equality test: "not known").

The time limit uses a real-time interval timer (SIGALRM), so it applies on the main thread
of a process that has no alarm of its own; elsewhere (worker threads, a host program
using SIGALRM) only the size limit applies, which alone bounds the work per call.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ARG_NODES = 300  # tree nodes of all arguments together
CALL_SECONDS = 0.5  # one call; real models' symbolic dims simplify in well under 10 ms

_deadline: ContextVar[float] = ContextVar("costmodel_sympy_deadline", default=0.0)


def set_deadline(deadline: float) -> None:
    """The time.monotonic() by which the current analysis must end (0: none). A call never
    runs past it; a deadline already passed is ignored (the analysis reports it itself)."""
    _deadline.set(deadline)


class _Timeout(BaseException):
    """Raised by the timer inside sympy. A BaseException: sympy catches Exception in places
    and would otherwise carry on past the budget."""


def _size_within(args: tuple[Any, ...], limit: int) -> bool:
    stack = list(args)
    seen = 0
    while stack:
        e = stack.pop()
        seen += 1
        if seen > limit:
            return False
        stack.extend(getattr(e, "args", ()))
    return True


def _seconds() -> float:
    left = _deadline.get() - time.monotonic()
    return min(CALL_SECONDS, left) if left > 0 else CALL_SECONDS


_armed = False


def _on_alarm(signum: int, frame: Any) -> None:
    if _armed:
        raise _Timeout


def _arm(seconds: float) -> Any:
    """Start the timer; return the previous SIGALRM handler, or None when the timer cannot
    be used here (not the main thread, no setitimer, someone else's alarm)."""
    global _armed
    if not (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN)
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    ):
        return None
    old = signal.signal(signal.SIGALRM, _on_alarm)
    _armed = True
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    return old


def _disarm(old: Any) -> None:
    global _armed
    _armed = False
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def bounded(fn: Callable[..., T], fallback: Callable[[], T], *args: Any, max_nodes: int = MAX_ARG_NODES) -> T:
    """fn(*args) within the size and time budget, else fallback() (see the module docstring)."""
    if not _size_within(args, max_nodes):
        return fallback()
    old = _arm(_seconds())
    try:
        return fn(*args)
    except _Timeout:
        return fallback()
    finally:
        while old is not None:  # a timer firing while it is being stopped is absorbed here
            try:
                _disarm(old)
                old = None
            except _Timeout:
                continue


__all__ = ["CALL_SECONDS", "MAX_ARG_NODES", "bounded", "set_deadline"]
