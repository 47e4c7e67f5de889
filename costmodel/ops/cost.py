"""Frozen cost records that add and scale.

FLOPs count 2 per multiply-add; `macs` counts the multiply-accumulates of contractions
only and is never folded into `flops` by consumers. Bytes are split by what is read or
written: weights, activations (incl. graph inputs and outputs) and KV cache.
Fields are exact: Python ints, or sympy expressions when dims are symbolic.

A Cost is a named tuple (immutable like a frozen dataclass, with the same fields and
`replace`, but made from C: the analysis makes one per node); its `+` and `*` are the
field-wise sum and scaling below, never tuple concatenation or repetition.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..symbolic import norm, smax, substitute, to_json_number

_FIELDS = (
    "flops",
    "macs",
    "transcendentals",
    "read_weights",
    "read_activations",
    "read_kv",
    "write_activations",
    "write_kv",
    "params",
)


class Cost(NamedTuple):
    flops: Any = 0
    macs: Any = 0
    transcendentals: Any = 0
    read_weights: Any = 0
    read_activations: Any = 0
    read_kv: Any = 0
    write_activations: Any = 0
    write_kv: Any = 0
    params: Any = 0

    @property
    def bytes_read(self) -> Any:
        return norm(self.read_weights + self.read_activations + self.read_kv)

    @property
    def bytes_written(self) -> Any:
        return norm(self.write_activations + self.write_kv)

    @property
    def bytes(self) -> Any:
        return norm(self.bytes_read + self.bytes_written)

    def __add__(self, other: Cost) -> Cost:  # type: ignore[override]  # field-wise, not concatenation
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(*(norm(getattr(self, f) + getattr(other, f)) for f in _FIELDS))

    def __radd__(self, other: Any) -> Cost:
        if other == 0:
            return self
        return NotImplemented

    def scale(self, k: Any) -> Cost:
        """Repeat the work k times (loops, layers, steps). Params are not repeated."""
        return Cost(*(norm(getattr(self, f) * k) if f != "params" else self.params for f in _FIELDS))

    def __mul__(self, k: Any) -> Cost:  # scaling, not repetition
        return self.scale(k)

    def __rmul__(self, k: Any) -> Cost:
        return self.scale(k)

    def replace(self, **kw: Any) -> Cost:
        d = {f: getattr(self, f) for f in _FIELDS}
        d.update(kw)
        return Cost(**d)

    def maximum(self, other: Cost) -> Cost:
        """Field-wise max (the costlier branch of an If, for each field)."""
        return Cost(*(smax(getattr(self, f), getattr(other, f)) for f in _FIELDS))

    def bind(self, bindings: dict[str, int]) -> Cost:
        return Cost(*(substitute(getattr(self, f), bindings) for f in _FIELDS))

    def is_zero(self) -> bool:
        return all(getattr(self, f) == 0 for f in _FIELDS)

    def to_dict(self) -> dict[str, Any]:
        d = {f: to_json_number(getattr(self, f)) for f in _FIELDS}
        d["bytes_read"] = to_json_number(self.bytes_read)
        d["bytes_written"] = to_json_number(self.bytes_written)
        return d


ZERO = Cost()
COST_FIELDS: tuple[str, ...] = Cost._fields
