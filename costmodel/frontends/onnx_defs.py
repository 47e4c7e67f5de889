"""ONNX operator-schema facts, read from onnx_defs.json instead of `onnx.defs`.

Importing onnx costs about 1.6 s (it imports ml_dtypes, whose extension is slow to
initialise); the front end needs only each schema's since-version and attribute defaults,
which tools/gen_onnx_data.py extracts from onnx.defs into onnx_defs.json (the onnx
version is recorded in the file; tests/test_onnx_reader.py checks the data against the
installed onnx.defs).
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any, NamedTuple

_PATH = os.path.join(os.path.dirname(__file__), "onnx_defs.json")


class Schema(NamedTuple):
    domain: str  # "" for ai.onnx
    name: str
    since_version: int
    deprecated: bool
    defaults: tuple[tuple[str, Any], ...]  # (attribute, default) in onnx.defs order


@cache
def _data() -> dict[str, Any]:
    with open(_PATH, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@cache
def _versions(domain: str, op_type: str) -> tuple[Schema, ...]:
    entries = _data()["schemas"].get(domain, {}).get(op_type, ())
    out = []
    for since, deprecated, defaults in entries:
        items = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in defaults.items())
        out.append(Schema(domain, op_type, since, deprecated, items))
    return tuple(out)


def onnx_version() -> str:
    """The onnx release the data was generated from."""
    return str(_data()["onnx_version"])


def opset_version() -> int:
    """The latest opset of the default domain in that release (onnx.defs.onnx_opset_version)."""
    return int(_data()["opset_version"])


def get_schema(op_type: str, opset: int, domain: str = "") -> Schema | None:
    """The schema of the highest since-version not above `opset` (what
    onnx.defs.get_schema(op_type, opset, domain) returns), or None."""
    best = None
    for s in _versions(domain, op_type):
        if s.since_version <= opset:
            best = s
    return best


def all_schemas_with_history() -> list[Schema]:
    """Every schema version of every op (onnx.defs.get_all_schemas_with_history, for the
    ONNX domains)."""
    out: list[Schema] = []
    for domain, ops in _data()["schemas"].items():
        for op_type in ops:
            out.extend(_versions(domain, op_type))
    return out


@cache
def attribute_defaults(domain: str, op_type: str, opset: int) -> tuple[tuple[str, Any], ...]:
    """(name, default) of each attribute with a default, for the schema in force at `opset`."""
    s = get_schema(op_type, opset, domain)
    return s.defaults if s is not None else ()
