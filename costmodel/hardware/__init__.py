"""Hardware profiles: the built-in device files (hardware_profiles/*.toml) and user files.

from costmodel.hardware import get_profile, list_profiles
hw = get_profile("h100")            # name or alias, case-insensitive
hw = get_profile("my_gpu.toml")     # a user profile file (.toml, .yaml, .yml)
hw.matrix_peak("bf16"), hw.memory_bandwidth

The package is also callable, as the top-level API's `costmodel.hardware(NAME)` (a
function of that name in costmodel/__init__.py would be replaced by this package the
first time anything imports it): a device profile, or a system when NAME is one.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .loader import (
    get_profile,
    list_profiles,
    load_profile_file,
    profile_from_dict,
    profile_names,
    profile_to_dict,
)
from .profile import PEAK_DTYPES, HardwareProfile, Link


def lookup(name: str) -> Any:
    """A system (nodes of devices and their network tiers) by name or file, else a device
    profile by name, alias or file: what `costmodel hardware show NAME` shows."""
    from .systems import find_system

    found = find_system(name)
    return found if found is not None else get_profile(name)


class _CallablePackage(types.ModuleType):
    def __call__(self, name: str) -> Any:
        return lookup(name)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = [
    "PEAK_DTYPES",
    "HardwareProfile",
    "Link",
    "get_profile",
    "list_profiles",
    "lookup",
    "load_profile_file",
    "profile_from_dict",
    "profile_names",
    "profile_to_dict",
]
