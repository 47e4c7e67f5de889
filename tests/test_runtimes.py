"""Runtimes as graph rewrites (passes/): each pattern on the node patterns exporters emit
and on real torch.onnx exports of small blocks mirroring torchvision / HF modules, the
negative cases that must not fuse, and the invariants: FLOPs and parameters never
change, and the kernels' `covers` name every node of the graph exactly once."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import costmodel
from costmodel.errors import CostModelError
from costmodel.ops.kernel import AttentionShape, GemmShape, RowwiseShape
from costmodel.passes.runtimes import NAMES
from tests.test_fuzz import graphs as fuzz_graphs
from tests.runtime_graphs import (
    Builder,
    add_explicit_attention,
    add_gelu_erf,
    add_gelu_tanh,
    add_layer_norm,
    add_linear,
    add_rms_norm,
    add_sdpa,
    heads,
    merge_heads,
)

INVARIANT = ("flops", "macs", "transcendentals", "params")


def run(m, runtime="none", **kw):
    return costmodel.analyze(m, runtime=runtime, **kw)


def kernels(r):
    return [n for n in r.ops if n.status == "costed"]


def by_type(r):
    out: dict[str, int] = {}
    for n in kernels(r):
        out[n.op_type] = out.get(n.op_type, 0) + 1
    return out


def assert_reconciles(m, runtime, **kw):
    """FLOPs, MACs, transcendentals and params as the graph's; every graph node covered
    by exactly one row. Returns the runtime's report."""
    base = run(m, "none", **kw)
    r = run(m, runtime, **kw)
    for f in INVARIANT:
        assert getattr(r, f) == getattr(base, f), (runtime, f)
    covered = [c for n in r.ops for c in n.covered]
    assert sorted(covered) == sorted(n.name for n in base.ops), runtime
    costed = {n.name for n in base.ops if n.status == "costed"}
    in_kernels = [c for n in kernels(r) for c in n.covered if c in costed]
    assert len(in_kernels) == len(set(in_kernels))
    return r


# -- GEMMs --------------------------------------------------------------------------------


def test_linear_over_3d_input_is_one_gemm_with_the_bias_in_its_epilogue():
    b = Builder([4, 6, 8])
    y = add_linear(b, "x", 8, 3)
    m = b.model(y)
    none = run(m)
    mm = [n for n in kernels(none) if n.op_type == "MatMul"][0]
    assert mm.kernel == GemmShape(batch=4, m=6, n=3, k=8)  # the graph: 4 batched 6x8 by 8x3
    r = assert_reconciles(m, "pytorch")
    (k,) = kernels(r)
    assert k.op_type == "FusedContraction" and len(k.covered) == 2
    assert k.kernel == GemmShape(batch=1, m=24, n=3, k=8)  # folded: 4*6 = 24 rows
    # fused: reads x 4*6*8*4 = 768 B, W 8*3*4 = 96 B, b 3*4 = 12 B; writes y 4*6*3*4 = 288 B
    assert (r.bytes_read, r.bytes_written) == (768 + 96 + 12, 288)
    # as exported: the product is written (288) and read back by the Add (+288)
    assert (none.bytes_read, none.bytes_written) == (768 + 96 + 288 + 12, 288 + 288)


def test_products_pytorch_does_not_fold():
    # a weight on the left of a batched operand: PyTorch broadcasts it (a batched GEMM)
    b = Builder([4, 8, 3])
    y = b.node("MatMul", [b.weight([6, 8]), "x"])
    r = run(b.model(y), "pytorch")
    (k,) = kernels(r)
    assert k.op_type == "MatMul" and k.kernel == GemmShape(batch=4, m=6, n=3, k=8)
    # both operands batched: bmm, nothing to fold
    b = Builder([4, 6, 8])
    y = b.node("MatMul", ["x", b.node("Transpose", ["x"], perm=[0, 2, 1])])
    r = run(b.model(y), "pytorch")
    assert [k.kernel for k in kernels(r) if k.op_type == "MatMul"] == [GemmShape(batch=4, m=6, n=6, k=8)]


def test_a_2d_matmul_and_add_stays_two_kernels_in_eager_pytorch_but_not_in_onnxruntime():
    b = Builder([6, 8])
    m = b.model(add_linear(b, "x", 8, 3))
    assert by_type(run(m, "pytorch")) == {"MatMul": 1, "Add": 1}  # nn.Linear on 2-D exports as Gemm
    assert by_type(assert_reconciles(m, "onnxruntime")) == {"FusedContraction": 1}  # MatMulAddFusion


# -- activations and norms ----------------------------------------------------------------


def test_decomposed_gelu_erf_and_tanh_are_one_kernel_each():
    for add in (add_gelu_erf, add_gelu_tanh):
        b = Builder([4, 16])
        m = b.model(add(b, "x"))
        r = assert_reconciles(m, "pytorch")
        (k,) = kernels(r)
        assert k.op_type == "FusedElementwise"
        # x read once (4*16*4 = 256 B) plus the scalar constants (4 B each), y written once
        consts = 3 if add is add_gelu_erf else 5
        assert r.bytes_read == 256 + 4 * consts and r.bytes_written == 256


def test_a_gelu_shaped_chain_with_other_constants_is_left_alone():
    for c_div, c_half in ((2.0, 0.5), (math.sqrt(2.0), 0.25)):
        b = Builder([4, 16])
        m = b.model(add_gelu_erf(b, "x", c_div=c_div, c_half=c_half))
        assert len(kernels(run(m, "pytorch"))) == 5


def test_decomposed_layer_norm_and_rms_norm_are_one_row_wise_kernel():
    for add in (add_layer_norm, add_rms_norm):
        b = Builder([2, 12, 8])
        m = b.model(add(b, "x", 8))
        r = assert_reconciles(m, "pytorch")
        (k,) = kernels(r)
        assert k.op_type == "FusedNormalization"
        assert k.kernel == RowwiseShape(rows=24, cols=8, softmax=False)  # 2*12 rows of 8


def test_silu_and_mul_is_one_kernel_in_vllm_two_in_pytorch():
    b = Builder([4, 32])
    g = b.node("MatMul", ["x", b.weight([32, 16])])
    u = b.node("MatMul", ["x", b.weight([32, 16])])
    s = b.node("Mul", [g, b.node("Sigmoid", [g])])
    m = b.model(b.node("Mul", [s, u]))
    assert by_type(run(m, "pytorch")) == {"MatMul": 2, "FusedElementwise": 1, "Mul": 1}
    assert by_type(assert_reconciles(m, "vllm")) == {"MatMul": 2, "FusedElementwise": 1}
    # a sigmoid gate over another tensor (squeeze-excitation) is no SiLU
    b = Builder([4, 32])
    gate = b.node("Sigmoid", [b.node("MatMul", ["x", b.weight([32, 32])])])
    m = b.model(b.node("Mul", ["x", gate]))
    assert by_type(run(m, "pytorch")) == {"MatMul": 1, "Sigmoid": 1, "Mul": 1}


# -- attention ----------------------------------------------------------------------------


def _attention(kind: str, expose_probs: bool = False):
    batch, seq, h, d = 2, 10, 4, 8
    b = Builder([batch, seq, h * d])
    q, k, v = (heads(b, add_linear(b, "x", h * d, h * d), batch, seq, h, d) for _ in range(3))
    if kind == "sdpa":
        o = add_sdpa(b, q, k, v, d)
    else:
        o = add_explicit_attention(b, q, k, v, d, bias=b.weight([1, h, seq, seq]))
    extra = ()
    if expose_probs:
        extra = (next(n.output[0] for n in b.nodes if n.op_type == "Softmax"),)
    return b.model(merge_heads(b, o, batch, seq, h, d), extra_outputs=extra)


def test_sdpa_export_is_one_attention_kernel_in_pytorch():
    r = assert_reconciles(_attention("sdpa"), "pytorch")
    (att,) = [k for k in kernels(r) if k.op_type == "FusedAttention"]
    # heads folded into the batch as the graph's MatMuls fold them: 2*4 = 8
    assert att.kernel == AttentionShape(
        batch=8, q_heads=1, kv_heads=1, q_len=10, kv_len=10, head_dim=8, v_head_dim=8, causal=False, pairs=100
    )
    # the head split / merge transposes are views the kernel reads through strides
    assert by_type(r) == {"FusedContraction": 3, "FusedAttention": 1}


def test_attention_written_out_is_not_fused_in_eager_pytorch_but_is_by_compilers():
    m = _attention("explicit")
    assert "FusedAttention" not in by_type(run(m, "pytorch"))  # torchvision Swin in eager
    for rt in ("torch-compile", "onnxruntime", "tensorrt"):
        assert by_type(assert_reconciles(m, rt)).get("FusedAttention") == 1, rt


def test_softmax_probabilities_read_elsewhere_keep_attention_unfused():
    for kind in ("sdpa", "explicit"):
        m = _attention(kind, expose_probs=True)
        for rt in NAMES:
            assert "FusedAttention" not in by_type(assert_reconciles(m, rt)), (kind, rt)


# -- convolutions (model zoo) -------------------------------------------------------------


def test_tensorrt_fuses_conv_bn_sum_relu_on_the_model_zoo_resnet50():
    from tests.test_model_zoo import path

    zoo = path("resnet50")
    none = run(zoo, hardware="h200", execution="graph")
    assert by_type(none) == {
        "Conv": 53,
        "BatchNormalization": 53,
        "Relu": 49,
        "Sum": 16,
        "MaxPool": 1,
        "AveragePool": 1,
        "Gemm": 1,
        "Softmax": 1,
    }
    trt = assert_reconciles(zoo, "tensorrt")
    # every convolution runs its batch norm, residual sum and ReLU in its epilogue
    assert by_type(trt) == {"FusedConv": 53, "MaxPool": 1, "AveragePool": 1, "Gemm": 1, "Softmax": 1}
    sizes = sorted(len(n.covered) for n in kernels(trt) if n.op_type == "FusedConv")
    # 53 BNs; ReLUs after 49 of them; 16 sums (the 4 downsample branches end in their BN)
    assert sum(sizes) == 53 + 53 + 49 + 16
    t = run(zoo, "tensorrt", hardware="h200", execution="graph")
    assert t.latency_s < none.latency_s


# -- real exports (torch.onnx, TorchScript exporter as benchmarks/export_torchvision.py) --


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from tests.runtime_torch import export_all

    return export_all(torch, tmp_path_factory.mktemp("runtime_exports"))


def test_vit_block_runs_the_kernels_pytorch_launches(exports):
    # torchvision ViT's encoder block in eager PyTorch (H200 profile in benchmarks/data):
    # LN, qkv GEMM, SDPA, out GEMM, add, LN, fc1 GEMM, GELU, fc2 GEMM, add
    r = assert_reconciles(exports["vit"], "pytorch")
    assert by_type(r) == {
        "LayerNormalization": 2,
        "FusedContraction": 3,
        "FusedAttention": 1,
        "Gemm": 1,
        "Add": 2,
        "FusedElementwise": 1,
    }


def test_swin_style_attention_stays_unfused_and_convnext_permutes_are_views(exports):
    r = assert_reconciles(exports["swin"], "pytorch")
    t = by_type(r)
    assert "FusedAttention" not in t and t["Softmax"] == 1 and t["MatMul"] == 2
    c = assert_reconciles(exports["convnext"], "pytorch")
    t = by_type(c)
    # dwconv, LN (its permute a view), fc1 (+bias), GELU, fc2 (+bias), the permute back
    # read by the layer-scale Mul (one strided kernel), the residual add
    assert t == {"Conv": 1, "LayerNormalization": 1, "FusedContraction": 2, "FusedElementwise": 2, "Add": 1}
    assert "Transpose" not in t


def test_gpt2_block_eager_attention_fuses_only_under_compilers(exports):
    m = exports["gpt2"]
    eager = by_type(assert_reconciles(m, "pytorch"))
    assert "FusedAttention" not in eager and eager["FusedElementwise"] == 1  # gelu_new, one kernel
    for rt in ("torch-compile", "onnxruntime", "tensorrt", "vllm"):
        assert by_type(assert_reconciles(m, rt)).get("FusedAttention") == 1, rt


def test_llama_block_sdpa_rmsnorm_and_silu(exports):
    m = exports["llama"]
    eager = by_type(assert_reconciles(m, "pytorch"))
    assert eager["FusedAttention"] == 1 and eager["FusedNormalization"] == 2  # SDPA(is_causal), 2 RMSNorms
    vllm = assert_reconciles(m, "vllm")
    # silu(gate) * up is one kernel; the residual add joins the second RMSNorm
    assert len(kernels(vllm)) < len(kernels(run(m, "pytorch")))


def test_bert_layer_norm_decomposed_at_opset_14(exports):
    r = assert_reconciles(exports["bert"], "pytorch")
    assert by_type(r).get("FusedNormalization") == 1


def test_every_runtime_predicts_hf_style_blocks_on_hardware(exports):
    for name in ("vit", "gpt2", "llama", "bert", "swin", "convnext"):
        for rt in NAMES:
            r = run(exports[name], rt, hardware="h100", execution="graph")
            assert r.latency_s > 0 and not r.unsupported, (name, rt)


# -- random graphs: FLOPs never change, covers partition the graph -------------------------

PIECES = ("linear", "gelu", "tanh", "ln", "rms", "silu", "transpose2", "sdpa", "explicit", "residual", "softmax")


@st.composite
def block_graphs(draw):
    batch, seq, h, d = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 2)), 4
    c = h * d
    b = Builder([batch, seq, c])
    x = "x"
    for piece in draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=6)):
        if piece == "linear":
            x = add_linear(b, x, c, c, bias=draw(st.booleans()), bias_first=draw(st.booleans()))
        elif piece == "gelu":
            x = add_gelu_erf(b, x)
        elif piece == "tanh":
            x = add_gelu_tanh(b, x)
        elif piece == "ln":
            x = add_layer_norm(b, x, c)
        elif piece == "rms":
            x = add_rms_norm(b, x, c)
        elif piece == "silu":
            x = b.node("Mul", [x, b.node("Sigmoid", [x])])
        elif piece == "transpose2":
            x = b.node("Transpose", [b.node("Transpose", [x], perm=[1, 0, 2])], perm=[1, 0, 2])
        elif piece == "residual":
            x = b.node("Add", [x, add_linear(b, x, c, c)])
        elif piece == "softmax":
            x = b.node("Softmax", [x], axis=-1)
        else:
            q, k, v = (heads(b, x, batch, seq, h, d) for _ in range(3))
            o = add_sdpa(b, q, k, v, d) if piece == "sdpa" else add_explicit_attention(b, q, k, v, d)
            x = merge_heads(b, o, batch, seq, h, d)
    return b.model(x)


@given(block_graphs(), st.sampled_from(NAMES))
@settings(max_examples=40, deadline=None)
def test_rewrites_never_change_flops_or_params_and_cover_every_node_once(m, runtime):
    assert_reconciles(m, runtime)


# -- options: the CLI and the API ----------------------------------------------------------


def test_unknown_runtime_is_a_usage_error(capsys, tmp_path):
    from costmodel_cli.main import main

    b = Builder([2, 8])
    p = tmp_path / "m.onnx"
    p.write_bytes(b.model(add_gelu_erf(b, "x")).SerializeToString())
    with pytest.raises(CostModelError, match="unknown runtime"):
        run(str(p), "tensorflow")
    assert main(["analyze", str(p), "--runtime", "tensorflow"]) == 2
    assert "unknown runtime" in capsys.readouterr().err


def test_runtime_list_compares_side_by_side_and_json_has_covers(capsys, tmp_path):
    from costmodel_cli.main import main

    b = Builder([4, 6, 8])
    p = tmp_path / "m.onnx"
    p.write_bytes(b.model(add_gelu_erf(b, add_linear(b, "x", 8, 8))).SerializeToString())
    assert main(["analyze", str(p), "--runtime", "none,pytorch", "--hardware", "h200", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [v["runtime"] for v in d["variants"]] == ["none", "pytorch"]
    assert main(["analyze", str(p), "--runtime", "pytorch", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    rows = [o for o in d["ops"] if o["status"] == "costed"]
    assert [len(o["covers"]) for o in rows] == [2, 5]  # Linear (MatMul + Add), GELU (5 ops)


def test_fusion_option_is_a_deprecated_alias_of_torch_compile():
    b = Builder([4, 6, 8])
    m = b.model(add_gelu_erf(b, add_linear(b, "x", 8, 8)))
    r = run(m, hardware="h200", fusion="flash")
    assert r.graph_cost.runtime == "torch-compile"
    assert any("deprecated" in n for n in r.timing.notes)
    with pytest.raises(CostModelError):
        run(m, "pytorch", hardware="h200", fusion="flash")


def test_vllm_serving_fuses_decode_kernels_and_pytorch_training_pays_autocast_casts():
    from costmodel.engine.calibration import for_profile
    from costmodel.hardware import get_profile
    from costmodel.planners.llm import plan_llm
    from costmodel.planners.training import plan_training

    none = plan_llm("llama-3-8b", "h200", batch=8, prompt_len=256, output_len=32)
    vllm = plan_llm("llama-3-8b", "h200", batch=8, prompt_len=256, output_len=32, runtime="vllm")
    assert vllm.decode.latency_s < none.decode.latency_s
    assert vllm.prefill.flops == none.prefill.flops
    # plain PyTorch's mixed precision is autocast (the bf16-autocast recipe of precision.py),
    # on 8 devices too, where the default is otherwise Megatron's bf16-mixed
    kw = dict(tp=8, micro_batch=1, optimizer_impl="fused")
    base = plan_training("llama-3-8b", "h200", 8, 64, 2048, **kw)
    amp = plan_training("llama-3-8b", "h200", 8, 64, 2048, runtime="pytorch", **kw)
    mixed = plan_training("llama-3-8b", "h200", 8, 64, 2048, runtime="pytorch", precision="bf16-mixed", **kw)
    assert (base.recipe.precision, amp.recipe.precision, mixed.recipe.precision) == (
        "bf16-mixed",
        "bf16-autocast",
        "bf16-mixed",
    )
    assert amp.recipe.runtime == mixed.recipe.runtime == "pytorch"
    # at least autocast's weight casts: each micro-batch's forward reads every fp32 GEMM
    # weight (4 B) and writes its bf16 copy (2 B), its backward reads the bf16 gradient
    # (2 B) and writes it in fp32 (4 B). Llama-3-8B's layer GEMM weights: q, o 4096 x 4096,
    # k, v 4096 x 1024, gate / up / down 4096 x 14336 -> 218,103,808 per layer, x 32 layers,
    # / tp 8; 64 micro-batches of 1 on dp 1
    hw = get_profile("h200")
    gemm_params = (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336) * 32 / 8
    casts = 64 * 12 * gemm_params / (hw.memory_bandwidth * for_profile(hw).stream_bandwidth_fraction)
    assert amp.breakdown.compute_s - mixed.breakdown.compute_s >= casts


def test_pytorch_runs_a_hf_classs_eager_code_as_written():
    """A Hugging Face class with attn_implementation="eager" runs its own Python op by op
    (frontends/lower/attention.py eager_attention): eager PyTorch launches those kernels,
    so the pytorch runtime must not fuse the written-out attention into SDPA nor turn
    the copies torch.matmul makes of the head-split operands into views."""
    from costmodel.frontends.spec import spec_from_hf
    from costmodel.planners.training import plan_training

    cfg = dict(model_type="gpt2", vocab_size=1000, n_embd=256, n_layer=2, n_head=4, n_positions=512)
    spec = spec_from_hf({**cfg, "architectures": ["GPT2LMHeadModel"], "attn_implementation": "eager"})
    binds = {"batch": 2, "seq": 64}
    none = run(spec, bindings=binds, hardware="h200")
    eager = run(spec, "pytorch", bindings=binds, hardware="h200")
    assert [(n.name, n.op_type) for n in kernels(eager)] == [(n.name, n.op_type) for n in kernels(none)]
    assert eager.latency_s == none.latency_s
    # q, k and v copied for the batched matmuls, scores, scale, mask add, softmax, P V:
    # per layer, 2 layers (one row for both equal layers: its repeat counts them)
    ks = kernels(eager)
    for tag, per_layer in (("q_copy", 1), ("k_copy", 1), ("v_copy", 1), ("softmax", 1), ("scale_scores", 1)):
        assert sum(n.repeat for n in ks if n.name.endswith(f"attn.{tag}")) == 2 * per_layer, tag
    assert "FusedAttention" not in by_type(eager)
    # a compiling runtime still rewrites the same code (Inductor fuses the norms' residual
    # adds and the formula GELU's pointwise chain)
    launched = sum(n.repeat for n in kernels(none))  # the unrolled graph's kernels; compiled runs see every layer
    assert len(kernels(run(spec, "torch-compile", bindings=binds))) < launched
    # and in training: the per-layer work under pytorch is the eager code's
    kw = dict(micro_batch=1, precision="bf16-mixed")
    t_none = plan_training(spec, "h200", 1, 4, 64, **kw)
    t_eager = plan_training(spec, "h200", 1, 4, 64, runtime="pytorch", **kw)
    assert t_eager.step_latency_s == t_none.step_latency_s


@given(fuzz_graphs(), st.sampled_from(NAMES))
@settings(max_examples=40, deadline=None)
def test_random_fuzz_graphs_analyse_or_raise_typed_under_every_runtime(m, runtime):
    try:
        base = run(m, "none")
    except CostModelError:
        return
    r = run(m, runtime)
    for f in INVARIANT:
        assert getattr(r, f) == getattr(base, f), (runtime, f)
    r.to_dict()
    try:
        timed = run(m, runtime, hardware="h100")
    except CostModelError:  # what the graph's own analysis refuses on this device (a dtype it lacks)
        return
    assert timed.latency_s is not None and timed.latency_s >= 0
