"""JSON Schema of the model-spec format, generated from the ModelSpec records and the
architecture table so the three never disagree (published for editors:
`costmodel specs --schema`, docs/spec.schema.json)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from .coerce import choices, field_kinds
from .records import NESTED, ModelSpec

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
        kind = field_kinds(cls)[f.name]
        if kind == "nested":
            props[f.name] = {"anyOf": [_schema(NESTED[f.name]), {"type": "null"}]}
        elif kind == "bool":
            props[f.name] = {"type": "boolean"}
        elif kind == "int":
            props[f.name] = dict(_INT_OR_EXPR)
        elif kind == "strings":
            props[f.name] = {"type": "array", "items": {"type": "string"}}
        elif kind == "ints":
            props[f.name] = {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 64}
        elif kind == "float":
            props[f.name] = {"type": "number", "minimum": 0}
        else:
            props[f.name] = {"type": "string"}
            allowed = choices(f.name, kind)
            if allowed:
                props[f.name]["enum"] = list(allowed)
        if f.default is MISSING and f.default_factory is MISSING:
            required.append(f.name)
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def json_schema() -> dict[str, Any]:
    s = _schema(ModelSpec)
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    s["title"] = "costmodel model spec"
    return s
