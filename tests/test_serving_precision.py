"""Serving precision recipes (planners/serving_precision.py): a quantized checkpoint's
block linears multiply in the GEMM dtype and write 16-bit outputs, their 16-bit inputs
are quantized by a kernel of their own (none before the output projection: attention
writes its input quantized), and the embedding, LM head, norms and residual stream stay
in --dtype."""

from __future__ import annotations

import json

import pytest

from cli.llm import PRECISIONS
from costmodel.analysis import analyze_graph
from costmodel.errors import PlanError
from costmodel.frontends import load_model_spec
from costmodel.frontends.lower import Logits, Phase, Workload, lower
from costmodel.ir.dtypes import dtype as to_dtype
from costmodel.planners.llm import plan_llm
from costmodel.planners.serving_precision import SERVING_PRECISIONS

BF16, FP8 = to_dtype("bf16"), to_dtype("fp8")


def _layer_nodes(model: str, batch: int, gemm: bool = True) -> dict[str, object]:
    spec = load_model_spec(model)
    assert spec is not None
    wl = Workload(
        Phase.DECODE,
        batch,
        1,
        10,
        Logits.LAST,
        BF16,
        FP8,
        FP8,
        gemm_dtype=FP8 if gemm else None,
        attention_dtype=FP8 if gemm else None,
    )
    nodes = {}
    for seg in lower(spec, wl):
        for n in analyze_graph(seg.graph).nodes:
            nodes[n.name] = n
    return nodes


def test_cli_choices_are_the_recipes():
    assert PRECISIONS == (*SERVING_PRECISIONS, "none")


def test_block_linears_are_quantized_and_the_head_stays_16_bit():
    spec = load_model_spec("llama-3-8b")
    assert spec is not None
    batch, d, inter = 4, spec.hidden_size, spec.intermediate_size
    n = _layer_nodes("llama-3-8b", batch)
    quantizes = sorted(k for k, v in n.items() if v.op_type == "QuantizeLinear")  # type: ignore[attr-defined]
    # one before each linear whose input is 16-bit; the o projection reads attention's fp8 output
    assert quantizes == ["attn.qkv.quantize", "mlp.down.quantize", "mlp.gate_up.quantize"]
    for name in ("attn.qkv", "attn.o", "mlp.gate_up", "mlp.down"):
        assert n[name].dtype == "fp8_e4m3"  # type: ignore[attr-defined]
    assert n["attn.attn"].dtype == "fp8_e4m3"  # type: ignore[attr-defined]
    assert n["lm_head"].dtype == "bf16"  # type: ignore[attr-defined]
    assert n["ln_1"].dtype == "bf16" and n["residual_1"].dtype == "bf16"  # type: ignore[attr-defined]
    down = n["mlp.down"].cost  # type: ignore[attr-defined]
    # fp8 input rows x inter (1 byte), fp8 weight inter x d (1 byte), bf16 output rows x d (2 bytes)
    assert down.read_activations == batch * inter
    assert down.read_weights == inter * d
    assert down.write_activations == 2 * batch * d
    q = n["mlp.down.quantize"].cost  # type: ignore[attr-defined]
    assert q.write_activations == batch * inter  # bf16 in, fp8 out
    head = n["lm_head"].cost  # type: ignore[attr-defined]
    assert head.read_weights == 2 * d * spec.vocab_size


def test_without_a_recipe_the_lowering_is_unchanged():
    n = _layer_nodes("llama-3-8b", 4, gemm=False)
    assert not any(v.op_type == "QuantizeLinear" for v in n.values())  # type: ignore[attr-defined]
    assert n["mlp.down"].dtype == "bf16"  # type: ignore[attr-defined]  # weight-only fp8: a 16-bit GEMM


def test_moe_experts_are_quantized_and_the_router_is_not():
    n = _layer_nodes("mixtral-8x7b", 4)
    experts = next(v for k, v in n.items() if k.endswith("experts"))
    router = next(v for k, v in n.items() if k.endswith("router"))
    assert experts.dtype == "fp8_e4m3"  # type: ignore[attr-defined]
    assert router.dtype == "bf16"  # type: ignore[attr-defined]
    assert any(k.endswith("experts.quantize") for k in n)


def test_recipe_weights_in_memory():
    spec = load_model_spec("llama-3-8b")
    assert spec is not None
    plan = plan_llm("llama-3-8b", "h200", precision="fp8")
    d, vocab = spec.hidden_size, spec.vocab_size
    block = plan.params - 2 * vocab * d - (2 * spec.num_layers + 1) * d  # untied embedding and head, norms
    assert plan.memory.weights_bytes == block + 2 * (2 * vocab * d + (2 * spec.num_layers + 1) * d)
    assert plan.weight_dtype == "fp8_e4m3" and plan.dtype == "bf16" and plan.kv_dtype == "fp8_e4m3"
    assert plan.to_dict()["precision"] == "fp8"


def test_recipe_sits_between_all_fp8_and_bf16():
    kw = dict(batch=256, prompt_len=1024, output_len=256)
    recipe = plan_llm("llama-3-8b", "h100", precision="fp8", **kw)
    all_fp8 = plan_llm("llama-3-8b", "h100", dtype="fp8", precision="none", **kw)
    bf16 = plan_llm("llama-3-8b", "h100", kv_dtype="fp8", **kw)
    assert all_fp8.decode.latency_s < recipe.decode.latency_s < bf16.decode.latency_s
    assert all_fp8.prefill.latency_s < recipe.prefill.latency_s < bf16.prefill.latency_s


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(precision="fp8", weight_dtype="int4"), "drop --weight-dtype"),
        (dict(precision="fp8", dtype="fp8"), "16-bit float"),
        (dict(precision="int3"), "--precision must be one of"),
    ],
)
def test_recipe_errors(kw, message):
    with pytest.raises(PlanError, match=message):
        plan_llm("llama-3-8b", "h100", **kw)


def test_cli_precision(capsys):
    from costmodel_cli.main import main

    rc = main(["llm", "llama-3.2-1b", "--hardware", "h100", "--precision", "fp8", "--format", "json"])
    out, _ = capsys.readouterr()
    d = json.loads(out)
    assert rc == 0
    assert (d["precision"], d["dtype"], d["weight_dtype"], d["kv_dtype"]) == ("fp8", "bf16", "fp8_e4m3", "fp8_e4m3")
    rc = main(["llm", "llama-3.2-1b", "--hardware", "h100", "--precision", "fp8", "--weight-dtype", "int4"])
    _, err = capsys.readouterr()
    assert rc == 2 and "drop --weight-dtype" in err


def test_an_fp8_dtype_is_served_as_the_fp8_checkpoint_is():
    """`--dtype fp8` (no weight dtype) means the FP8 recipe with bf16 activations, the same
    plan as `--dtype bf16 --precision fp8`, with a note; `--precision none` keeps every
    tensor in fp8 (smaller weights: the embedding and LM head in 1 byte too)."""
    kw = dict(batch=8, prompt_len=512, output_len=64)
    implied = plan_llm("llama-3-8b", "h100", dtype="fp8", **kw)
    explicit = plan_llm("llama-3-8b", "h100", dtype="bf16", precision="fp8", **kw)
    literal = plan_llm("llama-3-8b", "h100", dtype="fp8", precision="none", **kw)
    assert implied.precision == "fp8" and implied.dtype == "bf16"
    assert implied.decode.latency_s == explicit.decode.latency_s
    assert implied.memory.weights_bytes == explicit.memory.weights_bytes
    assert any("--precision none" in n for n in implied.notes)
    assert literal.precision is None and literal.dtype == "fp8_e4m3"
    spec = load_model_spec("llama-3-8b")
    assert spec is not None
    # embedding + LM head (untied) are 16-bit under the recipe, 8-bit literally
    head_and_embedding = 2 * spec.vocab_size * spec.hidden_size
    assert implied.memory.weights_bytes - literal.memory.weights_bytes >= head_and_embedding
    fp4 = plan_llm("llama-3-8b", "b200", dtype="fp4", **kw)
    assert fp4.precision == "fp4"


def test_a_weight_dtype_keeps_the_dtypes_literal():
    p = plan_llm("llama-3-8b", "h100", dtype="fp8", weight_dtype="fp8", batch=1, prompt_len=64, output_len=4)
    assert p.precision is None and p.dtype == "fp8_e4m3"
