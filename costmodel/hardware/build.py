"""A validated HardwareProfile from the file structure (TOML/YAML tables), and back."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from ..errors import HardwareError
from .calibration_schema import check_calibration
from .profile import HardwareProfile, Link
from .schema import (
    ALL_TOP,
    KINDS,
    SCHEMA,
    SIZE,
    TOP_KEYS,
    FieldError,
    describe,
    parse_table,
    string,
    table,
)

__all__ = ["profile_from_dict", "profile_to_dict"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def _name(field: str, v: Any) -> str:
    s = string(field, v).strip()
    if not _NAME_RE.match(s):
        raise FieldError(
            f"{field} {s!r} is not a valid profile name (letters, digits and . _ + -, "
            "starting with a letter or digit, at most 100 characters)"
        )
    return s.lower()


def _str_list(field: str, v: Any, *, names: bool = False) -> list[str]:
    if not isinstance(v, list):
        raise FieldError(f"{field} must be a list of strings, got {describe(v)}")
    if len(v) > 1000:
        raise FieldError(f"{field} has more than 1000 entries")
    return [(_name if names else string)(f"{field}[{i}]", x) for i, x in enumerate(v)]


def _link(name: str, fields: dict[str, tuple[str, Any]]) -> Link:
    if "bandwidth_per_direction" not in fields:
        raise FieldError(
            f"[{name}] needs bandwidth_per_direction_<unit> (e.g. "
            "bandwidth_per_direction_GBps = 64); leave the table out if unknown"
        )
    get = {k: v for k, (_, v) in fields.items()}
    return Link(
        name=get.get("name", name),
        bandwidth=get["bandwidth_per_direction"],
        latency_s=get.get("latency", 0.0),
        links=get.get("links"),
    )


def _clocks(comp: Mapping[str, Any], keys: Mapping[str, str]) -> None:
    """base <= sustained <= boost when given: a sustained clock above the boost clock (or
    below the base clock of a part that always holds its base) is a data error."""
    boost, base, sus = comp.get("clock"), comp.get("base_clock"), comp.get("sustained_clock")
    if boost is not None and base is not None and base > boost:
        raise FieldError(f"compute.{keys['base_clock']} is above compute.{keys['clock']} (the boost clock)")
    if boost is not None and sus is not None and sus > boost * (1 + 1e-9):
        raise FieldError(f"compute.{keys['sustained_clock']} is above compute.{keys['clock']} (the boost clock)")


def _build(data: Any, path: str | None) -> HardwareProfile:
    if not isinstance(data, Mapping):
        raise FieldError(f"a profile must be a table of keys, got {describe(data)}")
    for k in data:
        if not isinstance(k, str):
            raise FieldError(f"top-level key {describe(k)} is not a string")
        if k not in ALL_TOP:
            hint = difflib.get_close_matches(k, ALL_TOP, n=1)
            raise FieldError(
                f"unknown key '{k}'"
                + (f" (did you mean '{hint[0]}'?)" if hint else "")
                + f"; allowed top-level keys and tables: {', '.join(ALL_TOP)}"
            )
    for k in TOP_KEYS:
        if k in data and isinstance(data[k], Mapping) and k != "notes":
            raise FieldError(f"'{k}' must be a value, not a table")
    if "name" not in data:
        raise FieldError("missing required key 'name'")
    name = _name("name", data["name"])
    display = string("display_name", data["display_name"]).strip() if "display_name" in data else name
    vendor = string("vendor", data["vendor"], empty_ok=True).strip() if "vendor" in data else ""
    kind = string("kind", data.get("kind", "accelerator")).strip().lower()
    if kind not in KINDS:
        raise FieldError(f"kind must be one of {', '.join(KINDS)}, got {data.get('kind')!r}")
    aliases = tuple(_str_list("aliases", data["aliases"], names=True)) if "aliases" in data else ()
    if "unconfirmed" in data:
        _str_list("unconfirmed", data["unconfirmed"])
    if "notes" in data:
        n = data["notes"]
        _str_list("notes", n) if isinstance(n, list) else string("notes", n, empty_ok=True)

    tables = {t: parse_table(t, data[t]) for t in SCHEMA if t in data}
    val = {t: {k: v for k, (_, v) in f.items()} for t, f in tables.items()}

    matrix = val.get("matrix", {})
    vector = val.get("vector", {})
    if not matrix and not vector:
        raise FieldError(
            "no compute peak: give at least one [matrix] or [vector] figure, "
            "e.g. [matrix] bf16_tflops = 989.5 or [vector] fp32_tflops = 67"
        )
    mem = val.get("memory", {})
    if "bandwidth" not in mem:
        raise FieldError("missing memory.bandwidth_<unit> (e.g. [memory] bandwidth_GBps = 3350)")
    if "capacity" not in mem:
        raise FieldError("missing memory.capacity_<unit> (e.g. [memory] capacity_GiB = 80)")
    comp = val.get("compute", {})
    _clocks(comp, {k: w for k, (w, _) in tables.get("compute", {}).items()})

    sources: dict[str, str] = {}
    if "sources" in data:
        for k, v in table("sources", data["sources"]).items():
            sources[k] = string(f"sources.{k}", v, empty_ok=True)
    calibration = check_calibration(data["calibration"]) if "calibration" in data else None

    return HardwareProfile(
        name=name,
        display_name=display,
        vendor=vendor,
        kind=kind,
        matrix_flops=dict(matrix),
        vector_flops=dict(vector),
        memory_bandwidth=mem["bandwidth"],
        memory_capacity=round(mem["capacity"]),
        special_function_rate=comp.get("special_function_per_s"),
        l2_bytes=round(mem["l2"]) if "l2" in mem else None,
        last_level_cache_bytes=(round(mem["last_level_cache"]) if "last_level_cache" in mem else None),
        compute_units=comp.get("units"),
        compute_unit_name=comp.get("unit_name", ""),
        clock_hz=comp.get("clock"),
        base_clock_hz=comp.get("base_clock"),
        sustained_clock_hz=comp.get("sustained_clock"),
        architecture=comp.get("architecture", "").lower(),
        matrix_generation=comp.get("matrix_generation"),
        launch_latency_s=comp.get("launch_latency"),
        memory_type=mem.get("type", ""),
        interconnect=_link("interconnect", tables["interconnect"]) if "interconnect" in tables else None,
        pcie=_link("pcie", tables["pcie"]) if "pcie" in tables else None,
        network=_link("network", tables["network"]) if "network" in tables else None,
        tdp_watts=val.get("power", {}).get("tdp"),
        price_per_hour=val.get("price", {}).get("usd_per_hour"),
        aliases=aliases,
        sources=sources,
        calibration=calibration,
        path=path,
    )


def profile_from_dict(data: Any, *, where: str = "<profile>", path: str | None = None) -> HardwareProfile:
    """Validate an already-parsed profile mapping (the TOML/YAML structure) and build it."""
    try:
        return _build(data, path)
    except FieldError as e:
        raise HardwareError(str(e), where=where) from None
    except RecursionError:
        raise HardwareError("profile is nested too deeply", where=where) from None


def _size_key(base: str, n: int) -> tuple[str, float]:
    for unit in ("TiB", "GiB", "MiB", "KiB", "TB", "GB", "MB", "KB"):
        if n % SIZE[unit] == 0:
            return f"{base}_{unit}", n // SIZE[unit]
    return f"{base}_B", n


def _link_dict(link: Link) -> dict[str, Any]:
    out: dict[str, Any] = {"name": link.name, "bandwidth_per_direction_GBps": link.bandwidth / 1e9}
    if link.links:
        out["links"] = link.links
    if link.latency_s:
        out["latency_us"] = link.latency_s / 1e-6
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def profile_to_dict(profile: HardwareProfile) -> dict[str, Any]:
    """The file structure (as load_profile_file reads it) for a profile, in the units the
    built-in files use; write it as TOML or YAML to start a user profile from a built-in one."""
    p = profile
    d: dict[str, Any] = {"name": p.name, "display_name": p.display_name, "vendor": p.vendor, "kind": p.kind}
    if p.aliases:
        d["aliases"] = list(p.aliases)
    for tab, peaks in (("matrix", p.matrix_flops), ("vector", p.vector_flops)):
        if peaks:
            d[tab] = {f"{dt}_{'tops' if dt.startswith('int') else 'tflops'}": v / 1e12 for dt, v in peaks.items()}
    k, v = _size_key("capacity", int(p.memory_capacity))
    mem: dict[str, Any] = {k: v, "bandwidth_GBps": p.memory_bandwidth / 1e9}
    for base, n in (("l2", p.l2_bytes), ("last_level_cache", p.last_level_cache_bytes)):
        if n:
            k, v = _size_key(base, int(n))
            mem[k] = v
    if p.memory_type:
        mem["type"] = p.memory_type
    d["memory"] = mem
    comp: dict[str, Any] = {}
    if p.compute_units:
        comp["units"] = p.compute_units
    if p.compute_unit_name:
        comp["unit_name"] = p.compute_unit_name
    for key, hz in (("clock", p.clock_hz), ("base_clock", p.base_clock_hz), ("sustained_clock", p.sustained_clock_hz)):
        if hz:
            comp[f"{key}_MHz"] = hz / 1e6
    if p.special_function_rate:
        comp["special_function_per_s"] = p.special_function_rate
    if p.architecture:
        comp["architecture"] = p.architecture
    if p.matrix_generation:
        comp["matrix_generation"] = p.matrix_generation
    if p.launch_latency_s:
        comp["launch_latency_us"] = p.launch_latency_s / 1e-6
    if comp:
        d["compute"] = comp
    for tab, link in (("interconnect", p.interconnect), ("pcie", p.pcie), ("network", p.network)):
        if link is not None:
            d[tab] = _link_dict(link)
    if p.tdp_watts:
        d["power"] = {"tdp_W": p.tdp_watts}
    if p.price_per_hour:
        d["price"] = {"usd_per_hour": p.price_per_hour}
    if p.sources:
        d["sources"] = dict(p.sources)
    if p.calibration is not None:
        d["calibration"] = _plain(p.calibration)
    return d
