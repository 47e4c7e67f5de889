"""PyTorch front end (frontends/torch/, analysed by costmodel/traced.py): the same modules
through both paths — traced directly, and exported to ONNX (opset 17) then analysed —
agree on MACs (within 0.5%; in practice exactly), params equal the module's parameter
count, flops >= 2 macs; where the export holds the same kernels as eager PyTorch they
agree exactly on bytes read and written, weight bytes and peak live activations too (one
analyser costs both graphs)."""

from __future__ import annotations

import io
import json
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import costmodel  # noqa: E402
from costmodel.errors import CostModelError, UnsupportedOpError  # noqa: E402


def onnx_report(module, inputs, **kw):
    module.eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, inputs, f, opset_version=17, dynamo=False)
    return costmodel.analyze(onnx.load_from_string(f.getvalue()), **kw)


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def check_both(module, inputs, exact_flops=False, onnx_module=None, exact_bytes=False, exact_peak=False):
    r = costmodel.analyze(module, example_inputs=inputs)
    o = onnx_report(onnx_module or module, inputs)
    assert r.unsupported == [] and o.unsupported == []
    assert abs(r.macs - o.macs) <= 0.005 * o.macs, (r.macs, o.macs)
    assert r.params == n_params(module)
    assert r.flops >= 2 * r.macs
    if exact_flops:
        assert r.flops == o.flops
    if exact_bytes:
        assert (r.bytes_read, r.bytes_written) == (o.bytes_read, o.bytes_written)
        assert r.graph_cost.weight_bytes == o.graph_cost.weight_bytes
    if exact_peak or exact_bytes:
        assert r.graph_cost.peak_activation_bytes == o.graph_cost.peak_activation_bytes
    return r, o


# -- modules -------------------------------------------------------------------------------
class Block(nn.Module):
    """Pre-norm transformer block: LN → QKV → SDPA → out proj; LN → MLP (GELU)."""

    def __init__(self, d=64, heads=4, kv_heads=None, causal=False, gqa="repeat"):
        super().__init__()
        self.h, self.kvh, self.causal, self.gqa = heads, kv_heads or heads, causal, gqa
        hd = d // heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * hd * self.kvh)
        self.o = nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, s, d = x.shape
        hd = d // self.h
        y = self.ln1(x)
        q = self.q(y).view(b, s, self.h, hd).transpose(1, 2)
        k, v = self.kv(y).view(b, s, 2, self.kvh, hd).unbind(2)
        k, v = k.transpose(1, 2), v.transpose(1, 2)
        if self.kvh != self.h and self.gqa == "repeat":
            k = k.repeat_interleave(self.h // self.kvh, 1)
            v = v.repeat_interleave(self.h // self.kvh, 1)
        gqa = self.kvh != self.h and self.gqa == "enable"
        a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal, enable_gqa=gqa)
        x = x + self.o(a.transpose(1, 2).reshape(b, s, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class SmallCNN(nn.Module):
    """Conv + BatchNorm + ReLU, depthwise 3x3, grouped 1x1, pooling, classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.bn2 = nn.BatchNorm2d(16)
        self.pw = nn.Conv2d(16, 32, 1, groups=4)
        self.up = nn.ConvTranspose2d(32, 8, 2, stride=2)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = F.relu6(self.bn2(self.dw(x)))
        x = F.max_pool2d(self.pw(x), 2)
        x = F.hardswish(self.up(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1)).softmax(-1)


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.lstm = nn.LSTM(16, 24, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(48, 20)
        self.rnn = nn.RNN(20, 12, nonlinearity="relu")

    def forward(self, ids):
        y, _ = self.lstm(self.emb(ids))
        z, _ = self.gru(y)
        w, _ = self.rnn(z)
        return w


class Einsums(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 12))

    def forward(self, a, b, c):
        x = torch.einsum("bij,jk->bik", a, self.w)  # a projection
        y = torch.einsum("bik,bjk->bij", x, x)  # batched scores
        z = torch.einsum("i,j->ij", c, c)  # outer product
        t = torch.einsum("bij,bjk,kl->bil", y, b, self.w)  # three operands
        return t.sum() + z.sum()


class BiasMatmuls(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.randn(6, 5))
        self.bbias = nn.Parameter(torch.randn(3, 6, 5))

    def forward(self, a, b, ba, bb):
        x = torch.addmm(self.bias, a, b)  # bias add
        y = torch.addmm(self.bias, a, b, beta=0.5, alpha=2.0)  # scaled
        z = torch.baddbmm(self.bbias, ba, bb)  # batched bias add
        u = torch.baddbmm(self.bbias, ba, bb, beta=0.25, alpha=3.0)  # scaled, batched
        return x + y + (z + u).sum(0)


# -- the cross-checks ---------------------------------------------------------------------
@pytest.mark.parametrize("causal", [False, True])
def test_transformer_block_matches_onnx(causal):
    m = Block(causal=causal)
    r, _ = check_both(m, (torch.randn(2, 32, 64),), exact_flops=True)
    att = [n for n in r.ops if n.op_type == "Attention"]
    assert len(att) == 1 and att[0].kernel.q_heads == 4
    # the opset-17 export scores every (query, key) pair: so does the default
    assert att[0].cost.macs == 2 * 4 * 32 * 32 * (16 + 16)


def test_causal_skip_counts_unmasked_pairs_only():
    m, x = Block(causal=True), torch.randn(2, 32, 64)
    dense = costmodel.analyze(m, example_inputs=(x,))
    skip = costmodel.analyze(m, example_inputs=(x,), causal_attention="skip")
    masked_pairs = 2 * 4 * (32 * 31 // 2)
    assert dense.macs - skip.macs == masked_pairs * (16 + 16)
    att = next(n for n in skip.ops if n.op_type == "Attention")
    assert att.kernel.causal is True


@pytest.mark.parametrize("gqa", ["repeat", "enable"])
def test_grouped_query_attention(gqa):
    m = Block(kv_heads=2, gqa=gqa)
    # the TorchScript exporter cannot export enable_gqa: compare with the repeat form
    ref = Block(kv_heads=2, gqa="repeat")
    ref.load_state_dict(m.state_dict())
    r, _ = check_both(m, (torch.randn(2, 16, 64),), onnx_module=ref)
    att = next(n for n in r.ops if n.op_type == "Attention")
    assert att.kernel.kv_heads == (2 if gqa == "enable" else 4)


def test_cnn_batchnorm_depthwise_grouped_matches_onnx():
    m = SmallCNN()
    # the export folds the batch norms into the convolutions: bytes differ, the peak does not
    r, _ = check_both(m, (torch.randn(2, 3, 32, 32),), exact_peak=True)
    kinds = {n.op_type for n in r.ops if n.status == "costed"}
    assert {"Conv", "ConvTranspose", "BatchNormalization", "MaxPool", "GlobalAveragePool", "Softmax"} <= kinds
    dw = next(n for n in r.ops if n.name == "dw/_convolution")
    assert dw.kernel.group == 16 and dw.cost.macs == 2 * 16 * 16 * 16 * 9
    # per module: params by ownership, MACs of the module's own ops
    assert r.graph_cost.modules["bn"].params == 32
    assert r.graph_cost.modules["pw"].macs == 2 * 32 * 16 * 16 * 4


def test_recurrent_layers_match_onnx():
    m = Recurrent()
    r, _ = check_both(m, (torch.randint(0, 50, (3, 7)),), exact_flops=True, exact_peak=True)
    rec = [n for n in r.ops if n.kind == "recurrent"]
    assert [n.op_type for n in rec] == ["LSTM", "LSTM", "GRU", "RNN"]
    assert r.graph_cost.traced_on == "meta"


def test_einsum_variants_match_onnx():
    m = Einsums()
    check_both(m, (torch.randn(2, 4, 8), torch.randn(2, 4, 8), torch.randn(5)), exact_flops=True, exact_bytes=True)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(16, 64), nn.Linear(64, 8)

    def forward(self, x):
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), -1)


class ConvPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, groups=2)

    def forward(self, x):
        return F.max_pool2d(torch.relu(self.c2(torch.relu(self.c1(x)))), 2)


def test_same_kernels_same_bytes_and_peak():
    """An MLP and a conv/pool stack export to the kernels eager PyTorch runs: both paths
    read, write and keep live the same bytes."""
    r, _ = check_both(MLP(), (torch.randn(4, 16),), exact_flops=True, exact_bytes=True)
    # fc1 4x16 @ 16x64 + b, relu, fc2 4x64 @ 64x8 + b, softmax, fp32:
    # reads: x 256 + W1 4096 + b1 256; relu 1024; h 1024 + W2 2048 + b2 32; softmax 128
    assert r.bytes_read == 256 + 4096 + 256 + 1024 + 1024 + 2048 + 32 + 128
    # peak: fc1's input (256) and output (1024) live together, then relu's in and out (2048)
    assert r.graph_cost.peak_activation_bytes == 2 * 4 * 64 * 4
    check_both(ConvPool(), (torch.randn(2, 3, 16, 16),), exact_flops=True, exact_bytes=True)


def test_addmm_baddbmm_bias_terms_match_onnx():
    m = BiasMatmuls()
    inputs = (torch.randn(6, 4), torch.randn(4, 5), torch.randn(3, 6, 4), torch.randn(3, 4, 5))
    r, _ = check_both(m, inputs, exact_flops=True, exact_peak=True)
    gemms = [n for n in r.ops if n.op_type == "Gemm"]
    # bias add; then bias add + alpha + beta scaling (one per output element each)
    assert [n.cost.flops - 2 * n.cost.macs for n in gemms] == [30, 90]


# -- conventions beyond the cross-check -------------------------------------------------
def test_fvcore_default_counts_are_our_macs_where_fvcore_is_right():
    from fvcore.nn import FlopCountAnalysis

    m = nn.Sequential(nn.Conv2d(3, 8, 3, groups=1), nn.Conv2d(8, 8, 3, groups=4), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    x = torch.randn(2, 3, 8, 8)
    fv = FlopCountAnalysis(m, (x,)).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    r = costmodel.analyze(m, example_inputs=(x,))
    assert fv.total() == r.macs
    assert r.graph_cost.fvcore_macs == {k: v for k, v in fv.by_module().items()}
    # fvcore drops the conv and linear biases and the per-element work: not here
    assert r.flops > 2 * r.macs


def test_tied_parameters_counted_once():
    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(100, 32)
            self.proj = nn.Linear(32, 32)
            self.head = nn.Linear(32, 100, bias=False)
            self.head.weight = self.embed.weight

        def forward(self, ids):
            return self.head(torch.tanh(self.proj(self.embed(ids))))

    m = LM()
    ids = torch.randint(0, 100, (2, 9))
    r = costmodel.analyze(m, example_inputs=(ids,))
    assert r.params == n_params(m) == 100 * 32 + 32 * 32 + 32
    mods = r.graph_cost.modules
    assert mods["embed"].params == 3200 and mods["head"].params == 0 and mods[""].params == r.params
    o = onnx_report(m, (ids,))
    assert r.macs == o.macs
    # the embedding reads the rows it selects, not the table
    emb = next(n for n in r.ops if n.op_type == "Gather")
    assert emb.cost.read_weights == 2 * 9 * 32 * 4


def test_unsupported_ops_are_listed_per_module():
    class Odd(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Inner(nn.Module):
        def forward(self, x):
            return Odd.apply(torch.linalg.inv(x))

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.inner = Inner()

        def forward(self, x):
            return self.inner(self.fc(x))

    r = costmodel.analyze(Outer(), example_inputs=(torch.randn(3, 4, 4),))
    ops = sorted(f"{u['domain']}::{u['op_type']}" for u in r.unsupported)
    assert ops == ["aten::linalg_inv", "prim::PythonOp.Odd"]
    gc = r.graph_cost
    assert gc.module_unsupported["inner"] == {"aten::linalg_inv": 1, "prim::PythonOp.Odd": 1}
    assert "fc" not in gc.module_unsupported
    assert r.macs == 3 * 4 * 4 * 4  # what is known is still counted
    with pytest.raises(UnsupportedOpError):
        costmodel.analyze(Outer(), example_inputs=(torch.randn(3, 4, 4),), strict=True)


def test_latency_on_h100_and_dtype():
    m = Block(causal=True)
    x = torch.randn(4, 128, 64)
    r = costmodel.analyze(m, example_inputs=(x,), hardware="h100")
    assert r.latency_s and r.latency_s > 0
    assert r.timing.kernels >= 8
    bf = costmodel.analyze(m, example_inputs=(x,), hardware="h100", dtype="bf16")
    assert bf.bytes_read * 2 == r.bytes_read and bf.macs == r.macs
    d = r.to_dict()
    json.dumps(d)
    assert d["modules"]["fc1"]["macs"] == 4 * 128 * 64 * 256 and d["modules"][""]["type"] == "Block"


def test_meta_module_needs_no_weights():
    with torch.device("meta"):
        m = Block(d=512, heads=8)
    x = torch.empty(1, 64, 512, device="meta")
    r = costmodel.analyze(m, example_inputs=(x,))
    assert r.graph_cost.traced_on == "meta" and r.params == n_params(m)
    # convolutions cannot run their meta kernels under the JIT tracer: a CPU trace instead
    with torch.device("meta"):
        c = SmallCNN()
    rc = costmodel.analyze(c, example_inputs=(torch.empty(1, 3, 16, 16, device="meta"),))
    assert rc.graph_cost.traced_on == "cpu" and rc.params == n_params(c)
    with pytest.raises(CostModelError):
        costmodel.analyze(SmallCNN(), example_inputs=(torch.randn(1, 3, 16, 16),), device="meta")


def test_user_module_is_left_as_it_was():
    m = SmallCNN().train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    costmodel.analyze(m, example_inputs=(torch.randn(2, 3, 16, 16),))
    assert m.training and all(torch.equal(before[k], v) for k, v in m.state_dict().items())


def test_errors_are_costmodel_errors():
    with pytest.raises(CostModelError):
        costmodel.analyze(SmallCNN(), example_inputs=([1, 2],))
    with pytest.raises(CostModelError):
        costmodel.analyze(SmallCNN())  # no example_inputs
    with pytest.raises(CostModelError):
        costmodel.analyze(Block(), example_inputs=(torch.randn(1, 4, 64),), bindings={"batch": 2})


def test_cli_torch_factory(tmp_path, monkeypatch, capsys):
    from costmodel_cli.main import main

    (tmp_path / "mymodels.py").write_text(
        "import torch.nn as nn\n"
        "def make():\n"
        "    return nn.Sequential(nn.Embedding(10, 8), nn.Flatten(), nn.Linear(8 * 5, 3))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    rc = main(
        [
            "analyze",
            "--torch",
            "mymodels:make",
            "--input-shape",
            "2,5",
            "--input-dtype",
            "int64",
            "--format",
            "json",
            "--hardware",
            "h100",
        ]
    )
    assert rc in (0, None)
    d = json.loads(capsys.readouterr().out)
    assert d["macs"] == 2 * 40 * 3 and d["params"] == 10 * 8 + 40 * 3 + 3 and d["latency_s"] > 0
    assert set(d["modules"]) == {"", "0", "1", "2"}
    rc = main(["analyze", "--torch", "mymodels:nothing", "--input-shape", "2,5"])
    assert rc == 2 and "nothing" in capsys.readouterr().err
