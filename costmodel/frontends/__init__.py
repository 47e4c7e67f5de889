"""Front ends translate model descriptions into the IR; they never cost anything."""

from __future__ import annotations

import os
from typing import Any


def load_model_spec(model: Any):
    """A ModelSpec from a spec object, a spec/config file or a built-in name; None if the
    input is none of these."""
    from .spec import ModelSpec, load_spec

    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, dict):
        from .hf_config import spec_from_hf
        from .spec import spec_from_dict

        return spec_from_hf(model) if "model_type" in model and "architecture" not in model else spec_from_dict(model)
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if os.path.exists(path):
            if path.lower().endswith((".yaml", ".yml", ".toml", ".json")):
                return load_spec(path)
            return None
        from .builtin import get_spec, is_builtin

        if is_builtin(path) or not path.lower().endswith(".onnx"):
            return get_spec(path)
    return None


def spec_graph(spec: Any, bindings: Any = None):
    """A spec as one IR graph (every layer unrolled), for `costmodel analyze`: a prefill
    over `batch` x `seq` tokens (logits for the last position), symbolic unless bound."""
    from ..errors import BindingError
    from ..symbolic import symbol
    from .lower import Workload, lower, unroll

    b = dict(bindings or {})
    for k, v in b.items():
        if k not in ("batch", "seq"):
            raise BindingError(f"unknown symbol {k!r}; a spec's symbols are: batch, seq")
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise BindingError(f"binding {k}={v!r} must be a positive integer")
    batch = b.get("batch", symbol("batch"))
    seq = b.get("seq", symbol("seq"))
    if spec.architecture in ("vit", "dit"):
        wl = Workload("forward", batch, 1, 0, "none")
    else:
        wl = Workload("prefill", batch, seq, 0, "last")
    g = unroll(lower(spec, wl), spec.name)
    g.symbols = ("batch", "seq")
    return g


def resolve_other(path: str, bindings: Any = None) -> tuple[Any, str]:
    """Non-ONNX inputs (spec files, HF configs, built-in names) as an IR graph."""
    from ..errors import ModelLoadError

    spec = load_model_spec(path)
    if spec is None:
        raise ModelLoadError("not an ONNX file, spec, config.json or built-in model name", where=path)
    return spec_graph(spec, bindings), spec.name
