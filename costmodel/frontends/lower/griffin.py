"""Griffin's recurrent block (De et al. 2024, fig. 2; HF transformers
RecurrentGemmaRecurrentBlock): two branches of the recurrence width, one through GELU
(tanh), the other through a causal depthwise conv1d and the RG-LRU, multiplied and
projected back. The RG-LRU's recurrence and input gates are block-diagonal linear maps
(heads blocks of width / heads), each with a bias."""

from __future__ import annotations

from ...ir.activations import Activation
from ...ir.dtypes import dtype as to_dtype
from .context import Ctx
from .ssm import causal_conv
from .workload import Phase

FP32 = to_dtype("fp32")


def rglru_block(c: Ctx, x: str, name: str) -> str:
    s, w, b = c.s, c.w, c.b
    g = s.rglru
    assert g is not None  # filled in by validation
    d = s.hidden_size
    width = g.lru_width or d
    heads = g.heads or s.num_heads
    bw = width // heads
    bsz, seq = c.bs
    y = c.act(c.linear(x, d, width, f"{name}.linear_y", True), f"{name}.y_gelu", Activation.GELU_TANH)
    u = c.linear(x, d, width, f"{name}.linear_x", True)
    u = causal_conv(c, u, width, f"{name}.conv_1d", True, width=g.conv_width, silu=False)
    blocks = c.view(u, (bsz, seq, heads, 1, bw), f"{name}.blocks")
    gates = []
    for gate in ("input_gate", "recurrent_gate"):
        wgt = b.weight(f"{name}.rg_lru.{gate}_weight", (heads, bw, bw), w.dtype)
        mm = b.node("MatMul", [blocks, wgt], name=f"{name}.{gate}")
        bias = b.weight(f"{name}.rg_lru.{gate}_bias", (heads, 1, bw), w.dtype)
        gates.append(
            c.view(b.node("Add", [mm, bias], name=f"{name}.{gate}_bias"), (bsz, seq, width), f"{name}.{gate}_flat")
        )
    ins = [u, gates[0], gates[1], b.weight(f"{name}.rg_lru.recurrent_param", (width,), w.dtype)]
    if w.phase is Phase.DECODE:
        ins.append(b.input(f"{name}.rg_lru.state", (bsz, width), FP32))
    h = b.node("RGLRU", ins, domain="costmodel", name=f"{name}.rg_lru")
    h = b.node("Mul", [h, y], name=f"{name}.gated")
    return c.linear(h, width, d, f"{name}.linear_out", True)
