"""Systems: nodes of devices with their network tiers (the scale-up domain inside a node
and the scale-out fabric between nodes), from `hardware_profiles/systems/*.toml`; a
single device profile is wrapped as a node of its own with the assumptions of
network.py."""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..datafile import read_data_file
from ..errors import HardwareError
from .loader import builtin_dir, get_profile
from .network import (
    ASSUMED_NIC_BANDWIDTH,
    ASSUMED_NIC_NAME,
    ASSUMED_PCIE_BANDWIDTH,
    ASSUMED_PCIE_NAME,
    BUS_EFFICIENCY,
    SCALE_OUT_LATENCY_S,
    SCALE_UP_LATENCY_S,
    Tier,
)
from .profile import HardwareProfile

# a device profile used as a system: the node size of data-centre GPU boards (DGX / HGX
# 8-GPU baseboards, MI300X platform), so tensor parallelism up to 8 stays on the node
DEVICES_PER_NODE = 8


@dataclass(frozen=True)
class System:
    name: str
    display_name: str
    device: HardwareProfile
    devices_per_node: int
    intra: Tier
    inter: Tier

    def tier_for(self, group: int, stride: int = 1) -> Tier:
        """The slowest tier a group of `group` ranks spaced `stride` apart crosses."""
        return self.intra if group * stride <= self.devices_per_node else self.inter

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, SI units. `peak_flops`, `memory_bandwidth` and `memory_capacity` are
        per device (the keys of a device profile), so a reader of `hardware show` gets the
        same keys for a system as for a device."""
        dev = self.device
        return {
            "name": self.name,
            "display_name": self.display_name,
            "kind": "system",
            "device": dev.name,
            "devices_per_node": self.devices_per_node,
            "peak_flops": dev.peak_flops,
            "memory_bandwidth": dev.memory_bandwidth,
            "memory_capacity": dev.memory_capacity,
            "intra_node": _tier_dict(self.intra),
            "inter_node": _tier_dict(self.inter),
            "device_profile": dev.to_dict(),
        }


def _tier_dict(t: Tier) -> dict[str, Any]:
    return {
        "name": t.name,
        "bandwidth_per_direction_per_device": t.bandwidth,
        "latency_s": t.latency_s,
        "efficiency": t.efficiency,
    }


@lru_cache(maxsize=1)
def _dir() -> Path:
    return builtin_dir() / "systems"


def system_names() -> list[str]:
    d = _dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def list_systems() -> list[System]:
    """Every built-in system, loaded and validated, sorted by name."""
    return [_load(str(_dir() / f"{n}.toml")) for n in system_names()]


def find_system(name: str) -> System | None:
    """A built-in system by name (case-insensitive), or a system file (a .toml file with a
    system's keys: device, devices_per_node or a tier table); None when `name` is neither
    (it may still be a device). The path is used as given: file names keep their capitals."""
    key = name.strip().lower()
    if key in system_names():
        return _load(str(_dir() / f"{key}.toml"))
    path = name.strip()
    if key.endswith(".toml") and os.path.lexists(path) and _is_system(_parse(path)):
        return _load(path)
    return None


# Plausible ranges (SI units after conversion): a node holds 1 to 2^16 devices (an NVL576
# rack is 576); links run from a slow NIC to well past NVLink 5 (900 GB/s per direction);
# latencies from 100 ns to 1 s; a bus efficiency is a fraction of the link's bandwidth.
_DEVICES_PER_NODE = (1, 1 << 16)
_BANDWIDTH_GBPS = (1e-3, 1e6)
_LATENCY_US = (0.1, 1e6)
_EFFICIENCY = (1e-3, 1.0)


def _num(table: dict[str, Any], key: str, where: str, lo: float, hi: float, default: float | None = None) -> float:
    v = table.get(key, default)
    if v is None:
        raise HardwareError(f"missing required key {key!r}", where=where)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise HardwareError(f"{key} must be a number, got {type(v).__name__}", where=where)
    try:
        f = float(v)
    except OverflowError:
        f = math.inf
    if not (math.isfinite(f) and lo <= f <= hi):
        raise HardwareError(f"{key} = {v!r:.40} is outside the plausible range {lo:g} to {hi:g}", where=where)
    return f


def _text(d: dict[str, Any], key: str, default: str, where: str) -> str:
    v = d.get(key, default)
    if not isinstance(v, str) or len(v) > 200:
        raise HardwareError(f"{key} must be text of at most 200 characters", where=where)
    return v


def _parse(path: str) -> dict[str, Any]:
    d = read_data_file(path, error=HardwareError, fmt="toml", what="system file")
    assert isinstance(d, dict)  # a TOML document is a table
    return d


def _is_system(d: dict[str, Any]) -> bool:
    return "device" in d or "devices_per_node" in d or "intra_node" in d


def _tier(table: Any, bandwidth_key: str, default_name: str, path: str) -> Tier:
    if table is None:
        raise HardwareError(
            f"[{default_name}] table missing (keys: name, {bandwidth_key}, latency_us, efficiency)", where=path
        )
    if not isinstance(table, dict):
        raise HardwareError(f"[{default_name}] must be a table", where=path)
    where = f"{path}: [{default_name}]"
    allowed = {"name", bandwidth_key, "latency_us", "efficiency"}
    unknown = set(table) - allowed
    if unknown:
        raise HardwareError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}", where=where)
    return Tier(
        _text(table, "name", default_name, where),
        _num(table, bandwidth_key, where, *_BANDWIDTH_GBPS) * 1e9,
        _num(table, "latency_us", where, *_LATENCY_US) * 1e-6,
        _num(table, "efficiency", where, *_EFFICIENCY, default=BUS_EFFICIENCY),
    )


@lru_cache(maxsize=32)
def _load(path: str) -> System:
    d = _parse(path)
    allowed = {"name", "display_name", "device", "devices_per_node", "intra_node", "inter_node"}
    unknown = set(d) - allowed
    if unknown:
        raise HardwareError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}", where=path)
    device = d.get("device")
    if not isinstance(device, str) or not device.strip():
        raise HardwareError(
            'device must name a hardware profile (a built-in name such as "h100", or a file)', where=path
        )
    n = d.get("devices_per_node")
    lo, hi = _DEVICES_PER_NODE
    if isinstance(n, (int, float)) and not isinstance(n, bool) and n > hi:
        raise HardwareError(f"devices_per_node = {n!r:.40} is outside the plausible range {lo} to {hi}", where=path)
    if isinstance(n, bool) or not isinstance(n, int) or n < lo:
        raise HardwareError(f"devices_per_node must be a positive integer, got {n!r:.40}", where=path)
    ref = Path(device.strip())
    if ref.suffix.lower() in (".toml", ".yaml", ".yml") and not ref.is_absolute():
        beside = Path(path).parent / ref  # a device file named relative to the system file
        if beside.is_file():
            device = str(beside)
    name = _text(d, "name", Path(path).stem, path)
    return System(
        name,
        _text(d, "display_name", name, path),
        get_profile(device),
        n,
        _tier(d.get("intra_node"), "bandwidth_per_direction_GBps", "intra_node", path),
        _tier(d.get("inter_node"), "bandwidth_per_direction_per_device_GBps", "inter_node", path),
    )


def device_system(dev: HardwareProfile) -> System:
    """One device profile as a node of DEVICES_PER_NODE: its scale-up link (else its PCIe,
    else an assumed PCIe 4.0 x16) inside the node, its NIC (else an assumed 400 Gb/s one)
    between nodes; latencies from the profile's links where given (network.py otherwise)."""
    link = dev.interconnect or dev.pcie
    if link is not None and link.bandwidth:
        intra = Tier(link.name, float(link.bandwidth), link.latency_s or SCALE_UP_LATENCY_S)
    else:
        intra = Tier(ASSUMED_PCIE_NAME, ASSUMED_PCIE_BANDWIDTH, SCALE_UP_LATENCY_S)
    net = dev.network
    if net is not None and net.bandwidth:
        inter = Tier(net.name, float(net.bandwidth), net.latency_s or SCALE_OUT_LATENCY_S)
    else:
        inter = Tier(ASSUMED_NIC_NAME, ASSUMED_NIC_BANDWIDTH, SCALE_OUT_LATENCY_S)
    return System(dev.name, dev.display_name, dev, DEVICES_PER_NODE, intra, inter)


def get_system(name_or_device: Any) -> System:
    """A system by name or file, or a single device (name, file or profile) wrapped as a
    one-node system (device_system)."""
    if isinstance(name_or_device, System):
        return name_or_device
    if isinstance(name_or_device, HardwareProfile):
        return device_system(name_or_device)
    if isinstance(name_or_device, str):
        found = find_system(name_or_device)
        if found is not None:
            return found
    try:
        dev = get_profile(name_or_device)
    except HardwareError as e:
        close = difflib.get_close_matches(str(name_or_device).lower(), system_names(), n=3, cutoff=0.5)
        if close:
            raise HardwareError(f"unknown system or device {name_or_device!r}; systems: {', '.join(close)}") from None
        raise e
    return device_system(dev)
