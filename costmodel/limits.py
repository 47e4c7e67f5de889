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
# Sympy tree nodes in one symbolic dim. Dims of real exports stay under ~50 nodes (batch,
# seq, floor((seq - 1)/2) + 1 ...); comparing, printing and substituting costs superlinear
# time in this size, and at 2,000 nodes one 3 KB graph of nested If merges took minutes
# to report. 500 keeps every operation on one dim well under a second.
MAX_EXPR_NODES = 500
MAX_SECONDS = 600.0
MAX_SUBGRAPH_DEPTH = 32
# Element count of one tensor, in bits. Exact counts are Python ints, but past ~14,000 bits
# (4300 decimal digits) Python refuses to print them, so JSON and every report would fail;
# a product of two such tensors (a MatMul's FLOPs) must stay well inside that.
MAX_NUMEL_BITS = 2048
# A count (FLOPs, bytes, params) above 2^996 (about 6.7e299) is refused: every time, share
# and chart is computed in floats, which end at 1.8e308, and nothing that runs comes
# within 250 orders of magnitude of it. Below it, counts stay exact ints.
MAX_COUNT_BITS = 996
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
        from .symbudget import set_deadline

        self._deadline = time.monotonic() + self.max_seconds
        self._ticks = 0
        set_deadline(self._deadline)  # no single sympy call runs past it
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
        bits = 0
        for d in shape:
            if type(d) is int:
                bits += (d - 1).bit_length() if d > 1 else 0  # log2 of the product, rounded up
        if bits > MAX_NUMEL_BITS:
            raise LimitExceeded(
                f"a tensor has more than 2^{MAX_NUMEL_BITS} elements (shape of rank {len(shape)})", where=where
            )
        for d in shape:
            if type(d) is not int and not d.is_Atom and _too_big(d, self.max_expr_nodes):
                raise LimitExceeded(
                    f"symbolic dimension has more than {self.max_expr_nodes} terms (raise it with --max-expr-nodes)",
                    where=where,
                )


def check_count(x: object, what: str) -> None:
    """LimitExceeded when an exact count (or a constant in a formula) is past MAX_COUNT_BITS."""
    from .symbolic import is_expr, sp

    if type(x) is int:
        big = x.bit_length() > MAX_COUNT_BITS
    elif is_expr(x):
        big = any(abs(int(a)).bit_length() > MAX_COUNT_BITS for a in x.atoms(sp().Integer))  # type: ignore[attr-defined]
    else:
        return
    if big:
        raise LimitExceeded(
            f"{what} exceed 2^{MAX_COUNT_BITS} (about 6.7e299), past the range results are reported in; "
            "check the model's dimensions"
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
