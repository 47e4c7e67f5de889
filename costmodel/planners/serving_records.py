"""The serving planner's results as frozen records: one phase's cost per device
(StepCost), memory per device (Memory) and the plan of one serving scenario (LLMPlan),
with the `llm` command's JSON keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LLMPlan", "Memory", "StepCost", "step_band"]


@dataclass(frozen=True)
class StepCost:
    """One phase of a request (the prefill, or the mean decode step), per device."""

    latency_s: float
    flops: float
    bytes: float
    compute_s: float = 0.0
    comm_s: float = 0.0
    kernels: int = 0
    # 80% prediction interval of latency_s: the kernels' band (engine/uncertainty.py)
    # plus the modelled communication, which has no measured residuals of its own
    band: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_s": self.latency_s,
            "latency_band_s": list(self.band) if self.band else None,
            "flops": self.flops,
            "bytes": self.bytes,
            "comm_s": self.comm_s,
            "kernels": self.kernels,
        }


@dataclass(frozen=True)
class Memory:
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    capacity_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.activation_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "activation_bytes": self.activation_bytes,
            "total_bytes": self.total_bytes,
            "capacity_bytes": self.capacity_bytes,
        }


@dataclass(frozen=True)
class LLMPlan:
    model: str
    hardware: str
    batch: int
    prompt_len: int
    output_len: int
    tp: int
    pp: int
    dtype: str
    weight_dtype: str
    kv_dtype: str
    params: int
    active_params: int
    prefill: StepCost
    decode: StepCost
    request_latency_s: float
    memory: Memory  # per device
    fits: bool
    max_batch: int
    price_per_hour: float | None = None
    layers: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    dp: int = 1  # data-parallel attention ranks (MoE serving with expert parallelism)
    ep: int = 1  # devices the routed experts are split over
    request_band_s: tuple[float, float] | None = None  # 80% interval of request_latency_s
    precision: str | None = None  # the quantized checkpoint's recipe (serving_precision.py)

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.dp

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second for the whole batch over the request."""
        return self.batch * self.output_len / self.request_latency_s if self.request_latency_s else 0.0

    def cost(self) -> dict[str, Any] | None:
        if not self.price_per_hour:
            return None
        per_s = self.price_per_hour * self.devices / 3600.0
        inp = self.batch * self.prompt_len / self.prefill.latency_s
        out = self.batch / self.decode.latency_s
        return {
            "price_per_device_hour": self.price_per_hour,
            "devices": self.devices,
            "usd_per_million_input_tokens": per_s / inp * 1e6,
            "usd_per_million_output_tokens": per_s / out * 1e6,
            "usd_per_request": per_s * self.request_latency_s / self.batch,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "model": self.model,
            "hardware": self.hardware,
            "batch": self.batch,
            "prompt_len": self.prompt_len,
            "output_len": self.output_len,
            "tp": self.tp,
            "pp": self.pp,
            "dp": self.dp,
            "ep": self.ep,
            "devices": self.devices,
            "dtype": self.dtype,
            "weight_dtype": self.weight_dtype,
            "kv_dtype": self.kv_dtype,
            "precision": self.precision,
            "params": self.params,
            "active_params": self.active_params,
            "prefill": self.prefill.to_dict(),
            "decode": self.decode.to_dict(),
            "request": {
                "latency_s": self.request_latency_s,
                "latency_band_s": list(self.request_band_s) if self.request_band_s else None,
                "tokens_per_s": self.tokens_per_s,
                "ttft_s": self.prefill.latency_s,
            },
            "memory": self.memory.to_dict(),
            "fits": self.fits,
            "max_batch": self.max_batch,
            "cost": self.cost(),
            "layers": list(self.layers),
            "notes": list(self.notes),
        }


def step_band(band: tuple[float, float] | None, kernels_s: float, scaled_s: float, comm_s: float) -> Any:
    """A step's band from its kernels' band (around kernels_s): scaled to the step's
    kernel time scaled_s (the same relative spread) and shifted by its communication."""
    if band is None or kernels_s <= 0:
        return None
    k = scaled_s / kernels_s
    return (band[0] * k + comm_s, band[1] * k + comm_s)
