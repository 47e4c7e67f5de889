"""Token-count distributions of serving requests (prompt and output lengths): what
`--prompt-len(s)` / `--output-len(s)` parse to, shared by the step tables
(serving_table.py) and the load model (serving_load.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import PlanError

# Plausible bounds (docs/robustness.md): a length is at most 2^30 tokens (the CLI's token
# range; the longest advertised context is ~1e7), and a distribution lists at most 100,000
# lengths (its moments are sums over them, recomputed for every configuration searched).
MAX_LENGTH = 1 << 30
MAX_VALUES = 100_000
_MAX_DIGITS = 30  # digits read before a length is refused as far out of range


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
        if len(values) > MAX_VALUES:
            raise PlanError(f"{what}: at most {MAX_VALUES:,} lengths")
        if any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_LENGTH for v in values):
            raise PlanError(f"{what}: lengths must be integers from 1 to {MAX_LENGTH:,} tokens")
        if any(not math.isfinite(x) or x < 0 for x in w) or not 0 < sum(w) < math.inf:
            raise PlanError(f"{what}: weights must be finite and non-negative with a positive sum")
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
            if len(n.strip()) > _MAX_DIGITS:  # never handed to int(): no 4300-digit ValueError
                raise PlanError(f"{what}: lengths must be integers from 1 to {MAX_LENGTH:,} tokens")
            try:
                vals.append(int(n))
                wts.append(float(w) if w.strip() else 1.0)
            except ValueError:
                shown = str(text)[:200]
                raise PlanError(f"{what} {shown!r}: expected LEN or LEN:WEIGHT items separated by commas") from None
            if len(vals) > MAX_VALUES:
                raise PlanError(f"{what}: at most {MAX_VALUES:,} lengths")
        return cls.of(vals, wts, what)

    def moment(self, k: int) -> float:
        return sum(w * float(v) ** k for v, w in zip(self.values, self.weights))

    @property
    def mean(self) -> float:
        return self.moment(1)

    def to_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "weights": list(self.weights), "mean": self.mean}
