"""Token-count distributions of serving requests (prompt and output lengths): what
`--prompt-len(s)` / `--output-len(s)` parse to, shared by the step tables
(serving_table.py) and the load model (serving_load.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import PlanError


@dataclass(frozen=True)
class Lengths:
    """A distribution of token counts: values with weights summing to 1."""

    values: tuple[int, ...]
    weights: tuple[float, ...]

    @classmethod
    def fixed(cls, n: int) -> Lengths:
        return cls((int(n),), (1.0,))

    @classmethod
    def of(cls, values: list[int], weights: list[float] | None = None, what: str = "lengths") -> Lengths:
        w = list(weights) if weights is not None else [1.0] * len(values)
        if not values or len(w) != len(values):
            raise PlanError(f"{what}: give at least one length, and one weight per length")
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise PlanError(f"{what}: lengths must be positive integers")
        if any(not math.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
            raise PlanError(f"{what}: weights must be non-negative with a positive sum")
        total = sum(w)
        return cls(tuple(values), tuple(x / total for x in w))

    @classmethod
    def parse(cls, text: str, what: str) -> Lengths:
        """'1024', '256,1024,4096' (equally likely) or '256:0.5,1024:0.3,4096:0.2'."""
        vals: list[int] = []
        wts: list[float] = []
        for item in str(text).split(","):
            if not item.strip():
                continue
            n, _, w = item.partition(":")
            try:
                vals.append(int(n))
                wts.append(float(w) if w.strip() else 1.0)
            except ValueError:
                raise PlanError(f"{what} {text!r}: expected LEN or LEN:WEIGHT items separated by commas") from None
        return cls.of(vals, wts, what)

    def moment(self, k: int) -> float:
        return sum(w * float(v) ** k for v, w in zip(self.values, self.weights))

    @property
    def mean(self) -> float:
        return self.moment(1)

    def to_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "weights": list(self.weights), "mean": self.mean}
