"""The graph walk: every node of the traced graph, in order, dispatched to its handler
in TABLE (views, reshapes, list unpacking and scalar bookkeeping handled here), building
one IR graph: the example inputs as graph inputs, parameters and buffers as
initializers, each traced op as the nodes an export would hold for it."""

from __future__ import annotations

from ...symbolic import Shape

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ...errors import CostModelError, UnsupportedOpError
from ...ir.dtypes import DType
from ...ir.graph import Graph, Initializer, Node, Role, TensorInfo
from ...limits import Limits
from .base import _RESHAPES, _SCALAR_OPS, _VIEWS, OPSET, UntranslatableOp, _one_line
from .op import _Op
from .table import TABLE
from .values import JitNode, JitValue, _const, _is_tensor, _node_key, _tensor_info, _V, _vname

# What the caller does with the finished graph: analyse it and hand back the MACs of each
# node (by name), which answer fvcore's handle calls (`FlopCountAnalysis.by_module()`).
GraphCallback = Callable[[Graph], Mapping[str, int]]

UNREAD = "(parameters not read by the traced forward)"


class _Walker:
    """Translates the whole traced graph on the first handle call (while fvcore holds the
    graph) and then answers each handle call with that node's MACs."""

    def __init__(
        self, torch: Any, module: Any, n_inputs: int, lim: Limits, causal: str, on_graph: GraphCallback | None
    ) -> None:
        self.torch = torch
        self.module = module
        self.n_inputs = n_inputs
        self.lim = lim
        self.causal = causal
        self.on_graph = on_graph
        self.done = False
        self.graph: Graph | None = None
        self.env: dict[int, _V] = {}
        self.names: Counter[str] = Counter()
        self.nodes: list[Node] = []
        self.produced: set[str] = set()
        self.inits: dict[str, Initializer] = {}
        self.declared: dict[str, tuple[DType | None, Shape | None]] = {}
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.node_module: dict[str, str] = {}  # IR node name -> module scope ('' is the model)
        self.list_base: dict[int, str] = {}  # a list of views (unbind, chunk) -> their base's IR name
        self.ir_of: dict[tuple[Any, ...], list[str]] = {}  # traced node key -> the IR nodes standing for it
        self.macs_by_node: dict[tuple[Any, ...], int] = {}
        self._scope = ""
        self._consts = 0

    # -- fvcore handle ------------------------------------------------------------------
    def handle(self, inputs: list[JitValue], outputs: list[JitValue]) -> int:
        vals = outputs or inputs
        if not vals:
            return 0
        node = vals[0].node()
        if not self.done:
            self.done = True
            self.walk(node.owningBlock())
        return int(self.macs_by_node.get(_node_key(node), 0))

    # -- graph walk ---------------------------------------------------------------------
    def walk(self, block: Any) -> None:
        torch = self.torch
        ginputs = list(block.inputs())
        state = list(torch.jit._unique_state_dict(self.module, keep_vars=True).items())
        n_state = len(ginputs) - self.n_inputs
        params = {id(p) for p in self.module.parameters()}
        for i, v in enumerate(ginputs):
            info = _tensor_info(v)
            if i < self.n_inputs:
                name = _vname(v)
                self.inputs.append(name)
                self.declared[name] = (info.dtype, info.shape)
                self.env[v.unique()] = _V(name, info)
                continue
            if n_state == len(state):
                name, t = state[i - self.n_inputs]
                role = Role.WEIGHT if id(t) in params else Role.BUFFER
            else:  # the tracer's inputs do not line up with the state dict: all weights
                name, role = f"state{i}", Role.WEIGHT
            if info.dtype is not None and info.shape is not None:
                self.inits[name] = Initializer(name, info.dtype, info.shape, None, role)
            self.env[v.unique()] = _V(name, info._replace(role=role, const=True))
        nodes = list(block.nodes())
        self.lim.check_nodes(len(nodes))
        for node in nodes:
            self.lim.tick()
            self.node(node)
        for v in block.outputs():
            for t in self._tensors_of(v):
                self.outputs.append(self.get(t).name)
        self._unread_parameters()
        self.graph = Graph(
            "torch", self.nodes, self.inputs, self.outputs, self.inits, self.declared, {"": OPSET, "costmodel": 1}
        )
        if self.on_graph is not None:
            macs = self.on_graph(self.graph)
            for key, names in self.ir_of.items():
                self.macs_by_node[key] = sum(int(macs.get(n, 0)) for n in names)

    def node(self, node: JitNode) -> None:
        kind = node.kind()
        if kind == "prim::PythonOp":
            kind = f"{kind}.{node.pyname()}"
        if kind in ("prim::ListUnpack", "prim::TupleUnpack"):
            self.unpack(node)
            return
        if (
            kind.startswith("prim::") and not kind.startswith(("prim::PythonOp", "prim::CallFunction"))
        ) or kind in _SCALAR_OPS:
            # sizes wrapped as tensors and traced tensor constants: constants of the graph
            if kind in ("prim::NumToTensor", "prim::Constant"):
                for o in node.outputs():
                    if _is_tensor(o):
                        self.env[o.unique()] = self._traced_constant(o)
            return
        self._scope = node.scopeName().split("/")[-1] if node.scopeName() else ""
        t = _Op(self, node, kind, self._scope)
        mark = len(self.nodes)
        try:
            if kind in _VIEWS:
                t.view()
            elif kind in _RESHAPES:
                t.reshape()
            elif kind in TABLE:
                TABLE[kind](t)
            else:
                raise UntranslatableOp(f"no cost rule for {kind}")
        except UnsupportedOpError:
            raise
        except (
            UntranslatableOp,
            CostModelError,
            ValueError,
            TypeError,
            IndexError,
            KeyError,
            ZeroDivisionError,
            AttributeError,
        ) as e:
            for n in self.nodes[mark:]:
                self.produced.difference_update(n.outputs)
            del self.nodes[mark:]
            t.emitted.clear()
            reason = str(e) if isinstance(e, UntranslatableOp) else f"cannot translate {kind}: {_one_line(e)}"
            self._untranslated(t, reason)
        self.commit(t)

    def _untranslated(self, t: _Op, reason: str, outputs: list[str] | None = None) -> None:
        """A node the analysis lists as unsupported, its outputs typed as traced."""
        domain, _, op_type = t.kind.partition("::")
        t.emit(
            op_type,
            t.all_tensor_inputs(),
            domain=domain,
            outputs=[_vname(o) for o in t.outs] if outputs is None else outputs,
            untranslated=reason,
        )

    def commit(self, t: _Op) -> None:
        missing = []
        for o in t.outs:
            if _is_tensor(o):
                info = _tensor_info(o)
                name = _vname(o)
                self.declared[name] = (info.dtype, info.shape)
                self.env[o.unique()] = _V(name, info)
                if name not in self.produced:
                    missing.append(name)
        if missing:
            self._untranslated(t, f"{t.kind}: no translation for output(s) {', '.join(missing)}", missing)
        for name in t.emitted:
            self.node_module[name] = t.scope
        self.ir_of[_node_key(t.node)] = list(t.emitted)

    def unpack(self, node: JitNode) -> None:
        src = node.input()
        made = src.node()
        outs = list(node.outputs())
        if made.kind() in ("prim::ListConstruct", "prim::TupleConstruct"):
            for o, x in zip(outs, made.inputs()):  # unpacking what was just packed
                if _is_tensor(o) and _is_tensor(x):
                    self.env[o.unique()] = self.get(x)
            return
        base = self.list_base.get(src.unique())
        if base is None:
            known = self.env.get(src.unique())
            base = known.name if known is not None else _vname(src)
            if base not in self.produced:
                return
        tensors = [o for o in outs if _is_tensor(o)]
        t = _Op(self, node, "costmodel::unpack", self._scope)
        t.alias(base, [_vname(o) for o in tensors], [_tensor_info(o) for o in tensors])
        self.commit(t)

    # -- values -------------------------------------------------------------------------
    def add(self, node: Node) -> None:
        self.nodes.append(node)
        self.produced.update(o for o in node.outputs if o)

    def get(self, v: JitValue) -> _V:
        e = self.env.get(v.unique())
        if e is None:
            # a value no translated node made (the output of bookkeeping the walk skips):
            # a constant when the tracer knows it as one, else an op listed as unsupported
            if v.node().kind() in ("prim::Constant", "prim::NumToTensor"):
                e = self._traced_constant(v)
            else:
                e = self._opaque(v)
            self.env[v.unique()] = e
        return e

    def traced(self, v: JitValue) -> TensorInfo:
        return _tensor_info(v)

    def constant(self, data: np.ndarray, dt: DType) -> str:
        """A constant initializer (a scalar argument, axes, a traced constant tensor)."""
        self._consts += 1
        name = f"const/{self._consts}"
        self.inits[name] = Initializer(name, dt, tuple(int(d) for d in data.shape), data, Role.CONSTANT)
        return name

    def stored(self, shape: tuple[int, ...], dt: DType) -> str:
        """A constant tensor whose contents do not matter (a causal mask an export stores)."""
        self._consts += 1
        name = f"const/{self._consts}"
        self.inits[name] = Initializer(name, dt, tuple(shape), None, Role.CONSTANT)
        return name

    def _traced_constant(self, v: JitValue) -> _V:
        info = _tensor_info(v, Role.CONSTANT)
        value = _const(v)
        data = None
        if isinstance(value, (int, float, bool)) and info.shape in ((), None):
            data = np.asarray(value)
        dt = info.dtype
        shape = info.shape if info.shape is not None else (() if data is not None else None)
        if dt is None or shape is None:
            return _V(self._opaque(v).name, info)
        self._consts += 1
        name = f"const/{self._consts}"
        self.inits[name] = Initializer(name, dt, shape, data, Role.CONSTANT)
        return _V(name, TensorInfo(dt, shape, Role.CONSTANT, data, True))

    def _opaque(self, v: JitValue) -> _V:
        """The value's producer as a node listed as unsupported (never a silent 0)."""
        made = v.node()
        kind = made.kind()
        domain, _, op_type = kind.partition("::")
        name = f"{self._scope.replace('.', '/')}/{op_type}" if self._scope else op_type
        k = self.names[name]
        self.names[name] += 1
        name = name if k == 0 else f"{name}_{k}"
        out = _vname(v)
        info = _tensor_info(v)
        self.declared[out] = (info.dtype, info.shape)
        self.add(Node(name, op_type, domain, (), (out,), {}, {}, f"no translation for {kind}"))
        self.node_module[name] = self._scope
        return _V(out, info)

    def _tensors_of(self, v: JitValue) -> list[JitValue]:
        if _is_tensor(v):
            return [v]
        made = v.node()
        if made.kind() in ("prim::TupleConstruct", "prim::ListConstruct"):
            out: list[JitValue] = []
            for x in made.inputs():
                out += self._tensors_of(x)
            return out
        return []

    def _unread_parameters(self) -> None:
        """Parameters no node reads are still the model's: one zero-cost node counts them."""
        read: set[str] = set()
        for n in self.nodes:
            read.update(n.inputs)
        unread = [k for k, i in self.inits.items() if i.role is Role.WEIGHT and k not in read]
        if unread:
            self.add(Node(UNREAD, "Parameters", "costmodel", tuple(unread), (), {}, {}))
            self.node_module[UNREAD] = ""
