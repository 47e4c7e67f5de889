"""Training precision recipes as data: what each recipe keeps in memory per parameter,
which dtype the GEMMs and the other kernels run in, what the data-parallel collectives
move, and which extra kernels it launches. One record per recipe; the step model reads
these fields and never branches on the recipe's name.

Sources: Micikevicius et al. 2018 (mixed precision: 16-bit working weights, fp32 master
copy); Rajbhandari et al. 2020 (ZeRO, sec. 3.1: 2 + 2 + 12 bytes per parameter with fp16
gradients); Megatron-LM (bf16 parameters, fp32 `main_grad` accumulation buffers and fp32
gradient reduction by default, --grad-reduce-in-bf16 to halve it); PyTorch AMP (fp32
parameters and gradients, autocast casts each weight to bf16 in every forward and keeps
the cast for the backward); NVIDIA Transformer Engine FP8 (delayed scaling: bf16
weights, fp8 GEMM inputs with an amax history, cast / cast-transpose kernels, fp8 copies
of each weight and its transpose cached per step); FSDP2 / torchao float8 all-gather of
weights in fp8 (PyTorch blog "Supercharging training using float8 and FSDP2", 2024).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Precision(StrEnum):
    BF16_MIXED = "bf16-mixed"
    BF16_MIXED_BF16_GRADS = "bf16-mixed-bf16-grads"
    BF16_AUTOCAST = "bf16-autocast"
    FP16_MIXED = "fp16-mixed"
    FP8 = "fp8"
    FP8_FP8_ALLGATHER = "fp8-fp8-allgather"
    FP32 = "fp32"


@dataclass(frozen=True, kw_only=True)
class PrecisionFacts:
    compute_dtype: str  # the dtype of activations and of every kernel but the GEMMs
    gemm_dtype: str  # the dtype the GEMMs' inputs are cast to (== compute_dtype but for fp8)
    weight_bytes: int  # per parameter, the working copy held all step
    grad_bytes: int  # per parameter, the gradient accumulation buffer
    grad_comm_bytes: int  # per gradient element in the data-parallel reduction
    gather_bytes: int  # per parameter in a ZeRO-3 / FSDP all-gather of weights
    master_weights: bool  # an fp32 master copy lives with the optimizer states
    weight_cast_bytes: int  # per GEMM weight: the cast copies kept from forward to backward
    autocast_casts: bool  # every forward casts each fp32 GEMM weight to the compute dtype
    fp8_casts: bool  # Transformer Engine casts: GEMM inputs to fp8, grads cast-transposed
    activation_scale: float  # activation bytes relative to 16-bit activations


# Korthikanti et al. 2022 (Table 2) count 34 s b h bytes of 16-bit activations per layer;
# 14 of them are GEMM inputs (QKV input 2, projection input 2, FC1 input 2, FC2 input 8).
# Transformer Engine saves those in fp8 (1 byte) for the weight gradients: 34 - 14 / 2 = 27.
FP8_ACTIVATION_SCALE = 27 / 34

PRECISIONS: dict[Precision, PrecisionFacts] = {
    # Megatron-LM's default: bf16 parameters, fp32 main_grad buffers reduced in fp32, an
    # fp32 master copy with the Adam states: 2 + 4 + 12 = 18 bytes per parameter
    Precision.BF16_MIXED: PrecisionFacts(
        compute_dtype="bf16",
        gemm_dtype="bf16",
        weight_bytes=2,
        grad_bytes=4,
        grad_comm_bytes=4,
        gather_bytes=2,
        master_weights=True,
        weight_cast_bytes=0,
        autocast_casts=False,
        fp8_casts=False,
        activation_scale=1.0,
    ),
    # gradients accumulated and reduced in bf16 (Megatron --grad-reduce-in-bf16, FSDP
    # reduce_dtype=bf16): the ZeRO paper's 2 + 2 + 12 = 16 bytes per parameter
    Precision.BF16_MIXED_BF16_GRADS: PrecisionFacts(
        compute_dtype="bf16",
        gemm_dtype="bf16",
        weight_bytes=2,
        grad_bytes=2,
        grad_comm_bytes=2,
        gather_bytes=2,
        master_weights=True,
        weight_cast_bytes=0,
        autocast_casts=False,
        fp8_casts=False,
        activation_scale=1.0,
    ),
    # PyTorch AMP (torch.autocast, bf16): fp32 parameters and gradients (no separate master:
    # the parameters are the fp32 copy), each forward casts every GEMM weight to bf16 and
    # the cast stays alive for the backward (2 bytes); DDP reduces the fp32 gradients;
    # FSDP's default mixed precision gathers bf16 parameters
    Precision.BF16_AUTOCAST: PrecisionFacts(
        compute_dtype="bf16",
        gemm_dtype="bf16",
        weight_bytes=4,
        grad_bytes=4,
        grad_comm_bytes=4,
        gather_bytes=2,
        master_weights=False,
        weight_cast_bytes=2,
        autocast_casts=True,
        fp8_casts=False,
        activation_scale=1.0,
    ),
    Precision.FP16_MIXED: PrecisionFacts(
        compute_dtype="fp16",
        gemm_dtype="fp16",
        weight_bytes=2,
        grad_bytes=4,
        grad_comm_bytes=4,
        gather_bytes=2,
        master_weights=True,
        weight_cast_bytes=0,
        autocast_casts=False,
        fp8_casts=False,
        activation_scale=1.0,
    ),
    # Transformer Engine FP8 with delayed scaling: bf16 weights and activations between
    # kernels, GEMM inputs cast to fp8 (e4m3 forward, e5m2 gradients) with an amax history;
    # an fp8 copy of each GEMM weight and of its transpose cached for the step (2 bytes)
    Precision.FP8: PrecisionFacts(
        compute_dtype="bf16",
        gemm_dtype="fp8_e4m3",
        weight_bytes=2,
        grad_bytes=4,
        grad_comm_bytes=4,
        gather_bytes=2,
        master_weights=True,
        weight_cast_bytes=2,
        autocast_casts=False,
        fp8_casts=True,
        activation_scale=FP8_ACTIVATION_SCALE,
    ),
    # the same, with ZeRO-3 / FSDP all-gathering the weights already cast to fp8 (1 byte)
    Precision.FP8_FP8_ALLGATHER: PrecisionFacts(
        compute_dtype="bf16",
        gemm_dtype="fp8_e4m3",
        weight_bytes=2,
        grad_bytes=4,
        grad_comm_bytes=4,
        gather_bytes=1,
        master_weights=True,
        weight_cast_bytes=2,
        autocast_casts=False,
        fp8_casts=True,
        activation_scale=FP8_ACTIVATION_SCALE,
    ),
    Precision.FP32: PrecisionFacts(
        compute_dtype="fp32",
        gemm_dtype="fp32",
        weight_bytes=4,
        grad_bytes=4,
        grad_comm_bytes=4,
        gather_bytes=4,
        master_weights=False,
        weight_cast_bytes=0,
        autocast_casts=False,
        fp8_casts=False,
        activation_scale=2.0,
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
