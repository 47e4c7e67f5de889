"""Network tiers (the data the α–β collective models of engine/collectives.py read) and
the one place that says what to assume when a system file or profile does not say.

A tier is one level of the network a collective crosses: the scale-up domain inside a
node (NVLink / xGMI / ICI, or PCIe), or the scale-out fabric between nodes. `bandwidth`
is per device per direction (B/s), `latency_s` the per-step α of a ring collective,
`efficiency` the achievable fraction of the link bandwidth (NCCL's "bus bandwidth").
"""

from __future__ import annotations

from dataclasses import dataclass

# Achieved bus bandwidth / link bandwidth. NCCL's own tuning model caps an A100 node's
# ring bus bandwidth at 235 GB/s of NVLink 3's 300 GB/s per direction: 0.78
# (NVIDIA/nccl src/graph/tuning.cc, ncclTopoTuneModel: "if (compCap80) busBw =
# std::min(busBw, 235.0f)"); the systems here use 0.8 for every tier.
BUS_EFFICIENCY = 0.8
# Per-step latency of a ring collective. NCCL's tuning model (tuning.cc, hwLat,
# Ring/Simple): NVLink 3.4 us, PCIe 5.7 us, network 9.6 us per step. Without a system
# file a device's scale-up link is taken at 5 us (between NVLink and PCIe) and the
# scale-out network at 10 us.
SCALE_UP_LATENCY_S = 5e-6
SCALE_OUT_LATENCY_S = 10e-6
# A device with no scale-up link or PCIe entry in its profile: PCIe 4.0 x16,
# 16 GT/s x 16 lanes x 128/130 = 31.5 GB/s per direction (PCI-SIG PCIe 4.0 base spec).
ASSUMED_PCIE_NAME = "PCIe 4.0 x16 (assumed)"
ASSUMED_PCIE_BANDWIDTH = 16e9 * 16 * 128 / 130 / 8
# A device with no NIC in its profile: one 400 Gb/s NIC per GPU (NDR InfiniBand or
# 400GbE), the DGX H100 / HGX H200 compute-fabric configuration: 50 GB/s per direction.
ASSUMED_NIC_NAME = "400 Gb/s NIC per device (assumed)"
ASSUMED_NIC_BANDWIDTH = 400e9 / 8


@dataclass(frozen=True)
class Tier:
    """One network tier: NVLink/xGMI/ICI inside a node, PCIe, or the scale-out fabric."""

    name: str
    bandwidth: float  # bytes/s per device per direction
    latency_s: float = SCALE_UP_LATENCY_S  # per ring step
    efficiency: float = BUS_EFFICIENCY  # achievable fraction of the link bandwidth

    def beta(self, nbytes: float) -> float:
        return nbytes / (self.bandwidth * self.efficiency) if nbytes else 0.0
