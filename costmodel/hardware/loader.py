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
    clock_MHz = 1980                # boost/max clock (Hz MHz GHz); special_function_per_s = transcendentals/s
    base_clock_MHz = 1365           # optional: base clock; sustained_clock_MHz: held under load at TDP
    architecture = "hopper"         # optional: matrix_generation = 4 (tensor/matrix-core generation)
    launch_latency_us = 2.5         # optional: GPU time of an empty kernel (s ms us ns)
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
    [calibration]                   # measured efficiency (keys: hardware/calibration_schema.py)

At least one [matrix] or [vector] peak is required. Numbers must be finite, > 0 and inside
the plausible range of their field (hardware/schema.py PLAUSIBLE). Every problem raises
`HardwareError` naming the file and the field. Files are read by datafile.py, the one
capped reader of every input (regular files only, at most 1 MiB, UTF-8, YAML restricted to
plain data, number literals of 100+ digits refused naming the key and its plausible range).
The schema and its ranges live in schema.py and calibration_schema.py, the dict <->
profile conversion in build.py; this module finds files.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from ..datafile import MAX_FILE_BYTES, MAX_YAML_NODES, data_from_text, decode_data, read_data_file
from ..errors import HardwareError
from .build import profile_from_dict, profile_to_dict
from .calibration_schema import calibration_plausible_text
from .profile import HardwareProfile
from .schema import ALL_TOP as _ALL_TOP  # noqa: F401 - tests fuzz with the allowed top-level keys
from .schema import KINDS, describe, plausible_text

__all__ = [
    "KINDS",
    "MAX_FILE_BYTES",
    "MAX_YAML_NODES",
    "calibrated_profiles",
    "get_profile",
    "list_profiles",
    "load_profile_file",
    "profile_from_dict",
    "profile_names",
    "profile_to_dict",
]

PROFILE_SUFFIXES = (".toml", ".yaml", ".yml")


def _plausible(key: str) -> str | None:
    """The plausible range of a profile or [calibration] key as written, for datafile's
    refusal of a number literal far too long."""
    return plausible_text(key) or calibration_plausible_text(key)


def _format(suffix: str) -> str:
    return "toml" if suffix == ".toml" else "yaml"


def _parse_text(text: str, suffix: str, where: str, path: str | None) -> HardwareProfile:
    data = data_from_text(text, _format(suffix), where, error=HardwareError, plausible=_plausible)
    return profile_from_dict(data, where=where, path=path)


def load_profile_file(path: str | os.PathLike[str]) -> HardwareProfile:
    """Load and validate a user profile file (.toml, .yaml or .yml, at most 1 MiB)."""
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise HardwareError(f"not a file path: {describe(path)}") from None
    where = str(p)
    suffix = p.suffix.lower()
    if suffix not in PROFILE_SUFFIXES:
        raise HardwareError(
            f"unsupported profile file type '{p.suffix or '(none)'}'; use .toml, .yaml or .yml", where=where
        )
    data = read_data_file(
        where,
        error=HardwareError,
        max_bytes=MAX_FILE_BYTES,
        fmt=_format(suffix),
        what="profile file",
        plausible=_plausible,
    )
    return profile_from_dict(data, where=where, path=str(p.resolve()))


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
def _index() -> tuple[dict[str, str], dict[str, Any], frozenset[str]]:
    """name/alias (lower case) -> file stem, stem -> resource, and the stems whose text
    mentions a calibration table. Reads only the top-level keys of each file (the text
    before its first [table]), so building it stays cheap."""
    files = _builtin_files()
    index: dict[str, str] = {}
    alias_of: dict[str, str] = {}
    calibrated: set[str] = set()
    for stem in sorted(files):
        index[stem.lower()] = stem
        text = files[stem].read_text(encoding="utf-8")
        if "calibration" in text:  # any spelling of the table (header, dotted key) names it
            calibrated.add(stem)
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
    return index, files, frozenset(calibrated)


@cache
def _load_builtin(stem: str) -> HardwareProfile:
    files = _index()[1]
    res = files[stem]
    where = f"built-in profile {res.name}"
    text = decode_data(res.read_bytes(), where, error=HardwareError, what="profile file")
    return _parse_text(text, ".toml", where, str(res))


def profile_names() -> list[str]:
    """Canonical names of the built-in profiles, sorted (cheap: parses no figures)."""
    return sorted(_index()[1])


def list_profiles() -> list[HardwareProfile]:
    """Every built-in profile, parsed and validated, sorted by name."""
    return sorted((_load_builtin(s) for s in _index()[1]), key=lambda p: p.name)


def calibrated_profiles() -> list[HardwareProfile]:
    """The built-in profiles with a [calibration] table (measured devices), sorted by name.
    Only the files that mention the table are parsed: 8 of 52, where parsing every
    profile cost a command that asks for one device ~50 ms (list_profiles, timed 2026-12-05
    on a 2-vCPU VM; docs/benchmarks.md)."""
    found = (_load_builtin(s) for s in sorted(_index()[2]))
    return sorted((p for p in found if p.calibration), key=lambda p: p.name)


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
    index = _index()[0]
    stem = index.get(s.lower())
    if stem is not None:
        return _load_builtin(stem)
    if _looks_like_path(s) or os.path.isfile(s):
        return load_profile_file(s)
    raise _unknown(s, index)
