"""PyTorch front end: a module traced by fvcore's JIT tracer, each traced aten op
translated to the ONNX op(s) an export would produce and costed by costmodel's own rules.

Translate only: every number comes from a registered rule (`costmodel/ops/*`) run on the
traced tensor types, so FLOPs, MACs, transcendentals, bytes and engine hints (gemm, conv,
attention, rowwise) follow exactly the ONNX conventions. The rows are `NodeCost`s in a
`GraphCost` (a `TorchGraphCost`, which adds the module tree), so reports, JSON and
`engine.latency.graph_latency` work unchanged.

fvcore (`fvcore.nn.FlopCountAnalysis`) traces the module with submodule scopes, dispatches
every traced op to a handle, attributes counts to the module tree (`by_module`) and
tracks ops without a handle. What it gets wrong, and what this module does instead:
- one multiply-add is one fvcore "flop": here `macs` is that count and `flops` is
  2 per multiply-add plus the elementwise work (the fvcore handles here return MACs, so
  `FlopCountAnalysis.by_module()` reads as MACs per module);
- bias terms are dropped (linear, addmm, baddbmm, conv), `baddbmm` has no handle,
  `matmul` mis-counts operands with broadcast batch dims (and fails on 1-D ones),
  `einsum` runs numpy on zero arrays of the real shapes (memory) and halves numpy's count
  (wrong for outer products), norms are 4-5 per element without the per-row work;
- `scaled_dot_product_attention`, softmax, every activation, embedding, pooling and
  recurrent layers (LSTM/GRU/RNN) have no handle, and relu, clamp, cat, masked_fill,
  gather, index... are silently ignored (0): here they are all costed, and whatever is
  still unknown is an unsupported row, listed per module (never a silent 0).

Tracing runs on the meta device when it can (a copy of the module whose parameters and
buffers are meta tensors, built without touching their storage), so large models need
none of their memory and no arithmetic runs; ops whose meta kernels cannot run under the
JIT tracer (convolutions, batch norm) fall back to a real trace on CPU.

Causal attention: an ONNX export at opset < 23 writes `scaled_dot_product_attention(...,
is_causal=True)` as MatMul, Add(mask), Softmax, MatMul over every (query, key) pair, so
the default here (`causal_attention="dense"`) counts the same: every pair plus one add per
score for the mask. `causal_attention="skip"` counts only the unmasked pairs S(S+1)/2,
as flash kernels do and as costmodel's fused Attention rule does for opset 23+ graphs.

torch and fvcore are imported lazily (`pip install costmodel[torch]`).
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis import GraphCost, NodeCost, Unsupported
from ..errors import CostModelError, ModelLoadError, UnsupportedOpError
from ..ir.dtypes import BOOL, DTYPES, FP32, INT64, DType
from ..ir.graph import Node, Role, TensorInfo
from ..limits import Limits
from ..ops import registry as R
from ..ops.context import NodeContext, UnknownShape
from ..ops.cost import ZERO, Cost
from ..passes.bind import retype
from ..symbolic import norm, prod

OPSET = 23                   # rules are looked up at this opset (Attention, RMSNormalization, ...)
CAUSAL_MODES = ("dense", "skip")
DEVICES = ("auto", "meta", "cpu")

# JIT scalar type names → costmodel dtypes.
_SCALAR = {
    "Float": "fp32", "Double": "fp64", "Half": "fp16", "BFloat16": "bf16", "Long": "int64",
    "Int": "int32", "Short": "int16", "Char": "int8", "Byte": "uint8", "Bool": "bool",
    "ComplexFloat": "complex64", "ComplexDouble": "complex128", "Float8_e4m3fn": "fp8_e4m3",
    "Float8_e5m2": "fp8_e5m2", "Float8_e4m3fnuz": "fp8_e4m3fnuz", "Float8_e5m2fnuz": "fp8_e5m2fnuz",
    "UInt16": "uint16", "UInt32": "uint32", "UInt64": "uint64",
}

# Scalar bookkeeping the tracer records; no tensor work, no row.
_SCALAR_OPS = {
    "aten::size", "aten::Int", "aten::Float", "aten::Bool", "aten::ScalarImplicit", "aten::numel",
    "aten::dim", "aten::__getitem__", "aten::len", "aten::item", "aten::format", "aten::warn",
    "aten::__and__", "aten::__or__", "aten::__not__", "aten::is_floating_point", "aten::device",
    "aten::dtype", "aten::sym_size", "aten::sym_numel", "aten::_assert_async", "aten::_shape_as_tensor",
}
# Views: no data moves (PyTorch views share storage); a zero row.
_VIEWS = {
    "aten::view", "aten::_reshape_alias", "aten::unflatten", "aten::squeeze", "aten::squeeze_",
    "aten::unsqueeze", "aten::unsqueeze_", "aten::transpose", "aten::transpose_", "aten::t",
    "aten::permute", "aten::select", "aten::slice", "aten::narrow", "aten::expand", "aten::expand_as",
    "aten::view_as", "aten::unbind", "aten::chunk", "aten::split", "aten::split_with_sizes",
    "aten::unsafe_chunk", "aten::unsafe_split", "aten::tensor_split", "aten::movedim", "aten::moveaxis",
    "aten::swapaxes", "aten::swapdims", "aten::diagonal", "aten::as_strided", "aten::detach",
    "aten::detach_", "aten::alias", "aten::numpy_T", "aten::mT", "aten::mH", "aten::real", "aten::imag",
    "aten::view_as_real", "aten::view_as_complex", "aten::lift_fresh", "aten::resolve_conj",
    "aten::resolve_neg", "aten::dropout", "aten::dropout_", "aten::feature_dropout",
    "aten::alpha_dropout", "aten::feature_alpha_dropout", "aten::broadcast_to", "aten::_unsafe_view",
}
# Reshapes are views of contiguous inputs and copies otherwise.
_RESHAPES = {"aten::reshape", "aten::flatten", "aten::reshape_as", "aten::contiguous"}


# ---------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TorchGraphCost(GraphCost):
    """A GraphCost from a traced module, plus its module tree. `modules` maps every
    module's name ('' is the model; 'layer1.0.conv1'...) to the cost of the ops it ran,
    its descendants included, with params by ownership (tied parameters once, in the
    first module that owns them). `module_unsupported` lists, per module, the ops
    without a cost (descendants included). `fvcore_macs` is fvcore's own `by_module()`
    of the traced counts (the handles return MACs), a cross-check of `modules`."""

    modules: Mapping[str, Cost] = field(default_factory=dict)
    module_types: Mapping[str, str] = field(default_factory=dict)
    module_unsupported: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    fvcore_macs: Mapping[str, int] = field(default_factory=dict)
    traced_on: str = "meta"
    notes: tuple[str, ...] = ()

    def by_module(self, depth: int | None = None) -> dict[str, Cost]:
        """Module name → cost; `depth` keeps modules at most that many levels deep."""
        if depth is None:
            return dict(self.modules)
        return {k: v for k, v in self.modules.items() if (k.count(".") + 1 if k else 0) <= depth}

    def modules_dict(self) -> dict[str, Any]:
        out = {}
        for name, c in self.modules.items():
            d = c.to_dict()
            d["type"] = self.module_types.get(name, "")
            uns = self.module_unsupported.get(name)
            if uns:
                d["unsupported"] = dict(uns)
            out[name] = d
        return out


# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------
def is_torch_module(model: Any) -> bool:
    mod = type(model).__module__ or ""
    if not (mod.startswith("torch") or hasattr(model, "named_modules")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


def analyze_module(module: Any, example_inputs: Any, *, dtype: DType | None = None, strict: bool = False,
                   limits: Limits | None = None, registry: Any = None, causal_attention: str = "dense",
                   device: str = "auto", train: bool = False) -> tuple[TorchGraphCost, str]:
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


def _imports():
    try:
        import torch
        import fvcore.nn as fvcore_nn
    except ImportError as e:
        raise CostModelError(f"PyTorch analysis needs torch and fvcore ({e.name} is missing): "
                             "pip install 'costmodel[torch]'") from None
    return torch, fvcore_nn


def _one_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return f"{type(e).__name__}: {s[0] if s else ''}"[:300]


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


def _meta_copy(torch, module):
    """The module with every parameter and buffer replaced by a meta tensor of the same
    shape and dtype (tied ones stay tied); no storage is read or allocated."""
    tensors = list(module.parameters()) + list(module.buffers())
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
    tensors = list(module.parameters()) + list(module.buffers())
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


# ---------------------------------------------------------------------------------------
# Tracing through fvcore
# ---------------------------------------------------------------------------------------
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


class _Walker:
    """Translates the whole traced graph on the first handle call (while fvcore holds the
    graph) and then answers each handle call with that node's MACs."""

    def __init__(self, torch, module, inputs, reg, dtype, strict, lim, causal) -> None:
        self.torch = torch
        self.module = module
        self.n_inputs = len(inputs)
        self.reg = reg
        self.dtype = dtype
        self.strict = strict
        self.lim = lim
        self.causal = causal
        self.done = False
        self.rows: list[NodeCost] = []
        self.row_module: list[str] = []
        self.unsupported: list[Unsupported] = []
        self.macs_by_node: dict[tuple, int] = {}
        self.env: dict[int, _V] = {}
        self.names: Counter = Counter()
        self.params_seen: set[str] = set()
        self.weight_bytes: dict[str, Any] = {}
        self.param_numel: dict[str, int] = {}
        self.input_names: list[str] = []
        self.output_names: list[str] = []

    # -- fvcore handle ------------------------------------------------------------------
    def handle(self, inputs: list, outputs: list) -> int:
        vals = outputs or inputs
        if not vals:
            return 0
        node = vals[0].node()
        if not self.done:
            self.done = True
            self.walk(node.owningBlock())
        return int(self.macs_by_node.get(_node_key(node), 0))

    # -- graph walk ---------------------------------------------------------------------
    def walk(self, block) -> None:
        torch = self.torch
        ginputs = list(block.inputs())
        state = list(torch.jit._unique_state_dict(self.module, keep_vars=True).items())
        n_state = len(ginputs) - self.n_inputs
        params = {id(p) for p in self.module.parameters()}
        for i, v in enumerate(ginputs):
            if i < self.n_inputs or n_state != len(state):
                key: str | None = None if i < self.n_inputs else f"state{i}"
                role = Role.INPUT if key is None else Role.WEIGHT
                if key is not None:
                    self.param_numel[key] = _numel(v)
            else:
                name, t = state[i - self.n_inputs]
                role, key = Role.WEIGHT, name
                if id(t) in params:
                    self.param_numel[key] = int(t.numel())
            self.set(v, role=role, root=key, name=key or _vname(v))
            if role is Role.INPUT:
                self.input_names.append(self.env[v.unique()].name)
        nodes = list(block.nodes())
        self.lim.check_nodes(len(nodes))
        for node in nodes:
            self.lim.tick()
            self.node(node)
        for v in block.outputs():
            e = self.env.get(v.unique())
            if e is not None:
                self.output_names.append(e.name)

    def node(self, node) -> None:
        kind = node.kind()
        if kind == "prim::PythonOp":
            kind = f"{kind}.{node.pyname()}"
        if kind in ("prim::ListUnpack", "prim::TupleUnpack"):
            self.unpack(node)
            return
        if (kind.startswith("prim::") and not kind.startswith(("prim::PythonOp", "prim::CallFunction"))) \
                or kind in _SCALAR_OPS:
            # sizes wrapped as tensors and traced tensor constants: shape arithmetic
            const = kind in ("prim::NumToTensor", "prim::Constant")
            for o in node.outputs():
                self.set(o, const=const and _is_tensor(o))
            return
        tins = [i for i in node.inputs() if _is_tensor(i)]
        if tins and all(self.get(i).const for i in tins):
            # every input is a constant or a size: folded at load time, as in an ONNX graph
            for o in node.outputs():
                self.set(o, const=_is_tensor(o))
            return
        scope = node.scopeName().split("/")[-1] if node.scopeName() else ""
        t = _Op(self, node, kind, scope)
        try:
            if kind in _VIEWS:
                t.view()
            elif kind in _RESHAPES:
                t.reshape()
            elif kind in TABLE:
                TABLE[kind](t)
            else:
                t.unsupported(f"no cost rule for {kind}")
        except UnknownShape as e:
            t.unsupported(f"cannot infer shapes: {e}")
        except UnsupportedOpError:
            raise
        except (CostModelError, ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, AttributeError) as e:
            if self.strict:
                raise UnsupportedOpError(f"cannot cost {kind}: {_one_line(e)}", where=f"node {t.base!r}") from None
            t.rows.clear()
            t.unsupported(f"cannot cost {kind}: {_one_line(e)}")
        t.commit()

    def unpack(self, node) -> None:
        src = node.input().node()
        root = None
        if src.kind() in _VIEWS and src.inputsSize():
            root = self.env.get(src.inputsAt(0).unique())
        for o in node.outputs():
            if root is not None and _is_tensor(o):
                self.set(o, role=root.info.role, root=root.root, name=root.name, view=True)
            else:
                self.set(o)

    # -- values -------------------------------------------------------------------------
    def set(self, v, role: Role = Role.ACTIVATION, root: str | None = None, name: str | None = None,
            view: bool = False, const: bool = False) -> _V:
        info = _tensor_info(v, self.dtype, role)
        e = _V(info, root, name or _vname(v), view, const)
        self.env[v.unique()] = e
        return e

    def get(self, v) -> _V:
        e = self.env.get(v.unique())
        if e is None:
            e = self.set(v)
        return e


@dataclass
class _V:
    info: TensorInfo
    root: str | None     # state-dict name of the parameter/buffer this value views
    name: str            # canonical name (a view shares its base's name)
    view: bool = False
    const: bool = False  # made from sizes and traced constants only (folds away)


def _node_key(node) -> tuple:
    outs = [o.unique() for o in node.outputs()]
    return (node.kind(), *outs) if outs else (node.kind(), *[i.unique() for i in node.inputs()])


def _vname(v) -> str:
    return f"%{v.debugName()}"


def _is_tensor(v) -> bool:
    return v.type().kind() == "TensorType"


def _numel(v) -> int:
    try:
        return int(prod(v.type().sizes()))
    except Exception:  # noqa: BLE001
        return 0


def _tensor_info(v, override: DType | None, role: Role = Role.ACTIVATION) -> TensorInfo:
    t = v.type()
    if t.kind() != "TensorType":
        return TensorInfo(None, None, role)
    st = t.scalarType()
    dt = DTYPES.get(_SCALAR.get(st or "", ""), None)
    sizes = t.sizes()
    shape = tuple(int(s) for s in sizes) if sizes is not None and all(s is not None for s in sizes) else None
    return TensorInfo(retype(dt, override), shape, role, None, role is Role.WEIGHT)


def _contiguous(t) -> bool:
    sizes, strides = t.sizes(), t.strides()
    if sizes is None or strides is None or any(s is None for s in sizes) or any(s is None for s in strides):
        return True
    expect = 1
    for n, st in zip(reversed(sizes), reversed(strides)):
        if n != 1 and st != expect:
            return False
        expect *= n
    return True


# ---------------------------------------------------------------------------------------
# One traced op → rows
# ---------------------------------------------------------------------------------------
class _Op:
    """Translation of one traced node: helpers to read its arguments, run ONNX rules on
    TensorInfos, and emit NodeCost rows (one per kernel)."""

    def __init__(self, w: _Walker, node, kind: str, scope: str) -> None:
        self.w = w
        self.node = node
        self.kind = kind
        self.scope = scope
        self.ins = list(node.inputs())
        self.outs = list(node.outputs())
        short = kind.split("::", 1)[-1]
        prefix = scope.replace(".", "/")
        base = f"{prefix}/{short}" if prefix else short
        k = w.names[base]
        w.names[base] += 1
        self.base = base if k == 0 else f"{base}_{k}"
        self.rows: list[NodeCost] = []
        self.macs = 0
        self.aliases: dict[int, _V] = {}

    # -- arguments ------------------------------------------------------------------------
    def v(self, i: int):
        return self.ins[i] if i < len(self.ins) else None

    def is_none(self, i: int) -> bool:
        v = self.v(i)
        return v is None or v.type().kind() == "NoneType"

    def tensor(self, i: int) -> bool:
        v = self.v(i)
        return v is not None and _is_tensor(v)

    def info(self, i: int) -> TensorInfo:
        if not self.tensor(i):
            raise UnknownShape(f"input {i} is not a tensor")
        return self.w.get(self.ins[i]).info

    def req(self, i: int) -> TensorInfo:
        return self.info(i)

    def shape(self, i: int) -> tuple:
        inf = self.info(i)
        if inf.shape is None:
            raise UnknownShape(f"shape of input {i} unknown")
        return inf.shape

    def out_info(self, k: int = 0) -> TensorInfo:
        return _tensor_info(self.outs[k], self.w.dtype)

    def out_shape(self, k: int = 0) -> tuple:
        s = self.out_info(k).shape
        if s is None:
            raise UnknownShape(f"shape of output {k} unknown")
        return s

    def shape_of(self, v) -> tuple:
        s = self.w.get(v).info.shape
        if s is None:
            raise UnknownShape(f"shape of {_vname(v)} unknown")
        return s

    def const(self, i: int, default: Any = None) -> Any:
        v = self.v(i)
        if v is None:
            return default
        c = _const(v)
        return default if c is None else c

    def list_values(self, i: int) -> list:
        """Tensor values of a Tensor[] argument (prim::ListConstruct)."""
        v = self.v(i)
        n = v.node()
        if n.kind() != "prim::ListConstruct":
            raise UnknownShape(f"input {i} is not a literal tensor list")
        return list(n.inputs())

    def scalar_info(self, i: int, like: TensorInfo | None = None) -> TensorInfo:
        """A tensor input as it is; a Python number as a 0-d constant (known value)."""
        if self.tensor(i):
            return self.info(i)
        return const_info(self.const(i, 0), like.dtype if like is not None and like.dtype is not None else FP32)

    # -- rules ----------------------------------------------------------------------------
    def rule(self, op_type: str, infos: list, attrs: Mapping[str, Any] | None = None, domain: str = "",
             n_out: int = 1) -> tuple[Cost, NodeContext, Any]:
        opdef = self.w.reg.lookup(domain, op_type, OPSET)
        if opdef is None:
            raise CostModelError(f"no rule for {domain or 'ai.onnx'}::{op_type}")
        node = Node(self.base, op_type, domain, tuple(f"i{k}" if x is not None else "" for k, x in enumerate(infos)),
                    tuple(f"o{k}" for k in range(n_out)), dict(attrs or {}))
        ctx = NodeContext(node, list(infos), OPSET, None, self.w.dtype, self.w.lim)
        cost = opdef.rule(ctx)
        return (cost if isinstance(cost, Cost) else ZERO), ctx, opdef

    # -- rows -----------------------------------------------------------------------------
    def emit(self, op_type: str, kind: str, cost: Cost, *, domain: str = "", hints: Mapping | None = None,
             reads: list | None = None, writes: list | None = None, byte_cost: Cost | None = None,
             suffix: str = "", out_shapes: tuple | None = None, status: str = "costed", reason: str = "") -> None:
        """One kernel. reads: (key, TensorInfo) pairs (default: the node's tensor inputs);
        writes: TensorInfos (default: its tensor outputs); byte_cost replaces the traffic
        (a rule's own, e.g. a gather reading only the rows it selects)."""
        w = self.w
        if reads is None:
            reads = []
            for v in self.ins:
                if _is_tensor(v):
                    e = w.get(v)
                    reads.append((e, e.info))
            for v in self.ins:  # tensors inside Tensor[] arguments (cat, lstm params...)
                n = v.node()
                if v.type().kind() == "ListType" and n.kind() == "prim::ListConstruct":
                    for x in n.inputs():
                        if _is_tensor(x):
                            e = w.get(x)
                            reads.append((e, e.info))
        if writes is None:
            writes = [self.out_info(k) for k, o in enumerate(self.outs) if _is_tensor(o)]
        params: Any = 0
        rw = ra = wa = 0
        seen: set = set()
        in_names, in_shapes = [], []
        for e, info in reads:
            key = e.name if isinstance(e, _V) else e
            in_names.append(key)
            in_shapes.append(info.shape if info is not None else None)
            if key in seen or info is None or info.shape is None or info.dtype is None:
                continue
            seen.add(key)
            b = info.dtype.nbytes(prod(info.shape))
            if info.role is Role.WEIGHT:
                rw = rw + b
                root = e.root if isinstance(e, _V) else None
                if root is not None:
                    if root not in w.params_seen and root in w.param_numel:
                        w.params_seen.add(root)
                        params = params + w.param_numel[root]
                    if status == "costed" and root not in w.weight_bytes:
                        w.weight_bytes[root] = b
            else:
                ra = ra + b
        for info in writes:
            if info is not None and info.shape is not None and info.dtype is not None:
                wa = wa + info.dtype.nbytes(prod(info.shape))
        if status != "costed":
            traffic = ZERO
        elif byte_cost is not None:
            traffic = byte_cost
        else:
            traffic = Cost(read_weights=norm(rw), read_activations=norm(ra), write_activations=norm(wa))
        cost = Cost(cost.flops, cost.macs, cost.transcendentals, traffic.read_weights, traffic.read_activations,
                    traffic.read_kv, traffic.write_activations, traffic.write_kv, norm(params))
        out_names = [f"{self.base}{suffix}"] if suffix else [_vname(o) for o in self.outs if _is_tensor(o)]
        dt = _row_dtype([i for _, i in reads], writes)
        self.rows.append(NodeCost(self.base + suffix, op_type, domain, kind, status, cost, reason, tuple(in_shapes),
                                  out_shapes if out_shapes is not None else tuple(i.shape for i in writes),
                                  dt, dict(hints or {}), tuple(in_names), tuple(out_names)))
        if status == "costed":
            self.macs += int(cost.macs) if type(cost.macs) is int else 0

    def run(self, op_type: str, infos: list, attrs: Mapping[str, Any] | None = None, domain: str = "",
            n_out: int = 1, extra: Cost = ZERO, use_rule_bytes: bool = False, **kw: Any) -> NodeContext:
        """Cost one kernel with one rule on `infos` (default traffic: the node's own tensors)."""
        cost, ctx, opdef = self.rule(op_type, infos, attrs, domain, n_out)
        if opdef.zero is not None:
            self.view(reason=opdef.zero)
            return ctx
        self.emit(op_type, opdef.kind, cost + extra, domain=domain, hints=ctx.hints,
                  byte_cost=ctx.bytes_override if use_rule_bytes else None, **kw)
        return ctx

    def steps(self, op_type: str, kind: str, steps: list[tuple], hints_from: int = 0, **kw: Any) -> list:
        """One kernel whose arithmetic is several ONNX ops (an export's decomposition):
        steps = [(op_type, infos, attrs)], where an info may be ("out", j) for step j's
        output. Costs add; traffic is the node's own inputs and outputs (fused)."""
        total: list[Cost] = []
        outs: list[TensorInfo | None] = []
        hints: dict = {}
        for j, (t, infos, attrs) in enumerate(steps):
            infos = [outs[x[1]] if isinstance(x, tuple) and x and x[0] == "out" else x for x in infos]
            cost, ctx, _ = self.rule(t, infos, attrs)
            total.append(cost)
            outs.append(ctx.outputs[0])
            if j == hints_from:
                hints = dict(ctx.hints)
        self.emit(op_type, kind, _sum(total), hints=hints, **kw)
        return outs

    def view(self, reason: str = "view: no data movement (shares the input's storage)") -> None:
        src = None
        for v in self.ins:
            if _is_tensor(v):
                src = self.w.get(v)
                break
        for o in self.outs:
            if _is_tensor(o) and src is not None:
                self.aliases[o.unique()] = src
        self.emit("View", R.VIEW, ZERO, domain="costmodel", status="zero", reason=reason,
                  reads=[(src, src.info)] if src is not None else [], writes=[])

    def reshape(self) -> None:
        if not self.tensor(0):
            self.unsupported("reshape of a non-tensor")
            return
        t = self.ins[0].type()
        if _contiguous(t) or not _contiguous(self.outs[0].type()):
            self.view()
        else:
            # a strided input laid out again: one read and one write (PyTorch's copy kernel)
            self.emit("Transpose", R.MOVEMENT, ZERO, reads=[(self.w.get(self.ins[0]), self.info(0))])

    def copy(self, op_type: str = "Identity", kind: str = R.MOVEMENT, reads: list | None = None, **kw: Any) -> None:
        """0 FLOPs: reads its inputs, writes its outputs."""
        self.emit(op_type, kind, ZERO, reads=reads, **kw)

    def unsupported(self, reason: str) -> None:
        w = self.w
        if w.strict:
            raise UnsupportedOpError(reason, where=f"node {self.base!r}")
        w.unsupported.append(Unsupported(self.base, self.kind, "aten", reason))
        self.emit(self.kind, "unknown", ZERO, domain="", status="unsupported", reason=reason)

    def commit(self) -> None:
        w = self.w
        for o in self.outs:
            src = self.aliases.get(o.unique())
            if src is not None:
                w.set(o, role=src.info.role, root=src.root, name=src.name, view=True)
            else:
                role = Role.ACTIVATION
                w.set(o, role=role)
        for r in self.rows:
            w.rows.append(r)
            w.row_module.append(self.scope)
        w.macs_by_node[_node_key(self.node)] = self.macs


def _const(v) -> Any:
    n = v.node()
    k = n.kind()
    if k == "prim::Constant":
        try:
            return v.toIValue()
        except Exception:  # noqa: BLE001
            return None
    if k == "prim::ListConstruct":
        return [_const(i) for i in n.inputs()]
    if k in ("aten::Int", "aten::Float", "prim::NumToTensor", "aten::ScalarImplicit"):
        return _const(n.input())
    if k == "aten::size" and n.inputsSize() == 2:
        sizes = n.inputsAt(0).type().sizes()
        d = _const(n.inputsAt(1))
        return sizes[d] if sizes is not None and d is not None else None
    return None


def const_info(value: Any, dt: DType = FP32) -> TensorInfo:
    """A known constant (0-d for a number, 1-d for a list of ints)."""
    if isinstance(value, (list, tuple)):
        return TensorInfo(INT64, (len(value),), Role.CONSTANT, np.array(list(value), dtype=np.int64), True)
    if isinstance(value, bool):
        return TensorInfo(BOOL, (), Role.CONSTANT, np.asarray(value), True)
    if isinstance(value, int) and not dt.is_float:
        return TensorInfo(dt, (), Role.CONSTANT, np.asarray(value, dtype=np.int64), True)
    return TensorInfo(dt, (), Role.CONSTANT, np.asarray(float(value) if value is not None else 0.0), True)


def _row_dtype(ins: list, outs: list) -> str | None:
    for i in list(outs) + list(ins):
        if i is not None and i.dtype is not None and i.dtype.is_float:
            return i.dtype.name
    for i in ins:
        if i is not None and i.dtype is not None:
            return i.dtype.name
    return None


def _ints(x: Any, n: int, default: int = 0) -> tuple:
    if x is None:
        return (default,) * n
    if isinstance(x, int):
        return (x,) * n
    x = list(x)
    if not x:
        return (default,) * n
    if len(x) == 1:
        return (int(x[0]),) * n
    return tuple(int(a) for a in x)


# ---------------------------------------------------------------------------------------
# The translation table: aten op → rule(s)
# ---------------------------------------------------------------------------------------
TABLE: dict[str, Callable[[_Op], None]] = {}


def _reg(*kinds: str):
    def deco(fn):
        for k in kinds:
            TABLE[k] = fn
        return fn
    return deco


# -- contractions ------------------------------------------------------------------------
@_reg("aten::linear")
def _linear(t: _Op) -> None:
    """y = x W^T + b: one GEMM with the bias in its epilogue (costmodel::Linear)."""
    infos = [t.info(0), t.info(1), None if t.is_none(2) else t.info(2)]
    t.run("Linear", infos, {"transB": 1}, domain="costmodel")


@_reg("aten::matmul", "aten::mm", "aten::bmm", "aten::mv", "aten::dot", "aten::vdot", "aten::inner")
def _matmul(t: _Op) -> None:
    t.run("MatMul", [t.info(0), t.info(1)])


@_reg("aten::outer", "aten::ger")
def _outer(t: _Op) -> None:
    a, b = t.shape(0), t.shape(1)
    t.run("MatMul", [t.req(0)._replace(shape=(a[0], 1)), t.req(1)._replace(shape=(1, b[0]))])


@_reg("aten::addmm", "aten::addmv")
def _addmm(t: _Op) -> None:
    """beta*C + alpha*(A @ B): Gemm (bias add, and alpha/beta scaling when not 1)."""
    beta, alpha = float(t.const(3, 1)), float(t.const(4, 1))
    a, b = t.info(1), t.info(2)
    if t.kind == "aten::addmv":
        b = b._replace(shape=(b.shape[0], 1)) if b.shape else b
    attrs = {"alpha": alpha, "beta": beta}
    c = t.info(0) if beta != 0 else None
    if c is not None and t.kind == "aten::addmv" and c.shape is not None and len(c.shape) == 1:
        c = c._replace(shape=(c.shape[0], 1))
    t.run("Gemm", [a, b, c], attrs)


@_reg("aten::baddbmm", "aten::addbmm")
def _baddbmm(t: _Op) -> None:
    """beta*C + alpha*(A @ B) batched: MatMul, then (as an export writes it) Mul by alpha,
    Mul by beta and the Add of C, each costed by its elementwise rule."""
    beta, alpha = float(t.const(3, 1)), float(t.const(4, 1))
    steps: list[tuple] = [("MatMul", [t.info(1), t.info(2)], None)]
    if t.kind == "aten::addbmm":
        steps.append(("ReduceSum", [("out", 0), const_info([0])], {"keepdims": 0}))
    if alpha != 1:
        steps.append(("Mul", [("out", len(steps) - 1), const_info(alpha)], None))
    if beta != 0:
        last = len(steps) - 1
        c: Any = t.info(0)
        if beta != 1:
            steps.append(("Mul", [c, const_info(beta)], None))
            c = ("out", len(steps) - 1)
        steps.append(("Add", [("out", last), c], None))
    t.steps("MatMul", R.CONTRACTION, steps)


@_reg("aten::einsum")
def _einsum(t: _Op) -> None:
    eq = t.const(0)
    vals = t.list_values(1)
    infos = [t.w.get(v).info for v in vals]
    reads = [(t.w.get(v), t.w.get(v).info) for v in vals]
    t.run("Einsum", infos, {"equation": eq}, reads=reads)


# -- convolution ---------------------------------------------------------------------------
@_reg("aten::_convolution", "aten::convolution", "aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::_convolution_mode",
      "aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d")
def _conv(t: _Op) -> None:
    x, w = t.info(0), t.info(1)
    nsp = len(t.shape(0)) - 2
    k = t.kind
    if k in ("aten::_convolution", "aten::convolution"):
        stride, pad, dil, transposed, outpad, groups = (t.const(3), t.const(4), t.const(5), bool(t.const(6, False)),
                                                       t.const(7), int(t.const(8, 1)))
    elif "transpose" in k:
        stride, pad, outpad, groups, dil, transposed = (t.const(3), t.const(4), t.const(5), int(t.const(6, 1)),
                                                       t.const(7), True)
    else:
        stride, pad, dil, groups, transposed, outpad = t.const(3), t.const(4), t.const(5), int(t.const(6, 1)), False, None
    attrs: dict[str, Any] = {"strides": _ints(stride, nsp, 1), "dilations": _ints(dil, nsp, 1), "group": groups,
                             "kernel_shape": tuple(t.shape(1)[2:])}
    if isinstance(pad, str):
        attrs["auto_pad"] = "VALID" if pad == "valid" else "SAME_UPPER"
    else:
        p = _ints(pad, nsp, 0)
        attrs["pads"] = p + p
    bias = None if t.is_none(2) else t.info(2)
    if transposed:
        attrs["output_padding"] = _ints(outpad, nsp, 0)
        t.run("ConvTranspose", [x, w, bias], attrs)
    else:
        t.run("Conv", [x, w, bias], attrs)


# -- attention ----------------------------------------------------------------------------
@_reg("aten::scaled_dot_product_attention")
def _sdpa(t: _Op) -> None:
    """ONNX Attention (opset 23) on (batch, heads, seq, head_dim) views of q, k, v, with
    enable_gqa's grouped heads and an additive/boolean mask as the rule's mask input.
    Causal: see the module docstring (dense by default, as an opset-17 export)."""
    q, k, v = t.shape(0), t.shape(1), t.shape(2)

    def bnsd(s: tuple) -> tuple:
        if len(s) == 4:
            return s
        if len(s) == 3:
            return (s[0], 1, s[1], s[2])
        return (int(prod(s[:-2])), 1, s[-2], s[-1])

    qi = t.req(0)._replace(shape=bnsd(q))
    ki = t.req(1)._replace(shape=bnsd(k))
    vi = t.req(2)._replace(shape=bnsd(v))
    mask = None if t.is_none(3) else t.info(3)
    causal = bool(t.const(5, False))
    extra = ZERO
    attrs = {"is_causal": 0}
    if causal and t.w.causal == "skip":
        attrs["is_causal"] = 1
    elif causal:
        b, h, sq, skv = (*bnsd(q)[:3], bnsd(k)[2])
        extra = Cost(flops=norm(b * h * sq * skv))  # the additive causal mask of an export
    t.run("Attention", [qi, ki, vi, mask], attrs, n_out=1, extra=extra)


@_reg("aten::_native_multi_head_attention")
def _native_mha(t: _Op) -> None:
    """nn.MultiheadAttention's fused path: packed QKV projection, attention, output
    projection (three kernels)."""
    q, kk = t.shape(0), t.shape(1)
    heads = int(t.const(4))
    qkv_w, qkv_b, proj_w, proj_b = t.info(5), t.info(6), t.info(7), t.info(8)
    e = q[-1]
    d = e // heads
    b, sq, skv = q[0], q[1], kk[1]
    dt = t.info(0)
    w_e = [(t.w.get(t.ins[5]), qkv_w), (t.w.get(t.ins[6]), qkv_b)]
    y = dt._replace(shape=(b, sq, 3 * e))
    t.run("Linear", [dt, qkv_w, qkv_b], {"transB": 1}, domain="costmodel",
          reads=[(t.w.get(t.ins[0]), dt)] + w_e, writes=[y], suffix="/qkv")
    qi = dt._replace(shape=(b, heads, sq, d))
    ki = dt._replace(shape=(b, heads, skv, d))
    mask = None if t.is_none(9) else t.info(9)
    att = dt._replace(shape=(b, sq, e))
    t.run("Attention", [qi, ki, ki, mask], {"is_causal": 0}, reads=[("qkv", y)], writes=[att], suffix="/attention")
    t.run("Linear", [att, proj_w, proj_b], {"transB": 1}, domain="costmodel",
          reads=[("att", att), (t.w.get(t.ins[7]), proj_w), (t.w.get(t.ins[8]), proj_b)],
          writes=[t.out_info(0)], suffix="/out_proj")


# -- normalization ----------------------------------------------------------------------
@_reg("aten::layer_norm")
def _layer_norm(t: _Op) -> None:
    shape = t.shape(0)
    ns = t.const(1) or [shape[-1]]
    infos = [t.info(0), None if t.is_none(2) else t.info(2), None if t.is_none(3) else t.info(3)]
    if infos[1] is None and infos[2] is not None:
        infos[1] = infos[2]
    t.run("LayerNormalization", infos, {"axis": -len(ns)})


@_reg("aten::rms_norm")
def _rms_norm(t: _Op) -> None:
    ns = t.const(1) or [t.shape(0)[-1]]
    t.run("RMSNormalization", [t.info(0), None if t.is_none(2) else t.info(2)], {"axis": -len(ns)})


@_reg("aten::batch_norm", "aten::_native_batch_norm_legit_no_training", "aten::native_batch_norm")
def _batch_norm(t: _Op) -> None:
    x = t.info(0)
    c = t.shape(0)[1] if len(t.shape(0)) > 1 else 1
    ch = x._replace(shape=(c,), role=Role.CONSTANT)
    infos = [x] + [t.info(i) if not t.is_none(i) else ch for i in (1, 2, 3, 4)]
    training = bool(t.const(5, False)) if t.kind != "aten::_native_batch_norm_legit_no_training" else False
    t.run("BatchNormalization", infos, {"training_mode": int(training)}, n_out=1)


@_reg("aten::instance_norm")
def _instance_norm(t: _Op) -> None:
    t.run("InstanceNormalization", [t.info(0), None if t.is_none(1) else t.info(1), None if t.is_none(2) else t.info(2)])


@_reg("aten::group_norm")
def _group_norm(t: _Op) -> None:
    t.run("GroupNormalization", [t.info(0), None if t.is_none(2) else t.info(2), None if t.is_none(3) else t.info(3)],
          {"num_groups": int(t.const(1))})


@_reg("aten::softmax", "aten::_softmax", "aten::log_softmax", "aten::_log_softmax", "aten::special_softmax")
def _softmax(t: _Op) -> None:
    op = "LogSoftmax" if "log_softmax" in t.kind else "Softmax"
    t.run(op, [t.info(0)], {"axis": int(t.const(1, -1))})


@_reg("aten::local_response_norm")
def _lrn(t: _Op) -> None:
    t.run("LRN", [t.info(0)], {"size": int(t.const(1))})


# -- elementwise ------------------------------------------------------------------------
_UNARY = {
    "relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
    "abs": "Abs", "neg": "Neg", "negative": "Neg", "sin": "Sin", "cos": "Cos", "tan": "Tan", "asin": "Asin",
    "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "asinh": "Asinh", "acosh": "Acosh",
    "atanh": "Atanh", "erf": "Erf", "floor": "Floor", "ceil": "Ceil", "round": "Round", "sign": "Sign",
    "reciprocal": "Reciprocal", "hardsigmoid": "HardSigmoid", "hardswish": "HardSwish",
    "leaky_relu": "LeakyRelu", "elu": "Elu", "selu": "Selu", "celu": "Celu", "softplus": "Softplus",
    "mish": "Mish", "logical_not": "Not", "bitwise_not": "Not", "isnan": "IsNaN", "isinf": "IsInf",
    "softsign": "Softsign", "trunc": "Floor", "fix": "Floor", "square": None,
}
for _n, _o in _UNARY.items():
    if _o is None:
        continue

    def _make(op_type: str):
        def tr(t: _Op) -> None:
            t.run(op_type, [t.info(0)])
        return tr

    TABLE[f"aten::{_n}"] = TABLE[f"aten::{_n}_"] = _make(_o)


@_reg("aten::gelu", "aten::gelu_")
def _gelu(t: _Op) -> None:
    approx = t.const(1, "none") or "none"
    t.run("Gelu", [t.info(0)], {"approximate": approx})


@_reg("aten::silu", "aten::silu_")
def _silu(t: _Op) -> None:
    """x * sigmoid(x): Sigmoid and Mul, as an ONNX export writes it."""
    x = t.info(0)
    t.steps("Sigmoid", R.ELEMENTWISE, [("Sigmoid", [x], None), ("Mul", [x, ("out", 0)], None)])


@_reg("aten::log_sigmoid")
def _log_sigmoid(t: _Op) -> None:
    t.steps("Sigmoid", R.ELEMENTWISE, [("Sigmoid", [t.info(0)], None), ("Log", [("out", 0)], None)])


@_reg("aten::rsqrt", "aten::rsqrt_")
def _rsqrt(t: _Op) -> None:
    t.steps("Sqrt", R.ELEMENTWISE, [("Sqrt", [t.info(0)], None), ("Reciprocal", [("out", 0)], None)])


@_reg("aten::expm1", "aten::log1p", "aten::log2", "aten::log10", "aten::exp2", "aten::sigmoid_backward")
def _unary_plus(t: _Op) -> None:
    """exp/log and one scaling or offset op per element."""
    base = {"aten::expm1": "Exp", "aten::exp2": "Exp"}.get(t.kind, "Log")
    x = t.info(0)
    t.steps(base, R.ELEMENTWISE, [(base, [x], None), ("Add", [("out", 0), const_info(1.0)], None)])


@_reg("aten::square", "aten::square_")
def _square(t: _Op) -> None:
    t.run("Mul", [t.info(0), t.info(0)])


@_reg("aten::relu6", "aten::hardtanh", "aten::hardtanh_", "aten::clamp", "aten::clamp_", "aten::clip",
      "aten::clip_")
def _clip(t: _Op) -> None:
    x = t.info(0)
    if t.kind == "aten::relu6":
        lo: int | None = 0
        hi: int | None = 6
    else:
        lo, hi = (None if t.is_none(1) else 1), (None if t.is_none(2) else 2)
    if lo is not None and hi is not None:
        t.run("Clip", [x])
    else:
        t.run("Max" if lo is not None else "Min", [x, t.scalar_info(1 if lo is not None else 2, x)])


@_reg("aten::clamp_min", "aten::clamp_min_", "aten::clamp_max", "aten::clamp_max_")
def _clamp1(t: _Op) -> None:
    x = t.info(0)
    t.run("Max" if "min" in t.kind else "Min", [x, t.scalar_info(1, x)])


_BINARY = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "rsub": "Sub", "true_divide": "Div",
    "multiply": "Mul", "subtract": "Sub", "divide": "Div", "maximum": "Max", "minimum": "Min",
    "fmax": "Max", "fmin": "Min", "eq": "Equal", "lt": "Less", "gt": "Greater", "le": "LessOrEqual",
    "ge": "GreaterOrEqual", "less": "Less", "greater": "Greater", "logical_and": "And", "logical_or": "Or",
    "logical_xor": "Xor", "bitwise_and": "BitwiseAnd", "bitwise_or": "BitwiseOr", "bitwise_xor": "BitwiseXor",
    "__and__": "And", "__or__": "Or", "__xor__": "Xor", "remainder": "Mod", "fmod": "Mod", "pow": "Pow",
    "float_power": "Pow", "prelu": "PRelu", "_prelu_kernel": "PRelu",
}


def _binary(op_type: str):
    def tr(t: _Op) -> None:
        x = t.info(0) if t.tensor(0) else None
        a = x if x is not None else t.scalar_info(0, t.info(1))
        b = t.scalar_info(1, a)
        if t.kind in ("aten::rsub",):
            a, b = b, a
        steps: list[tuple] = [(op_type, [a, b], None)]
        alpha = t.const(2, 1) if t.kind.rstrip("_").split("::")[1] in ("add", "sub", "rsub") else 1
        if isinstance(alpha, (int, float)) and alpha != 1:
            steps = [("Mul", [b, const_info(alpha)], None), (op_type, [a, ("out", 0)], None)]
        if t.kind.startswith("aten::div") and isinstance(t.const(2), str):
            steps.append(("Floor", [("out", len(steps) - 1)], None))  # rounding_mode
        if len(steps) == 1:
            t.run(op_type, [a, b])
        else:
            t.steps(op_type, R.ELEMENTWISE, steps, hints_from=len(steps) - 1)
    return tr


for _n, _o in _BINARY.items():
    TABLE[f"aten::{_n}"] = TABLE[f"aten::{_n}_"] = _binary(_o)


@_reg("aten::ne", "aten::ne_", "aten::not_equal")
def _ne(t: _Op) -> None:
    a = t.info(0)
    t.steps("Equal", R.ELEMENTWISE, [("Equal", [a, t.scalar_info(1, a)], None), ("Not", [("out", 0)], None)])


@_reg("aten::floor_divide", "aten::floor_divide_")
def _floordiv(t: _Op) -> None:
    a = t.info(0)
    t.steps("Div", R.ELEMENTWISE, [("Div", [a, t.scalar_info(1, a)], None), ("Floor", [("out", 0)], None)])


@_reg("aten::where")
def _where(t: _Op) -> None:
    if len(t.ins) < 3:
        t.unsupported("where(condition) returns indices (data-dependent)")
        return
    x = t.info(1) if t.tensor(1) else t.info(2)
    t.run("Where", [t.info(0), t.scalar_info(1, x), t.scalar_info(2, x)])


@_reg("aten::masked_fill", "aten::masked_fill_")
def _masked_fill(t: _Op) -> None:
    x = t.info(0)
    t.run("Where", [t.info(1), t.scalar_info(2, x), x])


@_reg("aten::addcmul", "aten::addcmul_", "aten::addcdiv", "aten::addcdiv_")
def _addc(t: _Op) -> None:
    x = t.info(0)
    op = "Mul" if "addcmul" in t.kind else "Div"
    steps: list[tuple] = [(op, [t.info(1), t.info(2)], None)]
    value = t.const(3, 1)
    if value != 1:
        steps.append(("Mul", [("out", 0), const_info(value)], None))
    steps.append(("Add", [x, ("out", len(steps) - 1)], None))
    t.steps(op, R.ELEMENTWISE, steps)


@_reg("aten::lerp", "aten::lerp_")
def _lerp(t: _Op) -> None:
    """start + weight * (end - start): Sub, Mul, Add."""
    a = t.info(0)
    t.steps("Add", R.ELEMENTWISE, [("Sub", [t.info(1), a], None), ("Mul", [("out", 0), t.scalar_info(2, a)], None),
                                   ("Add", [a, ("out", 1)], None)])


@_reg("aten::glu")
def _glu(t: _Op) -> None:
    s = t.out_shape(0)
    half = t.req(0)._replace(shape=s)
    t.steps("Mul", R.ELEMENTWISE, [("Sigmoid", [half], None), ("Mul", [half, ("out", 0)], None)])


@_reg("aten::to", "aten::type_as", "aten::float", "aten::half", "aten::bfloat16", "aten::double", "aten::long",
      "aten::int", "aten::bool", "aten::_to_copy")
def _to(t: _Op) -> None:
    a, b = t.ins[0].type(), t.outs[0].type()
    if a.kind() == "TensorType" and a.scalarType() == b.scalarType():
        t.view("view: same dtype and device (no copy)")
    else:
        t.copy("Cast", R.ELEMENTWISE, reads=[(t.w.get(t.ins[0]), t.info(0))])


@_reg("aten::clone", "aten::copy_", "aten::fill_", "aten::zero_")
def _clone(t: _Op) -> None:
    if t.kind == "aten::copy_":
        t.copy("Identity", reads=[(t.w.get(t.ins[1]), t.info(1))] if t.tensor(1) else [])
        t.aliases[t.outs[0].unique()] = t.w.get(t.ins[0])
    elif t.kind in ("aten::fill_", "aten::zero_"):
        t.copy("ConstantOfShape", R.GENERATOR, reads=[])
        t.aliases[t.outs[0].unique()] = t.w.get(t.ins[0])
    else:
        t.copy("Identity")


# -- generators -------------------------------------------------------------------------
@_reg("aten::zeros", "aten::ones", "aten::full", "aten::zeros_like", "aten::ones_like", "aten::full_like",
      "aten::new_zeros", "aten::new_ones", "aten::new_full", "aten::arange", "aten::linspace", "aten::eye",
      "aten::rand", "aten::randn", "aten::rand_like", "aten::randn_like", "aten::randint", "aten::scalar_tensor",
      "aten::tensor", "aten::bernoulli", "aten::bernoulli_", "aten::normal_", "aten::uniform_")
def _gen(t: _Op) -> None:
    """0 FLOPs: writes the tensor it makes."""
    t.copy("ConstantOfShape", R.GENERATOR, reads=[])


@_reg("aten::empty", "aten::empty_like", "aten::new_empty", "aten::empty_strided", "aten::new_empty_strided")
def _empty(t: _Op) -> None:
    t.emit("ConstantOfShape", R.GENERATOR, ZERO, reads=[], writes=[], status="zero",
           reason="allocation: no data is written")


# -- movement ---------------------------------------------------------------------------
@_reg("aten::cat", "aten::concat", "aten::concatenate", "aten::stack", "aten::hstack", "aten::vstack")
def _cat(t: _Op) -> None:
    t.copy("Concat")


@_reg("aten::repeat", "aten::tile", "aten::repeat_interleave")
def _repeat(t: _Op) -> None:
    if not t.tensor(0):
        t.copy("Tile", reads=[])
        return
    t.copy("Tile", reads=[(t.w.get(t.ins[0]), t.info(0))])


@_reg("aten::flip", "aten::roll", "aten::fliplr", "aten::flipud", "aten::rot90", "aten::pixel_shuffle",
      "aten::pixel_unshuffle", "aten::channel_shuffle")
def _permute_copy(t: _Op) -> None:
    t.copy("DepthToSpace" if "pixel" in t.kind else "Transpose", reads=[(t.w.get(t.ins[0]), t.info(0))])


@_reg("aten::constant_pad_nd", "aten::pad", "aten::reflection_pad1d", "aten::reflection_pad2d",
      "aten::reflection_pad3d", "aten::replication_pad1d", "aten::replication_pad2d", "aten::replication_pad3d",
      "aten::zero_pad2d")
def _pad(t: _Op) -> None:
    t.copy("Pad", reads=[(t.w.get(t.ins[0]), t.info(0))])


@_reg("aten::tril", "aten::triu", "aten::tril_", "aten::triu_")
def _trilu(t: _Op) -> None:
    t.copy("Trilu", reads=[(t.w.get(t.ins[0]), t.info(0))])


def _gather_bytes(t: _Op, table: int, index: int | list) -> Cost:
    """A gather reads the selected elements (the output's size) and the indices."""
    src = t.info(table)
    out = t.out_info(0)
    b = out.dtype.nbytes(prod(out.shape)) if out.shape is not None and out.dtype is not None else 0
    idx: Any = 0
    for i in ([index] if isinstance(index, int) else index):
        inf = t.info(i)
        if inf is not None and inf.shape is not None and inf.dtype is not None:
            idx = idx + inf.dtype.nbytes(prod(inf.shape))
    if src is not None and src.role is Role.WEIGHT:
        return Cost(read_weights=norm(b), read_activations=norm(idx), write_activations=norm(b))
    return Cost(read_activations=norm(b + idx), write_activations=norm(b))


@_reg("aten::embedding")
def _embedding(t: _Op) -> None:
    """Gather of the rows the indices select (the table itself is not read)."""
    t.run("Gather", [t.info(0), t.info(1)], {"axis": 0}, use_rule_bytes=True)


@_reg("aten::index_select", "aten::gather", "aten::take_along_dim", "aten::take")
def _index_select(t: _Op) -> None:
    t.copy("Gather" if t.kind == "aten::index_select" else "GatherElements",
           byte_cost=_gather_bytes(t, 0, 2 if t.kind in ("aten::index_select", "aten::gather") else 1))


@_reg("aten::index")
def _index(t: _Op) -> None:
    idx = [x for x in t.list_values(1) if _is_tensor(x)]
    extra = [(t.w.get(x), t.w.get(x).info) for x in idx]
    src = t.w.get(t.ins[0])
    out = t.out_info(0)
    b = out.dtype.nbytes(prod(out.shape)) if out.shape is not None and out.dtype is not None else 0
    ib = sum((i.dtype.nbytes(prod(i.shape)) for _, i in extra if i.shape is not None and i.dtype is not None), 0)
    role_w = src.info.role is Role.WEIGHT
    bc = Cost(read_weights=norm(b) if role_w else 0, read_activations=norm(ib + (0 if role_w else b)),
              write_activations=norm(b))
    t.copy("GatherND", reads=[(src, src.info)] + extra, byte_cost=bc)


@_reg("aten::index_put_", "aten::index_put", "aten::scatter", "aten::scatter_", "aten::scatter_add",
      "aten::scatter_add_", "aten::index_add", "aten::index_add_", "aten::index_copy", "aten::index_copy_",
      "aten::masked_scatter", "aten::masked_scatter_", "aten::slice_scatter", "aten::select_scatter")
def _scatter(t: _Op) -> None:
    """Reads the updates and indices, writes the updated elements (in place)."""
    reads = []
    for i, v in enumerate(t.ins):
        if i > 0 and _is_tensor(v):
            reads.append((t.w.get(v), t.w.get(v).info))
    for v in t.ins:
        if v.type().kind() == "ListType" and v.node().kind() == "prim::ListConstruct":
            for x in v.node().inputs():
                if _is_tensor(x):
                    reads.append((t.w.get(x), t.w.get(x).info))
    upd = [i for _, i in reads if i is not None and i.dtype is not None and i.dtype.is_float]
    writes = upd[-1:] if upd else []
    t.copy("ScatterND", reads=reads, writes=writes)
    if t.kind.endswith("_"):
        t.aliases[t.outs[0].unique()] = t.w.get(t.ins[0])


@_reg("aten::one_hot")
def _one_hot(t: _Op) -> None:
    t.copy("OneHot", reads=[(t.w.get(t.ins[0]), t.info(0))])


# -- pooling and resampling ---------------------------------------------------------------
@_reg("aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d", "aten::max_pool1d_with_indices",
      "aten::max_pool2d_with_indices", "aten::max_pool3d_with_indices")
def _max_pool(t: _Op) -> None:
    nsp = len(t.shape(0)) - 2
    kernel = _ints(t.const(1), nsp, 1)
    stride = t.const(2)
    strides = kernel if not stride else _ints(stride, nsp, 1)
    p = _ints(t.const(3), nsp, 0)
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": p + p, "dilations": _ints(t.const(4), nsp, 1),
             "ceil_mode": int(bool(t.const(5, False)))}
    t.run("MaxPool", [t.info(0)], attrs)


@_reg("aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d")
def _avg_pool(t: _Op) -> None:
    nsp = len(t.shape(0)) - 2
    kernel = _ints(t.const(1), nsp, 1)
    stride = t.const(2)
    strides = kernel if not stride else _ints(stride, nsp, 1)
    p = _ints(t.const(3), nsp, 0)
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": p + p, "ceil_mode": int(bool(t.const(4, False)))}
    t.run("AveragePool", [t.info(0)], attrs)


@_reg("aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d",
      "aten::adaptive_max_pool1d", "aten::adaptive_max_pool2d", "aten::adaptive_max_pool3d")
def _adaptive_pool(t: _Op) -> None:
    """Global pooling when the output is 1x1; else the fixed window an export uses
    (stride in // out, kernel in - (out - 1) * stride)."""
    x = t.shape(0)
    out = t.out_shape(0)
    avg = "avg" in t.kind
    if all(o == 1 for o in out[2:]):
        t.run("GlobalAveragePool" if avg else "GlobalMaxPool", [t.info(0)], writes=[t.out_info(0)])
        return
    strides = tuple(max(i // o, 1) for i, o in zip(x[2:], out[2:]))
    kernel = tuple(i - (o - 1) * s for i, o, s in zip(x[2:], out[2:], strides))
    t.run("AveragePool" if avg else "MaxPool", [t.info(0)], {"kernel_shape": kernel, "strides": strides},
          writes=[t.out_info(0)])


@_reg("aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d",
      "aten::_upsample_nearest_exact1d", "aten::_upsample_nearest_exact2d", "aten::_upsample_nearest_exact3d",
      "aten::upsample_linear1d", "aten::upsample_bilinear2d", "aten::upsample_trilinear3d",
      "aten::upsample_bicubic2d", "aten::_upsample_bilinear2d_aa", "aten::_upsample_bicubic2d_aa")
def _upsample(t: _Op) -> None:
    mode = "cubic" if "bicubic" in t.kind else ("linear" if "linear" in t.kind else "nearest")
    sizes = const_info(list(t.out_shape(0)))
    t.run("Resize", [t.info(0), None, None, sizes], {"mode": mode}, writes=[t.out_info(0)],
          reads=[(t.w.get(t.ins[0]), t.info(0))])


@_reg("aten::grid_sampler", "aten::grid_sampler_2d")
def _grid_sample(t: _Op) -> None:
    t.run("GridSample", [t.info(0), t.info(1)], {"mode": "linear"})


# -- reductions -------------------------------------------------------------------------
_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "amax": "ReduceMax", "amin": "ReduceMin", "prod": "ReduceProd",
           "logsumexp": "ReduceLogSumExp", "all": "ReduceMin", "any": "ReduceMax", "nansum": "ReduceSum",
           "nanmean": "ReduceMean"}


def _axes(t: _Op, i: int) -> list | None:
    d = t.const(i) if not t.tensor(i) else None
    if d is None or isinstance(d, bool):
        return None
    return [d] if isinstance(d, int) else list(d)


def _reduce(op_type: str):
    def tr(t: _Op) -> None:
        # sum(x, dtype) / all(x) reduce everything; sum(x, dim, keepdim, dtype) the given dims
        axes = _axes(t, 1) if len(t.ins) >= 3 else None
        keep = bool(t.const(2, False)) if axes else False
        infos = [t.info(0), const_info(axes) if axes else None]
        t.run(op_type, infos, {"keepdims": int(keep)})
    return tr


for _n, _o in _REDUCE.items():
    TABLE[f"aten::{_n}"] = _reduce(_o)


@_reg("aten::max", "aten::min")
def _max(t: _Op) -> None:
    """max(x): ReduceMax; max(x, dim): ReduceMax and ArgMax (values and indices);
    max(x, y): elementwise Max."""
    red, arg, ew = ("ReduceMax", "ArgMax", "Max") if t.kind == "aten::max" else ("ReduceMin", "ArgMin", "Min")
    if len(t.ins) == 1:
        t.run(red, [t.info(0)], {"keepdims": 0})
    elif t.tensor(1):
        t.run(ew, [t.info(0), t.info(1)])
    else:
        dim, keep = int(t.const(1)), int(bool(t.const(2, False)))
        x = t.info(0)
        t.steps(red, R.REDUCTION, [(red, [x, const_info([dim])], {"keepdims": keep}),
                                   (arg, [x], {"axis": dim, "keepdims": keep})])


@_reg("aten::argmax", "aten::argmin")
def _argmax(t: _Op) -> None:
    dim = t.const(1)
    x = t.info(0)
    if dim is None:
        x = x._replace(shape=(int(prod(x.shape)),)) if x.shape is not None else x
        dim = 0
    t.run("ArgMax", [x], {"axis": int(dim), "keepdims": int(bool(t.const(2, False)))})


@_reg("aten::cumsum", "aten::cumsum_", "aten::cumprod")
def _cumsum(t: _Op) -> None:
    t.run("CumSum", [t.info(0)])


@_reg("aten::var", "aten::std", "aten::var_mean", "aten::std_mean")
def _var(t: _Op) -> None:
    """mean, subtract, square, sum, divide (+ sqrt for std), as an export writes it."""
    x = t.info(0)
    axes = _axes(t, 1)
    keep = bool(t.const(3, False)) if len(t.ins) > 3 else False
    a = const_info(axes) if axes else None
    steps = [("ReduceMean", [x, a], {"keepdims": 1}), ("Sub", [x, ("out", 0)], None),
             ("Mul", [("out", 1), ("out", 1)], None), ("ReduceSum", [("out", 2), a], {"keepdims": int(keep)}),
             ("Div", [("out", 3), const_info(1.0)], None)]
    if "std" in t.kind:
        steps.append(("Sqrt", [("out", 4)], None))
    t.steps("ReduceMean", R.REDUCTION, steps)


@_reg("aten::norm", "aten::linalg_vector_norm", "aten::frobenius_norm")
def _norm(t: _Op) -> None:
    p = t.const(1, 2)
    axes = _axes(t, 2)
    keep = bool(t.const(3, False))
    op = "ReduceL1" if p == 1 else "ReduceL2"
    t.run(op, [t.info(0), const_info(axes) if axes else None], {"keepdims": int(keep)})


@_reg("aten::topk")
def _topk(t: _Op) -> None:
    k = int(t.const(1))
    t.run("TopK", [t.info(0), const_info([k])], {"axis": int(t.const(2, -1))}, n_out=2)


# -- recurrent --------------------------------------------------------------------------
@_reg("aten::lstm", "aten::gru", "aten::rnn_tanh", "aten::rnn_relu")
def _rnn(t: _Op) -> None:
    """One ONNX LSTM/GRU/RNN per layer (both directions in one), PyTorch gate layouts:
    GRU with linear_before_reset=1; biases b_ih and b_hh are the rule's Wb and Rb."""
    if not t.tensor(0) or t.v(2).type().kind() != "ListType":
        t.unsupported("packed sequences are not supported")
        return
    op = {"aten::lstm": "LSTM", "aten::gru": "GRU"}.get(t.kind, "RNN")
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    params = t.list_values(2)
    has_bias, layers = bool(t.const(3)), int(t.const(4))
    bidir, batch_first = bool(t.const(7)), bool(t.const(8))
    dirs = 2 if bidir else 1
    per = len(params) // (layers * dirs)
    if per not in (2, 4):
        t.unsupported(f"{t.kind} with {per} weights per layer (proj_size) is not supported")
        return
    x_info = t.info(0)
    x_key: Any = t.w.get(t.ins[0])
    hidden = t.shape_of(params[1])[1]
    attrs: dict[str, Any] = {"hidden_size": hidden, "direction": "bidirectional" if bidir else "forward",
                             "layout": int(batch_first)}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    if op == "RNN":
        attrs["activations"] = ["Relu"] * dirs if t.kind == "aten::rnn_relu" else ["Tanh"] * dirs
    for layer in range(layers):
        lp = params[layer * dirs * per:(layer + 1) * dirs * per]
        w_e = [t.w.get(v) for v in lp]
        s = x_info.shape or ()
        inp = s[-1]
        wdt = w_e[0].info
        W = wdt._replace(shape=(dirs, gates * hidden, inp))
        Rr = wdt._replace(shape=(dirs, gates * hidden, hidden))
        B = wdt._replace(shape=(dirs, 2 * gates * hidden)) if has_bias else None
        reads = [(x_key, x_info)] + [(e, e.info) for e in w_e]
        cost, ctx, _ = t.rule(op, [x_info, W, Rr, B], attrs, n_out=3 if op == "LSTM" else 2)
        # Y as PyTorch lays it out: (seq, batch, dirs*hidden) or batch-first
        y_info = x_info._replace(shape=(s[0], s[1], dirs * hidden), role=Role.ACTIVATION)
        writes = [y_info] + [o for o in ctx.outputs[1:] if o is not None]
        suffix = f"/layer{layer}" if layers > 1 else ""
        t.emit(op, R.RECURRENT, cost, hints=ctx.hints, reads=reads, writes=writes, suffix=suffix,
               out_shapes=tuple(o.shape for o in writes))
        if layers > 1 and layer < layers - 1:
            x_info, x_key = y_info, f"{t.base}{suffix}"


# ---------------------------------------------------------------------------------------
# Rollups
# ---------------------------------------------------------------------------------------
def _finish(res: _Result, traced_on: str, notes: list[str], original: Any) -> TorchGraphCost:
    w = res.walker
    fca = res.fca
    rows = list(w.rows)
    scopes = list(w.row_module)
    total_params = sum(int(p.numel()) for p in res.module.parameters())
    counted = sum(int(r.cost.params) for r in rows)
    if counted < total_params:
        rows.append(NodeCost("(parameters not read by the traced forward)", "Parameters", "", R.VIEW, "zero",
                             Cost(params=total_params - counted), "parameters the traced forward never reads"))
        scopes.append("")
    total = _sum(r.cost for r in rows)
    peak = _peak(rows, w)
    weight_bytes = norm(sum(w.weight_bytes.values()))
    # module tree
    aliases: dict[int, str] = {}
    for name, mod in res.module.named_modules(remove_duplicate=False):
        aliases.setdefault(id(mod), name)
    names = list(dict.fromkeys(aliases[id(m)] for _, m in res.module.named_modules(remove_duplicate=False)))
    types = {n: type(res.module.get_submodule(n)).__name__ if n else type(res.module).__name__ for n in names}
    groups: dict[str, list[Cost]] = {n: [] for n in names}
    uns: dict[str, Counter] = {n: Counter() for n in names}
    for r, scope in zip(rows, scopes):
        for anc in _ancestors(scope):
            if anc in groups:
                groups[anc].append(r.cost)
                if r.status == "unsupported":
                    uns[anc][r.op_type] += 1
    pc = res.fvcore_nn.parameter_count(res.module)
    modules = {n: _sum(groups[n]).replace(params=int(pc.get(n, 0))) for n in names}
    fv = {k: int(v) for k, v in fca.by_module().items()}
    for n in names:
        try:
            fv_uns = fca.unsupported_ops(n)
        except KeyError:
            continue
        for op, c in fv_uns.items():
            if op not in uns[n]:
                uns[n][op] += c
    return TorchGraphCost(
        nodes=tuple(rows), total=total, params=total_params, unsupported=tuple(w.unsupported), symbols=(),
        peak_activation_bytes=peak, weight_bytes=weight_bytes, outputs={}, modules=modules, module_types=types,
        module_unsupported={n: dict(c) for n, c in uns.items() if c}, fvcore_macs=fv, traced_on=traced_on,
        notes=tuple(notes))


def _sum(costs) -> Cost:
    total = ZERO
    for c in costs:
        total = total + c
    return total


def _ancestors(scope: str) -> list[str]:
    if not scope:
        return [""]
    parts = scope.split(".")
    return [""] + [".".join(parts[:k]) for k in range(1, len(parts) + 1)]


def _peak(rows: list[NodeCost], w: _Walker) -> Any:
    """Peak bytes of live activations (inputs and op outputs, never weights) in row order."""
    size: dict[str, Any] = {}
    for v in w.env.values():
        if v.info.role is not Role.WEIGHT and v.info.shape is not None and v.info.dtype is not None and not v.view:
            size.setdefault(v.name, v.info.dtype.nbytes(prod(v.info.shape)))
    last: dict[str, int] = {}
    for i, r in enumerate(rows):
        for x in r.input_names:
            last[x] = i
    for o in w.output_names:
        last[o] = len(rows)
    live: dict[str, Any] = {}
    cur = peak = 0
    for nm in w.input_names:
        if nm in size and nm not in live:
            live[nm] = size[nm]
            cur += size[nm]
    peak = cur
    for i, r in enumerate(rows):
        for o in r.output_names:
            if o in size and o not in live:
                live[o] = size[o]
                cur += size[o]
        peak = max(peak, cur)
        for x in set(r.input_names) | set(r.output_names):
            if x in live and last.get(x, -1) <= i:
                cur -= live.pop(x)
    return peak


def render_modules(gc: TorchGraphCost, depth: int | None = None) -> str:
    """The module tree as text: name, type, FLOPs, MACs, params, bytes."""
    def si(x: Any) -> str:
        v = float(x)
        for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if abs(v) >= scale:
                return f"{v / scale:.3g} {unit}"
        return f"{v:.3g}"

    lines = [f"{'module':<40} {'type':<20} {'FLOPs':>10} {'MACs':>10} {'params':>10} {'bytes':>10}"]
    for name, c in gc.by_module(depth).items():
        indent = "  " * (name.count(".") + 1 if name else 0)
        label = (indent + (name.rsplit(".", 1)[-1] if name else "(model)"))[:40]
        lines.append(f"{label:<40} {gc.module_types.get(name, ''):<20.20} {si(c.flops):>10} {si(c.macs):>10} "
                     f"{si(c.params):>10} {si(c.bytes):>10}")
        for op, k in sorted((gc.module_unsupported.get(name) or {}).items()):
            lines.append(f"{'':<40} unsupported: {op} x{k}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# CLI helpers
# ---------------------------------------------------------------------------------------
_TORCH_DTYPES = {"float32": "float32", "fp32": "float32", "float": "float32", "float16": "float16",
                 "fp16": "float16", "half": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16",
                 "float64": "float64", "fp64": "float64", "double": "float64", "int64": "int64", "long": "int64",
                 "int32": "int32", "int": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8",
                 "bool": "bool"}


def load_factory(spec: str) -> Any:
    """'package.module:factory' → a module. The factory (a function, an nn.Module class or
    an nn.Module instance) is called with no arguments, on the meta device when it can be
    (no weight memory), else normally. The working directory is importable."""
    import importlib
    import os
    import sys

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


def make_inputs(shapes: list[str], dtypes: list[str] | None = None) -> tuple:
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


__all__ = ["CAUSAL_MODES", "TABLE", "TorchGraphCost", "analyze_module", "is_torch_module", "load_factory",
           "make_inputs", "render_modules"]
