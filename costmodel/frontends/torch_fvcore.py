"""Compatibility facade: the PyTorch front end lives in the package `frontends/torch/`
(see its docstring); tracing and the module tree's costs are costmodel/traced.py
(`analyze_module`, `TorchGraphCost`), its text rendering report/modules_report.py.
torch and fvcore are still imported lazily."""

from __future__ import annotations

# DEVICES, OPSET and parse_shape were public names of the old module but not in its
# __all__: re-exported explicitly (`name as name`) and left out of __all__, as before.
from .torch import (
    CAUSAL_MODES,
    DEVICES as DEVICES,
    OPSET as OPSET,
    TABLE,
    TorchTrace,
    is_torch_module,
    load_factory,
    make_inputs,
    parse_shape as parse_shape,
    trace_module,
)

__all__ = [
    "CAUSAL_MODES",
    "TABLE",
    "TorchTrace",
    "is_torch_module",
    "load_factory",
    "make_inputs",
    "trace_module",
]
