"""Resource limits, so a hostile input cannot make an analysis run for hours or blow up.
Defaults are generous for real models (the largest public ONNX exports have ~10^5 nodes)."""

from __future__ import annotations

from .symbolic import Shape

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Any

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

    @property
    def deadline(self) -> float:
        """The time.monotonic() by which the analysis must end (0: not started). A hot loop
        calls tick() only once it has passed."""
        return self._deadline

    def tick(self) -> None:
        """Called once per node (subgraph nodes included). The clock is read every time:
        one node can take seconds (a symbolic merge), so counting nodes between checks
        would let a small graph run far past the deadline. time.monotonic costs ~50 ns."""
        self._ticks += 1
        if self._deadline and time.monotonic() > self._deadline:
            raise LimitExceeded(f"analysis took longer than {self.max_seconds:g} s (raise it with --max-seconds)")

    def check_shape(self, shape: Shape, where: str) -> None:
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


# -- model spec sizes ------------------------------------------------------------------
# Plausible sizes of a model spec or config.json, so a 200-byte file with num_layers:
# 1000000000 is refused at once instead of planned layer by layer for hours. Generous
# for real models: the deepest published transformer has 1,000 layers (DeepNet, Wang et
# al. 2022, arXiv:2203.00555); the widest public LLMs have hidden sizes near 2^14 and FFN
# widths near 2^16; the most experts in one layer is 2^20 (PEER, He 2024,
# arXiv:2407.04153). Raise them with --max-layers / --max-width / --max-experts.
MAX_SPEC_LAYERS = 1024
MAX_SPEC_WIDTH = 1 << 20
MAX_SPEC_EXPERTS = 1 << 20
# layers in all, or per CNN stage / per UNet level (cnn.depths, unet.transformers)
_LAYER_FIELDS = frozenset(
    {
        "num_layers",
        "num_decoder_layers",
        "first_dense_layers",
        "layer_freq",
        "depths",
        "transformers",
        "mid_transformers",
    }
)
_EXPERT_FIELDS = frozenset({"num_experts", "top_k", "num_shared_experts", "expert_parallel"})
# vocabularies and positions are counts of rows, not widths: larger floors
_VOCAB_FIELDS = frozenset({"vocab_size", "num_classes", "num_labels", "token_types", "relative_buckets"})
_POSITION_FIELDS = frozenset({"max_position", "sliding_window", "position_offset", "global_every", "context_len"})


@dataclass(frozen=True)
class SpecLimits:
    max_layers: int = MAX_SPEC_LAYERS
    max_width: int = MAX_SPEC_WIDTH
    max_experts: int = MAX_SPEC_EXPERTS

    def bound(self, field: str) -> tuple[int, str]:
        """(largest accepted value, the flag that raises it) for an integer spec field."""
        if field in _LAYER_FIELDS:
            return self.max_layers, "--max-layers"
        if field in _EXPERT_FIELDS:
            return self.max_experts, "--max-experts"
        if field in _VOCAB_FIELDS:
            return max(1 << 24, self.max_width), "--max-width"
        if field in _POSITION_FIELDS:
            return max(1 << 30, self.max_width), "--max-width"
        return self.max_width, "--max-width"

    def describe(self, field: str) -> str:
        hi, flag = self.bound(field)
        return f"the plausible range is 0 to {hi:,}; raise it with {flag}"

    def check(self, field: str, value: int, where: str) -> None:
        hi, _ = self.bound(field)
        if value > hi:
            shown = f"{value:,}" if value < 10**15 else f"a {len(str(value))}-digit number"
            raise LimitExceeded(f"{shown} is too large: {self.describe(field)}", where=where)


_DEFAULT_SPEC_LIMITS = SpecLimits()
_spec_limits: ContextVar[SpecLimits | None] = ContextVar("costmodel_spec_limits", default=None)


def spec_limits() -> SpecLimits:
    """The limits model specs are checked against (SpecLimits() unless set)."""
    return _spec_limits.get() or _DEFAULT_SPEC_LIMITS


@contextmanager
def raised_spec_limits(**kw: int) -> Iterator[SpecLimits]:
    """Within the block, specs are checked against SpecLimits(**kw) (for the CLI's flags and
    for library callers with unusually large models)."""
    token = _spec_limits.set(SpecLimits(**kw))
    try:
        yield spec_limits()
    finally:
        _spec_limits.reset(token)


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
    made meanwhile is collected once the collector runs again.

    Tried and reverted: moving what a load or analysis made to the oldest generation on
    the way out (gc.freeze then gc.unfreeze, which skips the young collection that
    follows, 4-7% of an analysis). It also moves the caller's young objects there without
    counting them towards a full collection, so a caller's cyclic garbage could pile up
    (in the onnx-tool comparison, onnx-tool ran 20% faster in the same process)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@lru_cache(maxsize=8192)  # the same symbolic dims recur on many tensors
def _too_big(expr: Any, limit: int) -> bool:
    stack = [expr]
    seen = 0
    while stack:
        e = stack.pop()
        seen += 1
        if seen > limit:
            return True
        stack.extend(e.args)
    return False
