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

HELM's reference setup is documented by the profiling scripts and logs behind its table
(HELM's efficiency_metrics.py points to stanford-crfm/benchmarking_efficiency for them;
Narayanan et al. 2023 give stanford-crfm/helm-efficiency, which holds scripts/*.sh,
logs/a100/*.log, generate_text.py and notebooks/fit_runtimes.py): NVIDIA's
Megatron-LM text generation (a 2022 fork, deepakn94/megatron-lm) on A100 80GB GPUs
(logs/a100/), fp16, batch 1, every model a Megatron GPT (learned positions, GELU MLP,
LayerNorm, biases) with the GPT-2 BPE vocabulary (50,257 tokens padded to a multiple of
128 x TP) whatever the real model's tokenizer, tensor parallelism within one 8-GPU
server and, for MT-NLG 530B only, three pipeline stages measured as one 35-layer stage
times three. R(p) is the end-to-end time of one generate call for a p-token prompt and
one output token (notebooks/fit_runtimes.py: "the runtime when num_output_tokens is
equal to 1"), and g the slope of a regression of the remaining time on the output
tokens over every prompt size. HELM_RUNS lists each row's run; its GPU counts are not
the fewest that hold the weights (52B, 66B and YaLM ran on four A100s where two hold
them), and `reference_layout` picks counts for other models by the one memory rule that
gives every documented count (WEIGHT_FRACTION).

Megatron then ran attention with its scores in memory (no flash attention), computed
the logits of every prompt position, and dispatched every op from Python.
`reference_case` builds that setup; a phase's time is the GPU's (kernels back to back,
tensor-parallel all-reduces included: the engine's graph timing, times
MEGATRON_GPU_SCALE) and the host's (MEGATRON_HOST_S per kernel dispatched) combined as a
smooth maximum,

    t = (host^k + gpu^k)^(1/k),

since a forward is host-bound when its kernels are short (decode, short prompts) and
GPU-bound when they are long, with the two overlapping imperfectly in between.

MEGATRON_HOST_S, OVERLAP_K and MEGATRON_GPU_SCALE are fitted on two of HELM's rows,
openai/curie (HELM's J1-Large run, one GPU) and ai21/j1-jumbo (eight GPUs):
benchmarks/fit_helm.py. Every other row is held out; docs/research.md lists the errors
per row and tests/test_helm.py checks them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
MEGATRON_HOST_S = 60e-6
OVERLAP_K = 3.0
# The GPU time of HELM's 2022 stack (Megatron-LM's kernels, PyTorch 1.x / CUDA 11 on the
# A100) over the engine's: the engine's efficiencies come from the cross-device model,
# fitted on 2023-2026 PyTorch 2.x measurements, with no fp16 A100 set among them. Fitted
# with the two constants above on the same two rows.
MEGATRON_GPU_SCALE = 1.24
# The weights' share of each device's memory when choosing the GPU count. HELM's runs
# (HELM_RUNS) hold at most 52% of an A100 80GB in weights (davinci, BLOOM, a MT-NLG
# stage) and would have held 61% or more on half as many GPUs (the 52B model on two), so
# every fraction in [0.52, 0.60) gives every documented count; 0.55 is inside it. An
# inference from the counts, not a rule HELM states.
WEIGHT_FRACTION = 0.55
# tensor parallelism stays within one server (HELM's runs: --nproc_per_node at most 8,
# --nnodes 1); larger models add pipeline stages of this many GPUs
SERVER_GPUS = 8
GPT2_VOCAB = 50257  # the GPT-2 BPE vocabulary every HELM run used (--tokenizer-type GPT2BPETokenizer)


@dataclass(frozen=True)
class MegatronRun:
    """One of HELM's profiling runs (stanford-crfm/helm-efficiency scripts/<script>.sh,
    logs/a100/<script>.log): a Megatron GPT of these dimensions, tensor-parallel over tp
    GPUs; `stages` copies of it make the model (HELM's MT-NLG row is three times a 35-layer
    run, a pipeline stage of 105 layers: its published values are multiples of 3 x 1 ms).
    Megatron pads the vocabulary to a multiple of vocab_divisor x tp
    (--make-vocab-size-divisible-by, 128 by default)."""

    script: str
    layers: int
    hidden: int
    heads: int
    ffn: int
    tp: int
    stages: int = 1
    vocab_divisor: int = 128

    @property
    def vocab(self) -> int:
        m = self.vocab_divisor * self.tp
        return -(-GPT2_VOCAB // m) * m

    @property
    def gpus(self) -> int:
        return self.tp * self.stages


_J1_LARGE = MegatronRun("ai21_j1_large", 32, 4096, 32, 16384, 1)
_DAVINCI = MegatronRun("openai_davinci", 96, 12288, 96, 49152, 8)
_GPTJ = MegatronRun("gptj_6b", 28, 4096, 16, 16384, 1)
_NEOX = MegatronRun("gpt_neox_20b", 44, 6144, 64, 24576, 1)
_ANTHROPIC = MegatronRun("anthropic", 64, 8192, 64, 32768, 4)
# HELM row -> its run, from the scripts' arguments and the logs' "tensor-model-parallel
# size" and "padded vocab" lines. Rows HELM fills from another model's run share it:
# curie and TNLGv2_7B are J1-Large's run, opt-175b davinci's, cohere/xlarge Anthropic's
# (the published values are identical).
HELM_RUNS: dict[str, MegatronRun] = {
    "openai/ada": MegatronRun("openai_ada", 24, 1024, 16, 4096, 1),
    "openai/curie": _J1_LARGE,
    "ai21/j1-large": _J1_LARGE,
    "microsoft/TNLGv2_7B": _J1_LARGE,
    "openai/davinci": _DAVINCI,
    "together/opt-175b": _DAVINCI,
    # --make-vocab-size-divisible-by 262144: J1's own 256K vocabulary (J1-Large's and
    # J1-Jumbo's logs show GPT-2's)
    "ai21/j1-grande": MegatronRun("ai21_j1_grande", 50, 5120, 40, 20480, 1, vocab_divisor=262144),
    "ai21/j1-jumbo": MegatronRun("ai21_j1_jumbo", 76, 13824, 96, 55296, 8),
    "huggingface/gptj_6b": _GPTJ,
    "gooseai/gpt-j-6b": _GPTJ,
    "together/gpt-j-6b": _GPTJ,
    "together/gpt-neox-20b": _NEOX,
    "gooseai/gpt-neo-20b": _NEOX,
    "microsoft/TNLGv2_530B": MegatronRun("mt_nlg", 35, 20480, 128, 81920, 8, stages=3),
    "anthropic/stanford-online-all-v4-s3": _ANTHROPIC,
    "cohere/xlarge-20220609": _ANTHROPIC,
    # --make-vocab-size-divisible-by 31335: 250,680 tokens (BLOOM's own is 250,880)
    "together/bloom": MegatronRun("bloom", 70, 14336, 112, 57344, 8, vocab_divisor=31335),
    "together/opt-66b": MegatronRun("opt_66b", 64, 9216, 72, 36864, 4),
    # --ffn-hidden-size 27308 (YaLM-100B's), in Megatron's plain GELU MLP
    "together/yalm": MegatronRun("yalm", 80, 10240, 128, 27308, 4),
}


def megatron_spec(name: str, run: MegatronRun) -> ModelSpec:
    """The Megatron GPT that HELM profiled for a row (HELM_RUNS)."""
    from ..frontends.spec import spec_from_dict

    return spec_from_dict(
        {
            "name": name.replace("/", "_"),
            "architecture": "decoder",
            "vocab_size": run.vocab,
            "hidden_size": run.hidden,
            "num_layers": run.layers,
            "num_heads": run.heads,
            "intermediate_size": run.ffn,
            "mlp": "plain",
            "activation": "gelu",
            "norm": "layernorm",
            "qkv_bias": True,
            "o_bias": True,
            "mlp_bias": True,
            "position": "learned",
            "max_position": 2048,
        }
    )


def reference_layout(spec: ModelSpec, capacity_bytes: float, weight_bytes: float) -> tuple[int, int]:
    """(tp, pp): the fewest GPUs in HELM's manner whose memory holds the weights in
    WEIGHT_FRACTION of each: a power-of-two tensor-parallel degree dividing the heads, up
    to one server, then as many pipeline stages of a server as the weights need."""
    need = max(1, math.ceil(weight_bytes / (capacity_bytes * WEIGHT_FRACTION)))
    tp = 1
    while tp < min(need, SERVER_GPUS) or (spec.num_heads and spec.num_heads % tp):
        tp *= 2
        if tp > SERVER_GPUS:
            raise PlanError(f"{spec.name}: no power-of-two tensor parallelism up to {SERVER_GPUS} divides its heads")
    pp = max(1, math.ceil(need / tp)) if need > tp else 1
    if pp > spec.num_layers:
        raise PlanError(f"{spec.name} needs more pipeline stages ({pp}) than it has layers to hold its weights")
    return tp, pp


def combined(host_s: float, gpu_s: float, k: float = OVERLAP_K) -> float:
    """The smooth maximum (host^k + gpu^k)^(1/k) (module notes)."""
    return float((host_s**k + gpu_s**k) ** (1.0 / k))


def reference_case(
    spec: ModelSpec, hardware: Any = REFERENCE_DEVICE, tp: int | None = None, pp: int | None = None
) -> Any:
    """HELM's reference setup for a model (module notes) as a ServingCase; tp and pp
    default to reference_layout's."""
    from .llm import ServingCase
    from .workload import param_count

    system = get_system(hardware)
    dev = system.device
    if not spec.arch.generates:
        raise PlanError(f"{spec.name} is a {spec.architecture} model: HELM's runtimes are for generators")
    weights = param_count(spec) * 2  # fp16
    auto_tp, auto_pp = reference_layout(spec, float(dev.memory_capacity), weights)
    setup = ServingSetup(
        batch=1,
        dtype=REFERENCE_DTYPE,
        logits="all",
        prefill_dispatch="graph",  # the GPU's time; the host's is added by helm_entry
        decode_dispatch="graph",
        attention="unfused",
        allow_past_context=True,  # HELM's grid runs every model to 1,920 prompt tokens
    )
    layout = ParallelLayout(tp=tp or auto_tp, pp=pp or (auto_pp if tp is None else 1))
    return ServingCase(spec=spec, system=system, layout=layout, setup=setup)


def run_entry(name: str, hardware: Any = REFERENCE_DEVICE) -> dict[str, Any]:
    """HELM's row `name` as its documented run (HELM_RUNS) gives it."""
    run = HELM_RUNS[name]
    return helm_entry(reference_case(megatron_spec(name, run), hardware, tp=run.tp), stages=run.stages)


def phase_times(case: Any, prompt_len: int) -> tuple[float, float, Any]:
    """(R(p), g at this context, the plan): the case's GPU times with the host's dispatch
    time combined (module notes); the plan says whether it fits. At batch 1 pipeline
    stages run one after another, each dispatching its own kernels (the plan counts the
    busiest stage's)."""
    plan = case.plan(batch=1, prompt_len=prompt_len, output_len=2)
    host = MEGATRON_HOST_S * case.layout.pp
    r = combined(plan.prefill.kernels * host, plan.prefill.latency_s * MEGATRON_GPU_SCALE)
    g = combined(plan.decode.kernels * host, plan.decode.latency_s * MEGATRON_GPU_SCALE)
    return r, g, plan


def helm_entry(case: Any, prompt_lens: tuple[int, ...] = PROMPT_TOKENS, stages: int = 1) -> dict[str, Any]:
    """One model's row of HELM's table for the case: R(p) at each prompt size, g (a
    decode step at the middle of the grid, as HELM's regression slope averages over
    contexts), and the accelerator-seconds variant (x devices). `stages` copies of the
    case make the model, as in HELM's MT-NLG row (MegatronRun)."""
    devices = case.layout.tp * case.layout.pp * stages
    prompt: dict[str, float] = {}
    for p in prompt_lens:
        r, _, plan = phase_times(case, p)
        if not plan.fits:
            raise PlanError(
                f"{case.spec.name} does not fit on {devices} x {case.system.device.name} at a {p}-token prompt "
                f"({plan.memory.total_bytes / 2**30:.1f} GiB per device): use more devices (--tp, --pp)"
            )
        prompt[str(p)] = r * stages
    _, g, _ = phase_times(case, prompt_lens[len(prompt_lens) // 2])
    g *= stages
    return {
        "runtime_per_output_token": g,
        "runtime_for_prompt_tokens": prompt,
        "accelerator_seconds_per_output_token": g * devices,
        "accelerator_seconds_for_prompt_tokens": {k: v * devices for k, v in prompt.items()},
        "num_accelerators": devices,
        "accelerator": case.system.device.name,
        "precision": case.setup.dtype,
    }
