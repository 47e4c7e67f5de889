"""Resource limits, so a hostile input cannot make an analysis run for hours or blow up.
Defaults are generous for real models (the largest public ONNX exports have ~10^5 nodes)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import dataclass, field

from .errors import LimitExceeded

MAX_NODES = 2_000_000
MAX_EXPR_NODES = 2_000  # sympy tree nodes in one symbolic dim
MAX_SECONDS = 600.0
MAX_SUBGRAPH_DEPTH = 32
# Protobuf cannot serialize a message of 2 GiB or more: a larger .onnx file is not a model
# (weights past that size live in external data files, which are never read).
MAX_FILE_BYTES = 2 << 30


@dataclass
class Limits:
    max_nodes: int = MAX_NODES
    max_expr_nodes: int = MAX_EXPR_NODES
    max_seconds: float = MAX_SECONDS
    max_subgraph_depth: int = MAX_SUBGRAPH_DEPTH
    max_file_bytes: int = MAX_FILE_BYTES
    _deadline: float = field(default=0.0, repr=False)
    _ticks: int = field(default=0, repr=False)

    def start(self) -> Limits:
        self._deadline = time.monotonic() + self.max_seconds
        self._ticks = 0
        return self

    def check_nodes(self, n: int) -> None:
        if n > self.max_nodes:
            raise LimitExceeded(f"graph has {n} nodes, above the limit of {self.max_nodes} (raise it with --max-nodes)")

    def tick(self) -> None:
        """Called once per node (subgraph nodes included). The clock is read every time:
        one node can take seconds (a symbolic merge), so counting nodes between checks
        would let a small graph run far past the deadline. time.monotonic costs ~50 ns."""
        self._ticks += 1
        if self._deadline and time.monotonic() > self._deadline:
            raise LimitExceeded(f"analysis took longer than {self.max_seconds:g} s (raise it with --max-seconds)")

    def check_shape(self, shape: tuple, where: str) -> None:
        for d in shape:
            if type(d) is not int and not d.is_Atom and _too_big(d, self.max_expr_nodes):
                raise LimitExceeded(
                    f"symbolic dimension has more than {self.max_expr_nodes} terms (raise it with --max-expr-nodes)",
                    where=where,
                )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one load or analysis. They allocate many
    small acyclic objects while the graph keeps many alive, so collections rescan the same
    live objects over and over (a third of the time on a 10k-node graph); anything cyclic
    made meanwhile is collected once the collector runs again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@lru_cache(maxsize=8192)  # the same symbolic dims recur on many tensors
def _too_big(expr, limit: int) -> bool:
    stack = [expr]
    seen = 0
    while stack:
        e = stack.pop()
        seen += 1
        if seen > limit:
            return True
        stack.extend(e.args)
    return False
