"""Spec files -> ModelSpec: a YAML / TOML / JSON spec, or a Hugging Face config.json
(recognised by its `model_type` key), read through the one safe reader."""

from __future__ import annotations

import os
from typing import Any

from ...datafile import read_data_file
from ...errors import SpecError
from .coerce import plausible, spec_from_dict
from .hf_config import spec_from_hf
from .records import ModelSpec


def read_mapping(path: str) -> Any:
    """A YAML / TOML / JSON file as plain data, safely and with a size limit; a number
    literal far too long is refused naming its key and the key's plausible range."""
    return read_data_file(path, error=SpecError, what="spec file", plausible=plausible)


def is_hf_config(data: Any) -> bool:
    return isinstance(data, dict) and "model_type" in data and "architecture" not in data


def spec_from_data(data: Any, where: str = "spec", name: str | None = None) -> ModelSpec:
    """A spec mapping or a Hugging Face config mapping."""
    if is_hf_config(data):
        return spec_from_hf(data, where=where, name=name)
    return spec_from_dict(data, where=where)


def load_spec(path: str) -> ModelSpec:
    data = read_mapping(path)
    if is_hf_config(data):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem == "config":
            stem = os.path.basename(os.path.dirname(os.path.abspath(path))) or stem
        return spec_from_hf(data, where=path, name=data.get("_name_or_path") or stem)
    return spec_from_dict(data, where=path)
