"""Tracing: check the arguments, trace the module through fvcore on the meta device (a
copy whose parameters and buffers are meta tensors) and fall back to a real CPU trace;
the walk turns the traced graph into one IR graph and the module tree's metadata (a
`TorchTrace`). Costing is the caller's: it analyses the graph (costmodel/traced.py)."""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import CostModelError, ModelLoadError
from ...ir.graph import Graph
from ...limits import Limits
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
from .table import TABLE
from .walker import GraphCallback, _Walker


@dataclass(frozen=True, kw_only=True)
class TorchTrace:
    """A traced module as IR plus its module tree: `node_module` maps each IR node to the
    module that ran it ('' is the model); `module_types` every module's class name (in
    `named_modules` order); `module_params` fvcore's parameter count per module (tied
    parameters once, in the first module that owns them); `fvcore_unsupported` the ops
    fvcore itself lists per module; `fvcore_by_module` fvcore's `by_module()` of the
    handle counts (the MACs the callback returned, when one was given)."""

    name: str
    graph: Graph
    node_module: Mapping[str, str]
    module_types: Mapping[str, str]
    module_params: Mapping[str, int]
    fvcore_unsupported: Mapping[str, Mapping[str, int]]
    fvcore_by_module: Mapping[str, int]
    traced_on: str = "meta"
    notes: tuple[str, ...] = field(default_factory=tuple)


def is_torch_module(model: Any) -> bool:
    mod = type(model).__module__ or ""
    if not (mod.startswith("torch") or hasattr(model, "named_modules")):
        return False
    try:
        import torch  # only when the object looks like a module: torch takes seconds to import
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


def trace_module(
    module: Any,
    example_inputs: Any,
    *,
    limits: Limits | None = None,
    causal_attention: str = "dense",
    device: str = "auto",
    train: bool = False,
    on_graph: GraphCallback | None = None,
) -> TorchTrace:
    """Trace `module(*example_inputs)` into an IR graph.

    example_inputs: a tensor or a tuple of tensors (shapes and dtypes are what count;
    meta tensors are fine). device: "auto" traces on meta and falls back to a CPU trace,
    "meta" never runs arithmetic (error if the module cannot trace on meta), "cpu"
    traces with real tensors. train=True traces the training-mode forward (batch-norm
    statistics, dropout); the default is the inference forward, as an ONNX export.
    on_graph (graph -> MACs by IR node name) is called with the graph while fvcore holds
    the trace, so that fvcore's `by_module()` reports those MACs."""
    torch, fvcore_nn = _imports()
    if causal_attention not in CAUSAL_MODES:
        raise CostModelError(f"unknown causal_attention {causal_attention!r}; use one of {', '.join(CAUSAL_MODES)}")
    if device not in DEVICES:
        raise CostModelError(f"unknown trace device {device!r}; use one of {', '.join(DEVICES)}")
    if not isinstance(module, torch.nn.Module):
        raise CostModelError(f"expected a torch.nn.Module, got {type(module).__name__}")
    inputs = _as_inputs(torch, example_inputs)
    lim = (limits or Limits()).start()
    notes: list[str] = []
    errors: list[str] = []
    result = None
    traced_on = "meta"
    if device in ("auto", "meta"):
        try:
            meta = _meta_copy(torch, module)
            minputs = tuple(x.to("meta") for x in inputs)
            result = _trace(torch, fvcore_nn, meta, minputs, lim, causal_attention, train, on_graph)
        except (CostModelError, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 - any failure of a meta trace falls back
            if device == "meta":
                raise ModelLoadError(f"cannot trace on the meta device: {_one_line(e)}") from None
            errors.append(_one_line(e))
    if result is None:
        try:
            real, rinputs = _real(torch, module, inputs, train)
            result = _trace(torch, fvcore_nn, real, rinputs, lim, causal_attention, train, on_graph)
        except CostModelError:
            raise
        except Exception as e:  # noqa: BLE001
            raise ModelLoadError(f"cannot trace the module: {_one_line(e)}") from None
        traced_on = "cpu"
        if errors:
            notes.append(f"traced with real CPU tensors (the meta trace failed: {errors[0]})")
    return _result(result, type(module).__name__, traced_on, notes)


def _as_inputs(torch: Any, example_inputs: Any) -> tuple[Any, ...]:
    if example_inputs is None:
        raise CostModelError("torch modules need example_inputs=(tensor, ...)")
    xs = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    out = []
    for i, x in enumerate(xs):
        if not isinstance(x, torch.Tensor):
            raise CostModelError(f"example_inputs[{i}] is a {type(x).__name__}; pass tensors (meta tensors are fine)")
        out.append(x)
    return tuple(out)


def _state_tensors(module: Any) -> list[Any]:
    """Every parameter and buffer of the module."""
    return list(module.parameters()) + list(module.buffers())


def _meta_copy(torch: Any, module: Any) -> Any:
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


def _real(torch: Any, module: Any, inputs: tuple[Any, ...], train: bool) -> tuple[Any, tuple[Any, ...]]:
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
def _mode(module: Any, train: bool) -> Iterator[None]:
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


def _trace(
    torch: Any,
    fvcore_nn: Any,
    module: Any,
    inputs: tuple[Any, ...],
    lim: Limits,
    causal: str,
    train: bool,
    on_graph: GraphCallback | None,
) -> _Result:
    walker = _Walker(torch, module, len(inputs), lim, causal, on_graph)
    fca = fvcore_nn.FlopCountAnalysis(module, inputs)
    fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    kinds = set(TABLE) | _VIEWS | _RESHAPES
    try:
        from fvcore.nn.jit_analysis import _IGNORED_OPS as fv_ignored  # fvcore is an optional extra
    except ImportError:  # pragma: no cover - older/newer fvcore
        fv_ignored = set()
    # fvcore ignores real work (relu, cat, clamp, masked_fill...): route every op it would
    # skip through the walker too, so nothing is silently zero.
    kinds |= set(fv_ignored) - _SCALAR_OPS
    fca.set_op_handle(**{k: walker.handle for k in sorted(kinds)})
    with _mode(module, train), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca.total()
    if not walker.done or walker.graph is None:
        raise CostModelError("the traced graph has no tensor operation to cost")
    return _Result(walker, fca, module, fvcore_nn)


def _result(res: _Result, name: str, traced_on: str, notes: list[str]) -> TorchTrace:
    w, fca, module = res.walker, res.fca, res.module
    assert w.graph is not None
    aliases: dict[int, str] = {}
    for mname, mod in module.named_modules(remove_duplicate=False):
        aliases.setdefault(id(mod), mname)
    names = list(dict.fromkeys(aliases[id(m)] for _, m in module.named_modules(remove_duplicate=False)))
    types = {n: type(module.get_submodule(n)).__name__ if n else type(module).__name__ for n in names}
    pc = res.fvcore_nn.parameter_count(module)
    fv_uns: dict[str, dict[str, int]] = {}
    for n in names:
        try:
            ops = fca.unsupported_ops(n)
        except KeyError:
            continue
        if ops:
            fv_uns[n] = {op: int(c) for op, c in ops.items()}
    return TorchTrace(
        name=name,
        graph=w.graph,
        node_module=dict(w.node_module),
        module_types=types,
        module_params={n: int(pc.get(n, 0)) for n in names},
        fvcore_unsupported=fv_uns,
        fvcore_by_module={k: int(v) for k, v in fca.by_module().items()},
        traced_on=traced_on,
        notes=tuple(notes),
    )
