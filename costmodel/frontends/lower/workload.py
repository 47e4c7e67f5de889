"""What a lowering is asked for (a Workload) and what it returns (segments)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from typing import Any, overload

from ...ir.dtypes import DType
from ...ir.dtypes import dtype as to_dtype
from ...ir.graph import Graph


class Phase(StrEnum):
    PREFILL = "prefill"  # new positions appended to a (possibly empty) KV cache
    DECODE = "decode"  # one (or a few) new positions per sequence against the cache
    FORWARD = "forward"  # a plain forward pass with no cache (encoders, ViT, one DiT step)
    TRAIN = "train"  # a forward pass with the loss (the training planner adds the backward)


class Logits(StrEnum):
    LAST = "last"  # the last position only, as serving engines compute
    ALL = "all"
    NONE = "none"


@dataclass(frozen=True)
class Workload:
    phase: Phase = Phase.PREFILL
    batch: Any = 1
    seq: Any = 1  # new positions per sequence in this step
    past: Any = 0  # cached positions before this step
    logits: Logits = Logits.LAST
    dtype: DType = field(default_factory=lambda: to_dtype("bf16"))
    weight_dtype: DType | None = None
    kv_dtype: DType | None = None
    encoder_len: Any = 0  # encoder-decoder: cross-attention length
    # "fused": one attention kernel (flash / SDPA, causal work halved); "unfused": scores
    # materialized as eager PyTorch's math path and Megatron-LM 2022 run them (QK^T bmm,
    # a scale-mask-softmax kernel, the PV bmm, the context's transpose copy)
    attention: str = "fused"
    decoder_len: Any = 0  # encoder-decoder forward / training: target positions (0: as many as seq)
    eager_code: bool = False  # the model's own PyTorch code, eagerly (see runs_own_code)
    # Quantized linears (W8A8 / W4A4 checkpoints): the dtype each transformer-block linear
    # multiplies in; its input is quantized to it by a kernel of its own unless it already
    # is, and it writes `dtype`. Heads and embeddings stay in `dtype` (None: no such GEMMs)
    gemm_dtype: DType | None = None
    # the dtype the fused attention kernel computes in and writes its output in, the output
    # projection's input (None: the activations')
    attention_dtype: DType | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "phase", Phase(self.phase))
        object.__setattr__(self, "logits", Logits(self.logits))
        if self.attention not in ("fused", "unfused"):
            raise ValueError(f"attention must be fused or unfused, got {self.attention!r}")

    @property
    def wdt(self) -> DType:
        return self.weight_dtype or self.dtype

    @property
    def kvdt(self) -> DType:
        return self.kv_dtype or self.dtype


def runs_own_code(spec: Any) -> bool:
    """Whether a plain forward or a training step of this spec runs its model class's own
    PyTorch code eagerly: a spec that names its head (a Hugging Face config's
    `architectures` class) describes that class, whose forward() runs attention as its
    attn_implementation says and Python-formula activations one operation per kernel.
    Otherwise (and always in serving) the lowering is the fused kernels serving engines
    run."""
    from ..spec.architectures import Head

    return bool(spec.head is not Head.AUTO)


class LayerSet(Sequence[int]):
    """Layer indices in ascending order, held as a union of disjoint ranges, so the layers
    of one signature in a stack of 10^9 layers are a few ranges (frontends/lower/stack.py
    groups them by arithmetic). Equal to any sequence of the same indices."""

    __slots__ = ("_len", "ranges")

    def __init__(self, ranges: Iterable[range]) -> None:
        self.ranges = tuple(r for r in ranges if len(r))
        self._len = sum(len(r) for r in self.ranges)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[int]:
        if len(self.ranges) == 1:
            return iter(self.ranges[0])
        return heapq.merge(*self.ranges)

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[int, ...]: ...
    def __getitem__(self, i: int | slice) -> int | tuple[int, ...]:
        if isinstance(i, slice):
            return tuple(self)[i]
        k = i + self._len if i < 0 else i
        if not 0 <= k < self._len:
            raise IndexError("layer index out of range")
        if k == 0:
            return min(r[0] for r in self.ranges)
        if k == self._len - 1:
            return max(r[-1] for r in self.ranges)
        return next(islice(iter(self), k, None))

    def __contains__(self, x: object) -> bool:
        return any(x in r for r in self.ranges)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        if isinstance(other, LayerSet) and sorted(self.ranges, key=_range_key) == sorted(other.ranges, key=_range_key):
            return True
        return len(other) == self._len and all(a == b for a, b in zip(self, other))

    def __hash__(self) -> int:
        return hash((self._len, self[0], self[-1])) if self._len else 0

    def __repr__(self) -> str:
        return f"LayerSet({list(self.ranges)!r})"


def _range_key(r: range) -> tuple[int, int, int]:
    return (r.start, r.stop, r.step)


@dataclass(frozen=True)
class Segment:
    """One graph standing for `repeat` copies: the embedding, the head, or the layers in
    `layers` (their indices in the model, all of one signature)."""

    name: str
    graph: Graph
    layers: Sequence[int] = ()  # a tuple, or a LayerSet for a very large group
    stack: str = ""  # the layer stack the indices count in ("layers", "encoder.layers", ...)

    @property
    def repeat(self) -> int:
        return len(self.layers) or 1

    @property
    def is_layers(self) -> bool:
        return bool(self.layers)


_LISTED = 64  # a group of more layers than this is labelled by its ranges


def layers_label(stack: str, layers: Sequence[int]) -> str:
    """`layers[3]`, `layers[0..31]x32` (contiguous) or `layers[0,2..40]x21` style labels;
    a large LayerSet of several ranges as `layers[0;1,5..997;2,6..998]x750`."""
    if isinstance(layers, LayerSet) and len(layers) > _LISTED:
        if len(layers.ranges) > 1:
            parts = ";".join(_range_label(r) for r in sorted(layers.ranges, key=_range_key))
            return f"{stack}[{parts}]x{len(layers)}"
        layers = layers.ranges[0]
    if isinstance(layers, range) and len(layers) > 2:
        return f"{stack}[{_range_label(layers)}]x{len(layers)}"
    layers = tuple(layers)
    if len(layers) == 1:
        return f"{stack}[{layers[0]}]"
    if layers == tuple(range(layers[0], layers[-1] + 1)):
        return f"{stack}[{layers[0]}..{layers[-1]}]x{len(layers)}"
    step = layers[1] - layers[0]
    if all(b - a == step for a, b in zip(layers, layers[1:])):
        return f"{stack}[{layers[0]},{layers[1]}..{layers[-1]}]x{len(layers)}"
    return f"{stack}[{','.join(map(str, layers))}]x{len(layers)}"


def _range_label(r: range) -> str:
    if len(r) == 1:
        return str(r[0])
    if r.step == 1:
        return f"{r[0]}..{r[-1]}"
    return f"{r[0]},{r[1]}..{r[-1]}"


@dataclass(frozen=True, kw_only=True)
class DiffusionSampling:
    """How many network evaluations one generated sample takes: `steps` denoising steps,
    each over a batch `batch_factor` times the requested one (classifier-free guidance
    runs the conditional and unconditional halves together: Ho & Salimans 2022)."""

    steps: int
    batch_factor: int

    @property
    def evaluations(self) -> int:
        return self.steps * self.batch_factor


@dataclass(frozen=True)
class Lowered:
    """A model lowered for one workload: its segments in execution order (iterable, so
    `for seg in lower(spec, wl)` walks them), and for a diffusion model the sampling it
    runs these segments under."""

    segments: tuple[Segment, ...]
    sampling: DiffusionSampling | None = None

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)

    def __len__(self) -> int:
        return len(self.segments)

    def __getitem__(self, i: int) -> Segment:
        return self.segments[i]
