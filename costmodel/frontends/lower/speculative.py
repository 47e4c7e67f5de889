"""Draft heads that ride on a target model for speculative decoding, as segments:
Medusa heads (Cai et al. 2024, sec. 2.1.1: head k is p^(k) = softmax(W2^(k) (SiLU(W1^(k)
h) + h)) with W1 d x d and its own d x V output layer) and EAGLE's draft (Li et al.
2024: the target's feature and the next token's embedding, concatenated, through an
fc layer 2d -> d, one decoder layer of the target's shape, and the target's LM head)."""

from __future__ import annotations

from ...ir.activations import Activation
from ..spec import ModelSpec
from .context import Ctx
from .decoder import attention_layer
from .heads import head
from .workload import Logits, Phase, Segment, Workload


def medusa_heads(spec: ModelSpec, wl: Workload, heads: int) -> list[Segment]:
    """`heads` Medusa heads over the last hidden state of each sequence (one position)."""
    c = Ctx(spec, wl, "medusa")
    d, v = spec.hidden_size, spec.vocab_size
    x = c.b.input("h", (wl.batch, 1, d), wl.dtype)
    for k in range(heads):
        r = c.act(c.linear(x, d, d, f"medusa.{k}.res", bias=True), f"medusa.{k}.silu", Activation.SILU)
        y = c.b.node("Add", [x, r], name=f"medusa.{k}.residual")
        c.b.output(c.linear(y, d, v, f"medusa.{k}.lm_head", wdt=wl.dtype))
    return [Segment("medusa_heads", c.b.build())]


def eagle_draft(spec: ModelSpec, batch: int, tokens: int, past: int, wl: Workload) -> list[Segment]:
    """One EAGLE draft step over `tokens` tree nodes per sequence at one depth, attending
    to `past` cached positions: fc over [feature, embedding], the draft decoder layer
    (layer 0's shape), and the LM head for every node."""
    step = Workload(Phase.DECODE, batch, tokens, past, Logits.ALL, wl.dtype, wl.weight_dtype, wl.kv_dtype)
    c = Ctx(spec, step, "eagle_fc")
    d = spec.hidden_size
    feat = c.b.input("feature", (batch, tokens, d), step.dtype)
    emb = c.b.input("embedding", (batch, tokens, d), step.dtype)
    x = c.b.node("Concat", [feat, emb], name="concat", axis=-1)
    c.b.output(c.linear(x, 2 * d, d, "fc", bias=True))
    return [
        Segment("eagle.fc", c.b.build()),
        Segment("eagle.layer", attention_layer(spec, step, 0, "eagle_layer")),
        Segment("eagle.lm_head", head(spec, step, "eagle_head")),
    ]
