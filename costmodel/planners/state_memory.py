"""What a sequence keeps between decode steps, against the context: the KV cache of
attention layers (growing with the context, capped at the window for sliding-window
layers) and the fixed recurrent state of SSM / RWKV / linear-attention / RG-LRU layers.
One row per (model, context), per sequence, on one device (no tensor parallelism)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import PlanError
from ..frontends.spec import ModelSpec
from ..ir.dtypes import dtype as to_dtype
from .serving_memory import kv_bytes, state_bytes

DEFAULT_CONTEXTS = (1024, 4096, 16384, 65536, 262144, 1048576)


@dataclass(frozen=True)
class StateRow:
    model: str
    context: int
    kv_bytes: int
    state_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.kv_bytes + self.state_bytes


def state_vs_context(
    specs: Sequence[ModelSpec], contexts: Sequence[int] = DEFAULT_CONTEXTS, kv_dtype: str = "bf16", dtype: str = "bf16"
) -> list[StateRow]:
    if not contexts or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in contexts):
        raise PlanError("--contexts must list positive integers")
    kv, act = to_dtype(kv_dtype), to_dtype(dtype)
    rows = []
    for spec in specs:
        if not spec.arch.generates:
            raise PlanError(f"{spec.name} is a {spec.architecture} model: it keeps nothing between decode steps")
        fixed = state_bytes(spec, act)
        for c in contexts:
            rows.append(StateRow(spec.name, c, kv_bytes(spec, kv, c), fixed))
    return rows
