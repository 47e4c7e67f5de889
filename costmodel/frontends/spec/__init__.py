"""Declarative model specs: architectures described at the level users think in.

A spec is a YAML, TOML or JSON mapping (JSON Schema: `costmodel specs --schema`, also in
docs/spec.schema.json), or a Hugging Face config.json. Integer fields take a number or an
expression over other fields in the safe expression language of `expr.py`, e.g.
`head_dim: hidden_size // num_heads`. Files are read by `costmodel.datafile` only
(yaml.safe_load with aliases bounded, tomllib, json).

Example (Llama-3-8B):

    name: llama-3-8b
    source: https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json
    architecture: decoder
    vocab_size: 128256
    hidden_size: 4096
    num_layers: 32
    num_heads: 32
    num_kv_heads: 8
    intermediate_size: 14336
    mlp: gated
    activation: silu
    norm: rmsnorm
    position: rope

Modules: `architectures` (what each architecture is), `records` (the frozen spec
records), `expr` (the expression language), `coerce` (data -> validated spec),
`hf_config` (one table entry per Hugging Face model_type), `load` (files), `schema`
(the JSON Schema generated from the records).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .architectures import ARCHITECTURES, Architecture, LayerKind
from .coerce import spec_from_dict, validate
from .hf_config import MODEL_TYPES, spec_from_hf
from .load import load_spec, read_mapping, spec_from_data
from .records import MLASpec, ModelSpec, MoESpec, RWKVSpec, SSMSpec


def with_overrides(spec: ModelSpec, **kw: Any) -> ModelSpec:
    return replace(spec, **kw)


__all__ = [
    "ARCHITECTURES",
    "MODEL_TYPES",
    "Architecture",
    "LayerKind",
    "MLASpec",
    "ModelSpec",
    "MoESpec",
    "RWKVSpec",
    "SSMSpec",
    "load_spec",
    "read_mapping",
    "spec_from_data",
    "spec_from_dict",
    "spec_from_hf",
    "validate",
    "with_overrides",
]
