"""α–β models of collectives: time = latency terms + bytes moved / (bandwidth x efficiency).

Ring algorithms (Thakur et al. 2005; the NCCL docs' "bus bandwidth"): all-reduce moves
2(n-1)/n of the buffer per device in 2(n-1) steps, all-gather and reduce-scatter (n-1)/n
in n-1 steps, all-to-all (n-1)/n in one exchange, send/recv the buffer once.
`bandwidth` is per direction per device (bytes/s); `latency` is the per-step α. The
tiers and what to assume without a system file: hardware/network.py.
"""

from __future__ import annotations

from ..hardware.network import Tier

__all__ = ["Tier", "all_gather", "all_reduce", "all_to_all", "reduce_scatter", "send_recv"]


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
