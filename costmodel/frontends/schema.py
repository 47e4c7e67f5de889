"""JSON Schema of the model-spec format, generated from the ModelSpec dataclasses so the
two never disagree (published for editors: `costmodel specs --schema`)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from .spec import _CHOICES, _NESTED, ModelSpec

_INT_OR_EXPR = {
    "oneOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "description": "expression: numbers, field names, + - * / // %, min, max, ceil, floor"},
    ]
}


def _schema(cls: type) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required = []
    for f in fields(cls):
        t = str(f.type)
        if f.name in _NESTED:
            props[f.name] = {"anyOf": [_schema(_NESTED[f.name]), {"type": "null"}]}
        elif t.startswith("bool"):
            props[f.name] = {"type": "boolean"}
        elif t.startswith("int"):
            props[f.name] = dict(_INT_OR_EXPR)
        elif t.startswith("tuple"):
            props[f.name] = {"type": "array", "items": {"type": "string"}}
        else:
            props[f.name] = {"type": "string"}
            if f.name in _CHOICES:
                props[f.name]["enum"] = list(_CHOICES[f.name])
        if f.default is MISSING and f.default_factory is MISSING:  # type: ignore[misc]
            required.append(f.name)
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def json_schema() -> dict[str, Any]:
    s = _schema(ModelSpec)
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    s["title"] = "costmodel model spec"
    return s
