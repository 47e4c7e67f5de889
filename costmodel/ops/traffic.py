"""Memory traffic of one kernel from the tensors it reads and writes: the one place that
sorts bytes by role (weights, activations, KV cache). The analysis uses it for every
node; rules that read or write only part of their tensors use it through
`NodeContext.traffic`."""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from ..ir.graph import Role, TensorInfo
from ..symbolic import add_all, prod

# Resident tensors a kernel reads as weights: parameters, and buffers (batch-norm running
# statistics) that are resident like parameters but are not trained.
RESIDENT = frozenset({Role.WEIGHT, Role.BUFFER})


def tensor_traffic(
    reads: Iterable[tuple[str, TensorInfo | None]],
    writes: Iterable[TensorInfo | None],
    kv_reads: Container[int] = (),
    kv_writes: Container[int] = (),
) -> tuple[Any, Any, Any, Any, Any]:
    """(read weights, read activations, read KV, write activations, write KV) in bytes.

    `reads` are (value name, type) pairs: a value read twice (x * x) is read once.
    Positions in `kv_reads` / `kv_writes` (of `reads` / `writes`) are KV-cache tensors;
    resident tensors are weights; everything else (inputs, activations, constants) is
    activation traffic. Tensors of unknown shape or dtype move no counted bytes."""
    rw: list[Any] = []
    ra: list[Any] = []
    rk: list[Any] = []
    wa: list[Any] = []
    wk: list[Any] = []
    seen: set[str] = set()
    for i, (name, info) in enumerate(reads):
        if info is None or info.shape is None or info.dtype is None or name in seen:
            continue
        seen.add(name)
        b = info.dtype.nbytes(prod(info.shape))
        if i in kv_reads:
            rk.append(b)
        elif info.role in RESIDENT:
            rw.append(b)
        else:
            ra.append(b)
    for k, o in enumerate(writes):
        if o is None or o.shape is None or o.dtype is None:
            continue
        (wk if k in kv_writes else wa).append(o.dtype.nbytes(prod(o.shape)))
    return add_all(rw), add_all(ra), add_all(rk), add_all(wa), add_all(wk)
