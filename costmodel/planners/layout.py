"""The planners' inputs as typed records, kept apart as Calculon keeps them (Isaev et
al. 2023): the model (a ModelSpec), the execution — how it is run: a ParallelLayout plus
a TrainingRecipe or a ServingSetup — and the system (hardware/systems.py).

Precision, optimizer and recompute choices are enums over one table each; make_layout and
make_recipe validate the CLI's options into these records."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..errors import CostModelError, PlanError
from ..frontends.spec import ModelSpec
from ..ir.dtypes import dtype as to_dtype
from ..frontends.spec.architectures import Lowering
from ..passes.runtimes import get_runtime
from .pipeline import Schedule, resolve_schedule
from .pipeline import stage_layers as _stage_layers
from .precision import MASTER_COPY_BYTES, OPTIMIZERS, PRECISIONS, Precision, PrecisionFacts

__all__ = [
    "MASTER_COPY_BYTES",
    "OPTIMIZERS",
    "PRECISIONS",
    "OptimizerImpl",
    "Overlap",
    "ParallelLayout",
    "Precision",
    "PrecisionFacts",
    "Recompute",
    "Schedule",
    "ServingSetup",
    "TrainingRecipe",
    "choice",
    "make_layout",
    "make_recipe",
    "parse_overlap",
    "require_positive",
]


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


class OptimizerImpl(StrEnum):
    """How the optimizer step runs: one fused kernel over all tensors (Apex / Transformer
    Engine FusedAdam, torch fused=True), torch.optim's multi-tensor foreach kernels (its
    default on CUDA), or one small kernel per tensor and operation (foreach=False)."""

    FUSED = "fused"
    FOREACH = "foreach"
    PER_TENSOR = "per-tensor"


OVERLAP_KINDS = ("dp", "fsdp", "tp", "pp", "ep")


@dataclass(frozen=True, kw_only=True)
class Overlap:
    """Which communication runs behind compute (each can be turned off):
    dp: data-parallel gradient reduction in buckets behind the backward, and the ZeRO
        parameter all-gather behind the next forward (DDP, Megatron --overlap-grad-reduce
        / --overlap-param-gather);
    fsdp: ZeRO-3 / FSDP all-gather of the next layer prefetched behind this one, and the
        gradient reduce-scatter behind the backward;
    tp: tensor-parallel all-gather / reduce-scatter split and pipelined with the GEMMs
        (Megatron --tp-comm-overlap, Transformer Engine userbuffers); off by default, as
        in Megatron-LM;
    pp: pipeline sends behind compute (Megatron's overlapped p2p of the interleaved
        schedule; plain 1F1B waits for them);
    ep: expert-parallel all-to-all behind another micro-batch's compute (DualPipe-style);
        on by default only under the dualpipe schedule."""

    dp: bool = True
    fsdp: bool = True
    tp: bool = False
    pp: bool = True
    ep: bool = False

    def names(self) -> list[str]:
        return [k for k in OVERLAP_KINDS if getattr(self, k)]


def parse_overlap(text: str | None, schedule: Schedule = Schedule.ONE_F_ONE_B) -> Overlap:
    """`--overlap`: a comma list of dp, fsdp, tp, pp, ep; "none"; "all"; or None for the
    defaults (dp, fsdp, pp, and ep under dualpipe)."""
    if text is None or text == "default":
        return Overlap(ep=schedule is Schedule.DUALPIPE)
    items = {t.strip() for t in text.split(",") if t.strip()}
    if items == {"none"}:
        return Overlap(dp=False, fsdp=False, tp=False, pp=False, ep=False)
    if items == {"all"}:
        return Overlap(dp=True, fsdp=True, tp=True, pp=True, ep=True)
    bad = items - set(OVERLAP_KINDS)
    if bad or not items:
        raise PlanError(f"--overlap takes none, all or a list of {', '.join(OVERLAP_KINDS)}; got {text!r}")
    return Overlap(**{k: k in items for k in OVERLAP_KINDS})


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
    schedule: Schedule = Schedule.ONE_F_ONE_B
    stage_split: tuple[int, ...] | None = None  # layers per virtual stage; None: pipeline.py's rule
    shard_group: int = 0  # ZeRO / FSDP shard group; 0: every data-parallel rank (x cp)

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.dp * self.cp

    @property
    def shard(self) -> int:
        """Ranks the ZeRO stage shards over: all dp x cp ranks (full shard) or the hybrid
        shard group (FSDP HYBRID_SHARD: shard inside, replicate across)."""
        return self.shard_group or self.dp * self.cp


@dataclass(frozen=True, kw_only=True)
class TrainingRecipe:
    global_batch: int  # sequences per optimizer step
    seq_len: int
    precision: Precision = Precision.BF16_MIXED
    optimizer: str = "adamw"
    recompute: Recompute = Recompute.NONE
    offload: bool = False  # optimizer states and master weights in host memory (ZeRO-Offload)
    optimizer_impl: OptimizerImpl = OptimizerImpl.FUSED
    overlap: Overlap = field(default_factory=Overlap)
    runtime: str = "none"  # whose kernels are priced (passes/runtimes.py)
    # "fused": one attention kernel (FlashAttention); "unfused": the scores through memory
    # (Q K^T, a fused scale-mask-softmax kernel, P V), as Megatron-LM ran attention before
    # FlashAttention (Narayanan et al. 2021; Korthikanti et al. 2022, whose activation
    # count keeps the 5 a s^2 b score bytes that selective recompute drops)
    attention: str = "fused"

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
    runtime: str = "none"  # whose kernels are priced (passes/runtimes.py), e.g. "vllm"
    prefill_chunk: int = 2048  # tokens per engine step (vLLM's max_num_batched_tokens
    # default under chunked prefill): the chunk a prompt is prefilled in, and the step
    # whose activations the engine reserves memory for
    allow_past_context: bool = False  # plan prompt + output beyond the model's context
    attention: str = "fused"  # "unfused": scores through memory (eager math path, Megatron-LM 2022)
    # a quantized checkpoint's recipe (serving_precision.py: fp8, fp4): block linears,
    # attention and KV cache quantized, the rest in `dtype`; None: implied by `dtype` (an
    # fp8 / fp4 `dtype` without a weight dtype is served as that checkpoint is, below);
    # "none": every tensor in the dtypes above, literally
    precision: str | None = None
    implied_from: str | None = None  # the fp8 / fp4 `dtype` a recipe was implied from

    def __post_init__(self) -> None:
        # No serving engine runs an FP8 / NVFP4 checkpoint with every tensor in 8 or 4 bits:
        # the embedding, LM head, norms and residual stream stay 16-bit (ModelOpt model
        # cards; vLLM's fp8 quantization skips lm_head), so `--dtype fp8` means that recipe
        recipe = implied_recipe(self.dtype) if self.precision is None and not self.weight_dtype else None
        if recipe is not None:
            object.__setattr__(self, "implied_from", self.dtype)
            object.__setattr__(self, "dtype", "bf16")
            object.__setattr__(self, "precision", recipe)

    @property
    def recipe(self) -> str | None:
        """The precision recipe in force (None: every tensor in its own dtype)."""
        return None if self.precision in (None, "none") else self.precision

    def but(self, **changes: Any) -> ServingSetup:
        if "dtype" in changes and "precision" not in changes and self.implied_from is not None:
            changes = {**changes, "precision": None, "implied_from": None}  # re-derive from the new dtype
        return replace(self, **changes)


def implied_recipe(dtype_name: str) -> str | None:
    """The serving recipe (serving_precision.py) a quantized activation dtype names."""
    try:
        d = to_dtype(dtype_name)
    except CostModelError:
        return None  # reported where the dtype is used
    if d.kind != "float":
        return None
    if d.bits == 8 and d.name != "fp8_e8m0":
        return "fp8"
    if d.bits == 4:
        return "fp4"
    return None


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
    schedule: str | None = None,
    stage_layers: Any = None,
    fsdp: str | None = None,
    shard_group: int | None = None,
) -> ParallelLayout:
    """A validated layout from the CLI's options; every inconsistency is a PlanError
    naming the option. `ep` defaults to the spec's moe.expert_parallel; `dp` to
    gpus / (tp x pp x cp); the micro-batch to no gradient accumulation (one sample per
    micro-batch under pipelining). `stage_layers`: layer counts per (virtual) stage;
    `fsdp` "full" (= ZeRO-3 over every data-parallel rank) or "hybrid" (ZeRO-3 inside a
    node, replicated across nodes: the shard group is the data-parallel ranks of one node
    unless `shard_group` says)."""
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
    sched = resolve_schedule(schedule, pp, interleave)
    split = tuple(stage_layers) if stage_layers is not None else None
    _stage_layers(spec.num_layers, pp, interleave, split)  # the split must exist
    if global_batch % (micro_batch * dp):
        raise PlanError(f"--batch {global_batch} is not divisible by micro-batch x dp = {micro_batch * dp}")
    if ep > 1 and (spec.moe is None or spec.moe.num_experts % ep or dp % ep):
        raise PlanError(f"--ep {ep} needs a MoE model whose expert count and dp are divisible by it")
    if seq_len % cp:
        raise PlanError(f"--seq-len {seq_len} is not divisible by --cp {cp}")
    if zero not in (0, 1, 2, 3):
        raise PlanError(f"--zero must be 0-3, got {zero}")
    group = 0
    if fsdp is not None:
        if fsdp not in ("full", "hybrid"):
            raise PlanError(f"--fsdp must be full or hybrid, got {fsdp!r}")
        if zero not in (0, 3):
            raise PlanError(f"--fsdp shards like ZeRO-3; it does not combine with --zero {zero}")
        zero = 3
        if fsdp == "hybrid":
            group = shard_group or max(1, min(dp * cp, 8 // max(tp, 1)))
    elif shard_group:
        group = shard_group
    if group:
        require_positive(shard_group=group)
        if (dp * cp) % group:
            raise PlanError(f"--shard-group {group} must divide dp x cp = {dp * cp}")
        if zero == 0:
            raise PlanError("--shard-group needs a ZeRO stage (--zero 1-3 or --fsdp)")
        if group == dp * cp:
            group = 0
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
        schedule=sched,
        stage_split=split,
        shard_group=group,
    )


def default_precision(devices: int, dispatch: str, runtime: str | None = None) -> str:
    """One device driven eagerly is PyTorch AMP (bf16 autocast over fp32 parameters), and
    so is any training under runtime "pytorch" (plain PyTorch's mixed precision is
    torch.autocast on any number of devices, DDP and FSDP alike); anything else is taken
    to run a Megatron-style bf16 recipe."""
    if runtime == "pytorch" or (devices == 1 and dispatch == "eager"):
        return "bf16-autocast"
    return "bf16-mixed"


def make_recipe(
    global_batch: int,
    seq_len: int,
    *,
    precision: str = "bf16-mixed",
    optimizer: str = "adamw",
    recompute: str = "none",
    offload: bool = False,
    optimizer_impl: str | None = None,
    overlap: str | Overlap | None = None,
    schedule: Schedule = Schedule.ONE_F_ONE_B,
    runtime: str | None = None,
    attention: str = "fused",
) -> TrainingRecipe:
    """`optimizer_impl` defaults to what the recipe's framework runs: torch.optim's foreach
    kernels under PyTorch autocast, a fused Adam (Apex / Transformer Engine) otherwise."""
    if optimizer not in OPTIMIZERS:
        raise PlanError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
    if attention not in ("fused", "unfused"):
        raise PlanError(f"--attention must be fused or unfused, got {attention!r}")
    prec = choice(Precision, precision, "precision")
    if optimizer_impl is None:
        impl = OptimizerImpl.FOREACH if PRECISIONS[prec].autocast_casts else OptimizerImpl.FUSED
    else:
        impl = choice(OptimizerImpl, optimizer_impl, "optimizer-impl")
    ov = overlap if isinstance(overlap, Overlap) else parse_overlap(overlap, schedule)
    return TrainingRecipe(
        global_batch=global_batch,
        seq_len=seq_len,
        precision=prec,
        optimizer=optimizer,
        recompute=choice(Recompute, recompute, "recompute"),
        offload=offload,
        optimizer_impl=impl,
        overlap=ov,
        runtime=get_runtime(runtime).name,
        attention=attention,
    )
