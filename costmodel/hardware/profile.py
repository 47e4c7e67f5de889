"""HardwareProfile: a frozen, validated description of one device, in SI base units.

Data files (hardware_profiles/*.toml) carry units in their keys (`bf16_tflops`,
`bandwidth_GBps`, `capacity_GiB`); the loader converts to FLOP/s, bytes/s and bytes.
Peaks are dense (no 2:4 sparsity). Matrix peaks are the tensor/matrix-core rates;
vector peaks are the SIMT/vector-unit rates used by elementwise work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import HardwareError

# The dtypes a profile may list, in display order.
PEAK_DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4", "fp4")


@dataclass(frozen=True)
class Link:
    """A data path between devices. `bandwidth` is per direction, bytes/s."""

    name: str
    bandwidth: float
    latency_s: float = 0.0
    links: int | None = None


@dataclass(frozen=True)
class HardwareProfile:
    name: str  # canonical id, e.g. "h100-sxm5-80gb"
    display_name: str
    vendor: str
    kind: str  # "gpu" | "tpu" | "accelerator" | "cpu" | "soc"
    matrix_flops: Mapping[str, float]  # dtype -> dense FLOP/s on matrix/tensor units
    vector_flops: Mapping[str, float]  # dtype -> FLOP/s on vector/SIMT units
    memory_bandwidth: float  # bytes/s (HBM/DRAM), datasheet
    memory_capacity: int  # bytes
    special_function_rate: float | None = None  # transcendentals/s (SFU), if known
    l2_bytes: int | None = None
    last_level_cache_bytes: int | None = None
    compute_units: int | None = None
    compute_unit_name: str = ""
    clock_hz: float | None = None  # boost / max clock: the clock the datasheet peaks are quoted at
    base_clock_hz: float | None = None
    sustained_clock_hz: float | None = None  # held under sustained matrix work at the default power limit
    architecture: str = ""  # e.g. "ampere", "hopper", "cdna3": the matrix-unit generation's family
    matrix_generation: int | None = None  # tensor-core / matrix-core generation within its vendor
    launch_latency_s: float | None = None  # GPU time of an empty kernel launch
    memory_type: str = ""  # "HBM3e", "GDDR6", "LPDDR5 (unified)", ...
    interconnect: Link | None = None  # scale-up: NVLink / xGMI / ICI
    pcie: Link | None = None
    network: Link | None = None  # scale-out NIC per device, when part of a system
    tdp_watts: float | None = None
    price_per_hour: float | None = None  # USD per device-hour, optional
    aliases: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    calibration: Mapping[str, Any] | None = None  # measured ceilings / efficiency tables
    path: str | None = None

    @property
    def peak_flops(self) -> dict[str, float]:
        """Best dense rate per dtype over both units (the JSON `peak_flops`)."""
        out: dict[str, float] = {}
        for dt in PEAK_DTYPES:
            v = max(self.matrix_flops.get(dt, 0.0), self.vector_flops.get(dt, 0.0))
            if v:
                out[dt] = v
        return out

    def matrix_peak(self, dtype: str) -> float:
        """The rate a matrix product of this dtype runs at: the matrix units' peak for it,
        else the vector units' rate for it (a dtype without a matrix path runs on the CUDA
        cores), else the path real libraries take on the next wider dtype the device has
        (fp8 with no fp8 units runs as fp16; tf32 absent runs as fp32). Never a faster
        path: a dtype the profile lists no rate for, nor any wider one, is an error."""
        for dt in _FALLBACK.get(dtype, (dtype,)):
            v = self.matrix_flops.get(dt) or self.vector_flops.get(dt)
            if v:
                return float(v)
        listed = sorted(set(self.matrix_flops) | set(self.vector_flops))
        raise HardwareError(
            f"{self.name} lists no {dtype} rate (nor a wider path for it); analyse in a dtype it lists "
            f"({', '.join(listed)}) or add a {dtype} rate to the profile"
        )

    def vector_peak(self, dtype: str) -> float:
        for dt in _VFALLBACK.get(dtype, (dtype, "fp32")):
            v = self.vector_flops.get(dt)
            if v:
                return float(v)
        v = self.vector_flops.get("fp32") or self.matrix_flops.get("fp32")
        return float(v) if v else self.matrix_peak(dtype) / 8

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "vendor": self.vendor,
            "kind": self.kind,
            "aliases": list(self.aliases),
            "peak_flops": self.peak_flops,
            "matrix_flops": dict(self.matrix_flops),
            "vector_flops": dict(self.vector_flops),
            "special_function_rate": self.special_function_rate,
            "memory_bandwidth": self.memory_bandwidth,
            "memory_capacity": self.memory_capacity,
            "l2_bytes": self.l2_bytes,
            "last_level_cache_bytes": self.last_level_cache_bytes,
            "compute_units": self.compute_units,
            "compute_unit_name": self.compute_unit_name,
            "clock_hz": self.clock_hz,
            "base_clock_hz": self.base_clock_hz,
            "sustained_clock_hz": self.sustained_clock_hz,
            "architecture": self.architecture,
            "matrix_generation": self.matrix_generation,
            "launch_latency_s": self.launch_latency_s,
            "memory_type": self.memory_type,
            "interconnect": _link(self.interconnect),
            "pcie": _link(self.pcie),
            "network": _link(self.network),
            "tdp_watts": self.tdp_watts,
            "price_per_hour": self.price_per_hour,
            "calibrated": self.calibration is not None,
            "sources": dict(self.sources),
        }


def _link(link: Link | None) -> dict[str, Any] | None:
    if link is None:
        return None
    return {
        "name": link.name,
        "bandwidth_per_direction": link.bandwidth,
        "latency_s": link.latency_s,
        "links": link.links,
    }


_FALLBACK = {
    "fp8": ("fp8", "fp16", "bf16"),
    "fp8_e4m3": ("fp8", "fp16"),
    "fp8_e5m2": ("fp8", "fp16"),
    "fp4": ("fp4", "fp8", "fp16"),
    "int4": ("int4", "int8", "fp16"),
    "int8": ("int8", "fp16"),
    "tf32": ("tf32", "fp32"),
    "bf16": ("bf16", "fp16"),
    "fp16": ("fp16", "bf16"),
    "fp32": ("fp32",),
    "fp64": ("fp64",),
}
_VFALLBACK = {
    "bf16": ("bf16", "fp16", "fp32"),
    "fp16": ("fp16", "bf16", "fp32"),
    "fp32": ("fp32",),
    "fp64": ("fp64", "fp32"),
    "tf32": ("fp32",),
}
