"""α–β models of collectives: time = latency terms + bytes moved / (bandwidth x efficiency).

Ring algorithms (Thakur et al. 2005; the NCCL docs' "bus bandwidth"): all-reduce moves
2(n-1)/n of the buffer per device in 2(n-1) steps, all-gather and reduce-scatter (n-1)/n
in n-1 steps, all-to-all (n-1)/n in one exchange, send/recv the buffer once.
`bandwidth` is per direction per device (bytes/s); `latency` is the per-step α.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tier:
    """One network tier: NVLink/xGMI/ICI inside a node, PCIe, or the scale-out fabric."""

    name: str
    bandwidth: float  # bytes/s per device per direction
    latency_s: float = 5e-6  # per step (NCCL ring step latency is a few microseconds)
    efficiency: float = 0.8  # achievable fraction of the link bandwidth (NCCL bus bandwidth)

    def beta(self, nbytes: float) -> float:
        return nbytes / (self.bandwidth * self.efficiency) if nbytes else 0.0


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


def scale_up_tier(hw: Any) -> Tier:
    """The device's scale-up link (NVLink/xGMI/ICI), else PCIe."""
    link = getattr(hw, "interconnect", None) or getattr(hw, "pcie", None)
    if link is None or not link.bandwidth:
        return Tier("pcie-gen4 (assumed)", 25e9, 10e-6, 0.7)
    return Tier(link.name, float(link.bandwidth), link.latency_s or 5e-6, 0.8)
