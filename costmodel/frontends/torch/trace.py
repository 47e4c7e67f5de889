"""Entry point and tracing: check the arguments, trace the module through fvcore on the
meta device (a copy whose parameters and buffers are meta tensors) and fall back to a
real CPU trace, then roll the rows up into a TorchGraphCost."""

from __future__ import annotations

import contextlib
import copy
import warnings
from dataclasses import dataclass
from typing import Any

from ...errors import CostModelError, ModelLoadError
from ...ir.dtypes import DType
from ...limits import Limits
from ...ops import registry as R
from . import (  # noqa: F401 - importing a translate_* module registers its handlers in TABLE
    translate_attention,
    translate_contraction,
    translate_elementwise,
    translate_movement,
    translate_norm,
    translate_pooling,
    translate_recurrent,
    translate_reduction,
)
from .base import _RESHAPES, _SCALAR_OPS, _VIEWS, CAUSAL_MODES, DEVICES, _imports, _one_line
from .graphcost import TorchGraphCost, _finish
from .table import TABLE
from .walker import _Walker


def is_torch_module(model: Any) -> bool:
    mod = type(model).__module__ or ""
    if not (mod.startswith("torch") or hasattr(model, "named_modules")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


def analyze_module(
    module: Any,
    example_inputs: Any,
    *,
    dtype: DType | None = None,
    strict: bool = False,
    limits: Limits | None = None,
    registry: Any = None,
    causal_attention: str = "dense",
    device: str = "auto",
    train: bool = False,
) -> tuple[TorchGraphCost, str]:
    """Trace `module(*example_inputs)` and cost it. Returns (TorchGraphCost, display name).

    example_inputs: a tensor or a tuple of tensors (shapes and dtypes are what count;
    meta tensors are fine). device: "auto" traces on meta and falls back to a CPU trace,
    "meta" never runs arithmetic (error if the module cannot trace on meta), "cpu"
    traces with real tensors. train=True traces the training-mode forward (batch-norm
    statistics, dropout); the default is the inference forward, as an ONNX export."""
    torch, fvcore_nn = _imports()
    if causal_attention not in CAUSAL_MODES:
        raise CostModelError(f"unknown causal_attention {causal_attention!r}; use one of {', '.join(CAUSAL_MODES)}")
    if device not in DEVICES:
        raise CostModelError(f"unknown trace device {device!r}; use one of {', '.join(DEVICES)}")
    if not isinstance(module, torch.nn.Module):
        raise CostModelError(f"expected a torch.nn.Module, got {type(module).__name__}")
    inputs = _as_inputs(torch, example_inputs)
    reg = registry or R.load_all()
    lim = (limits or Limits()).start()
    notes: list[str] = []
    errors: list[str] = []
    result = None
    if device in ("auto", "meta"):
        try:
            meta = _meta_copy(torch, module)
            minputs = tuple(x.to("meta") for x in inputs)
            result = _trace(torch, fvcore_nn, meta, minputs, reg, dtype, strict, lim, causal_attention, train)
            traced_on = "meta"
        except (CostModelError, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 - any failure of a meta trace falls back
            if device == "meta":
                raise ModelLoadError(f"cannot trace on the meta device: {_one_line(e)}") from None
            errors.append(_one_line(e))
    if result is None:
        try:
            real, rinputs = _real(torch, module, inputs, train)
            result = _trace(torch, fvcore_nn, real, rinputs, reg, dtype, strict, lim, causal_attention, train)
        except CostModelError:
            raise
        except Exception as e:  # noqa: BLE001
            raise ModelLoadError(f"cannot trace the module: {_one_line(e)}") from None
        traced_on = "cpu"
        if errors:
            notes.append(f"traced with real CPU tensors (the meta trace failed: {errors[0]})")
    gc = _finish(result, traced_on, notes, module)
    return gc, type(module).__name__


def _as_inputs(torch, example_inputs: Any) -> tuple:
    if example_inputs is None:
        raise CostModelError("torch modules need example_inputs=(tensor, ...)")
    xs = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    out = []
    for i, x in enumerate(xs):
        if not isinstance(x, torch.Tensor):
            raise CostModelError(f"example_inputs[{i}] is a {type(x).__name__}; pass tensors (meta tensors are fine)")
        out.append(x)
    return tuple(out)


def _state_tensors(module) -> list:
    """Every parameter and buffer of the module."""
    return list(module.parameters()) + list(module.buffers())


def _meta_copy(torch, module):
    """The module with every parameter and buffer replaced by a meta tensor of the same
    shape and dtype (tied ones stay tied); no storage is read or allocated."""
    tensors = _state_tensors(module)
    if all(t.device.type == "meta" for t in tensors):
        return module
    memo: dict[int, Any] = {}
    for t in tensors:
        if id(t) in memo:
            continue
        m = torch.empty_like(t, device="meta")
        memo[id(t)] = torch.nn.Parameter(m, requires_grad=t.requires_grad) if isinstance(t, torch.nn.Parameter) else m
    return copy.deepcopy(module, memo)


def _real(torch, module, inputs, train):
    tensors = _state_tensors(module)
    if any(t.device.type == "meta" for t in tensors):
        module = copy.deepcopy(module).to_empty(device="cpu")
    elif train:
        module = copy.deepcopy(module)  # a training-mode forward updates batch-norm statistics
    real = []
    for x in inputs:
        if x.device.type == "meta":
            x = torch.zeros(x.shape, dtype=x.dtype)  # zeros are valid indices for embeddings
        real.append(x.cpu())
    return module, tuple(real)


@contextlib.contextmanager
def _mode(module, train: bool):
    flags = [(m, m.training) for m in module.modules()]
    module.train(train)
    try:
        yield
    finally:
        for m, f in flags:
            m.training = f


@dataclass
class _Result:
    walker: _Walker
    fca: Any
    module: Any
    fvcore_nn: Any


def _trace(torch, fvcore_nn, module, inputs, reg, dtype, strict, lim, causal, train) -> _Result:
    walker = _Walker(torch, module, inputs, reg, dtype, strict, lim, causal)
    fca = fvcore_nn.FlopCountAnalysis(module, inputs)
    fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    kinds = set(TABLE) | _VIEWS | _RESHAPES
    try:
        from fvcore.nn.jit_analysis import _IGNORED_OPS as fv_ignored
    except ImportError:  # pragma: no cover - older/newer fvcore
        fv_ignored = set()
    # fvcore ignores real work (relu, cat, clamp, masked_fill...): route every op it would
    # skip through the walker too, so nothing is silently zero.
    kinds |= set(fv_ignored) - _SCALAR_OPS
    fca.set_op_handle(**{k: walker.handle for k in sorted(kinds)})
    with _mode(module, train), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca.total()
    if not walker.done:
        raise CostModelError("the traced graph has no tensor operation to cost")
    return _Result(walker, fca, module, fvcore_nn)
