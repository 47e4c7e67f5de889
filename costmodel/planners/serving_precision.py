"""Serving precision recipes as data: which dtype each part of a quantized checkpoint
runs in when a serving engine runs it. A recipe quantizes the linear layers inside the
transformer blocks (weights and GEMM inputs); the embedding, the LM head, the norms and
the residual stream stay in the 16-bit activation dtype (`--dtype`).

Sources: NVIDIA's ModelOpt FP8 checkpoints ("only the weights and activations of the
linear operators within transformers blocks are quantized", model card of
nvidia/Llama-3.1-405B-Instruct-FP8; the NVFP4 checkpoints' cards say the same of FP4);
TensorRT-LLM's PyTorch backend: an FP8 linear quantizes a 16-bit input in a kernel of its
own and writes 16-bit output (tensorrt_llm/_torch/modules/linear.py,
FP8QDQLinearMethod.apply), the attention kernel writes the output projection's input
already quantized (tensorrt_llm/_torch/modules/attention.py: `out_scale =
self.o_proj.inv_input_scale` when o_proj has FP8 QDQ or NVFP4), and FP8 and NVFP4
checkpoints get an FP8 KV cache (tensorrt_llm/bench/build/build.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PlanError
from ..ir.dtypes import DType
from ..ir.dtypes import dtype as to_dtype


@dataclass(frozen=True, kw_only=True)
class ServingPrecision:
    weight: str  # transformer-block linear weights
    gemm: str  # what those linears multiply in (their inputs quantized to it)
    attention: str  # what the fused attention kernel computes in and writes
    kv: str  # the KV cache, unless --kv-dtype says otherwise
    summary: str


SERVING_PRECISIONS: dict[str, ServingPrecision] = {
    "fp8": ServingPrecision(
        weight="fp8_e4m3",
        gemm="fp8_e4m3",
        attention="fp8_e4m3",
        kv="fp8_e4m3",
        summary="FP8 checkpoint (ModelOpt): fp8 block linears with per-tensor scales, fp8 attention and KV "
        "cache; embedding, LM head, norms and residual stream 16-bit",
    ),
    # NVFP4: 4-bit e2m1 values with one fp8 scale per 16 (the scales are not counted);
    # attention stays the FP8 kernel over the FP8 cache, and the output projection's input
    # is quantized again to fp4
    "fp4": ServingPrecision(
        weight="fp4",
        gemm="fp4",
        attention="fp8_e4m3",
        kv="fp8_e4m3",
        summary="NVFP4 checkpoint (ModelOpt): fp4 block linears, fp8 attention and KV cache; embedding, "
        "LM head, norms and residual stream 16-bit",
    ),
}


def serving_precision(name: str, act: DType) -> ServingPrecision:
    """The recipe by name, for activations in `act` (a 16-bit float)."""
    recipe = SERVING_PRECISIONS.get(name)
    if recipe is None:
        raise PlanError(f"--precision must be one of {', '.join(SERVING_PRECISIONS)}, got {name!r}")
    if act.kind != "float" or act.bits != 16:
        raise PlanError(f"--precision {name} keeps activations in --dtype, a 16-bit float (bf16, fp16), not {act.name}")
    return recipe


def recipe_dtypes(name: str, act: DType) -> tuple[DType, DType, DType, DType]:
    """(weights, GEMM inputs, attention, KV cache) of a recipe."""
    r = serving_precision(name, act)
    return to_dtype(r.weight), to_dtype(r.gemm), to_dtype(r.attention), to_dtype(r.kv)
