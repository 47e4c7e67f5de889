"""α–β models of collectives: time = latency terms + bytes moved / (bandwidth x efficiency).

Ring algorithms (Thakur et al. 2005; the NCCL docs' "bus bandwidth"): all-reduce moves
2(n-1)/n of the buffer per device in 2(n-1) steps, all-gather and reduce-scatter (n-1)/n
in n-1 steps, all-to-all (n-1)/n in one exchange, send/recv the buffer once.
`bandwidth` is per direction per device (bytes/s); `latency` is the per-step α. The
tiers and what to assume without a system file: hardware/network.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..hardware.network import Tier

__all__ = [
    "Tier",
    "all_gather",
    "all_gather_a",
    "all_reduce",
    "all_reduce_a",
    "all_to_all",
    "exposed",
    "reduce_scatter",
    "send_recv",
    "send_recv_a",
]


def all_reduce(nbytes: float, n: int, tier: Tier) -> float:
    if n <= 1 or nbytes <= 0:
        return 0.0
    return 2 * (n - 1) * tier.latency_s + tier.beta(2 * (n - 1) / n * nbytes)


def all_gather(nbytes: float, n: int, tier: Tier) -> float:
    """nbytes = the gathered (full) buffer size."""
    if n <= 1 or nbytes <= 0:
        return 0.0
    return (n - 1) * tier.latency_s + tier.beta((n - 1) / n * nbytes)


def reduce_scatter(nbytes: float, n: int, tier: Tier) -> float:
    """nbytes = the full (unscattered) buffer size."""
    return all_gather(nbytes, n, tier)


def all_to_all(nbytes: float, n: int, tier: Tier) -> float:
    """nbytes = what one device sends in total."""
    if n <= 1 or nbytes <= 0:
        return 0.0
    return (n - 1) * tier.latency_s + tier.beta((n - 1) / n * nbytes)


def send_recv(nbytes: float, tier: Tier) -> float:
    if nbytes <= 0:
        return 0.0
    return tier.latency_s + tier.beta(nbytes)


# -- array forms and overlap ---------------------------------------------------------------
# The same α–β models over numpy arrays (one entry per candidate layout), for planners that
# evaluate many layouts at once; `bw` is the achievable bandwidth (link x efficiency), a
# group of n <= 1 or an empty buffer costs nothing. The scalar functions above are these
# at one point.


def ring_steps_time(steps: Any, moved: Any, bw: Any, latency: Any) -> Any:
    """`steps` ring steps of latency plus `moved` bytes at `bw`, zero where steps <= 0."""
    steps = np.asarray(steps, dtype=float)
    t = steps * latency + np.asarray(moved, dtype=float) / bw
    return np.where((steps > 0) & (np.asarray(moved) > 0), t, 0.0)


def all_reduce_a(nbytes: Any, n: Any, bw: Any, latency: Any) -> Any:
    n = np.asarray(n, dtype=float)
    frac = np.where(n > 1, (n - 1) / np.maximum(n, 1), 0.0)
    return ring_steps_time(2 * (n - 1), 2 * frac * nbytes, bw, latency)


def all_gather_a(nbytes: Any, n: Any, bw: Any, latency: Any) -> Any:
    """nbytes = the gathered (full) buffer; reduce-scatter and all-to-all move the same."""
    n = np.asarray(n, dtype=float)
    frac = np.where(n > 1, (n - 1) / np.maximum(n, 1), 0.0)
    return ring_steps_time(n - 1, frac * nbytes, bw, latency)


def send_recv_a(nbytes: Any, bw: Any, latency: Any) -> Any:
    return ring_steps_time(np.ones_like(np.asarray(nbytes, dtype=float)), nbytes, bw, latency)


def exposed(comm: Any, window: Any, tail: Any = 0.0, overlap: Any = True) -> Any:
    """The part of a collective's time left on the critical path when it runs alongside
    `window` seconds of compute it can hide behind: what exceeds the window, and never
    less than `tail` (the part that can only start once the compute has ended, e.g. the
    last gradient bucket); all of it where `overlap` is off."""
    comm = np.asarray(comm, dtype=float)
    hidden_case = np.maximum(np.maximum(comm - window, 0.0), np.minimum(tail, comm))
    return np.where(overlap, hidden_case, comm)
