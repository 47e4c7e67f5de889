"""MoE serving with data-parallel attention and expert parallelism
(planners/serving_moe.py): memory per device from the architecture, the all-to-all
over the system's tiers, and the layouts it accepts."""

from __future__ import annotations

import pytest

from costmodel.errors import PlanError
from costmodel.hardware.systems import get_system
from costmodel.planners.llm import plan_llm
from costmodel.planners.serving_moe import ep_all_to_all_s


def test_mixtral_weights_per_device():
    """Mixtral-8x7B bf16: per layer 8 experts x 3 x 4096 x 14336 routed weights; the
    rest (attention q/o 2 x 4096^2 and k/v 2 x 4096 x 1024 per layer, router 4096 x 8,
    two norms, the embedding and LM head 2 x 32000 x 4096 and the final norm) is dense.
    TP 8 splits both 8 ways; EP 8 with data-parallel attention keeps the dense part
    whole and one expert per device."""
    d, layers, vocab = 4096, 32, 32000
    experts = layers * 8 * 3 * d * 14336
    dense = layers * (2 * d * d + 2 * d * 1024 + d * 8 + 2 * d) + 2 * vocab * d + d
    tp = plan_llm("mixtral-8x7b", "h100", batch=8, prompt_len=256, output_len=2, tp=8)
    ep = plan_llm("mixtral-8x7b", "h100", batch=8, prompt_len=256, output_len=2, dp=8, ep=8)
    assert tp.params == experts + dense
    assert ep.memory.weights_bytes == 2 * dense + 2 * experts // 8
    assert tp.memory.weights_bytes == pytest.approx(2 * (dense + experts) / 8, rel=0.01)
    # each attention group holds its own sequences: 8 of 64 per device at EP 8, and the
    # same bytes as TP 8's (which splits every sequence's 8 KV heads one per device)
    ep64 = plan_llm("mixtral-8x7b", "h100", batch=64, prompt_len=256, output_len=2, dp=8, ep=8)
    tp64 = plan_llm("mixtral-8x7b", "h100", batch=64, prompt_len=256, output_len=2, tp=8)
    assert ep64.memory.kv_cache_bytes == tp64.memory.kv_cache_bytes == 64 * 258 * 32 * 8 * 128 * 2 * 2 // 8
    assert ep.devices == 8 and ep.to_dict()["ep"] == 8


def test_deepseek_mla_cache_is_not_split_by_tp_but_is_by_dp():
    """MLA caches one 512 + 64 latent per token and layer (DeepSeek-V3: 61 layers), which
    tensor parallelism replicates; data-parallel attention splits the sequences."""
    per_token = 61 * (512 + 64) * 1  # fp8 cache
    kw = dict(batch=64, prompt_len=1000, output_len=24, weight_dtype="fp8", kv_dtype="fp8")
    tp = plan_llm("deepseek-v3", "h200", tp=8, **kw)
    dp = plan_llm("deepseek-v3", "h200", dp=8, ep=8, **kw)
    assert tp.memory.kv_cache_bytes == 64 * 1024 * per_token
    assert dp.memory.kv_cache_bytes == 8 * 1024 * per_token
    assert dp.max_batch > 7 * tp.max_batch // 2


def test_all_to_all_over_the_tiers():
    """Each device sends 1 MB spread over 16 devices on H100 nodes of 8: 7/16 of it over
    NVLink 4 (450 GB/s per direction at 0.8, 5 us) and 8/16 over the 400 Gb/s NIC
    (50 GB/s at 0.8, 10 us), both at once (hardware/network.py)."""
    sys = get_system("h100")
    nbytes = 1e6
    intra = 5e-6 + nbytes * 7 / 16 / (450e9 * 0.8)
    inter = 10e-6 + nbytes * 8 / 16 / (50e9 * 0.8)
    assert ep_all_to_all_s(nbytes, 16, sys) == pytest.approx(max(intra, inter), rel=1e-12)
    assert ep_all_to_all_s(nbytes, 8, sys) == pytest.approx(5e-6 + nbytes * 7 / 8 / (450e9 * 0.8), rel=1e-12)
    assert ep_all_to_all_s(nbytes, 1, sys) == 0.0


def test_expert_parallel_decode_costs_the_all_to_all():
    kw = dict(batch=128, prompt_len=256, output_len=2, weight_dtype="fp8", kv_dtype="fp8")
    one_node = plan_llm("deepseek-v3", "h200", dp=8, ep=8, **kw)
    two_nodes = plan_llm("deepseek-v3", "h200", dp=16, ep=16, **kw)
    assert two_nodes.decode.comm_s > one_node.decode.comm_s > 0  # half the NIC is slower than NVLink
    assert two_nodes.memory.weights_bytes < one_node.memory.weights_bytes


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(dp=2, ep=2), "no experts"),
        (dict(tp=2, dp=2, ep=2), "dp x tp"),
        (dict(dp=3, ep=3), "not divisible"),
        (dict(dp=2, ep=2, pp=2), "pipeline"),
    ],
)
def test_layouts_refused(kw, message):
    model = "llama-3-8b" if message == "no experts" else "mixtral-8x7b"
    with pytest.raises(PlanError, match=message):
        plan_llm(model, "h100", batch=4, prompt_len=64, output_len=2, **kw)
