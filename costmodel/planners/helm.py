"""HELM's idealized inference runtime (Liang et al. 2022, "Holistic Evaluation of
Language Models", sec. 4.9 / appendix on efficiency; Narayanan et al. 2023, "Cheaply
Estimating Inference Efficiency Metrics for Autoregressive Transformer Models"):

    runtime(p, o) = R(p) + g (o - 1)

with R(p) the time to encode a p-token prompt (which yields the first output token),
tabulated at HELM's 27 prompt sizes, and g the time per further output token, at batch
1. HELM's published table (helm src/helm/benchmark/efficiency_data/
inference_idealized_runtimes.json) maps a model name to {"runtime_per_output_token": g,
"runtime_for_prompt_tokens": {"1": R(1), "16": R(16), ...}}; `helm_entry` builds the
same, plus the cost-aware variant of Narayanan et al. (accelerator-seconds: runtime x
the accelerators serving the model) under extra keys HELM's reader ignores.

HELM's reference setup (the one its published rows were measured on): Megatron-LM
(2022) on NVIDIA A100 80GB GPUs, fp16, batch 1, tensor parallelism over the minimum
number of GPUs that hold the weights (a power of two dividing the heads). Megatron then
ran attention with its scores in memory (no flash attention), computed the logits of
every prompt position, and dispatched every op from Python. `reference_case` builds that
setup; a phase's time is the GPU's (kernels back to back, tensor-parallel all-reduces
included: the engine's graph timing, times MEGATRON_GPU_SCALE) and the host's
(MEGATRON_HOST_S per kernel dispatched) combined as a smooth maximum,

    t = (host^k + gpu^k)^(1/k),

since a forward is host-bound when its kernels are short (decode, short prompts) and
GPU-bound when they are long, with the two overlapping imperfectly in between.

MEGATRON_HOST_S, OVERLAP_K and MEGATRON_GPU_SCALE are fitted on two of HELM's rows,
openai/curie (6.7B, one GPU) and ai21/j1-jumbo (178B, eight GPUs):
benchmarks/fit_helm.py. Every other row is held out; docs/research.md lists the errors
per row and tests/test_helm.py checks GPT-J and GPT-3 175B against theirs.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import PlanError
from ..frontends.spec import ModelSpec
from ..hardware.systems import get_system
from .layout import ParallelLayout, ServingSetup

# HELM's prompt sizes (the keys of runtime_for_prompt_tokens in its published table)
PROMPT_TOKENS: tuple[int, ...] = (1, 16, 32, 64, 128, 192, 256, 320, 384, 428, 472, 512, 576, 640, 704)
PROMPT_TOKENS += (768, 832, 896, 960, 1024, 1152, 1280, 1408, 1536, 1664, 1792, 1920)
REFERENCE_DEVICE = "a100-sxm4-80gb"
REFERENCE_DTYPE = "fp16"
# Host seconds per kernel dispatched by Megatron-LM's 2022 generation loop (Python module
# code + PyTorch dispatch + launch) and the overlap exponent: fitted by
# benchmarks/fit_helm.py on HELM's curie and j1-jumbo rows (module notes)
MEGATRON_HOST_S = 61e-6
OVERLAP_K = 3.0
# The GPU time of HELM's 2022 stack (Megatron-LM's kernels, PyTorch 1.x / CUDA 11 on the
# A100) over the engine's: the engine's efficiencies come from the cross-device model,
# fitted on 2023-2026 PyTorch 2.x measurements, with no fp16 A100 set among them. Fitted
# with the two constants above on the same two rows.
MEGATRON_GPU_SCALE = 1.2
# usable fraction of device memory for the weights when choosing the GPU count: the
# rest holds activations, the KV cache and the framework (CUDA context, workspaces)
WEIGHT_FRACTION = 0.9


def min_gpus(spec: ModelSpec, capacity_bytes: float, weight_bytes: float) -> int:
    """The fewest GPUs, a power of two that divides the heads, whose memory holds the
    weights (WEIGHT_FRACTION of each)."""
    need = max(1, math.ceil(weight_bytes / (capacity_bytes * WEIGHT_FRACTION)))
    tp = 1
    while tp < need or (spec.num_heads and spec.num_heads % tp):
        tp *= 2
        if tp > 1024:
            raise PlanError(f"{spec.name} needs more than 1024 devices to hold its weights")
    return tp


def combined(host_s: float, gpu_s: float, k: float = OVERLAP_K) -> float:
    """The smooth maximum (host^k + gpu^k)^(1/k) (module notes)."""
    return float((host_s**k + gpu_s**k) ** (1.0 / k))


def reference_case(spec: ModelSpec, hardware: Any = REFERENCE_DEVICE, tp: int | None = None) -> Any:
    """HELM's reference setup for a model (module notes) as a ServingCase."""
    from .llm import ServingCase
    from .workload import param_count

    system = get_system(hardware)
    dev = system.device
    if not spec.arch.generates:
        raise PlanError(f"{spec.name} is a {spec.architecture} model: HELM's runtimes are for generators")
    weights = param_count(spec) * 2  # fp16
    n = tp or min_gpus(spec, float(dev.memory_capacity), weights)
    setup = ServingSetup(
        batch=1,
        dtype=REFERENCE_DTYPE,
        logits="all",
        prefill_dispatch="graph",  # the GPU's time; the host's is added by helm_entry
        decode_dispatch="graph",
        attention="unfused",
        allow_past_context=True,  # HELM's grid runs every model to 1,920 prompt tokens
    )
    return ServingCase(spec=spec, system=system, layout=ParallelLayout(tp=n), setup=setup)


def phase_times(case: Any, prompt_len: int) -> tuple[float, float, Any]:
    """(R(p), g at this context, the plan): the case's GPU times with the host's dispatch
    time combined (module notes); the plan says whether it fits."""
    plan = case.plan(batch=1, prompt_len=prompt_len, output_len=2)
    r = combined(plan.prefill.kernels * MEGATRON_HOST_S, plan.prefill.latency_s * MEGATRON_GPU_SCALE)
    g = combined(plan.decode.kernels * MEGATRON_HOST_S, plan.decode.latency_s * MEGATRON_GPU_SCALE)
    return r, g, plan


def helm_entry(case: Any, prompt_lens: tuple[int, ...] = PROMPT_TOKENS) -> dict[str, Any]:
    """One model's row of HELM's table for the case: R(p) at each prompt size, g (a
    decode step at the middle of the grid, as HELM's regression slope averages over
    contexts), and the accelerator-seconds variant (x devices)."""
    devices = case.layout.tp * case.layout.pp
    prompt: dict[str, float] = {}
    for p in prompt_lens:
        r, _, plan = phase_times(case, p)
        if not plan.fits:
            raise PlanError(
                f"{case.spec.name} does not fit on {devices} x {case.system.device.name} at a {p}-token prompt "
                f"({plan.memory.total_bytes / 2**30:.1f} GiB per device): use more devices (--tp)"
            )
        prompt[str(p)] = r
    _, g, _ = phase_times(case, prompt_lens[len(prompt_lens) // 2])
    return {
        "runtime_per_output_token": g,
        "runtime_for_prompt_tokens": prompt,
        "accelerator_seconds_per_output_token": g * devices,
        "accelerator_seconds_for_prompt_tokens": {k: v * devices for k, v in prompt.items()},
        "num_accelerators": devices,
        "accelerator": case.system.device.name,
        "precision": case.setup.dtype,
    }
