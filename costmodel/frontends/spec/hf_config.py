"""Hugging Face `config.json` -> ModelSpec through the model-type table
(model_types.py), with the head of its `architectures` class (hf_types.hf_head). An
unknown `model_type` or head class, or a missing required key, is an error naming what is
supported. No downloads: the user passes a file or a mapping."""

from __future__ import annotations

from typing import Any

from ...errors import SpecError
from .coerce import spec_from_dict
from .hf_types import Config, hf_common
from .model_types import LLAMA, MODEL_TYPES
from .records import ModelSpec

__all__ = ["LLAMA", "MODEL_TYPES", "Config", "spec_from_hf"]


def spec_from_hf(cfg: Any, where: str = "config.json", name: str | None = None) -> ModelSpec:
    if not isinstance(cfg, dict):
        raise SpecError(f"a config must be a JSON object, got {type(cfg).__name__}", where=where)
    mt = cfg.get("model_type")
    if not isinstance(mt, str) or mt not in MODEL_TYPES:
        raise SpecError(f"unsupported model_type {mt!r}; supported: {', '.join(sorted(MODEL_TYPES))}", where=where)
    try:
        c = Config(cfg, where)
        data = {**MODEL_TYPES[mt].read(c), **hf_common(c)}
    except (TypeError, ValueError, AttributeError, OverflowError) as e:
        raise SpecError(f"invalid {mt} config: {e}", where=where) from None
    title = name or cfg.get("_name_or_path") or cfg.get("name") or mt
    data["name"] = title if isinstance(title, str) else mt
    data["source"] = f"Hugging Face config.json (model_type {mt})"
    return spec_from_dict(data, where=where)
