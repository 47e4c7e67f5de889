"""Systems: nodes of devices with their network tiers (the scale-up domain inside a node
and the scale-out fabric between nodes), from `hardware_profiles/systems/*.toml`."""

from __future__ import annotations

import difflib
import math
import os
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


# Plausible ranges (SI units after conversion): a node holds 1 to 2^16 devices (an NVL576
# rack is 576); links run from a slow NIC to well past NVLink 5 (900 GB/s per direction);
# latencies from 100 ns to 1 s.
_DEVICES_PER_NODE = (1, 1 << 16)
_BANDWIDTH_GBPS = (1e-3, 1e6)
_LATENCY_US = (0.1, 1e6)
_TIER_KEYS = {
    "intra_node": ("name", "bandwidth_per_direction_GBps", "latency_us"),
    "inter_node": ("name", "bandwidth_per_direction_per_device_GBps", "latency_us"),
}
MAX_FILE_BYTES = 1 << 20


def _num(table: dict, key: str, where: str, lo: float, hi: float) -> float:
    v = table.get(key)
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


def _text(d: dict, key: str, default: str, where: str) -> str:
    v = d.get(key, default)
    if not isinstance(v, str) or len(v) > 200:
        raise HardwareError(f"{key} must be text of at most 200 characters", where=where)
    return v


def _tier(d: dict, key: str, where: str) -> Tier:
    t = d.get(key)
    if not isinstance(t, dict):
        raise HardwareError(f"missing table [{key}] ({', '.join(_TIER_KEYS[key][1:])})", where=where)
    w = f"{where}: [{key}]"
    unknown = sorted(set(t) - set(_TIER_KEYS[key]))
    if unknown:
        raise HardwareError(f"unknown keys {unknown}; allowed: {list(_TIER_KEYS[key])}", where=w)
    bw = _num(t, _TIER_KEYS[key][1], w, *_BANDWIDTH_GBPS) * 1e9
    lat = _num(t, "latency_us", w, *_LATENCY_US) * 1e-6
    return Tier(_text(t, "name", key.split("_")[0], w), bw, lat, 0.8)


def _parse(path: str) -> dict[str, Any]:
    from ..readfile import check_long_numbers, read_text

    text = read_text(path, max_bytes=MAX_FILE_BYTES, error=HardwareError, what="system file")
    check_long_numbers(text, path, HardwareError)
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as e:
        raise HardwareError(f"invalid TOML: {' '.join(str(e).split())[:200]}", where=path) from None


def _is_system(d: dict[str, Any]) -> bool:
    return "device" in d or "devices_per_node" in d or "intra_node" in d


@lru_cache(maxsize=32)
def _load(path: str) -> System:
    return _system(_parse(path), path)


def _system(d: dict[str, Any], path: str) -> System:
    allowed = {"name", "display_name", "device", "devices_per_node", "intra_node", "inter_node"}
    unknown = set(d) - allowed
    if unknown:
        raise HardwareError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}", where=path)
    dev = d.get("device")
    if not isinstance(dev, str) or not dev.strip():
        raise HardwareError("missing required key 'device' (a device profile name, e.g. \"h100\")", where=path)
    n = _num(d, "devices_per_node", path, *_DEVICES_PER_NODE)
    if not n.is_integer():
        raise HardwareError(f"devices_per_node must be an integer, got {d['devices_per_node']!r}", where=path)
    name = _text(d, "name", Path(path).stem, path)
    return System(
        name,
        _text(d, "display_name", name, path),
        get_profile(dev),
        int(n),
        _tier(d, "intra_node", path),
        _tier(d, "inter_node", path),
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
        path = name_or_device.strip()
        if key.endswith(".toml") and os.path.lexists(path) and _is_system(_parse(path)):
            return _load(path)  # the path as given: file names keep their capitals
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
