"""Front ends translate model descriptions into the IR; they never cost anything.

The functions here import the spec front end when called: importing any front end (e.g.
`costmodel.frontends.onnx`) runs this file, and should not load the others (start-up
speed)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, overload

from ..errors import BindingError, ModelLoadError

if TYPE_CHECKING:
    from ..ir.graph import Graph
    from .spec import ModelSpec

SPEC_SUFFIXES = (".yaml", ".yml", ".toml", ".json")
# The sequence length a spec is timed at when a command needs numbers and none was bound
# (`roofline`): a common serving prompt length, capped by the model's own context.
DEFAULT_SEQ = 2048


@overload
def load_model_spec(model: ModelSpec | dict[str, Any]) -> ModelSpec: ...
@overload
def load_model_spec(model: object) -> ModelSpec | None: ...
def load_model_spec(model: object) -> ModelSpec | None:
    """A ModelSpec from a spec object, a spec/config mapping or file, or a built-in name;
    None if the input is none of these."""
    from .builtin import get_spec, is_builtin
    from .spec import ModelSpec, load_spec, spec_from_data

    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, dict):
        return spec_from_data(model)
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if os.path.exists(path):
            return load_spec(path) if path.lower().endswith(SPEC_SUFFIXES) else None
        if is_builtin(path) or not path.lower().endswith(".onnx"):
            return get_spec(path)
    return None


def spec_graph(spec: ModelSpec, bindings: Any = None, *, unrolled: bool = False) -> Graph:
    """A spec as one IR graph for `costmodel analyze`, each distinct layer once with its
    repeat count (lower.assemble; `unrolled=True`: every layer copied, lower.unroll: what
    a runtime's rewrites need, and what tests compare against), symbolic in `batch` and
    `seq` unless bound:
    - a model whose head was given (a Hugging Face config's `architectures`, a spec's
      `head`), and any encoder-decoder: a plain forward over `batch` x `seq` tokens, as the
      model's forward() runs it (a causal LM's logits for every position; a named class
      runs its own eager PyTorch code: lower.workload.runs_own_code); an
      encoder-decoder's decoder over `dec_seq` target positions (default: `seq`);
    - otherwise a decoder is a serving prefill (logits for the last position only);
    - image models (ViT, one DiT step): a forward pass over `batch` images."""
    from ..symbolic import symbol
    from .lower import Logits, Phase, Workload, assemble, lower, unroll
    from .lower.workload import runs_own_code
    from .spec.architectures import Head, Lowering

    enc_dec = spec.arch.lowering is Lowering.ENCODER_DECODER
    names = ("batch", "seq", "dec_seq") if enc_dec else ("batch", "seq")
    b = dict(bindings or {})
    for k, v in b.items():
        if k not in names:
            if k == "dec_seq":
                raise BindingError("dec_seq (decoder positions) applies to encoder-decoder models only")
            raise BindingError(f"unknown symbol {k!r}; a spec's symbols are: {', '.join(names)}")
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise BindingError(f"binding {k}={v!r} must be a positive integer")
    batch = b.get("batch", symbol("batch"))
    seq = b.get("seq", symbol("seq"))
    if spec.arch.image_input:
        wl = Workload(Phase.FORWARD, batch, 1, 0, Logits.NONE)
    elif spec.head is not Head.AUTO or enc_dec:
        wl = Workload(
            Phase.FORWARD, batch, seq, 0, Logits.ALL, decoder_len=b.get("dec_seq", seq), eager_code=runs_own_code(spec)
        )
    else:
        wl = Workload(Phase.PREFILL, batch, seq, 0, Logits.LAST)
    g = (unroll if unrolled else assemble)(lower(spec, wl), spec.name)
    g.symbols = names
    return g


def default_bindings(spec: ModelSpec, bound: Any = None) -> dict[str, int]:
    """Bindings for a spec's symbols left free in `bound`: batch 1 and seq DEFAULT_SEQ,
    or the spec's context (`max_position`) when shorter; an image model has no seq. An
    encoder-decoder's dec_seq follows seq (spec_graph)."""
    given = dict(bound or {})
    out: dict[str, int] = {}
    if "batch" not in given:
        out["batch"] = 1
    if "seq" not in given and not spec.arch.image_input:
        out["seq"] = min(DEFAULT_SEQ, spec.max_position) if spec.max_position > 0 else DEFAULT_SEQ
    return out


def resolve_other(path: str, bindings: Any = None, *, unrolled: bool = False) -> tuple[Graph, str]:
    """Non-ONNX inputs (spec files, HF configs, built-in names) as an IR graph."""
    spec = load_model_spec(path)
    if spec is None:
        raise ModelLoadError("not an ONNX file, spec, config.json or built-in model name", where=path)
    return spec_graph(spec, bindings, unrolled=unrolled), spec.name


__all__ = ["DEFAULT_SEQ", "default_bindings", "load_model_spec", "resolve_other", "spec_graph"]
