"""What the engine reads of a device: its datasheet figures and its calibration table.
hardware/profile.py's HardwareProfile is one (the engine sits below the hardware layer and
names no profile class)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# Profile kinds the engine times as a CPU (engine/cpu.py): BLAS on cores, not GPU kernels
CPU_KINDS = ("cpu", "soc")


class Device(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def memory_bandwidth(self) -> float: ...  # bytes/s, datasheet
    @property
    def compute_units(self) -> int | None: ...  # SMs / CUs, for wave quantization
    @property
    def special_function_rate(self) -> float | None: ...  # transcendentals/s
    @property
    def calibration(self) -> Mapping[str, Any] | None: ...  # the profile's [calibration] table

    def matrix_peak(self, dtype: str) -> float: ...  # FLOP/s of a matrix product of dtype
    def vector_peak(self, dtype: str) -> float: ...  # FLOP/s of elementwise work in dtype
