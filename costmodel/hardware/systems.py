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


@lru_cache(maxsize=1)
def _dir() -> Path:
    from .loader import _builtin_dir  # type: ignore[attr-defined]

    return Path(_builtin_dir()) / "systems"


def system_names() -> list[str]:
    d = _dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def _num(table: dict, key: str, where: str) -> float:
    v = table.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise HardwareError(f"{key} must be a positive number", where=where)
    return float(v)


@lru_cache(maxsize=32)
def _load(path: str) -> System:
    with open(path, "rb") as f:
        try:
            d = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise HardwareError(f"invalid TOML: {e}", where=path) from None
    allowed = {"name", "display_name", "device", "devices_per_node", "intra_node", "inter_node"}
    unknown = set(d) - allowed
    if unknown:
        raise HardwareError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}", where=path)
    intra, inter = d.get("intra_node") or {}, d.get("inter_node") or {}
    return System(
        str(d.get("name", Path(path).stem)),
        str(d.get("display_name", d.get("name", ""))),
        get_profile(str(d["device"])),
        int(_num(d, "devices_per_node", path)),
        Tier(
            str(intra.get("name", "intra")),
            _num(intra, "bandwidth_per_direction_GBps", path) * 1e9,
            _num(intra, "latency_us", path) * 1e-6,
            0.8,
        ),
        Tier(
            str(inter.get("name", "inter")),
            _num(inter, "bandwidth_per_direction_per_device_GBps", path) * 1e9,
            _num(inter, "latency_us", path) * 1e-6,
            0.8,
        ),
    )


def get_system(name_or_device: Any) -> System:
    """A system by name, or a single device wrapped as a one-node system (8 per node for
    data-centre GPUs, with its own scale-up link and no scale-out fabric given)."""
    if isinstance(name_or_device, System):
        return name_or_device
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
    link = dev.interconnect or dev.pcie
    bw = float(link.bandwidth) if link is not None else 25e9
    intra = Tier(link.name if link else "pcie", bw, 5e-6, 0.8)
    net = dev.network
    inter = Tier(net.name, float(net.bandwidth), 10e-6, 0.8) if net else Tier("assumed 400 Gb/s NIC", 50e9, 10e-6, 0.8)
    return System(dev.name, dev.display_name, dev, 8, intra, inter)
