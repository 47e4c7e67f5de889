"""The planners' inputs as typed records, kept apart as Calculon keeps them (Isaev et
al. 2023): the model (a ModelSpec), the execution — how it is run: a ParallelLayout plus
a TrainingRecipe or a ServingSetup — and the system (hardware/systems.py).

Precision, optimizer and recompute choices are enums over one table each; make_layout and
make_recipe validate the CLI's options into these records."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from ..errors import PlanError
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import Lowering
from .pipeline import stage_layers


def require_positive(**options: Any) -> None:
    """Planner options that must be positive integers (booleans are not integers here);
    the error names the CLI flag."""
    for name, v in options.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise PlanError(f"--{name.replace('_', '-')} must be a positive integer, got {v!r}")


def choice(enum: type[StrEnum], value: Any, flag: str) -> Any:
    """A StrEnum member from its value, or a PlanError listing the choices."""
    try:
        return enum(value)
    except ValueError:
        raise PlanError(f"--{flag} must be one of {', '.join(m.value for m in enum)}, got {value!r}") from None


class Recompute(StrEnum):
    NONE = "none"
    SELECTIVE = "selective"  # attention's score / softmax work (Korthikanti et al. 2022)
    FULL = "full"  # the whole forward of every layer


class Precision(StrEnum):
    BF16_MIXED = "bf16-mixed"
    FP16_MIXED = "fp16-mixed"
    FP8 = "fp8"
    FP32 = "fp32"


@dataclass(frozen=True, kw_only=True)
class PrecisionFacts:
    compute_dtype: str  # the dtype the matrix units run
    weight_bytes: int  # per parameter, the working copy
    grad_bytes: int  # per parameter
    master_weights: bool  # an fp32 master copy lives with the optimizer states
    activation_scale: float  # activation bytes relative to 16-bit activations


PRECISIONS: dict[Precision, PrecisionFacts] = {
    # mixed precision (Micikevicius et al. 2018): 16-bit working weights, gradients
    # accumulated and reduced in fp32 (Megatron-LM's main_grad buffers, 4 B), the fp32
    # master copy with the optimizer states
    Precision.BF16_MIXED: PrecisionFacts(
        compute_dtype="bf16", weight_bytes=2, grad_bytes=4, master_weights=True, activation_scale=1.0
    ),
    Precision.FP16_MIXED: PrecisionFacts(
        compute_dtype="fp16", weight_bytes=2, grad_bytes=4, master_weights=True, activation_scale=1.0
    ),
    # FP8 GEMMs (Transformer Engine) keep 16-bit activations between kernels
    Precision.FP8: PrecisionFacts(
        compute_dtype="fp8_e4m3", weight_bytes=1, grad_bytes=4, master_weights=True, activation_scale=1.0
    ),
    Precision.FP32: PrecisionFacts(
        compute_dtype="fp32", weight_bytes=4, grad_bytes=4, master_weights=False, activation_scale=2.0
    ),
}

# optimizer state bytes per parameter beyond the weights and grads, including the fp32
# master copy of mixed precision (ZeRO, Rajbhandari et al. 2020, sec. 3.1: Adam 12 =
# master 4 + momentum 4 + variance 4); without a master copy 4 fewer
OPTIMIZERS: dict[str, int] = {
    "adamw": 12,
    "adam": 12,
    "sgd": 4,  # master copy only
    "sgd-momentum": 8,
    "adafactor": 4,  # master copy + factored second moments (O(rows + cols), not counted)
    "adam8bit": 6,  # master copy + two 8-bit moments (Dettmers et al. 2022)
    "lion": 8,  # master copy + momentum (Chen et al. 2023)
}
MASTER_COPY_BYTES = 4


@dataclass(frozen=True, kw_only=True)
class ParallelLayout:
    """How the model is spread over devices: tensor (tp, with sequence parallelism sp),
    pipeline (pp stages, `interleave` virtual chunks each), data (dp, with a ZeRO
    stage), expert (ep, inside dp) and context (cp) parallelism, and the micro-batch
    each data-parallel rank runs per pipeline step."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    ep: int = 1
    cp: int = 1
    sp: bool = False
    interleave: int = 1
    zero: int = 0
    micro_batch: int = 1

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.dp * self.cp


@dataclass(frozen=True, kw_only=True)
class TrainingRecipe:
    global_batch: int  # sequences per optimizer step
    seq_len: int
    precision: Precision = Precision.BF16_MIXED
    optimizer: str = "adamw"
    recompute: Recompute = Recompute.NONE
    offload: bool = False  # optimizer states and master weights in host memory (ZeRO-Offload)

    @property
    def facts(self) -> PrecisionFacts:
        return PRECISIONS[self.precision]

    @property
    def optimizer_bytes(self) -> int:
        """Optimizer-state bytes per parameter on the device side of the update."""
        return OPTIMIZERS[self.optimizer] - (0 if self.facts.master_weights else MASTER_COPY_BYTES)


@dataclass(frozen=True, kw_only=True)
class ServingSetup:
    """One serving scenario: a batch of requests of prompt_len tokens generating
    output_len each, the dtypes of activations / weights / KV cache, and how the
    engine runs the two phases."""

    batch: int = 1
    prompt_len: int = 512
    output_len: int = 128
    dtype: str = "bf16"
    weight_dtype: str | None = None
    kv_dtype: str | None = None
    logits: str = "last"
    prefill_dispatch: str = "eager"
    decode_dispatch: str = "graph"
    mode: str = "calibrated"
    memory_utilization: float = 0.95  # fraction of device memory a serving engine may use
    prefill_chunk: int = 2048  # tokens per engine step (vLLM's max_num_batched_tokens
    # default under chunked prefill): the chunk a prompt is prefilled in, and the step
    # whose activations the engine reserves memory for
    allow_past_context: bool = False  # plan prompt + output beyond the model's context

    def but(self, **changes: Any) -> ServingSetup:
        return replace(self, **changes)


def make_layout(
    spec: ModelSpec,
    gpus: int,
    global_batch: int,
    seq_len: int,
    *,
    micro_batch: int | None = None,
    tp: int = 1,
    pp: int = 1,
    dp: int | None = None,
    ep: int | None = None,
    cp: int = 1,
    sequence_parallel: bool = False,
    interleave: int = 1,
    zero: int = 0,
) -> ParallelLayout:
    """A validated layout from the CLI's options; every inconsistency is a PlanError
    naming the option. `ep` defaults to the spec's moe.expert_parallel; `dp` to
    gpus / (tp x pp x cp); the micro-batch to no gradient accumulation (one sample per
    micro-batch under pipelining)."""
    if ep is None:
        ep = spec.moe.expert_parallel if spec.moe is not None else 1
    require_positive(gpus=gpus, batch=global_batch, seq_len=seq_len, tp=tp, pp=pp, ep=ep, cp=cp, interleave=interleave)
    if dp is None:
        if gpus % (tp * pp * cp):
            raise PlanError(f"--gpus {gpus} is not divisible by tp x pp x cp = {tp * pp * cp}")
        dp = gpus // (tp * pp * cp)
    require_positive(dp=dp)
    if micro_batch is None:
        micro_batch = max(global_batch // dp, 1) if pp == 1 else 1
    require_positive(micro_batch=micro_batch)
    if tp * pp * dp * cp != gpus:
        raise PlanError(f"tp x pp x dp x cp = {tp}x{pp}x{dp}x{cp} = {tp * pp * dp * cp} != --gpus {gpus}")
    if spec.num_heads and spec.num_heads % tp:
        raise PlanError(f"num_heads {spec.num_heads} is not divisible by --tp {tp}")
    if interleave > 1 and pp == 1:
        raise PlanError("--interleave needs pipeline parallelism (--pp > 1)")
    if pp > 1 and spec.arch.lowering is Lowering.ENCODER_DECODER:
        raise PlanError(f"{spec.name}: pipeline stages of an encoder-decoder model are not modelled")
    stage_layers(spec.num_layers, pp, interleave)  # Megatron's split must exist
    if global_batch % (micro_batch * dp):
        raise PlanError(f"--batch {global_batch} is not divisible by micro-batch x dp = {micro_batch * dp}")
    if ep > 1 and (spec.moe is None or spec.moe.num_experts % ep or dp % ep):
        raise PlanError(f"--ep {ep} needs a MoE model whose expert count and dp are divisible by it")
    if seq_len % cp:
        raise PlanError(f"--seq-len {seq_len} is not divisible by --cp {cp}")
    if zero not in (0, 1, 2, 3):
        raise PlanError(f"--zero must be 0-3, got {zero}")
    return ParallelLayout(
        tp=tp,
        pp=pp,
        dp=dp,
        ep=ep,
        cp=cp,
        sp=sequence_parallel and tp > 1,
        interleave=interleave,
        zero=zero,
        micro_batch=micro_batch,
    )


def make_recipe(
    global_batch: int,
    seq_len: int,
    *,
    precision: str = "bf16-mixed",
    optimizer: str = "adamw",
    recompute: str = "none",
    offload: bool = False,
) -> TrainingRecipe:
    if optimizer not in OPTIMIZERS:
        raise PlanError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
    return TrainingRecipe(
        global_batch=global_batch,
        seq_len=seq_len,
        precision=choice(Precision, precision, "precision"),
        optimizer=optimizer,
        recompute=choice(Recompute, recompute, "recompute"),
        offload=offload,
    )
