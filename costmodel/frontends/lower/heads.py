"""What a model computes on its last hidden states (spec.head; Hugging Face: the class in
config.json `architectures`), after the final norm:

- none: the hidden states; a BERT base model adds its pooler (tanh(W h_[CLS] + b)).
- lm: vocabulary logits, for the positions the workload asks (all in a plain forward or
  training, the last one in serving). BERT's LM head (BertLMPredictionHead) first
  transforms each position (dense, activation, LayerNorm) and adds a bias per token of the
  vocabulary; T5 and Switch scale the states by d^-0.5 before a tied head
  (modeling_t5.py / modeling_switch_transformers.py, "rescale output before projecting").
- pretraining (BertForPreTraining): the LM head over every position plus next-sentence
  logits (d x 2 + bias) on the pooled [CLS].
- sequence-classification: BERT classifies the pooled [CLS] (d x num_labels + bias);
  decoder families score every position (d x num_labels, no bias:
  GPT2/OPT/Llama/MPT...ForSequenceClassification `score`) and keep the last one.
- token-classification / question-answering: d x num_labels (or d x 2, start and end)
  with a bias, on every position.

In training the loss follows the logits: cross-entropy in fp32 (autocast upcasts it; a
cast kernel unless the logits are fp32 already).
"""

from __future__ import annotations

from typing import Any

from ...ir.dtypes import FP32
from ...ir.dtypes import dtype as to_dtype
from ...ir.graph import Graph
from ..spec import ModelSpec
from ..spec.architectures import Head, Norm
from .context import Ctx
from .workload import Logits, Phase, Workload


def head(spec: ModelSpec, wl: Workload, name: str = "head") -> Graph:
    """Final norm and the spec's head; logits for the positions the workload asks."""
    c = Ctx(spec, wl, name)
    s, d = spec, spec.hidden_size
    bsz, seq = c.bs
    x = c.b.input("h", (bsz, seq, d), wl.dtype)
    if s.final_norm:
        x = c.norm(x, d, "final_norm")
    kind = s.resolved_head
    if wl.logits is Logits.NONE:
        kind = Head.NONE
    encoder = not s.arch.causal
    if kind is Head.NONE:
        if s.pooler:
            x = _pooler(c, x)
    elif kind is Head.LM:
        x = _lm(c, x, wl.logits)
    elif kind is Head.PRETRAINING:
        mlm = _lm(c, x, Logits.ALL)
        nsp = c.linear(_pooler(c, x), d, 2, "seq_relationship", True, wdt=wl.dtype)
        if wl.phase is Phase.TRAIN:
            _loss(c, nsp, bsz, 2, "nsp_")
        x = mlm
    elif kind is Head.SEQUENCE_CLASSIFICATION:
        if encoder:
            x = c.linear(_pooler(c, x), d, s.num_labels, "classifier", True, wdt=wl.dtype)
        else:
            x = c.linear(x, d, s.num_labels, "score", False, wdt=wl.dtype)
            if seq != 1:
                x = c.b.node("Gather", [x, c.b.ints("last", [-1])], name="last_position", axis=1)
        x = _maybe_loss(c, x, bsz, s.num_labels)
    else:
        width = s.num_labels if kind is Head.TOKEN_CLASSIFICATION else 2
        label = "classifier" if kind is Head.TOKEN_CLASSIFICATION else "qa_outputs"
        x = _maybe_loss(c, c.linear(x, d, width, label, True, wdt=wl.dtype), bsz * seq, width)
    c.b.output(x)
    return c.b.build()


def _pooler(c: Ctx, x: str) -> str:
    d = c.s.hidden_size
    first = c.b.node("Gather", [x, c.b.ints("first", [0])], name="cls", axis=1)
    out: str = c.b.node("Tanh", [c.linear(first, d, d, "pooler", True)], name="pooler_tanh")
    return out


def _lm(c: Ctx, x: str, logits: Logits) -> str:
    """Vocabulary logits (and in training the loss) for the positions `logits` asks."""
    s, wl = c.s, c.w
    d = s.hidden_size
    bsz, seq = c.bs
    if not s.vocab_size:
        return x
    rows: Any = bsz * seq
    if logits is Logits.LAST and seq != 1:
        x = c.b.node("Gather", [x, c.b.ints("last", [-1])], name="last_position", axis=1)
        rows = bsz
    if s.lm_transform:
        x = c.act(c.linear(x, d, d, "lm_transform", True, wdt=wl.dtype), "lm_transform_act")
        x = c.norm(x, d, "lm_transform_norm", Norm.LAYERNORM)
    if s.tie_embeddings and s.num_decoder_layers:
        x = c.b.node("Mul", [x, c.b.input("rescale", (), wl.dtype)], name="rescale")
    if s.tie_embeddings:
        table = c.b.shared_weight("embed_tokens.weight", (s.vocab_size, d), wl.dtype)
        x = c.linear(x, d, s.vocab_size, "lm_head", s.lm_head_bias, weight=table, trans=True)
    else:
        x = c.linear(x, d, s.vocab_size, "lm_head", s.lm_head_bias, wdt=wl.dtype)
    return _maybe_loss(c, x, rows, s.vocab_size)


def _maybe_loss(c: Ctx, logits: str, rows: Any, width: int) -> str:
    return _loss(c, logits, rows, width) if c.w.phase is Phase.TRAIN else logits


def _loss(c: Ctx, logits: str, rows: Any, width: int, prefix: str = "") -> str:
    """Mean cross-entropy of `rows` rows of `width` logits against integer labels."""
    labels = c.b.input(f"{prefix}labels", (rows,), to_dtype("int64"))
    if c.w.dtype != FP32:
        logits = c.b.node("Cast", [logits], name=f"{prefix}logits_fp32", to=1)
    else:  # .float() of fp32 logits launches nothing; a view keeps one node list for every dtype
        logits = c.view(logits, (rows, width), f"{prefix}logits_fp32")
    flat = c.view(logits, (rows, width), f"{prefix}logits_nc")
    out: str = c.b.node("SoftmaxCrossEntropyLoss", [flat, labels], name=f"{prefix}loss", reduction="mean")
    return out


def final_norm(spec: ModelSpec, wl: Workload, name: str) -> Graph:
    c = Ctx(spec, wl, name)
    bsz, seq = c.bs
    x = c.b.input("h", (bsz, seq, spec.hidden_size), wl.dtype)
    c.b.output(c.norm(x, spec.hidden_size, "final_norm"))
    return c.b.build()
