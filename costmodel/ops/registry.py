"""The op registry: one rule per (domain, op type, since-version), looked up by the
highest version not above the model's opset. Duplicates are rejected at import time.

A rule is a function `rule(ctx) -> Cost | None`. It infers output types through
`ctx.set_output(...)` and returns the compute part of the cost (FLOPs, MACs,
transcendentals); the analysis adds memory traffic from the tensors the node reads and
writes unless the rule set it itself. An op registered with `zero=` is a declared
zero-cost op (pure view or metadata) and its reason is reported.
"""

from __future__ import annotations

import bisect
import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from ..errors import RegistryError
from .context import NodeContext
from .cost import Cost


class OpKind(StrEnum):
    """Which unit runs an op and how it fuses (the engine's vocabulary). Values are the
    strings JSON reports carry."""

    CONTRACTION = "contraction"  # MatMul, Gemm, Einsum: tensor cores
    CONV = "conv"  # Conv, ConvTranspose: tensor cores, implicit GEMM
    ATTENTION = "attention"  # fused attention kernels
    ELEMENTWISE = "elementwise"  # vector units, fusible into producers
    REDUCTION = "reduction"
    NORMALIZATION = "normalization"
    POOL = "pool"
    MOVEMENT = "movement"  # copies: transpose, concat, gather, pad, resize...
    VIEW = "view"  # no data movement at all
    SHAPE = "shape"  # metadata / shape arithmetic
    GENERATOR = "generator"  # creates tensors from shapes (ConstantOfShape, Range...)
    QUANTIZE = "quantize"
    RECURRENT = "recurrent"
    CONTROL = "control"
    UNKNOWN = "unknown"  # a node with no rule (never registered)


CONTRACTION = OpKind.CONTRACTION
CONV = OpKind.CONV
ATTENTION = OpKind.ATTENTION
ELEMENTWISE = OpKind.ELEMENTWISE
REDUCTION = OpKind.REDUCTION
NORMALIZATION = OpKind.NORMALIZATION
POOL = OpKind.POOL
MOVEMENT = OpKind.MOVEMENT
VIEW = OpKind.VIEW
SHAPE = OpKind.SHAPE
GENERATOR = OpKind.GENERATOR
QUANTIZE = OpKind.QUANTIZE
RECURRENT = OpKind.RECURRENT
CONTROL = OpKind.CONTROL
KINDS = tuple(k for k in OpKind if k is not OpKind.UNKNOWN)

Rule = Callable[[NodeContext], Cost | None]
R = TypeVar("R", bound=Rule)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpDef:
    op_type: str
    domain: str
    since: int
    rule: Rule
    kind: OpKind
    zero: str | None = None  # reason, for declared zero-cost ops
    # False for ops that run at every call even on constant inputs (random numbers, a
    # framework's tensor factories): never constant-folded.
    fold: bool = True
    doc: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.domain, self.op_type)


_GENERATION = 0  # rules added to any registry so far: look-ups made before are stale


def generation() -> int:
    """Changes whenever a rule is added to any registry (analysis_memo.shared_memo)."""
    return _GENERATION


@dataclass
class Registry:
    _rules: dict[tuple[str, str], list[OpDef]] = field(default_factory=dict)
    _parent: Registry | None = None

    def add(self, opdef: OpDef) -> None:
        if opdef.kind not in KINDS:
            raise RegistryError(f"{opdef.op_type}: unknown kind {opdef.kind!r}")
        versions = self._rules.setdefault(opdef.key, [])
        if any(v.since == opdef.since for v in versions):
            raise RegistryError(f"duplicate rule for {opdef.domain or 'ai.onnx'}::{opdef.op_type} since {opdef.since}")
        versions.append(opdef)
        versions.sort(key=lambda d: d.since)
        global _GENERATION
        _GENERATION += 1

    def op(
        self,
        *op_types: str,
        kind: OpKind,
        since: int = 1,
        domain: str = "",
        zero: str | None = None,
        fold: bool = True,
    ) -> Callable[[R], R]:
        """Decorator registering one rule for one or more op types."""

        def deco(fn: R) -> R:
            doc = (fn.__doc__ or "").strip()
            for t in op_types:
                self.add(
                    OpDef(op_type=t, domain=domain, since=since, rule=fn, kind=kind, zero=zero, fold=fold, doc=doc)
                )
            return fn

        return deco

    def lookup(self, domain: str, op_type: str, opset: int | None) -> OpDef | None:
        if domain == "ai.onnx":
            domain = ""
        versions = self._rules.get((domain, op_type))
        if versions:
            if opset is None:
                return versions[-1]
            i = bisect.bisect_right([v.since for v in versions], opset)
            if i:
                return versions[i - 1]
        if self._parent is not None:
            return self._parent.lookup(domain, op_type, opset)
        return None

    def overlay(self, rules: Iterable[OpDef] = ()) -> Registry:
        """A registry for one analysis: its rules win over this one's, this one is untouched."""
        r = Registry(_parent=self)
        for d in rules:
            r.add(d)
        return r

    def __iter__(self) -> Iterator[OpDef]:
        seen = set()
        reg: Registry | None = self
        while reg is not None:
            for key, versions in reg._rules.items():
                if key not in seen:
                    seen.add(key)
                    yield from versions
            reg = reg._parent

    def keys(self) -> set[tuple[str, str]]:
        return {d.key for d in self}


# One module per op family; each registers its rules on import.
FAMILIES = (
    "shape_ops",
    "generators",
    "elementwise",
    "contraction",
    "conv",
    "normalization",
    "reduction",
    "pooling",
    "movement",
    "indexing",
    "attention",
    "contrib",
    "recurrent",
    "sequences",
    "control_flow",
    "quantized",
    "misc",
    "internal",
    "framework",
    "sequence_mixers",
)

REGISTRY = Registry()
op = REGISTRY.op


def load_all() -> Registry:
    """Import every op family module once (their decorators fill REGISTRY). Imported by
    name: the families import this module to register, so it cannot import them."""
    for name in FAMILIES:
        importlib.import_module(f"{__package__}.{name}")

    return REGISTRY
