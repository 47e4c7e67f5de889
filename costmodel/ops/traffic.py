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
    acc = [0, 0, 0, 0, 0]  # int bytes of each kind, summed as they come
    terms: list[list[Any]] | None = None  # symbolic bytes of each kind, in order
    seen: set[str] = set()
    for i, (name, info) in enumerate(reads):
        if info is None or info.shape is None or info.dtype is None or name in seen:
            continue
        seen.add(name)
        b = info.dtype.nbytes(prod(info.shape))
        k = 2 if i in kv_reads else 0 if info.role in RESIDENT else 1
        if type(b) is int:
            acc[k] += b
        else:
            if terms is None:
                terms = [[], [], [], [], []]
            terms[k].append(b)
    for k, o in enumerate(writes):
        if o is None or o.shape is None or o.dtype is None:
            continue
        b = o.dtype.nbytes(prod(o.shape))
        j = 4 if k in kv_writes else 3
        if type(b) is int:
            acc[j] += b
        else:
            if terms is None:
                terms = [[], [], [], [], []]
            terms[j].append(b)
    if terms is None:
        return acc[0], acc[1], acc[2], acc[3], acc[4]
    # the same sums as adding each kind's sizes in order: ints first, then one Add
    rw, ra, rk, wa, wk = (add_all([n, *t]) if t else n for n, t in zip(acc, terms))
    return rw, ra, rk, wa, wk


def io_traffic(
    names: tuple[str, ...], reads: list[TensorInfo | None], writes: list[TensorInfo | None]
) -> tuple[Any, Any, Any, Any, Any]:
    """tensor_traffic of a node's inputs (`names`, their types `reads`) and outputs, no KV
    cache among them: the common case, summed without its bookkeeping while every size is
    an integer and no input is read twice (else tensor_traffic itself)."""
    if len(names) > 1 and len(set(names)) < len(names):
        return tensor_traffic(zip(names, reads), writes)
    rw = ra = wa = 0
    for info in reads:
        if info is None:
            continue
        shape, dt = info.shape, info.dtype
        if shape is None or dt is None:
            continue
        b = dt.nbytes(prod(shape))
        if type(b) is not int:
            return tensor_traffic(zip(names, reads), writes)
        if info.role in RESIDENT:
            rw += b
        else:
            ra += b
    for o in writes:
        if o is None:
            continue
        shape, dt = o.shape, o.dtype
        if shape is None or dt is None:
            continue
        b = dt.nbytes(prod(shape))
        if type(b) is not int:
            return tensor_traffic(zip(names, reads), writes)
        wa += b
    return rw, ra, 0, wa, 0
