"""Systems: nodes of devices with their network tiers (the scale-up domain inside a node
and the scale-out fabric between nodes), from `hardware_profiles/systems/*.toml`."""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..engine.collectives import Tier
from ..errors import HardwareError
from .loader import get_profile
from .profile import HardwareProfile


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
    from .loader import builtin_dir

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


def _num(table: dict, key: str, where: str) -> float:
    v = table.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise HardwareError(f"{key} must be a positive number", where=where)
    return float(v)


_TIER_KEYS = {
    "intra_node": ("bandwidth_per_direction_GBps", "latency_us"),
    "inter_node": ("bandwidth_per_direction_per_device_GBps", "latency_us"),
}
# NCCL bus bandwidth reaches about 80% of the link rate on large messages (nccl-tests,
# all_reduce_perf); the same figure the engine assumes for a lone device.
_LINK_EFFICIENCY = 0.8


def _tier(d: dict, table: str, where: str) -> Tier:
    t = d.get(table)
    if not isinstance(t, dict):
        raise HardwareError(f"[{table}] table missing (keys: name, {', '.join(_TIER_KEYS[table])})", where=where)
    bw_key, lat_key = _TIER_KEYS[table]
    unknown = set(t) - {"name", bw_key, lat_key}
    if unknown:
        raise HardwareError(
            f"unknown keys {sorted(unknown)} in [{table}]; allowed: name, {bw_key}, {lat_key}", where=where
        )
    return Tier(
        str(t.get("name", table)),
        _num(t, bw_key, f"{where} [{table}]") * 1e9,
        _num(t, lat_key, f"{where} [{table}]") * 1e-6,
        _LINK_EFFICIENCY,
    )


@lru_cache(maxsize=32)
def _load(path: str) -> System:
    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise HardwareError(f"invalid TOML: {e}", where=path) from None
    except OSError as e:
        raise HardwareError(f"cannot read system file: {e.strerror or e}", where=path) from None
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
        _tier(d, "intra_node", path),
        _tier(d, "inter_node", path),
    )


def get_system(name_or_device: Any) -> System:
    """A system by name, or a single device wrapped as a one-node system (8 per node for
    data-centre GPUs, with its own scale-up link and no scale-out fabric given)."""
    if isinstance(name_or_device, System):
        return name_or_device
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
    link = dev.interconnect or dev.pcie
    bw = float(link.bandwidth) if link is not None else 25e9
    intra = Tier(link.name if link else "pcie", bw, 5e-6, 0.8)
    net = dev.network
    inter = Tier(net.name, float(net.bandwidth), 10e-6, 0.8) if net else Tier("assumed 400 Gb/s NIC", 50e9, 10e-6, 0.8)
    return System(dev.name, dev.display_name, dev, 8, intra, inter)
