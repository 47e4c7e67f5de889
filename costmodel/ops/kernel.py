"""What the engine needs to know about the kernel a node runs, as typed frozen records.

A cost rule says what its node computes (`Cost`); when the efficiency of the kernel a
library runs for it depends on its geometry, the rule also sets one of these records
(`ctx.set_kernel(...)`): the engine reads them field by field, with no defaults, so a
rule that forgets a field fails at construction, not as a silently wrong time. Dims are
ints or sympy expressions (hashable either way): records are keys for memoised costing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..symbolic import Dim


@dataclass(frozen=True, slots=True, kw_only=True)
class GemmShape:
    """A (batched) GEMM: `batch` independent M x K by K x N products."""

    batch: Dim
    m: Dim
    n: Dim
    k: Dim

    def dims(self) -> tuple[Dim, Dim, Dim, Dim]:
        return (self.batch, self.m, self.n, self.k)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvShape:
    """A convolution and the implicit GEMM cuDNN runs for it. `c`/`m` are input/output
    channels, `kernel`/`strides`/`dilations`/`spatial`/`out_spatial` per spatial axis;
    `bias` says the node adds a bias (PyTorch eager + cuDNN adds it in its own kernel)."""

    n: Dim
    c: Dim
    m: Dim
    group: int
    kernel: tuple[Dim, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    spatial: tuple[Dim, ...]
    out_spatial: tuple[Dim, ...]
    transposed: bool
    bias: bool
    gemm: GemmShape


@dataclass(frozen=True, slots=True, kw_only=True)
class AttentionShape:
    """One fused attention kernel. `kv_len` counts every key position a query may see
    (past included); `pairs` the (query, key) pairs scored per (batch, head) once causal
    and window masks skip what they mask; `left_window`/`right_window` are the sliding
    window (None: unbounded). `projection` is a QKV projection the kernel also runs."""

    batch: Dim
    q_heads: Dim
    kv_heads: Dim
    q_len: Dim
    kv_len: Dim
    head_dim: Dim
    v_head_dim: Dim
    causal: bool
    pairs: Dim
    left_window: int | None = None
    right_window: int | None = None
    projection: GemmShape | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RowwiseShape:
    """A row-wise kernel (norm, softmax, row reduction): one block per row of `cols`.
    `softmax` kernels re-read their row (max, sum, normalise)."""

    rows: Dim
    cols: Dim
    softmax: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RecurrentShape:
    """An RNN/GRU/LSTM layer: the input projection as one GEMM, then `seq` steps."""

    seq: Dim
    batch: Dim
    hidden: Dim
    input: Dim
    gates: int
    directions: int
    gemm: GemmShape


@dataclass(frozen=True, slots=True, kw_only=True)
class MoEShape:
    """Routed experts: `tokens` routed to `top_k` of `experts`; `gemm` is the routed
    up-projection (tokens x top_k rows)."""

    tokens: Dim
    experts: Dim
    top_k: Dim
    gemm: GemmShape


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyShape:
    """A data-movement kernel; `strided` when it permutes (reads or writes with strides)."""

    strided: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopShape:
    """A control-flow node whose body runs `trips` times (Loop, Scan, sequence maps)."""

    trips: Dim


Kernel = GemmShape | ConvShape | AttentionShape | RowwiseShape | RecurrentShape | MoEShape | CopyShape | LoopShape


def gemm_of(kernel: Kernel | None) -> GemmShape | None:
    """The GEMM a kernel runs, if it runs one."""
    if isinstance(kernel, GemmShape):
        return kernel
    if isinstance(kernel, (ConvShape, RecurrentShape, MoEShape)):
        return kernel.gemm
    if isinstance(kernel, AttentionShape):
        return kernel.projection
    return None


__all__ = [
    "AttentionShape",
    "ConvShape",
    "CopyShape",
    "GemmShape",
    "Kernel",
    "LoopShape",
    "MoEShape",
    "RecurrentShape",
    "RowwiseShape",
    "gemm_of",
]
