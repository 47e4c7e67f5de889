"""Find, parse and validate hardware profiles.

A profile is a TOML file (or YAML with the same structure). Every number carries its unit in
its key; the loader converts to SI base units (FLOP/s, bytes, bytes/s, Hz, W):

    name = "my-gpu"                 # required; letters, digits, . _ + -
    display_name = "My GPU"         # optional (defaults to name)
    vendor = "ACME"                 # optional
    kind = "gpu"                    # gpu | tpu | accelerator | cpu | soc (default accelerator)
    aliases = ["mygpu"]             # optional, extra names for get_profile()
    unconfirmed = ["memory.l2_MiB"] # optional, fields left out or of low confidence

    [matrix]                        # dense tensor/matrix-unit peaks: <dtype>_<unit>
    bf16_tflops = 989.5             # dtypes: fp64 fp32 tf32 bf16 fp16 fp8 int8 int4 fp4
    int8_tops = 1979                # units: flops gflops tflops pflops (ints also ops gops tops pops)
    [vector]                        # SIMT/vector-unit peaks, same keys
    fp32_tflops = 67
    [memory]
    capacity_GiB = 80               # required; B KB MB GB TB (1e3^n) or KiB MiB GiB TiB (2^10n)
    bandwidth_GBps = 3350           # required; Bps MBps GBps TBps MiBps GiBps TiBps
    l2_MiB = 50                     # optional, as is last_level_cache_<size>, type = "HBM3"
    [compute]
    units = 132                     # optional integer; unit_name = "SM"
    clock_MHz = 1980                # Hz MHz GHz; special_function_per_s = transcendentals/s
    [interconnect]                  # also [pcie] and [network] (per-device scale-out NIC)
    name = "NVLink 4"
    bandwidth_per_direction_GBps = 450   # required in the table
    links = 18                      # optional; latency_<s|ms|us|ns> optional
    [power]
    tdp_W = 700
    [price]
    usd_per_hour = 2.5
    [sources]                       # field -> citation text
    "matrix.bf16_tflops" = "..."
    [calibration]                   # passed through verbatim (the engine interprets it)

At least one [matrix] or [vector] peak is required. Numbers must be finite and inside the
plausible range of their field (PLAUSIBLE below, in SI units: a denormal bandwidth or a
1e308 peak is a typo, not a device). Every problem raises `HardwareError` naming the file
and the field.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import HardwareError
from .profile import PEAK_DTYPES, HardwareProfile, Link

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_YAML_NODES",
    "get_profile",
    "list_profiles",
    "load_profile_file",
    "profile_from_dict",
    "profile_names",
    "profile_to_dict",
]

MAX_FILE_BYTES = 1 << 20  # profile files larger than 1 MiB are rejected
MAX_YAML_NODES = 100_000  # YAML values after alias expansion
PROFILE_SUFFIXES = (".toml", ".yaml", ".yml")
KINDS = ("gpu", "tpu", "accelerator", "cpu", "soc")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
_MAX_TEXT = 4000  # longest accepted string value

# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------

_FLOPS = {"flops": 1.0, "gflops": 1e9, "tflops": 1e12, "pflops": 1e15}
_OPS = {"ops": 1.0, "gops": 1e9, "tops": 1e12, "pops": 1e15}
_SIZE = {
    "B": 1,
    "bytes": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}
_RATE = {"Bps": 1.0, "MBps": 1e6, "GBps": 1e9, "TBps": 1e12, "MiBps": 2.0**20, "GiBps": 2.0**30, "TiBps": 2.0**40}
_FREQ = {"Hz": 1.0, "MHz": 1e6, "GHz": 1e9}
_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_POWER = {"W": 1.0, "kW": 1e3}

# Plausible range of each field, in SI units (FLOP/s, B, B/s, Hz, s, W, USD/h), inclusive.
# Generous on both sides: from a microcontroller to a wafer-scale engine (Cerebras WSE-3:
# 21 PB/s on-chip bandwidth, 125 PFLOP/s sparse fp16; https://www.cerebras.ai/chip).
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "peak": (1e6, 1e19),  # matrix/vector peaks
    "capacity": (2.0**20, 1e16),
    "bandwidth": (1e6, 1e17),
    "l2": (2.0**10, 1e12),
    "last_level_cache": (2.0**10, 1e12),
    "clock": (1e6, 1e11),
    "special_function_per_s": (1e3, 1e19),
    "bandwidth_per_direction": (1e3, 1e17),
    "latency": (1e-12, 10.0),
    "tdp": (1e-2, 1e7),
    "usd_per_hour": (1e-6, 1e6),
}

# Field kinds: ("q", units) = positive number with a unit suffix; "int" = positive integer;
# "num" = positive number whose unit is spelled out in the key; "str" = non-empty string.
_PEAK_FIELDS = {dt: ("q", {**_FLOPS, **_OPS} if dt.startswith("int") else _FLOPS) for dt in PEAK_DTYPES}
_LINK_FIELDS: dict[str, Any] = {
    "name": "str",
    "bandwidth_per_direction": ("q", _RATE),
    "latency": ("q", _TIME),
    "links": "int",
}
_SCHEMA: dict[str, dict[str, Any]] = {
    "matrix": _PEAK_FIELDS,
    "vector": _PEAK_FIELDS,
    "memory": {
        "capacity": ("q", _SIZE),
        "bandwidth": ("q", _RATE),
        "l2": ("q", _SIZE),
        "last_level_cache": ("q", _SIZE),
        "type": "str",
    },
    "compute": {"units": "int", "unit_name": "str", "clock": ("q", _FREQ), "special_function_per_s": "num"},
    "interconnect": _LINK_FIELDS,
    "pcie": _LINK_FIELDS,
    "network": _LINK_FIELDS,
    "power": {"tdp": ("q", _POWER)},
    "price": {"usd_per_hour": "num"},
}
_TOP_KEYS = ("name", "display_name", "vendor", "kind", "aliases", "unconfirmed", "notes")
_FREE_TABLES = ("sources", "calibration")
_ALL_TOP = _TOP_KEYS + tuple(_SCHEMA) + _FREE_TABLES


def _allowed_text(table: str) -> str:
    """The keys a table accepts, for error messages."""
    if table in ("matrix", "vector"):
        return (
            f"<dtype>_<unit> with dtype one of {', '.join(PEAK_DTYPES)} and unit one of "
            f"{', '.join(_FLOPS)} (int8/int4 also {', '.join(_OPS)}), e.g. bf16_tflops"
        )
    out = []
    for base, kind in _SCHEMA[table].items():
        out.append(f"{base}_<{'|'.join(kind[1])}>" if isinstance(kind, tuple) else base)
    return ", ".join(out)


def _split_key(table: str, key: str) -> tuple[str, str, Any, float]:
    """Map `key` in `table` to (base name, unit, field kind, multiplier); raise if unknown."""
    schema = _SCHEMA[table]
    if key in schema:
        kind = schema[key]
        if isinstance(kind, tuple):
            raise _err(
                f"{table}.{key} has no unit; write the unit in the key, one of "
                f"{', '.join(key + '_' + u for u in kind[1])}"
            )
        return key, "", kind, 1.0
    for base, kind in schema.items():
        if isinstance(kind, tuple) and key.startswith(base + "_"):
            unit = key[len(base) + 1 :]
            units = kind[1]
            if unit in units:
                return base, unit, kind, float(units[unit])
            raise _err(
                f"{table}.{key}: unknown unit '{unit}' for {base}; "
                f"use one of {', '.join(base + '_' + u for u in units)}"
            )
    raise _err(f"unknown key {table}.{key}; allowed keys in [{table}]: {_allowed_text(table)}")


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


class _FieldError(Exception):
    """Internal: a validation problem; turned into HardwareError with the file name."""


def _err(msg: str) -> _FieldError:
    return _FieldError(msg)


def _describe(v: Any) -> str:
    t = type(v).__name__
    r = repr(v)
    return f"{t} {r if len(r) <= 60 else r[:57] + '...'}"


def _positive(field: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(f"{field} must be a number, got {_describe(v)}")
    try:
        f = float(v)
    except OverflowError:
        raise _err(f"{field} is too large: {_describe(v)}") from None
    if math.isnan(f) or math.isinf(f):
        raise _err(f"{field} must be a finite number, got {v!r}")
    if f <= 0:
        raise _err(f"{field} must be > 0, got {v!r}")
    return f


def _pos_int(field: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(f"{field} must be an integer, got {_describe(v)}")
    if v <= 0:
        raise _err(f"{field} must be > 0, got {v!r}")
    if v > 10**12:
        raise _err(f"{field} is implausibly large: {v!r}")
    return v


def _string(field: str, v: Any, *, empty_ok: bool = False) -> str:
    if not isinstance(v, str):
        raise _err(f"{field} must be a string, got {_describe(v)}")
    if not empty_ok and not v.strip():
        raise _err(f"{field} must not be empty")
    if len(v) > _MAX_TEXT:
        raise _err(f"{field} is longer than {_MAX_TEXT} characters")
    return v


def _name(field: str, v: Any) -> str:
    s = _string(field, v).strip()
    if not _NAME_RE.match(s):
        raise _err(
            f"{field} {s!r} is not a valid profile name (letters, digits and . _ + -, "
            "starting with a letter or digit, at most 100 characters)"
        )
    return s.lower()


def _str_list(field: str, v: Any, *, names: bool = False) -> list[str]:
    if not isinstance(v, list):
        raise _err(f"{field} must be a list of strings, got {_describe(v)}")
    if len(v) > 1000:
        raise _err(f"{field} has more than 1000 entries")
    return [(_name if names else _string)(f"{field}[{i}]", x) for i, x in enumerate(v)]


def _table(field: str, v: Any) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise _err(f"[{field}] must be a table, got {_describe(v)}")
    for k in v:
        if not isinstance(k, str):
            raise _err(f"[{field}] has a key that is not a string: {_describe(k)}")
    return v


def _parse_table(table: str, raw: Any) -> dict[str, tuple[str, Any]]:
    """Validate one schema table; return base name -> (key as written, converted value)."""
    data = _table(table, raw)
    out: dict[str, tuple[str, Any]] = {}
    for key, v in data.items():
        base, key_unit, kind, mult = _split_key(table, key)
        field = f"{table}.{key}"
        if base in out:
            raise _err(f"{field} given twice (also as {table}.{out[base][0]})")
        if isinstance(kind, tuple) or kind == "num":
            value: Any = _positive(field, v) * mult
            if not math.isfinite(value):
                raise _err(f"{field} is too large: {v!r}")
            lo, hi = PLAUSIBLE["peak" if table in ("matrix", "vector") else base]
            if not lo <= value <= hi:
                unit = f" {key_unit}" if key_unit else ""
                raise _err(f"{field} = {v!r} is outside the plausible range {lo / mult:g} to {hi / mult:g}{unit}")
        elif kind == "int":
            value = _pos_int(field, v)
        elif kind == "str":
            value = _string(field, v).strip()
        else:  # pragma: no cover - schema has no other kinds
            value = v
        out[base] = (key, value)
    return out


def _link(table: str, fields: dict[str, tuple[str, Any]]) -> Link:
    if "bandwidth_per_direction" not in fields:
        raise _err(
            f"[{table}] needs bandwidth_per_direction_<unit> (e.g. "
            "bandwidth_per_direction_GBps = 64); leave the table out if unknown"
        )
    get = {k: v for k, (_, v) in fields.items()}
    return Link(
        name=get.get("name", table),
        bandwidth=get["bandwidth_per_direction"],
        latency_s=get.get("latency", 0.0),
        links=get.get("links"),
    )


def _plain(v: Any, field: str, depth: int = 0) -> Any:
    """Deep-copy a calibration value, allowing only plain data (tables, lists, scalars)."""
    if depth > 32:
        raise _err(f"{field} is nested too deeply")
    if isinstance(v, Mapping):
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise _err(f"{field} has a key that is not a string: {_describe(k)}")
            out[k] = _plain(x, f"{field}.{k}", depth + 1)
        return out
    if isinstance(v, list):
        return [_plain(x, f"{field}[{i}]", depth + 1) for i, x in enumerate(v)]
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    raise _err(f"{field} holds an unsupported value {_describe(v)}")


def _build(data: Any, path: str | None) -> HardwareProfile:
    if not isinstance(data, Mapping):
        raise _err(f"a profile must be a table of keys, got {_describe(data)}")
    for k in data:
        if not isinstance(k, str):
            raise _err(f"top-level key {_describe(k)} is not a string")
        if k not in _ALL_TOP:
            hint = difflib.get_close_matches(k, _ALL_TOP, n=1)
            raise _err(
                f"unknown key '{k}'"
                + (f" (did you mean '{hint[0]}'?)" if hint else "")
                + f"; allowed top-level keys and tables: {', '.join(_ALL_TOP)}"
            )
    for k in _TOP_KEYS:
        if k in data and isinstance(data[k], Mapping) and k != "notes":
            raise _err(f"'{k}' must be a value, not a table")
    if "name" not in data:
        raise _err("missing required key 'name'")
    name = _name("name", data["name"])
    display = _string("display_name", data["display_name"]).strip() if "display_name" in data else name
    vendor = _string("vendor", data["vendor"], empty_ok=True).strip() if "vendor" in data else ""
    kind = _string("kind", data.get("kind", "accelerator")).strip().lower()
    if kind not in KINDS:
        raise _err(f"kind must be one of {', '.join(KINDS)}, got {data.get('kind')!r}")
    aliases = tuple(_str_list("aliases", data["aliases"], names=True)) if "aliases" in data else ()
    if "unconfirmed" in data:
        _str_list("unconfirmed", data["unconfirmed"])
    if "notes" in data:
        n = data["notes"]
        _str_list("notes", n) if isinstance(n, list) else _string("notes", n, empty_ok=True)

    tables = {t: _parse_table(t, data[t]) for t in _SCHEMA if t in data}
    val = {t: {k: v for k, (_, v) in f.items()} for t, f in tables.items()}

    matrix = val.get("matrix", {})
    vector = val.get("vector", {})
    if not matrix and not vector:
        raise _err(
            "no compute peak: give at least one [matrix] or [vector] figure, "
            "e.g. [matrix] bf16_tflops = 989.5 or [vector] fp32_tflops = 67"
        )
    mem = val.get("memory", {})
    if "bandwidth" not in mem:
        raise _err("missing memory.bandwidth_<unit> (e.g. [memory] bandwidth_GBps = 3350)")
    if "capacity" not in mem:
        raise _err("missing memory.capacity_<unit> (e.g. [memory] capacity_GiB = 80)")
    comp = val.get("compute", {})

    sources: dict[str, str] = {}
    if "sources" in data:
        for k, v in _table("sources", data["sources"]).items():
            sources[k] = _string(f"sources.{k}", v, empty_ok=True)
    calibration = None
    if "calibration" in data:
        calibration = _plain(_table("calibration", data["calibration"]), "calibration")

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
    except _FieldError as e:
        raise HardwareError(str(e), where=where) from None
    except RecursionError:
        raise HardwareError("profile is nested too deeply", where=where) from None


def _size_key(base: str, n: int) -> tuple[str, float]:
    for unit in ("TiB", "GiB", "MiB", "KiB", "TB", "GB", "MB", "KB"):
        if n % _SIZE[unit] == 0:
            return f"{base}_{unit}", n // _SIZE[unit]
    return f"{base}_B", n


def _link_dict(link: Link) -> dict[str, Any]:
    out: dict[str, Any] = {"name": link.name, "bandwidth_per_direction_GBps": link.bandwidth / 1e9}
    if link.links:
        out["links"] = link.links
    if link.latency_s:
        out["latency_us"] = link.latency_s / 1e-6
    return out


def profile_to_dict(profile: HardwareProfile) -> dict[str, Any]:
    """The file structure (as load_profile_file reads it) for a profile, in the units the
    built-in files use; write it as TOML or YAML to start a user profile from a built-in one."""
    p = profile
    d: dict[str, Any] = {"name": p.name, "display_name": p.display_name, "vendor": p.vendor, "kind": p.kind}
    if p.aliases:
        d["aliases"] = list(p.aliases)
    for table, peaks in (("matrix", p.matrix_flops), ("vector", p.vector_flops)):
        if peaks:
            d[table] = {f"{dt}_{'tops' if dt.startswith('int') else 'tflops'}": v / 1e12 for dt, v in peaks.items()}
    k, v = _size_key("capacity", int(p.memory_capacity))
    mem: dict[str, Any] = {k: v, "bandwidth_GBps": p.memory_bandwidth / 1e9}
    for base, n in (("l2", p.l2_bytes), ("last_level_cache", p.last_level_cache_bytes)):
        if n:
            k, v = _size_key(base, int(n))
            mem[k] = v
    d["memory"] = mem
    comp: dict[str, Any] = {}
    if p.compute_units:
        comp["units"] = p.compute_units
    if p.compute_unit_name:
        comp["unit_name"] = p.compute_unit_name
    if p.clock_hz:
        comp["clock_MHz"] = p.clock_hz / 1e6
    if p.special_function_rate:
        comp["special_function_per_s"] = p.special_function_rate
    if comp:
        d["compute"] = comp
    for table, link in (("interconnect", p.interconnect), ("pcie", p.pcie), ("network", p.network)):
        if link is not None:
            d[table] = _link_dict(link)
    if p.tdp_watts:
        d["power"] = {"tdp_W": p.tdp_watts}
    if p.price_per_hour:
        d["price"] = {"usd_per_hour": p.price_per_hour}
    if p.sources:
        d["sources"] = dict(p.sources)
    if p.calibration is not None:
        d["calibration"] = _plain(p.calibration, "calibration")
    return d


# ---------------------------------------------------------------------------------------------
# Parsing files
# ---------------------------------------------------------------------------------------------


def _decode(raw: bytes, where: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise HardwareError(f"profile file is larger than {MAX_FILE_BYTES} bytes", where=where)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise HardwareError(f"profile file is not valid UTF-8 ({e.reason} at byte {e.start})", where=where) from None


def _parse_toml(text: str, where: str) -> Any:
    from ..datafile import check_long_numbers

    check_long_numbers(text, where, HardwareError)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise HardwareError(f"invalid TOML: {e}", where=where) from None
    except ValueError as e:  # a number past Python's int-string limit, an impossible date
        raise HardwareError(f"invalid TOML: {' '.join(str(e).split())[:200]}", where=where) from None
    except RecursionError:
        raise HardwareError("invalid TOML: nested too deeply", where=where) from None


_YAML_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")
}


def _yaml_path(path: str, key: Any) -> str:
    k = str(key)
    return f"{path}.{k}" if path else k


def _check_yaml_nodes(root: Any) -> None:
    """Refuse non-standard tags (e.g. !!python/object) and alias expansions past MAX_YAML_NODES
    (a 'billion laughs' document), naming the field. Aliases share node objects, so the
    expanded size is counted with memoisation instead of by expanding."""
    import yaml

    sizes: dict[int, int] = {}
    active: set[int] = set()

    def visit(node: Any, path: str) -> int:
        nid = id(node)
        if nid in sizes:
            return sizes[nid]
        if nid in active:
            raise _err(f"{path or 'document'}: recursive YAML alias")
        if node.tag not in _YAML_TAGS:
            raise _err(
                f"{path or 'document'}: YAML tag '{node.tag}' is not allowed "
                "(profiles may only hold plain tables, lists, strings and numbers)"
            )
        active.add(nid)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else "?"
                total += visit(k, path) + visit(v, _yaml_path(path, key))
                if total > MAX_YAML_NODES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                total += visit(v, f"{path}[{i}]")
                if total > MAX_YAML_NODES:
                    break
        active.discard(nid)
        if total > MAX_YAML_NODES:
            raise _err(f"{path or 'document'}: YAML aliases expand to more than {MAX_YAML_NODES} values (alias bomb?)")
        sizes[nid] = total
        return total

    visit(root, "")


def _parse_yaml(text: str, where: str) -> Any:
    from ..datafile import check_long_numbers

    check_long_numbers(text, where, HardwareError)
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a declared dependency
        raise HardwareError(
            "reading YAML profiles needs PyYAML (pip install pyyaml); or write the profile as TOML", where=where
        ) from None
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml_nodes(node)
        return loader.construct_document(node)
    except _FieldError as e:
        raise HardwareError(str(e), where=where) from None
    except yaml.YAMLError as e:
        raise HardwareError(f"invalid YAML: {e}", where=where) from None
    except RecursionError:
        raise HardwareError("invalid YAML: nested too deeply", where=where) from None
    except (ValueError, TypeError, OverflowError) as e:  # e.g. an impossible timestamp
        raise HardwareError(f"invalid YAML value: {e}", where=where) from None
    finally:
        if loader is not None:
            loader.dispose()


def _parse_text(text: str, suffix: str, where: str, path: str | None) -> HardwareProfile:
    data = _parse_toml(text, where) if suffix == ".toml" else _parse_yaml(text, where)
    return profile_from_dict(data, where=where, path=path)


def load_profile_file(path: str | os.PathLike[str]) -> HardwareProfile:
    """Load and validate a user profile file (.toml, .yaml or .yml, at most 1 MiB)."""
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise HardwareError(f"not a file path: {_describe(path)}") from None
    where = str(p)
    suffix = p.suffix.lower()
    if suffix not in PROFILE_SUFFIXES:
        raise HardwareError(
            f"unsupported profile file type '{p.suffix or '(none)'}'; use .toml, .yaml or .yml", where=where
        )
    from ..datafile import read_regular

    raw = read_regular(p, max_bytes=MAX_FILE_BYTES, error=HardwareError, what="profile file")
    text = _decode(raw, where)
    return _parse_text(text, suffix, where, str(p.resolve()))


# ---------------------------------------------------------------------------------------------
# Built-in profiles
# ---------------------------------------------------------------------------------------------


def builtin_dir() -> Path:
    """The folder of built-in profiles (systems/ inside it), in every install mode: the
    installed data package, or hardware_profiles/ in a source checkout or editable install."""
    from ..resources import data_dir

    return data_dir("hardware_profiles")


def _builtin_files() -> dict[str, Any]:
    d = builtin_dir()
    try:
        entries = list(d.iterdir())
    except OSError:  # pragma: no cover - broken installation
        return {}
    return {e.name[:-5]: e for e in entries if e.name.endswith(".toml") and e.is_file()}


_HEADER_END = re.compile(r"^\s*\[", re.MULTILINE)


@cache
def _index() -> tuple[dict[str, str], dict[str, Any]]:
    """name/alias (lower case) -> file stem, plus stem -> resource. Reads only the top-level
    keys of each file (the text before its first [table]), so building it stays cheap."""
    files = _builtin_files()
    index: dict[str, str] = {}
    alias_of: dict[str, str] = {}
    for stem in sorted(files):
        index[stem.lower()] = stem
        text = files[stem].read_text(encoding="utf-8")
        m = _HEADER_END.search(text)
        head = text[: m.start()] if m else text
        try:
            top = tomllib.loads(head)
        except tomllib.TOMLDecodeError:
            continue  # reported when the file itself is loaded
        names = [top.get("name")] + list(top.get("aliases") or [])
        for n in names:
            if isinstance(n, str) and n.strip():
                alias_of.setdefault(n.strip().lower(), stem)
    for k, stem in alias_of.items():  # canonical file names win over aliases
        index.setdefault(k, stem)
    return index, files


@cache
def _load_builtin(stem: str) -> HardwareProfile:
    _, files = _index()
    res = files[stem]
    where = f"built-in profile {res.name}"
    return _parse_text(_decode(res.read_bytes(), where), ".toml", where, str(res))


def profile_names() -> list[str]:
    """Canonical names of the built-in profiles, sorted (cheap: parses no figures)."""
    return sorted(_index()[1])


def list_profiles() -> list[HardwareProfile]:
    """Every built-in profile, parsed and validated, sorted by name."""
    return sorted((_load_builtin(s) for s in _index()[1]), key=lambda p: p.name)


def _looks_like_path(s: str) -> bool:
    return (
        s.lower().endswith(PROFILE_SUFFIXES)
        or "/" in s
        or os.sep in s
        or bool(os.altsep and os.altsep in s)
        or s.startswith("~")
    )


def _unknown(name: str, known: Iterable[str]) -> HardwareError:
    close = difflib.get_close_matches(name.lower(), list(known), n=5, cutoff=0.5)
    msg = f"unknown hardware '{name}'."
    if close:
        msg += f" Closest names: {', '.join(close)}."
    msg += " Run `costmodel hardware list` to see every profile, or pass the path of a .toml/.yaml profile file."
    return HardwareError(msg)


def get_profile(hardware: Any) -> HardwareProfile:
    """A HardwareProfile from a built-in name or alias (case-insensitive), the path of a
    .toml/.yaml/.yml profile file, or a HardwareProfile (returned as is)."""
    if isinstance(hardware, HardwareProfile):
        return hardware
    if isinstance(hardware, os.PathLike):
        return load_profile_file(hardware)
    if not isinstance(hardware, str):
        raise HardwareError(
            "hardware must be a profile name, the path of a profile file or a "
            f"HardwareProfile, not {type(hardware).__name__}"
        )
    s = hardware.strip()
    if not s:
        raise HardwareError("empty hardware name; run `costmodel hardware list` to see profiles")
    index, _ = _index()
    stem = index.get(s.lower())
    if stem is not None:
        return _load_builtin(stem)
    if _looks_like_path(s) or os.path.isfile(s):
        return load_profile_file(s)
    raise _unknown(s, index)
