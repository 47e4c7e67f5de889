"""Systems: nodes of devices with their network tiers (the scale-up domain inside a node
and the scale-out fabric between nodes), from `hardware_profiles/systems/*.toml`; a
single device profile is wrapped as a node of its own with the assumptions of
network.py."""

from __future__ import annotations

import difflib
import math
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
    """A built-in system by name (case-insensitive), or a system file (.toml with
    `devices_per_node`); None when `name` is neither (it may still be a device)."""
    key = name.strip().lower()
    if key in system_names():
        return _load(str(_dir() / f"{key}.toml"))
    p = Path(name.strip())
    if p.suffix.lower() == ".toml" and p.is_file():
        try:
            head = p.read_bytes()[: 1 << 20]
        except OSError:
            return None
        if b"devices_per_node" in head:
            return _load(str(p))
    return None


def _num(table: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    v = table.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise HardwareError(f"{key} must be a positive number", where=where)
    return float(v)


def _tier(table: Any, bandwidth_key: str, default_name: str, where: str) -> Tier:
    if table is None:
        raise HardwareError(
            f"[{default_name}] table missing (keys: name, {bandwidth_key}, latency_us, efficiency)", where=where
        )
    if not isinstance(table, dict):
        raise HardwareError(f"[{default_name}] must be a table", where=where)
    allowed = {"name", bandwidth_key, "latency_us", "efficiency"}
    unknown = set(table) - allowed
    if unknown:
        raise HardwareError(
            f"[{default_name}]: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}", where=where
        )
    eff = _num(table, "efficiency", where, BUS_EFFICIENCY)
    if eff > 1:
        raise HardwareError(f"[{default_name}] efficiency must be at most 1", where=where)
    return Tier(
        str(table.get("name", default_name)),
        _num(table, bandwidth_key, where) * 1e9,
        _num(table, "latency_us", where) * 1e-6,
        eff,
    )


@lru_cache(maxsize=32)
def _load(path: str) -> System:
    d = read_data_file(path, error=HardwareError, fmt="toml")
    allowed = {"name", "display_name", "device", "devices_per_node", "intra_node", "inter_node"}
    unknown = set(d) - allowed
    if unknown:
        raise HardwareError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}", where=path)
    device = d.get("device")
    if not isinstance(device, str) or not device.strip():
        raise HardwareError("device must name a hardware profile (a built-in name or a file)", where=path)
    per_node = d.get("devices_per_node")
    if isinstance(per_node, bool) or not isinstance(per_node, int) or per_node <= 0:
        raise HardwareError("devices_per_node must be a positive integer", where=path)
    ref = Path(device.strip())
    if ref.suffix.lower() in (".toml", ".yaml", ".yml") and not ref.is_absolute():
        beside = Path(path).parent / ref  # a device file named relative to the system file
        if beside.is_file():
            device = str(beside)
    return System(
        str(d.get("name", Path(path).stem)),
        str(d.get("display_name", d.get("name", Path(path).stem))),
        get_profile(device),
        per_node,
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
