"""What a lowering is asked for (a Workload) and what it returns (segments)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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


@dataclass(frozen=True)
class Segment:
    """One graph standing for `repeat` copies: the embedding, the head, or the layers in
    `layers` (their indices in the model, all of one signature)."""

    name: str
    graph: Graph
    layers: tuple[int, ...] = ()
    stack: str = ""  # the layer stack the indices count in ("layers", "encoder.layers", ...)

    @property
    def repeat(self) -> int:
        return len(self.layers) or 1

    @property
    def is_layers(self) -> bool:
        return bool(self.layers)


def layers_label(stack: str, layers: tuple[int, ...]) -> str:
    """`layers[3]`, `layers[0..31]x32` (contiguous) or `layers[0,2..40]x21` style labels."""
    if len(layers) == 1:
        return f"{stack}[{layers[0]}]"
    if layers == tuple(range(layers[0], layers[-1] + 1)):
        return f"{stack}[{layers[0]}..{layers[-1]}]x{len(layers)}"
    step = layers[1] - layers[0]
    if all(b - a == step for a, b in zip(layers, layers[1:])):
        return f"{stack}[{layers[0]},{layers[1]}..{layers[-1]}]x{len(layers)}"
    return f"{stack}[{','.join(map(str, layers))}]x{len(layers)}"


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
