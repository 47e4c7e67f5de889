"""The profile file schema: tables, keys with units, and the plausible range of every field.

Numbers carry their unit in the key (`bandwidth_GBps`, `capacity_GiB`, `clock_MHz`); the
loader converts them to SI base units (FLOP/s, B, B/s, Hz, s, W) and checks each against a
documented plausible range in those units (PLAUSIBLE below), so a typo of three orders of
magnitude, a denormal (5e-324), NaN or inf is refused with the file and the key named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .profile import PEAK_DTYPES

__all__ = [
    "CALIBRATION_META",
    "KINDS",
    "PLAUSIBLE",
    "SCHEMA",
    "TOP_KEYS",
    "ALL_TOP",
    "FieldError",
    "describe",
    "parse_table",
    "plausible_text",
    "range_text",
    "split_key",
]

KINDS = ("gpu", "tpu", "accelerator", "cpu", "soc")
MAX_TEXT = 4000  # longest accepted string value

# ---------------------------------------------------------------------------------------------
# Units (multiplier to the SI base unit)
# ---------------------------------------------------------------------------------------------

FLOPS = {"flops": 1.0, "gflops": 1e9, "tflops": 1e12, "pflops": 1e15}
OPS = {"ops": 1.0, "gops": 1e9, "tops": 1e12, "pops": 1e15}
SIZE = {
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
RATE = {"Bps": 1.0, "MBps": 1e6, "GBps": 1e9, "TBps": 1e12, "MiBps": 2.0**20, "GiBps": 2.0**30, "TiBps": 2.0**40}
FREQ = {"Hz": 1.0, "MHz": 1e6, "GHz": 1e9}
TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
POWER = {"W": 1.0, "kW": 1e3}

# Plausible ranges in SI units, inclusive. Wide enough for a phone SoC and a rack-scale
# accelerator; a value outside is almost certainly a unit slip (e.g. bandwidth_GBps = 3.35
# meant as TB/s) and is refused with the range in the message.
PLAUSIBLE: dict[str, tuple[float, float, str]] = {
    "peak": (1e8, 1e17, "FLOP/s"),  # 0.1 GFLOP/s (a microcontroller) .. 100 PFLOP/s
    "capacity": (1e6, 1e14, "B"),  # 1 MB .. 100 TB
    "bandwidth": (1e8, 1e14, "B/s"),  # 0.1 GB/s .. 100 TB/s
    "cache": (1e3, 1e11, "B"),  # 1 KB .. 100 GB (wafer-scale SRAM)
    "clock": (1e7, 1e10, "Hz"),  # 10 MHz .. 10 GHz
    "special_function_per_s": (1e6, 1e16, "1/s"),
    "link_bandwidth": (1e6, 1e14, "B/s"),
    "link_latency": (1e-9, 1e-1, "s"),
    "launch_latency": (1e-8, 1e-2, "s"),  # 10 ns .. 10 ms per kernel launch
    "tdp": (0.1, 1e5, "W"),
    "usd_per_hour": (1e-4, 1e5, "USD/h"),
    "units": (1, 10**7, ""),
    "links": (1, 10**4, ""),
    "matrix_generation": (1, 20, ""),
}

# Field kinds: ("q", units, range) = number with a unit suffix in the key; "int"/"num" =
# number whose unit is spelled out in the key; "str" = non-empty string.
_PEAK_FIELDS: dict[str, Any] = {
    dt: ("q", {**FLOPS, **OPS} if dt.startswith("int") else FLOPS, "peak") for dt in PEAK_DTYPES
}
_LINK_FIELDS: dict[str, Any] = {
    "name": "str",
    "bandwidth_per_direction": ("q", RATE, "link_bandwidth"),
    "latency": ("q", TIME, "link_latency"),
    "links": ("int", "links"),
}
SCHEMA: dict[str, dict[str, Any]] = {
    "matrix": _PEAK_FIELDS,
    "vector": _PEAK_FIELDS,
    "memory": {
        "capacity": ("q", SIZE, "capacity"),
        "bandwidth": ("q", RATE, "bandwidth"),
        "l2": ("q", SIZE, "cache"),
        "last_level_cache": ("q", SIZE, "cache"),
        "type": "str",
    },
    "compute": {
        "units": ("int", "units"),
        "unit_name": "str",
        # the highest clock the part reaches (boost / max SM clock); peaks are quoted at it
        "clock": ("q", FREQ, "clock"),
        "base_clock": ("q", FREQ, "clock"),
        # the clock held under sustained dense matrix work at the default power limit
        "sustained_clock": ("q", FREQ, "clock"),
        "special_function_per_s": ("num", "special_function_per_s"),
        "architecture": "str",
        "matrix_generation": ("int", "matrix_generation"),
        "launch_latency": ("q", TIME, "launch_latency"),
    },
    "interconnect": _LINK_FIELDS,
    "pcie": _LINK_FIELDS,
    "network": _LINK_FIELDS,
    "power": {"tdp": ("q", POWER, "tdp")},
    "price": {"usd_per_hour": ("num", "usd_per_hour")},
}
TOP_KEYS = ("name", "display_name", "vendor", "kind", "aliases", "unconfirmed", "notes")
FREE_TABLES = ("sources", "calibration")
ALL_TOP = TOP_KEYS + tuple(SCHEMA) + FREE_TABLES


class FieldError(Exception):
    """Internal: a validation problem; turned into HardwareError with the file name."""


def describe(v: Any) -> str:
    t = type(v).__name__
    r = repr(v)
    return f"{t} {r if len(r) <= 60 else r[:57] + '...'}"


def allowed_text(table: str) -> str:
    """The keys a table accepts, for error messages."""
    if table in ("matrix", "vector"):
        return (
            f"<dtype>_<unit> with dtype one of {', '.join(PEAK_DTYPES)} and unit one of "
            f"{', '.join(FLOPS)} (int8/int4 also {', '.join(OPS)}), e.g. bf16_tflops"
        )
    out = []
    for base, kind in SCHEMA[table].items():
        out.append(f"{base}_<{'|'.join(kind[1])}>" if isinstance(kind, tuple) and kind[0] == "q" else base)
    return ", ".join(out)


def split_key(table: str, key: str) -> tuple[str, Any, float]:
    """Map `key` in `table` to (base name, field kind, multiplier); raise if unknown."""
    schema = SCHEMA[table]
    if key in schema:
        kind = schema[key]
        if isinstance(kind, tuple) and kind[0] == "q":
            raise FieldError(
                f"{table}.{key} has no unit; write the unit in the key, one of "
                f"{', '.join(key + '_' + u for u in kind[1])}"
            )
        return key, kind, 1.0
    for base, kind in schema.items():
        if isinstance(kind, tuple) and kind[0] == "q" and key.startswith(base + "_"):
            unit = key[len(base) + 1 :]
            units = kind[1]
            if unit in units:
                return base, kind, float(units[unit])
            raise FieldError(
                f"{table}.{key}: unknown unit '{unit}' for {base}; use one of {', '.join(base + '_' + u for u in units)}"
            )
    raise FieldError(f"unknown key {table}.{key}; allowed keys in [{table}]: {allowed_text(table)}")


def number(field: str, v: Any) -> float:
    """A finite real number (ints of any size are refused above float range)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FieldError(f"{field} must be a number, got {describe(v)}")
    try:
        f = float(v)
    except OverflowError:
        raise FieldError(f"{field} is too large: {describe(v)}") from None
    if math.isnan(f) or math.isinf(f):
        raise FieldError(f"{field} must be a finite number, got {v!r}")
    return f


def positive(field: str, v: Any) -> float:
    f = number(field, v)
    if f <= 0:
        raise FieldError(f"{field} must be > 0, got {v!r}")
    return f


def range_text(what: str, mult: float = 1.0, unit: str = "") -> str:
    """The plausible range of a field kind (a PLAUSIBLE key) in the unit of the key as
    written (`GBps`, with `mult` its SI multiplier), or in SI units for a key without one."""
    lo, hi, si = PLAUSIBLE[what]
    if unit:
        return f"{lo / mult:g} to {hi / mult:g} {unit}"
    return f"{lo:g} to {hi:g} {si}".rstrip()


def in_range(field: str, value: float, what: str, written: Any = None, *, mult: float = 1.0, unit: str = "") -> None:
    """Refuse `value` (SI units) outside PLAUSIBLE[what], naming the field, the value as
    written and the range in the key's unit."""
    lo, hi, _ = PLAUSIBLE[what]
    if not lo <= value <= hi:
        shown = written if written is not None else value
        hint = " (check the unit in the key)" if unit else ""
        raise FieldError(f"{field} = {shown!r} is outside the plausible range {range_text(what, mult, unit)}{hint}")


def plausible_text(key: str) -> str | None:
    """The plausible range of a profile key as written (`capacity_GiB`, `units`) in any
    table, for the message that refuses a number literal far too long to parse (see
    datafile.check_long_numbers); None for a key that is no number of a profile table."""
    for name in SCHEMA:
        try:
            base, kind, mult = split_key(name, key)
        except FieldError:
            continue
        if isinstance(kind, tuple):
            unit = key[len(base) + 1 :] if kind[0] == "q" else ""
            return f"the plausible range is {range_text(kind[-1], mult, unit)}"
    return None


def pos_int(field: str, v: Any, what: str | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise FieldError(f"{field} must be an integer, got {describe(v)}")
    if v <= 0:
        raise FieldError(f"{field} must be > 0, got {v!r}")
    if what is not None:
        in_range(field, v, what)
    elif v > 10**12:
        raise FieldError(f"{field} is implausibly large: {v!r}")
    return v


def string(field: str, v: Any, *, empty_ok: bool = False) -> str:
    if not isinstance(v, str):
        raise FieldError(f"{field} must be a string, got {describe(v)}")
    if not empty_ok and not v.strip():
        raise FieldError(f"{field} must not be empty")
    if len(v) > MAX_TEXT:
        raise FieldError(f"{field} is longer than {MAX_TEXT} characters")
    return v


def table(field: str, v: Any) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise FieldError(f"[{field}] must be a table, got {describe(v)}")
    for k in v:
        if not isinstance(k, str):
            raise FieldError(f"[{field}] has a key that is not a string: {describe(k)}")
    return v


def parse_table(name: str, raw: Any) -> dict[str, tuple[str, Any]]:
    """Validate one schema table; return base name -> (key as written, converted value)."""
    data = table(name, raw)
    out: dict[str, tuple[str, Any]] = {}
    for key, v in data.items():
        base, kind, mult = split_key(name, key)
        field = f"{name}.{key}"
        if base in out:
            raise FieldError(f"{field} given twice (also as {name}.{out[base][0]})")
        value: Any
        if isinstance(kind, tuple) and kind[0] in ("q", "num"):
            value = positive(field, v) * mult
            if not math.isfinite(value):
                raise FieldError(f"{field} is too large: {v!r}")
            in_range(field, value, kind[-1], v, mult=mult, unit=key[len(base) + 1 :] if kind[0] == "q" else "")
        elif isinstance(kind, tuple) and kind[0] == "int":
            value = pos_int(field, v, kind[1])
        elif kind == "str":
            value = string(field, v).strip()
        else:  # pragma: no cover - the schema has no other kinds
            raise FieldError(f"{field}: unsupported field kind")
        out[base] = (key, value)
    return out


# ---------------------------------------------------------------------------------------------
# [calibration] tables: measured efficiency of the engine on one device
# ---------------------------------------------------------------------------------------------

# Text fields that record provenance; never read as numbers.
CALIBRATION_META = ("date", "device", "software", "method", "holdout", "notes", "fit", "source", "sets")
