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
from .loader import _builtin_dir, get_profile
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


@lru_cache(maxsize=1)
def _dir() -> Path:
    return Path(_builtin_dir()) / "systems"


def system_names() -> list[str]:
    d = _dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def _num(table: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    v = table.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise HardwareError(f"{key} must be a positive number", where=where)
    return float(v)


def _tier(table: Any, bandwidth_key: str, default_name: str, where: str) -> Tier:
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
    if not isinstance(d.get("device"), str):
        raise HardwareError("device must name a hardware profile", where=path)
    per_node = _num(d, "devices_per_node", path)
    if not per_node.is_integer():
        raise HardwareError("devices_per_node must be an integer", where=path)
    return System(
        str(d.get("name", Path(path).stem)),
        str(d.get("display_name", d.get("name", ""))),
        get_profile(d["device"]),
        int(per_node),
        _tier(d.get("intra_node") or {}, "bandwidth_per_direction_GBps", "intra_node", path),
        _tier(d.get("inter_node") or {}, "bandwidth_per_direction_per_device_GBps", "inter_node", path),
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
        key = name_or_device.strip().lower()
        if key in system_names():
            return _load(str(_dir() / f"{key}.toml"))
        if key.endswith(".toml") and Path(key).exists() and "devices_per_node" in Path(key).read_text():
            return _load(name_or_device)
    try:
        dev = get_profile(name_or_device)
    except HardwareError as e:
        close = difflib.get_close_matches(str(name_or_device).lower(), system_names(), n=3, cutoff=0.5)
        if close:
            raise HardwareError(f"unknown system or device {name_or_device!r}; systems: {', '.join(close)}") from None
        raise e
    return device_system(dev)
