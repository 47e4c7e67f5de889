"""Hugging Face `architectures` heads and the model types switch_transformers, t5 (with a
decoder length), mpt and qwen3_moe: parameter counts against the published models, and
what a plain forward computes (logits per position, decoder positions, routed layers,
eager attention kernels). Expected values are published counts or arithmetic from the
model definitions."""

from __future__ import annotations

import pytest

import costmodel
from costmodel.errors import BindingError, SpecError
from costmodel.frontends import spec_graph
from costmodel.frontends.lower import Logits, Phase, Workload, lower
from costmodel.frontends.spec import spec_from_hf
from costmodel.ir.dtypes import dtype
from costmodel.planners.llm import active_params
from costmodel.planners.workload import param_count

# config.json values of published checkpoints (the keys that matter)
BERT_BASE = dict(
    model_type="bert",
    vocab_size=30522,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    max_position_embeddings=512,
)  # google-bert/bert-base-uncased
BERT_LARGE = {**BERT_BASE, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16}
BERT_LARGE["intermediate_size"] = 4096  # google-bert/bert-large-uncased
GPT2_LARGE = dict(model_type="gpt2", vocab_size=50257, n_embd=1280, n_layer=36, n_head=20, n_positions=1024)
OPT_13B = dict(  # facebook/opt-1.3b
    model_type="opt",
    vocab_size=50272,
    hidden_size=2048,
    num_hidden_layers=24,
    num_attention_heads=32,
    ffn_dim=8192,
    max_position_embeddings=2048,
)
SWITCH_BASE_8 = dict(  # google/switch-base-8
    model_type="switch_transformers",
    vocab_size=32128,
    d_model=768,
    d_kv=64,
    d_ff=3072,
    num_layers=12,
    num_decoder_layers=12,
    num_heads=12,
    num_experts=8,
    num_sparse_encoder_layers=6,
    num_sparse_decoder_layers=6,
    encoder_sparse_step=2,
    decoder_sparse_step=2,
    expert_capacity=64,
)
T5 = dict(model_type="t5", vocab_size=32128, d_kv=64, feed_forward_proj="relu")
T5_SMALL = {**T5, "d_model": 512, "d_ff": 2048, "num_layers": 6, "num_heads": 8}  # google-t5/t5-small
T5_LARGE = {**T5, "d_model": 1024, "d_ff": 4096, "num_layers": 24, "num_heads": 16}  # google-t5/t5-large
MPT_7B = dict(  # mosaicml/mpt-7b
    model_type="mpt",
    d_model=4096,
    n_heads=32,
    n_layers=32,
    expansion_ratio=4,
    max_seq_len=2048,
    vocab_size=50432,
    no_bias=True,
    learned_pos_emb=True,
    attn_config={"alibi": True, "attn_impl": "torch", "qk_ln": False, "clip_qkv": None},
)
QWEN3_30B_A3B = dict(  # Qwen/Qwen3-30B-A3B
    model_type="qwen3_moe",
    vocab_size=151936,
    hidden_size=2048,
    intermediate_size=6144,
    num_hidden_layers=48,
    num_attention_heads=32,
    num_key_value_heads=4,
    head_dim=128,
    moe_intermediate_size=768,
    num_experts=128,
    num_experts_per_tok=8,
    decoder_sparse_step=1,
    mlp_only_layers=[],
    tie_word_embeddings=False,
)


def hf(cfg: dict, cls: str | None = None, **extra):
    return spec_from_hf({**cfg, **extra, **({"architectures": [cls]} if cls else {})})


# Published totals: `model.num_parameters()` of the Hugging Face class built from the
# checkpoint's config (transformers 5.25), which equal the checkpoints' tensor totals on the
# model cards: BERT-base 110M, T5-small 60.5M, T5-large 738M, MPT-7B 6.65B (card: 6.7B),
# Qwen3-30B-A3B 30.5B, switch-base-8 619M.
PUBLISHED = [
    (BERT_BASE, "BertModel", 109_482_240),
    (BERT_BASE, "BertForPreTraining", 110_106_428),
    (BERT_BASE, "BertForMaskedLM", 109_514_298),
    (BERT_BASE, "BertForSequenceClassification", 109_483_778),
    (BERT_LARGE, "BertForPreTraining", 336_226_108),
    (BERT_LARGE, "BertLMHeadModel", 335_174_458),
    (BERT_LARGE, "BertForTokenClassification", 334_094_338),
    (BERT_LARGE, "BertForQuestionAnswering", 334_094_338),
    (GPT2_LARGE, "GPT2LMHeadModel", 774_030_080),
    (GPT2_LARGE, "GPT2ForSequenceClassification", 774_032_640),
    (OPT_13B, "OPTForCausalLM", 1_315_758_080),
    (OPT_13B, "OPTForQuestionAnswering", 1_315_762_178),
    (SWITCH_BASE_8, "SwitchTransformersForConditionalGeneration", 619_339_008),
    (T5_SMALL, "T5ForConditionalGeneration", 60_506_624),
    (T5_LARGE, "T5ForConditionalGeneration", 737_668_096),
    (MPT_7B, "MptForCausalLM", 6_649_286_656),
    (QWEN3_30B_A3B, "Qwen3MoeForCausalLM", 30_532_122_624),
]


@pytest.mark.parametrize(("cfg", "cls", "expected"), PUBLISHED, ids=[c for _, c, _ in PUBLISHED])
def test_parameter_counts_match_the_published_models(cfg, cls, expected):
    assert param_count(hf(cfg, cls)) == expected


def test_bert_heads_add_what_their_modules_hold():
    d, v = 768, 30522
    base = param_count(hf(BERT_BASE, "BertModel"))
    pooler = d * d + d
    mlm = d * d + d + 2 * d + v  # transform dense + LayerNorm + one decoder bias per token (weights tied)
    assert param_count(hf(BERT_BASE, "BertForMaskedLM")) == base - pooler + mlm
    assert param_count(hf(BERT_BASE, "BertForPreTraining")) == base + mlm + 2 * d + 2  # + next-sentence d x 2
    assert param_count(hf(BERT_BASE, "BertForSequenceClassification", num_labels=5)) == base + 5 * d + 5
    three = {0: "a", 1: "b", 2: "c"}  # a fine-tuned config names its labels
    assert param_count(hf(BERT_BASE, "BertForTokenClassification", id2label=three)) == base - pooler + 3 * d + 3


def test_decoder_sequence_classification_scores_without_bias():
    d = 1280
    assert param_count(hf(GPT2_LARGE, "GPT2ForSequenceClassification")) == 774_030_080 + 2 * d


def _lm_head_flops(report) -> int:
    return sum(int(n.cost.flops) for n in report.ops if n.name.endswith("lm_head"))


def test_a_causal_lm_forward_has_logits_for_every_position():
    b, s, d, v = 2, 64, 1280, 50257
    forward = costmodel.analyze(hf(GPT2_LARGE, "GPT2LMHeadModel"), bindings={"batch": b, "seq": s})
    prefill = costmodel.analyze(hf(GPT2_LARGE), bindings={"batch": b, "seq": s})  # no class: serving prefill
    assert _lm_head_flops(forward) == 2 * b * s * d * v
    assert _lm_head_flops(prefill) == 2 * b * d * v


def test_serving_keeps_the_last_position_only():
    spec = hf(GPT2_LARGE, "GPT2LMHeadModel")
    head = lower(spec, Workload(Phase.PREFILL, 1, 128, 0, Logits.LAST))[-1].graph
    assert any(n.name.endswith("last_position") for n in head.nodes)


def test_base_model_has_no_lm_head():
    r = costmodel.analyze(hf(GPT2_LARGE, "GPT2Model"), bindings={"batch": 1, "seq": 8})
    assert _lm_head_flops(r) == 0


def test_unsupported_head_classes_are_refused():
    with pytest.raises(SpecError, match="unsupported architectures class 'GPT2DoubleHeadsModel'"):
        hf(GPT2_LARGE, "GPT2DoubleHeadsModel")
    with pytest.raises(SpecError, match="T5EncoderModel"):
        hf(T5_SMALL, "T5EncoderModel")
    with pytest.raises(SpecError, match="head 'pretraining' is not one of"):
        hf(GPT2_LARGE, "GPT2ForPreTraining")
    with pytest.raises(SpecError, match="architectures must be a list"):
        spec_from_hf({**GPT2_LARGE, "architectures": "GPT2LMHeadModel"})


def test_t5_forward_runs_the_decoder_over_dec_seq_positions():
    spec = hf(T5_SMALL, "T5ForConditionalGeneration")
    d, v = 512, 32128
    r = costmodel.analyze(spec, bindings={"batch": 1, "seq": 64, "dec_seq": 16})
    assert _lm_head_flops(r) == 2 * 16 * d * v
    same = costmodel.analyze(spec, bindings={"batch": 1, "seq": 64})  # default: as many as seq
    assert _lm_head_flops(same) == 2 * 64 * d * v
    with pytest.raises(BindingError, match="encoder-decoder models only"):
        costmodel.analyze(hf(GPT2_LARGE), bindings={"dec_seq": 4})


def test_t5_training_runs_the_decoder_over_the_target():
    spec = hf(T5_SMALL, "T5ForConditionalGeneration")
    head = lower(spec, Workload(Phase.TRAIN, 2, 32, 0, Logits.ALL, decoder_len=8))[-1].graph
    assert head.declared["h"][1] == (2, 8, 512)
    assert any(n.op_type == "SoftmaxCrossEntropyLoss" for n in head.nodes)


def test_switch_routes_every_second_layer_top1():
    spec = hf(SWITCH_BASE_8, "SwitchTransformersForConditionalGeneration")
    assert [i for i in range(12) if spec.is_moe_layer(i)] == [1, 3, 5, 7, 9, 11]  # i % 2 == 1
    segs = lower(spec, Workload(Phase.FORWARD, 1, 32, 0, Logits.ALL))
    experts = [(s.stack, s.layers, n) for s in segs for n in s.graph.nodes if n.op_type == "ExpertMLP"]
    assert {(st, ls) for st, ls, _ in experts} == {
        (st, (1, 3, 5, 7, 9, 11)) for st in ("encoder.layers", "decoder.layers")
    }
    assert all(n.attrs["top_k"] == 1 for _, _, n in experts)
    # one routed pass per token: an expert MLP's two GEMMs (2 x 2 x d x d_ff), ReLU (d_ff)
    # and the routing-weight scale and sum (2 d) per token
    sparse = next(g for g in segs if g.stack == "encoder.layers" and g.layers[0] == 1).graph
    r = costmodel.analyze(sparse)
    ex = [n for n in r.ops if n.op_type == "ExpertMLP"]
    assert int(ex[0].cost.flops) == 32 * (2 * 2 * 768 * 3072 + 3072 + 2 * 768)
    # the class's own eager code loops over the experts: 32 tokens / 8 experts = 4 rows each
    own = costmodel.analyze(spec, bindings={"batch": 1, "seq": 32})
    # the six sparse encoder layers are one group of rows, each row all six copies
    layer1 = [n for n in own.ops if n.name.startswith("encoder.layers[1,3..11]x6/ff.experts.")]
    assert sum(n.op_type == "Scatter" for n in layer1) == 8 and {n.repeat for n in layer1} == {6}
    gemms = [n for n in layer1 if n.op_type == "Linear"]
    assert len(gemms) == 16 and sum(int(n.cost.flops) for n in gemms) == 6 * 8 * 4 * 2 * 2 * 768 * 3072
    assert own.params == 619_339_008
    # 12 routed layers (6 per stack), 7 of 8 experts idle per token: 2 x 768 x 3072 each
    assert active_params(spec) == 619_339_008 - 12 * 7 * 2 * 768 * 3072
    with pytest.raises(SpecError, match="different encoder"):
        hf({**SWITCH_BASE_8, "decoder_sparse_step": 3})


def test_qwen_moe_sparse_layers_follow_decoder_sparse_step():
    spec = hf({**QWEN3_30B_A3B, "num_hidden_layers": 6, "decoder_sparse_step": 2})
    assert [i for i in range(6) if spec.is_moe_layer(i)] == [1, 3, 5]  # (i + 1) % 2 == 0
    with pytest.raises(SpecError, match="mlp_only_layers"):
        hf({**QWEN3_30B_A3B, "mlp_only_layers": [0]})


def test_mpt_uses_alibi_no_biases_and_eager_attention():
    spec = hf(MPT_7B, "MptForCausalLM")
    assert spec.position.value == "alibi" and not spec.qkv_bias and not spec.norm_bias
    assert spec.attn_implementation.value == "eager"  # transformers' MPT has no SDPA path
    with pytest.raises(SpecError, match="qk_ln"):
        hf({**MPT_7B, "attn_config": {"qk_ln": True}})


def test_eager_attention_materialises_the_scores():
    b, s, h, hd, layers = 2, 128, 20, 64, 36
    eager = hf(GPT2_LARGE, "GPT2LMHeadModel", attn_implementation="eager")
    fused = hf(GPT2_LARGE, "GPT2LMHeadModel")
    re_ = costmodel.analyze(eager, bindings={"batch": b, "seq": s}, dtype="fp32")
    rf = costmodel.analyze(fused, bindings={"batch": b, "seq": s}, dtype="fp32")
    assert re_.params == rf.params
    soft = [n for n in re_.ops if n.op_type == "Softmax"]
    assert sum(n.repeat for n in soft) == layers  # one row for the 36 equal layers
    assert int(soft[0].cost.bytes_written) == layers * b * h * s * s * 4  # the fp32 probabilities
    scores = [n for n in re_.ops if n.name.endswith("attn.scores")]
    assert int(scores[0].cost.flops) == layers * 2 * b * h * s * s * hd  # every key, the causal half included
    assert not any(n.op_type == "GroupQueryAttention" for n in re_.ops)
    with pytest.raises(SpecError, match="attn_implementation"):
        hf(GPT2_LARGE, attn_implementation="turbo")


def test_eager_decode_concatenates_the_cache():
    spec = hf(OPT_13B, "OPTForCausalLM", attn_implementation="eager")
    g = lower(spec, Workload(Phase.DECODE, 4, 1, 100, Logits.LAST, dtype("fp16"), eager_code=True))[1].graph
    cat = [n for n in g.nodes if n.op_type == "Concat"]
    assert len(cat) == 2  # keys and values, each a copy of the whole cache


def test_spec_graph_symbols_name_dec_seq_for_encoder_decoders():
    assert spec_graph(hf(T5_SMALL)).symbols == ("batch", "seq", "dec_seq")
    assert spec_graph(hf(GPT2_LARGE)).symbols == ("batch", "seq")


def test_serving_lowers_fused_kernels_whatever_the_config_says():
    spec = hf(OPT_13B, "OPTForCausalLM", attn_implementation="eager")
    g = lower(spec, Workload(Phase.DECODE, 4, 1, 100, Logits.LAST, dtype("fp16")))[1].graph
    assert [n.op_type for n in g.nodes if "Attention" in n.op_type] == ["GroupQueryAttention"]


def test_gelu_new_runs_as_its_python_formula_in_eager_code():
    # NewGELUActivation: 0.5*x, x^3, 0.044715*x^3, x + ., sqrt(2/pi)*., tanh, 1 + ., product
    spec = hf(GPT2_LARGE, "GPT2LMHeadModel")
    assert spec.activation_formula == "gelu_new"
    b, s, inner = 1, 16, 4 * 1280
    r = costmodel.analyze(spec, bindings={"batch": b, "seq": s}, dtype="fp32")
    act = [n for n in r.ops if n.name.startswith("layers[0..35]x36/mlp.act.")]  # GPT-2 large: 36 equal layers
    assert [n.op_type for n in act] == ["Mul", "Pow", "Mul", "Add", "Mul", "Tanh", "Add", "Mul"]
    assert all(int(n.cost.bytes_written) == 36 * b * s * inner * 4 for n in act)
    serving = lower(spec, Workload(Phase.PREFILL, b, s, 0, Logits.LAST))[1].graph
    assert [n.op_type for n in serving.nodes if n.name.startswith("mlp.act")] == ["Gelu"]
    assert not hf(GPT2_LARGE, activation_function="gelu_pytorch_tanh").activation_formula  # one kernel


def test_training_a_named_class_runs_its_own_code():
    from costmodel.frontends.lower.workload import runs_own_code

    assert runs_own_code(hf(GPT2_LARGE, "GPT2LMHeadModel")) and not runs_own_code(hf(GPT2_LARGE))


def test_llm_refuses_heads_that_do_not_generate():
    from costmodel.errors import PlanError
    from costmodel.hardware.systems import get_system
    from costmodel.planners.layout import ParallelLayout, ServingSetup
    from costmodel.planners.llm import estimate_serving

    spec = hf(GPT2_LARGE, "GPT2ForSequenceClassification")
    with pytest.raises(PlanError, match="sequence-classification head"):
        estimate_serving(
            spec, get_system("h100-sxm5-80gb"), ParallelLayout(), ServingSetup(batch=1, prompt_len=8, output_len=2)
        )


def test_rms_norm_runs_as_its_python_module_in_eager_code():
    spec = hf(T5_SMALL, "T5ForConditionalGeneration")
    own = lower(spec, Workload(Phase.FORWARD, 1, 8, 0, Logits.ALL, eager_code=True))[1].graph
    norm = [n.op_type for n in own.nodes if n.name.startswith("ln_self")]
    assert norm == ["Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul"]
    fused = lower(spec, Workload(Phase.FORWARD, 1, 8, 0, Logits.ALL))[1].graph
    assert [n.op_type for n in fused.nodes if n.name.startswith("ln_self")] == ["RMSNormalization"]
