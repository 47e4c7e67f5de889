"""The transformer stack's pieces: an attention layer (pre- or post-norm, parallel or
sequential, Gemma-2 sandwich norms), its feed-forward (dense MLP or routed experts) and
the token embedding. The heads are in heads.py."""

from __future__ import annotations

from ...ir.dtypes import ONNX_CODES
from ...ir.dtypes import dtype as to_dtype
from ...ir.graph import Graph
from ..spec import ModelSpec
from ..spec.architectures import MLPKind, NormPosition, Position
from .attention import self_attention
from .context import Ctx
from .workload import Workload


def attention_layer(spec: ModelSpec, wl: Workload, i: int, name: str) -> Graph:
    """One attention layer of a decoder / encoder stack."""
    c = Ctx(spec, wl, name)
    s, d = spec, spec.hidden_size
    bsz, seq = c.bs
    causal = s.arch.causal
    x = c.b.input("h", (bsz, seq, d), wl.dtype)
    if s.parallel_block:
        n1 = c.norm(x, d, "ln_1")
        n2 = n1 if s.shared_block_norm else c.norm(x, d, "ln_2")
        a = self_attention(c, n1, i, "attn", causal=causal)
        f = ffn(c, n2, i, "mlp")
        y = c.b.node("Add", [c.b.node("Add", [a, f], name="add_branches"), x], name="residual")
    elif s.norm_position is NormPosition.POST:
        a = self_attention(c, x, i, "attn", causal=causal)
        x = c.norm(c.b.node("Add", [x, a], name="residual_1"), d, "ln_1")
        f = ffn(c, x, i, "mlp")
        y = c.norm(c.b.node("Add", [x, f], name="residual_2"), d, "ln_2")
    else:
        a = self_attention(c, c.norm(x, d, "ln_1"), i, "attn", causal=causal)
        if s.sandwich_norms:
            a = c.norm(a, d, "post_attn_norm")
        x = c.b.node("Add", [x, a], name="residual_1")
        f = ffn(c, c.norm(x, d, "ln_2"), i, "mlp")
        if s.sandwich_norms:
            f = c.norm(f, d, "post_mlp_norm")
        y = c.b.node("Add", [x, f], name="residual_2")
    c.b.output(y)
    return c.b.build()


def ffn(c: Ctx, x: str, i: int, name: str) -> str:
    """The dense MLP, or for a MoE layer the router, the routed experts (one ExpertMLP
    kernel) and the shared experts."""
    s = c.s
    m = s.moe
    if m is None or not s.is_moe_layer(i):
        return c.mlp(x, s.intermediate_size, name)
    d = s.hidden_size
    logits = c.linear(x, d, m.num_experts, f"{name}.router", quantizable=False)
    if m.router_bias:
        score_bias = c.b.weight(f"{name}.router.score_bias", (m.num_experts,), c.w.dtype)
        logits = c.b.node("Add", [logits, score_bias], name=f"{name}.router_bias")
    probs = c.b.node("Softmax", [logits], name=f"{name}.router_softmax", axis=-1)
    topk = c.b.ints(f"{name}.k", [m.top_k])
    c.b.node("TopK", [probs, topk], n_out=2, name=f"{name}.topk", axis=-1)
    gated = s.mlp is MLPKind.GATED
    mult = 2 if gated else 1
    bsz, seq = c.bs
    tokens = bsz * seq
    if c.w.eager_code and type(tokens) is int and tokens * m.top_k >= m.num_experts:
        y = _expert_loop(c, x, tokens, name)
    else:
        w_in = c.b.weight(f"{name}.experts.w_in", (m.num_experts, d, mult * m.expert_intermediate_size), c.w.wdt)
        w_out = c.b.weight(f"{name}.experts.w_out", (m.num_experts, m.expert_intermediate_size, d), c.w.wdt)
        quant = {"output_dtype": ONNX_CODES[c.w.dtype.name]} if c.w.gemm_dtype is not None else {}
        y = c.b.node(
            "ExpertMLP",
            [c.quantize(x, f"{name}.experts"), w_in, w_out],
            domain="costmodel",
            name=f"{name}.experts",
            top_k=m.top_k,
            gated=int(gated),
            activation=s.activation.value,
            **quant,
        )
    if m.num_shared_experts or m.shared_intermediate_size:
        width = m.shared_intermediate_size or m.num_shared_experts * m.expert_intermediate_size
        sh = c.mlp(x, width, f"{name}.shared")
        if m.shared_expert_gate:
            g = c.b.node("Sigmoid", [c.linear(x, d, 1, f"{name}.shared_gate")], name=f"{name}.shared_sigmoid")
            sh = c.b.node("Mul", [sh, g], name=f"{name}.shared_scale")
        y = c.b.node("Add", [y, sh], name=f"{name}.combine")
    return str(y)


def _expert_loop(c: Ctx, x: str, tokens: int, name: str) -> str:
    """transformers' eager MoE code (SwitchTransformersExperts, MixtralExperts, the Qwen
    MoE experts): a Python loop over the experts, each gathering its tokens, running its
    own MLP, scaling by the routing weight and index_add-ing the rows back into a zeroed
    output. The tokens spread evenly over the experts (the balance the routers are trained
    towards); with fewer routed tokens than experts the caller keeps the one-kernel form,
    so every expert here reads its weights."""
    s, b, wl = c.s, c.b, c.w
    m = s.moe
    assert m is not None
    d, inter = s.hidden_size, m.expert_intermediate_size
    rows = -(-tokens * m.top_k // m.num_experts)
    bsz, seq = c.bs
    flat = c.view(x, (tokens, d), f"{name}.flat")
    out = b.input(f"{name}.zeros", (tokens, d), wl.dtype)
    for e in range(m.num_experts):
        tag = f"{name}.experts.{e}"
        idx = b.input(f"{tag}.index", (rows,), to_dtype("int64"))
        xe = b.node("Gather", [flat, idx], name=f"{tag}.gather", axis=0)
        if s.mlp is MLPKind.GATED and s.fused_gate_up:
            gate, up = c.split(c.linear(xe, d, 2 * inter, f"{tag}.gate_up", wdt=wl.wdt), [inter, inter], f"{tag}.split")
            h = b.node("Mul", [c.act(gate, f"{tag}.act"), up], name=f"{tag}.mul")
        elif s.mlp is MLPKind.GATED:
            gate = c.linear(xe, d, inter, f"{tag}.gate", wdt=wl.wdt)
            h = b.node(
                "Mul", [c.act(gate, f"{tag}.act"), c.linear(xe, d, inter, f"{tag}.up", wdt=wl.wdt)], name=f"{tag}.mul"
            )
        else:
            h = c.act(c.linear(xe, d, inter, f"{tag}.wi", wdt=wl.wdt), f"{tag}.act")
        ye = c.linear(h, inter, d, f"{tag}.down", wdt=wl.wdt)
        ye = b.node("Mul", [ye, b.input(f"{tag}.routing_weight", (rows, 1), wl.dtype)], name=f"{tag}.scale")
        out = b.node("Scatter", [out, idx, ye], domain="costmodel", name=f"{tag}.index_add")
    return c.view(out, (bsz, seq, d), f"{name}.unflat")


def embedding(spec: ModelSpec, wl: Workload, name: str = "embed") -> Graph:
    c = Ctx(spec, wl, name)
    s, d = spec, spec.hidden_size
    bsz, seq = c.bs
    ids = c.b.input("input_ids", (bsz, seq), to_dtype("int64"))
    table = c.b.shared_weight("embed_tokens.weight", (s.vocab_size, d), wl.dtype)
    x = c.b.node("Gather", [table, ids], name="embed_tokens", axis=0)
    if s.position is Position.LEARNED and s.max_position:
        pos = c.b.input("position_ids", (bsz, seq), to_dtype("int64"))
        pt = c.b.weight("embed_positions.weight", (s.max_position + s.position_offset, d), wl.dtype)
        x = c.b.node("Add", [x, c.b.node("Gather", [pt, pos], name="embed_positions", axis=0)], name="add_pos")
    if s.token_types:
        tt = c.b.input("token_type_ids", (bsz, seq), to_dtype("int64"))
        tw = c.b.weight("token_type.weight", (s.token_types, d), wl.dtype)
        x = c.b.node("Add", [x, c.b.node("Gather", [tw, tt], name="token_type", axis=0)], name="add_type")
    if s.embedding_norm:
        x = c.norm(x, d, "embed_norm")
    c.b.output(x)
    return c.b.build()
