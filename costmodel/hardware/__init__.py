"""Hardware profiles: the built-in device files (hardware_profiles/*.toml) and user files.

from costmodel.hardware import get_profile, list_profiles
hw = get_profile("h100")            # name or alias, case-insensitive
hw = get_profile("my_gpu.toml")     # a user profile file (.toml, .yaml, .yml)
hw.matrix_peak("bf16"), hw.memory_bandwidth
"""

from __future__ import annotations

from .loader import (
    get_profile,
    list_profiles,
    load_profile_file,
    profile_from_dict,
    profile_names,
    profile_to_dict,
)
from .profile import PEAK_DTYPES, HardwareProfile, Link

__all__ = [
    "PEAK_DTYPES",
    "HardwareProfile",
    "Link",
    "get_profile",
    "list_profiles",
    "load_profile_file",
    "profile_from_dict",
    "profile_names",
    "profile_to_dict",
]
