"""CLI helpers: a module from a 'package.module:factory' spec, and meta example inputs
from --input-shape / --input-dtype."""

from __future__ import annotations


import importlib
import os
import sys
from typing import Any

from ...errors import CostModelError, ModelLoadError
from .base import _imports, _one_line

_TORCH_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float64": "float64",
    "fp64": "float64",
    "double": "float64",
    "int64": "int64",
    "long": "int64",
    "int32": "int32",
    "int": "int32",
    "int16": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
}


def load_factory(spec: str) -> Any:
    """'package.module:factory' → a module. The factory (a function, an nn.Module class or
    an nn.Module instance) is called with no arguments, on the meta device when it can be
    (no weight memory), else normally. The working directory is importable."""
    torch, _ = _imports()
    mod_name, sep, attr = spec.partition(":")
    if not sep or not mod_name or not attr:
        raise CostModelError(f"--torch expects package.module:factory, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(mod_name)
    except Exception as e:  # noqa: BLE001 - any import failure is the user's module
        raise ModelLoadError(f"cannot import {mod_name}: {_one_line(e)}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ModelLoadError(f"{mod_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if isinstance(obj, torch.nn.Module):
        return obj
    if not callable(obj):
        raise ModelLoadError(f"{spec} is neither an nn.Module nor a callable that returns one")
    module = None
    try:
        with torch.device("meta"):
            module = obj()
    except Exception:  # noqa: BLE001 - factories that need real tensors are built normally
        module = None
    if not isinstance(module, torch.nn.Module):
        try:
            module = obj()
        except Exception as e:  # noqa: BLE001
            raise ModelLoadError(f"{spec}() failed: {_one_line(e)}") from None
    if not isinstance(module, torch.nn.Module):
        raise ModelLoadError(f"{spec}() returned a {type(module).__name__}, not an nn.Module")
    return module


def parse_shape(text: str) -> tuple[int, ...]:
    parts = [p for p in text.replace("x", ",").replace(" ", "").split(",") if p]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise CostModelError(f"--input-shape expects integers like 1,3,224,224, got {text!r}") from None
    if not dims or any(d < 0 for d in dims):
        raise CostModelError(f"--input-shape expects non-negative integers like 1,3,224,224, got {text!r}")
    return dims


def make_inputs(shapes: list[str], dtypes: list[str] | None = None) -> tuple[Any, ...]:
    """Meta tensors of the given shapes ('1,3,224,224') and dtypes (one for all, or one
    per input; default float32)."""
    torch, _ = _imports()
    if not shapes:
        raise CostModelError("--torch needs --input-shape (repeat it for several inputs)")
    dtypes = list(dtypes or [])
    if len(dtypes) not in (0, 1, len(shapes)):
        raise CostModelError(f"give one --input-dtype, or one per --input-shape ({len(shapes)})")
    out = []
    for i, s in enumerate(shapes):
        name = dtypes[i] if len(dtypes) == len(shapes) else (dtypes[0] if dtypes else "float32")
        tname = _TORCH_DTYPES.get(name.strip().lower())
        if tname is None:
            raise CostModelError(f"unknown --input-dtype {name!r}; use one of {', '.join(sorted(set(_TORCH_DTYPES)))}")
        out.append(torch.zeros(parse_shape(s), dtype=getattr(torch, tname), device="meta"))
    return tuple(out)
