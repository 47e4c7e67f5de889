"""The pieces of the Hugging Face model-type table (model_types.py): a config reader, one
spec field read from config keys (Key), and a model type (ModelType: keys, fixed family
facts, a derive hook). Kept apart from the entries so the table is plain data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ...errors import SpecError
from ...ir.activations import EAGER_FORMULAS, HF_ACTIVATIONS
from .architectures import AttentionImpl, Head

_REQ = object()


class Config:
    """A config mapping and where it came from; `get` reads the first present key."""

    def __init__(self, cfg: Mapping[str, Any], where: str) -> None:
        self.cfg, self.where = cfg, where

    def get(self, *keys: str, default: Any = _REQ) -> Any:
        for k in keys:
            if k in self.cfg and self.cfg[k] is not None:
                return self.cfg[k]
        if default is _REQ:
            raise SpecError(
                f"missing field {keys[0]!r} for model_type {self.cfg.get('model_type')!r}", where=self.where
            )
        return default

    def has(self, key: str) -> bool:
        return bool(self.cfg.get(key))


def activation(name: Any) -> str:
    key = str(name or "silu").lower()
    if key not in HF_ACTIVATIONS:
        raise SpecError(f"unsupported activation {key!r}; known: {', '.join(sorted(HF_ACTIVATIONS))}")
    return HF_ACTIVATIONS[key].value


# Hugging Face model classes by name suffix (config.json `architectures`), most specific
# first: GPT2LMHeadModel and BertLMHeadModel are LM heads, BertModel / T5Model the base.
HEAD_SUFFIXES: tuple[tuple[str, Head | None], ...] = (
    ("EncoderModel", None),  # T5EncoderModel: the encoder stack alone (not modelled)
    ("DoubleHeadsModel", None),  # GPT2DoubleHeadsModel: LM + multiple-choice heads (not modelled)
    ("ForCausalLM", Head.LM),
    ("LMHeadModel", Head.LM),
    ("ForMaskedLM", Head.LM),
    ("ForConditionalGeneration", Head.LM),
    ("ForPreTraining", Head.PRETRAINING),
    ("ForSequenceClassification", Head.SEQUENCE_CLASSIFICATION),
    ("ForTokenClassification", Head.TOKEN_CLASSIFICATION),
    ("ForQuestionAnswering", Head.QUESTION_ANSWERING),
    ("Model", Head.NONE),
)


def hf_head(c: Config) -> Head | None:
    """The head of the config's first `architectures` class (the one AutoModel loads);
    None when the config names none."""
    archs = c.cfg.get("architectures")
    if archs is None:
        return None
    if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
        raise SpecError("architectures must be a list of class names", where=c.where)
    cls = archs[0]
    for suffix, kind in HEAD_SUFFIXES:
        if cls.endswith(suffix):
            if kind is None:
                break
            return kind
    known = ", ".join(f"*{sfx}" for sfx, k in HEAD_SUFFIXES if k is not None)
    raise SpecError(f"unsupported architectures class {cls[:80]!r}; supported: {known}", where=c.where)


# attn_implementation values of transformers: "eager" runs matmul / softmax explicitly,
# the others one fused kernel
ATTN_IMPLEMENTATIONS = {
    "eager": AttentionImpl.EAGER,
    "sdpa": AttentionImpl.SDPA,
    "flash_attention_2": AttentionImpl.SDPA,
    "flash_attention_3": AttentionImpl.SDPA,
    "flex_attention": AttentionImpl.SDPA,
}


def hf_common(c: Config) -> dict[str, Any]:
    """Spec fields every model type reads the same way: the head (`architectures`), its
    label count (num_labels, else the size of id2label, else transformers' default 2) and
    an attn_implementation the config pins."""
    out: dict[str, Any] = {}
    kind = hf_head(c)
    if kind is not None:
        out["head"] = kind.value
    labels = c.cfg.get("num_labels")
    if labels is None and isinstance(c.cfg.get("id2label"), dict):
        labels = len(c.cfg["id2label"])
    if labels is not None:
        out["num_labels"] = labels
    impl = c.cfg.get("attn_implementation", c.cfg.get("_attn_implementation"))
    if impl is not None:
        if impl not in ATTN_IMPLEMENTATIONS:
            raise SpecError(
                f"unsupported attn_implementation {str(impl)[:40]!r}; known: {', '.join(ATTN_IMPLEMENTATIONS)}",
                where=c.where,
            )
        out["attn_implementation"] = ATTN_IMPLEMENTATIONS[impl].value
    return out


@dataclass(frozen=True, kw_only=True)
class Key:
    """One spec field read from the config: the first present of `names`, else `default`
    (required when there is none); `convert` maps the config's value to the spec's."""

    names: tuple[str, ...]
    default: Any = _REQ
    convert: Callable[[Any], Any] | None = None


def key(*names: str, default: Any = _REQ, convert: Callable[[Any], Any] | None = None) -> Key:
    return Key(names=names, default=default, convert=convert)


@dataclass(frozen=True, kw_only=True)
class ModelType:
    model_type: str
    keys: Mapping[str, Key]  # spec field ("moe.top_k" for nested fields) -> config key(s)
    fixed: Mapping[str, Any] = field(default_factory=dict)  # facts of the family
    derive: Callable[[Config], dict[str, Any]] | None = None  # facts that depend on flags
    source: str = ""  # where the keys and defaults come from

    def but(
        self,
        model_type: str,
        *,
        keys: Mapping[str, Key] | None = None,
        fixed: Mapping[str, Any] | None = None,
        derive: Callable[[Config], dict[str, Any]] | None = None,
        source: str = "",
    ) -> ModelType:
        """A model type that reads like this one with some keys or facts changed: a field
        given here (as a key or as a fixed fact) replaces whatever this one did for it."""
        keys, fixed = dict(keys or {}), dict(fixed or {})
        return replace(
            self,
            model_type=model_type,
            keys={**{k: v for k, v in self.keys.items() if k not in fixed}, **keys},
            fixed={**{k: v for k, v in self.fixed.items() if k not in keys}, **fixed},
            derive=derive or self.derive,
            source=source or self.source,
        )

    def read(self, c: Config) -> dict[str, Any]:
        missing = [
            k.names[0]
            for k in self.keys.values()
            if k.default is _REQ and not any(c.cfg.get(n) is not None for n in k.names)
        ]
        if missing:
            names = ", ".join(repr(m) for m in dict.fromkeys(missing))
            raise SpecError(
                f"missing field{'s' if len(missing) > 1 else ''} {names} for model_type {self.model_type!r}",
                where=c.where,
            )
        out: dict[str, Any] = {}
        for name, k in self.keys.items():
            v = c.get(*k.names, default=k.default)
            if v is not None and k.convert is not None:
                v = k.convert(v)
            _put(out, name, v)
        act = self.keys.get("activation")
        if act is not None:
            raw = str(c.get(*act.names, default=act.default)).lower()
            if raw in EAGER_FORMULAS:
                out["activation_formula"] = raw
        for name, v in self.fixed.items():
            _put(out, name, v)
        if self.derive is not None:
            for name, v in self.derive(c).items():
                _put(out, name, v)
        return out


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    """Set a spec field, "moe.top_k" style names inside their sub-record."""
    if value is None:
        return
    head, _, sub = name.partition(".")
    if sub:
        out.setdefault(head, {})[sub] = value
    else:
        out[name] = value
