"""Whole Hugging Face transformers in fp32 eager PyTorch on the GPUs of the third-party
whole-model measurements (NeuSight, Lee et al. ASPLOS 2025: P4 .. H100, MI100 .. MI250):
every (model, GPU) pair gets a finite inference and training-step prediction whose MFU
against the strict fp32 peak (TF32 off) is plausible. The accuracy itself is judged on
measurements this repository does not have; benchmarks/hf_models_neusight.py estimates it
from the per-op sets it does have (docs/calibration.md)."""

from __future__ import annotations

import json
import math

import pytest

import costmodel
from costmodel.engine.latency import graph_latency
from costmodel.frontends.spec import spec_from_hf
from costmodel.hardware import get_profile

# config.json of each model as its checkpoint publishes it (the keys that matter); GPT3-XL
# and GPT3-2.7B are GPT-2-architecture configs at the GPT-3 paper's sizes (Brown et al.
# 2020, Table 2.1: d_model 2048 / 24 layers / 16 heads, 2560 / 32 / 32).
GPT = dict(model_type="gpt2", vocab_size=50257, activation_function="gelu_new", architectures=["GPT2LMHeadModel"])
MODELS = {
    "bert-large": dict(  # google-bert/bert-large-uncased
        model_type="bert",
        architectures=["BertForMaskedLM"],
        vocab_size=30522,
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        intermediate_size=4096,
        max_position_embeddings=512,
    ),
    "gpt2-large": dict(GPT, n_embd=1280, n_layer=36, n_head=20, n_positions=1024),  # openai-community/gpt2-large
    "gpt3-xl": dict(GPT, n_embd=2048, n_layer=24, n_head=16, n_positions=2048),
    "opt-1.3b": dict(  # facebook/opt-1.3b
        model_type="opt",
        architectures=["OPTForCausalLM"],
        vocab_size=50272,
        hidden_size=2048,
        num_hidden_layers=24,
        num_attention_heads=32,
        ffn_dim=8192,
        max_position_embeddings=2048,
    ),
    "gpt3-2.7b": dict(GPT, n_embd=2560, n_layer=32, n_head=32, n_positions=2048),
    "switch-base-8": dict(  # google/switch-base-8
        model_type="switch_transformers",
        architectures=["SwitchTransformersForConditionalGeneration"],
        vocab_size=32128,
        d_model=768,
        d_kv=64,
        d_ff=3072,
        num_layers=12,
        num_heads=12,
        num_experts=8,
        encoder_sparse_step=2,
        decoder_sparse_step=2,
    ),
}
# the measured GPUs under their profile names (MI250: one GCD as PyTorch sees it, and the
# two-GCD module)
GPUS = (
    "p4",
    "p100-pcie-16gb",
    "t4",
    "v100-pcie-32gb",
    "v100-sxm2-32gb",
    "a100-pcie-40gb",
    "a100-sxm4-40gb",
    "a40",
    "l4",
    "a10",
    "h100-sxm5-80gb",
    "mi100",
    "mi210",
    "mi250-gcd",
    "mi250",
)
BATCH, SEQ = 4, 512


@pytest.fixture(scope="module")
def forward_costs():
    """Each model's fp32 forward, analysed once (device-independent)."""
    return {
        m: costmodel.analyze(spec_from_hf(cfg), bindings={"batch": BATCH, "seq": SEQ}, dtype="fp32").graph_cost
        for m, cfg in MODELS.items()
    }


@pytest.mark.parametrize("gpu", GPUS)
def test_inference_is_predicted_on_every_gpu(forward_costs, gpu):
    hw = get_profile(gpu)
    peak = hw.peak_flops["fp32"]
    for model, gc in forward_costs.items():
        t = graph_latency(gc, hw, execution="eager").latency_s
        assert math.isfinite(t) and t > 0, (model, gpu)
        mfu = float(gc.total.flops) / t / peak
        # eager fp32 on CUDA / vector cores: never above the fp32 peak, and GEMM-dominated
        # models at 2048 tokens keep well above a few percent of it
        assert 0.05 < mfu < 1.0, (model, gpu, mfu)


@pytest.mark.parametrize("gpu", GPUS)
def test_training_step_is_predicted_on_every_gpu(capsys, tmp_path, gpu):
    from cli.main import main

    get_profile(gpu)  # every measured GPU has a built-in profile
    for model, cfg in MODELS.items():
        path = tmp_path / f"{model}.json"
        path.write_text(json.dumps(cfg))
        argv = ["train", str(path), "--hardware", gpu, "--gpus", "1", "--batch", str(BATCH), "--seq-len", str(SEQ)]
        rc = main([*argv, "--precision", "fp32", "--optimizer", "adamw", "--format", "json"])
        out = json.loads(capsys.readouterr().out)
        assert rc == 0, (model, gpu)
        step = out["step"]["latency_s"] - out["breakdown"]["optimizer_s"]  # forward + backward
        assert math.isfinite(step) and step > 0, (model, gpu)
        assert 0.05 < out["mfu"] < 1.0, (model, gpu, out["mfu"])
