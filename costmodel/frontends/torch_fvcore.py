"""Compatibility facade: the PyTorch front end lives in the package `frontends/torch/`
(see its docstring). Importing from here keeps working; torch and fvcore are still
imported lazily."""

from __future__ import annotations

# DEVICES, OPSET, const_info and parse_shape were public names of the old module but not in
# its __all__: re-exported explicitly (`name as name`) and left out of __all__, as before.
from .torch import (
    CAUSAL_MODES,
    DEVICES as DEVICES,
    OPSET as OPSET,
    TABLE,
    TorchGraphCost,
    analyze_module,
    const_info as const_info,
    is_torch_module,
    load_factory,
    make_inputs,
    parse_shape as parse_shape,
    render_modules,
)

__all__ = [
    "CAUSAL_MODES",
    "TABLE",
    "TorchGraphCost",
    "analyze_module",
    "is_torch_module",
    "load_factory",
    "make_inputs",
    "render_modules",
]
