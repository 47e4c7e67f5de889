"""Lower a ModelSpec to IR graphs for one workload (prefill, decode step, forward pass).

A model lowers to segments — embedding, one graph per distinct layer kind with a repeat
count, head — so planners analyse an 80-layer model by analysing a handful of layer
graphs; `unroll` concatenates them into one graph for per-op reports. The kernel
structure follows what serving engines run: fused QKV and gate/up GEMMs with biases in
the epilogue, rotary embedding inside the attention kernel, one kernel per norm,
activation and residual add.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ir.dtypes import DType, dtype as to_dtype
from ..ir.graph import Graph, Node
from .builder import GraphBuilder
from .spec import ModelSpec

ACT_OPS = {
    "silu": ("Swish", ""),
    "gelu": ("Gelu", ""),
    "gelu_tanh": ("Gelu", "tanh"),
    "relu": ("Relu", ""),
    "quick_gelu": ("QuickGelu", "com.microsoft"),
    "relu2": ("Relu", ""),
}


@dataclass(frozen=True)
class Workload:
    phase: str = "prefill"  # prefill | decode | forward | train (forward with the loss)
    batch: Any = 1
    seq: Any = 1  # new positions per sequence in this step
    past: Any = 0  # cached positions before this step
    logits: str = "last"  # last | all | none
    dtype: DType = field(default_factory=lambda: to_dtype("bf16"))
    weight_dtype: DType | None = None
    kv_dtype: DType | None = None
    encoder_len: Any = 0  # encoder-decoder: cross-attention length

    @property
    def wdt(self) -> DType:
        return self.weight_dtype or self.dtype

    @property
    def kvdt(self) -> DType:
        return self.kv_dtype or self.dtype


@dataclass
class Segment:
    name: str
    graph: Graph
    repeat: int = 1


class Ctx:
    """Per-graph lowering state: the builder, the spec and the workload."""

    def __init__(self, spec: ModelSpec, wl: Workload, name: str, prefix: str = "") -> None:
        self.s = spec
        self.w = wl
        self.b = GraphBuilder(name, prefix)

    def norm(self, x: str, d: int, name: str, kind: str | None = None) -> str:
        kind = kind or self.s.norm
        g = self.b.weight(f"{name}.weight", (d,), self.w.dtype)
        if kind == "rmsnorm":
            return self.b.node("RMSNormalization", [x, g], name=name, axis=-1)
        ins = [x, g]
        if self.s.norm_bias:
            ins.append(self.b.weight(f"{name}.bias", (d,), self.w.dtype))
        return self.b.node("LayerNormalization", ins, name=name, axis=-1)

    def linear(
        self,
        x: str,
        k: int,
        n: int,
        name: str,
        bias: bool = False,
        weight: str | None = None,
        trans: bool = False,
        wdt: DType | None = None,
    ) -> str:
        w = weight or self.b.weight(f"{name}.weight", (k, n), wdt or self.w.wdt)
        ins = [x, w]
        if bias:
            ins.append(self.b.weight(f"{name}.bias", (n,), self.w.dtype))
        return self.b.node("Linear", ins, domain="costmodel", name=name, **({"transB": 1} if trans else {}))

    def act(self, x: str, name: str) -> str:
        a = self.s.activation
        op, extra = ACT_OPS[a]
        if a == "gelu_tanh":
            y = self.b.node("Gelu", [x], name=name, approximate="tanh")
        elif extra == "com.microsoft":
            y = self.b.node(op, [x], name=name, domain="com.microsoft")
        else:
            y = self.b.node(op, [x], name=name)
        if a == "relu2":
            y = self.b.node("Mul", [y, y], name=name + ".square")
        return y

    def split(self, x: str, sizes: list[int], name: str) -> tuple:
        return self.b.node("SplitView", [x], n_out=len(sizes), domain="costmodel", name=name, sizes=tuple(sizes))

    def mlp(self, x: str, inter: int, name: str) -> str:
        s, d = self.s, self.s.hidden_size
        if s.mlp == "gated":
            if s.fused_gate_up:
                gu = self.linear(x, d, 2 * inter, f"{name}.gate_up", s.mlp_bias)
                gate, up = self.split(gu, [inter, inter], f"{name}.split")
            else:
                gate = self.linear(x, d, inter, f"{name}.gate", s.mlp_bias)
                up = self.linear(x, d, inter, f"{name}.up", s.mlp_bias)
            h = self.b.node("Mul", [self.act(gate, f"{name}.act"), up], name=f"{name}.mul")
        else:
            h = self.act(self.linear(x, d, inter, f"{name}.up", s.mlp_bias), f"{name}.act")
        return self.linear(h, inter, d, f"{name}.down", s.mlp_bias)


def batch_seq(wl: Workload) -> tuple[Any, Any]:
    return wl.batch, wl.seq


def self_attention(c: Ctx, x: str, i: int, name: str, causal: bool = True, bias: str | None = None) -> str:
    """Projections, attention over past + new positions (KV cache), output projection."""
    s, w, b = c.s, c.w, c.b
    d, h, kv, hd = s.hidden_size, s.num_heads, s.kv_heads, s.hd
    bsz, _seq = batch_seq(w)
    if s.mla is not None:
        return mla_attention(c, x, name)
    sizes = [h * hd, kv * hd, kv * hd]
    if s.fused_qkv:
        qkv = c.linear(x, d, sum(sizes), f"{name}.qkv", s.qkv_bias)
        q, k, v = c.split(qkv, sizes, f"{name}.split")
    else:
        q = c.linear(x, d, sizes[0], f"{name}.q", s.qkv_bias)
        k = c.linear(x, d, sizes[1], f"{name}.k", s.qkv_bias)
        v = c.linear(x, d, sizes[2], f"{name}.v", s.qkv_bias)
    if s.qk_norm:
        q = c.b.node(
            "RMSNormalization", [q, b.weight(f"{name}.q_norm.weight", (hd,), w.dtype)], name=f"{name}.q_norm", axis=-1
        )
        k = c.b.node(
            "RMSNormalization", [k, b.weight(f"{name}.k_norm.weight", (hd,), w.dtype)], name=f"{name}.k_norm", axis=-1
        )
    ins = [q, k, v]
    attrs: dict[str, Any] = {"num_heads": h, "kv_num_heads": kv, "causal": int(causal)}
    if w.past:
        pk = b.input(f"{name}.past_key", (bsz, kv, w.past, hd), w.kvdt)
        pv = b.input(f"{name}.past_value", (bsz, kv, w.past, hd), w.kvdt)
        ins += [pk, pv]
    if bias is not None:  # additive score bias (T5 relative positions): GQA input 10
        ins += [""] * (10 - len(ins)) + [bias]
    if s.position == "rope":
        attrs["do_rotary"] = 1
    if s.is_sliding(i):
        attrs["local_window_size"] = s.sliding_window
    if s.position == "alibi":
        attrs["alibi"] = 1  # the bias add is counted through the mask input below
    y = b.node("GroupQueryAttention", ins, n_out=3, domain="com.microsoft", name=f"{name}.attn", **attrs)[0]
    return c.linear(y, h * hd, d, f"{name}.o", s.o_bias)


def mla_attention(c: Ctx, x: str, name: str) -> str:
    """DeepSeek multi-head latent attention (DeepSeek-V2, sec. 2.1). Prefill: K and V are
    projected up from the latent per head (kv_b). Decode: the up-projections are absorbed
    into the query (W_UK) and the output (W_UV), as serving engines run it, and attention
    runs over the cached latent (kv_lora_rank + rope dims) as one shared KV head. W_UK
    and W_UV together are kv_b's parameters."""
    s, w, b = c.s, c.w, c.b
    m = s.mla
    d, h = s.hidden_size, s.num_heads
    nope, rope, vd, lora = m.qk_nope_head_dim, m.qk_rope_head_dim, m.v_head_dim, m.kv_lora_rank
    dq = nope + rope
    bsz, seq = batch_seq(w)
    if m.q_lora_rank:
        qa = c.norm(c.linear(x, d, m.q_lora_rank, f"{name}.q_a"), m.q_lora_rank, f"{name}.q_a_norm", "rmsnorm")
        q = c.linear(qa, m.q_lora_rank, h * dq, f"{name}.q_b")
    else:
        q = c.linear(x, d, h * dq, f"{name}.q")
    kva = c.linear(x, d, lora + rope, f"{name}.kv_a")
    latent, k_rope = c.split(kva, [lora, rope], f"{name}.kv_split")
    latent = c.norm(latent, lora, f"{name}.kv_a_norm", "rmsnorm")

    def view(t: str, shape: tuple, tag: str) -> str:
        return b.node("View", [t], domain="costmodel", name=f"{name}.{tag}", shape=tuple(shape))

    if w.phase == "decode":
        q_nope, q_rope = c.split(q, [h * nope, h * rope], f"{name}.q_split")
        w_uk = b.weight(f"{name}.kv_b.w_uk", (h, nope, lora), w.wdt)
        w_uv = b.weight(f"{name}.kv_b.w_uv", (h, lora, vd), w.wdt)
        q_lat = b.node("MatMul", [view(q_nope, (bsz, h, seq, nope), "q_nope_v"), w_uk], name=f"{name}.absorb_k")
        q_cat = b.node(
            "Concat",
            [view(q_lat, (bsz, seq, h, lora), "q_lat_v"), view(q_rope, (bsz, seq, h, rope), "q_rope_v")],
            name=f"{name}.q_cat",
            axis=-1,
        )
        k_new = b.node("Concat", [latent, k_rope], name=f"{name}.latent_cat", axis=-1)
        ins = [view(q_cat, (bsz, seq, h * (lora + rope)), "q_flat"), k_new, latent]
        if w.past:
            ins += [
                "",
                b.input(f"{name}.past_latent", (bsz, 1, w.past, lora + rope), w.kvdt),
                b.input(f"{name}.past_latent_v", (bsz, 1, w.past, lora), w.kvdt),
            ]
        y = b.node("Attention", ins, n_out=3, name=f"{name}.attn", q_num_heads=h, kv_num_heads=1, is_causal=1)[0]
        y = b.node("MatMul", [view(y, (bsz, h, seq, lora), "y_v"), w_uv], name=f"{name}.absorb_v")
        y = view(y, (bsz, seq, h * vd), "y_flat")
    else:
        kv = c.linear(latent, lora, h * (nope + vd), f"{name}.kv_b")
        k_nope, v = c.split(kv, [h * nope, h * vd], f"{name}.kv_b_split")
        rope_all = b.node(
            "Expand",
            [view(k_rope, (bsz, seq, 1, rope), "k_rope_v"), b.ints(f"{name}.rope_shape", [bsz, seq, h, rope])],
            name=f"{name}.rope_expand",
        )
        k = b.node("Concat", [view(k_nope, (bsz, seq, h, nope), "k_nope_v"), rope_all], name=f"{name}.k_cat", axis=-1)
        ins = [q, view(k, (bsz, seq, h * dq), "k_flat"), v]
        if w.past:
            ins += [
                "",
                b.input(f"{name}.past_key", (bsz, h, w.past, dq), w.kvdt),
                b.input(f"{name}.past_value", (bsz, h, w.past, vd), w.kvdt),
            ]
        y = b.node("Attention", ins, n_out=3, name=f"{name}.attn", q_num_heads=h, kv_num_heads=h, is_causal=1)[0]
    return c.linear(y, h * vd, d, f"{name}.o")


def decoder_layer(spec: ModelSpec, wl: Workload, i: int, name: str) -> Graph:
    """One decoder layer (attention or MoE / dense MLP, pre- or post-norm, parallel or
    sequential, with Gemma-2 sandwich norms)."""
    c = Ctx(spec, wl, name)
    s, d = spec, spec.hidden_size
    bsz, seq = batch_seq(wl)
    x = c.b.input("h", (bsz, seq, d), wl.dtype)
    kind = s.layer_kind(i)
    if kind != "attention":
        from .lower_arch import mixer_layer

        return mixer_layer(c, x, i, kind)
    if s.parallel_block:
        n1 = c.norm(x, d, "ln_1")
        n2 = n1 if s.shared_block_norm else c.norm(x, d, "ln_2")
        a = self_attention(c, n1, i, "attn")
        f = ffn(c, n2, i, "mlp")
        y = c.b.node("Add", [c.b.node("Add", [a, f], name="add_branches"), x], name="residual")
    elif s.norm_position == "post":
        a = self_attention(c, x, i, "attn", causal=s.architecture != "encoder")
        x = c.norm(c.b.node("Add", [x, a], name="residual_1"), d, "ln_1")
        f = ffn(c, x, i, "mlp")
        y = c.norm(c.b.node("Add", [x, f], name="residual_2"), d, "ln_2")
    else:
        a = self_attention(c, c.norm(x, d, "ln_1"), i, "attn", causal=s.architecture != "encoder")
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
    s = c.s
    if not s.is_moe_layer(i):
        return c.mlp(x, s.intermediate_size, name)
    m, d = s.moe, s.hidden_size
    logits = c.linear(x, d, m.num_experts, f"{name}.router")
    if m.router_bias:
        c.b.weight(f"{name}.router.score_bias", (m.num_experts,), c.w.dtype)
        logits = c.b.node("Add", [logits, c.b.prefix + f"{name}.router.score_bias"], name=f"{name}.router_bias")
    probs = c.b.node("Softmax", [logits], name=f"{name}.router_softmax", axis=-1)
    topk = c.b.ints(f"{name}.k", [m.top_k])
    c.b.node("TopK", [probs, topk], n_out=2, name=f"{name}.topk", axis=-1)
    mult = 2 if s.mlp == "gated" else 1
    w_in = c.b.weight(f"{name}.experts.w_in", (m.num_experts, d, mult * m.expert_intermediate_size), c.w.wdt)
    w_out = c.b.weight(f"{name}.experts.w_out", (m.num_experts, m.expert_intermediate_size, d), c.w.wdt)
    y = c.b.node(
        "ExpertMLP",
        [x, w_in, w_out],
        domain="costmodel",
        name=f"{name}.experts",
        top_k=m.top_k,
        gated=int(s.mlp == "gated"),
        activation=s.activation,
    )
    if m.num_shared_experts or m.shared_intermediate_size:
        width = m.shared_intermediate_size or m.num_shared_experts * m.expert_intermediate_size
        sh = c.mlp(x, width, f"{name}.shared")
        if m.shared_expert_gate:
            g = c.b.node("Sigmoid", [c.linear(x, d, 1, f"{name}.shared_gate")], name=f"{name}.shared_sigmoid")
            sh = c.b.node("Mul", [sh, g], name=f"{name}.shared_scale")
        y = c.b.node("Add", [y, sh], name=f"{name}.combine")
    return y


def embedding(spec: ModelSpec, wl: Workload, name: str = "embed") -> Graph:
    c = Ctx(spec, wl, name)
    s, d = spec, spec.hidden_size
    bsz, seq = batch_seq(wl)
    ids = c.b.input("input_ids", (bsz, seq), to_dtype("int64"))
    table = c.b.shared_weight("embed_tokens.weight", (s.vocab_size, d), wl.dtype)
    x = c.b.node("Gather", [table, ids], name="embed_tokens", axis=0)
    if s.position == "learned" and s.max_position:
        pos = c.b.input("position_ids", (bsz, seq), to_dtype("int64"))
        pt = c.b.weight("embed_positions.weight", (s.max_position + s.position_offset, d), wl.dtype)
        x = c.b.node("Add", [x, c.b.node("Gather", [pt, pos], name="embed_positions", axis=0)], name="add_pos")
    if s.token_types:
        tt = c.b.input("token_type_ids", (bsz, seq), to_dtype("int64"))
        tw = c.b.weight("token_type.weight", (s.token_types, d), wl.dtype)
        x = c.b.node("Add", [x, c.b.node("Gather", [tw, tt], name="token_type", axis=0)], name="add_type")
    if s.embedding_norm:
        x = c.norm(x, d, "embed_norm", "layernorm" if s.norm == "layernorm" else s.norm)
    c.b.output(x)
    return c.b.build()


def head(spec: ModelSpec, wl: Workload, name: str = "head") -> Graph:
    """Final norm and LM head; logits for the last position only unless asked."""
    c = Ctx(spec, wl, name)
    s, d = spec, spec.hidden_size
    bsz, seq = batch_seq(wl)
    x = c.b.input("h", (bsz, seq, d), wl.dtype)
    if s.final_norm:
        x = c.norm(x, d, "final_norm")
    if s.pooler:
        first = c.b.node("Gather", [x, c.b.ints("first", [0])], name="cls", axis=1)
        x = c.b.node("Tanh", [c.linear(first, d, d, "pooler", True)], name="pooler_tanh")
    elif wl.logits != "none" and s.vocab_size:
        if wl.logits == "last" and seq != 1:
            x = c.b.node("Gather", [x, c.b.ints("last", [-1])], name="last_position", axis=1)
        if s.tie_embeddings:
            table = c.b.shared_weight("embed_tokens.weight", (s.vocab_size, d), wl.dtype)
            x = c.linear(x, d, s.vocab_size, "lm_head", s.lm_head_bias, weight=table, trans=True)
        else:
            x = c.linear(x, d, s.vocab_size, "lm_head", s.lm_head_bias, wdt=wl.dtype)
        if wl.phase == "train":
            # the loss runs in fp32 (autocast upcasts cross-entropy): cast, log-softmax, NLL
            labels = c.b.input("labels", (bsz, seq), to_dtype("int64"))
            x = c.b.node("Cast", [x], name="logits_fp32", to=1)
            x = c.b.node(
                "SoftmaxCrossEntropyLoss",
                [
                    x
                    if seq == 1
                    else c.b.node("View", [x], domain="costmodel", name="logits_nc", shape=(bsz * seq, s.vocab_size)),
                    c.b.node("View", [labels], domain="costmodel", name="labels_flat", shape=(bsz * seq,)),
                ],
                name="loss",
                reduction="mean",
            )
    c.b.output(x)
    return c.b.build()


def layer_signature(spec: ModelSpec, i: int) -> tuple:
    return (spec.layer_kind(i), spec.is_moe_layer(i), spec.is_sliding(i))


def lower(spec: ModelSpec, wl: Workload) -> list[Segment]:
    """The model as segments for this workload."""
    if spec.architecture in ("encoder-decoder", "vit", "dit"):
        from .lower_arch import lower_other

        return lower_other(spec, wl)
    segs = [Segment("embed", embedding(spec, wl))]
    groups: dict[tuple, list[int]] = {}
    for i in range(spec.num_layers):
        groups.setdefault(layer_signature(spec, i), []).append(i)
    for _sig, idx in groups.items():
        label = f"layers[{idx[0]}]" if len(idx) == 1 else f"layers[{idx[0]}..{idx[-1]}]x{len(idx)}"
        segs.append(Segment(label, decoder_layer(spec, wl, idx[0], "layer"), len(idx)))
    segs.append(Segment("head", head(spec, wl)))
    return segs


def unroll(segments: list[Segment], name: str) -> Graph:
    """One graph with every layer (values renamed per copy), for per-op reports."""
    nodes: list[Node] = []
    inits: dict = {}
    inputs: list[str] = []
    declared: dict = {}
    prev_out: str | None = None
    first_input: str | None = None
    for seg in segments:
        base, start = seg.name, 0
        if "[" in seg.name:
            base = seg.name[: seg.name.index("[")]
            start = int(seg.name[seg.name.index("[") + 1 :].split("]")[0].split("..")[0])
        for r in range(seg.repeat):
            tag = f"{base}{start + r}/" if "[" in seg.name else f"{base}/"
            g = seg.graph
            ren: dict[str, str] = {}
            for nm in g.inputs:
                if nm == "h" and prev_out is not None:
                    ren[nm] = prev_out
                else:
                    ren[nm] = tag + nm
                    inputs.append(ren[nm])
                    declared[ren[nm]] = g.declared[nm]
                    if first_input is None:
                        first_input = ren[nm]
            for nm, init in g.initializers.items():
                shared = nm == "embed_tokens.weight"
                ren[nm] = nm if shared else tag + nm
                if ren[nm] not in inits:
                    inits[ren[nm]] = type(init)(ren[nm], init.dtype, init.shape, init.data)
            for n in g.nodes:
                for o in n.outputs:
                    ren[o] = tag + o
            for n in g.nodes:
                nodes.append(
                    Node(
                        tag + n.name,
                        n.op_type,
                        n.domain,
                        tuple(ren.get(x, x) if x else x for x in n.inputs),
                        tuple(ren[o] for o in n.outputs),
                        dict(n.attrs),
                    )
                )
            prev_out = ren[g.outputs[0]] if g.outputs else prev_out
    from .builder import OPSETS

    return Graph(name, nodes, inputs, [prev_out] if prev_out else [], inits, declared, dict(OPSETS))
