"""The graph walk: every node of the traced graph, in order, dispatched to its handler
in TABLE (views, reshapes and scalar bookkeeping handled here), with the value
environment the handlers read and write."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ...analysis import NodeCost, Unsupported
from ...errors import CostModelError, UnsupportedOpError
from ...ir.graph import Role
from ...ops.context import UnknownShape
from .base import _RESHAPES, _SCALAR_OPS, _VIEWS, _one_line
from .op import _Op
from .table import TABLE
from .values import _V, _is_tensor, _node_key, _numel, _tensor_info, _vname


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
        if (
            kind.startswith("prim::") and not kind.startswith(("prim::PythonOp", "prim::CallFunction"))
        ) or kind in _SCALAR_OPS:
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
    def set(
        self,
        v,
        role: Role = Role.ACTIVATION,
        root: str | None = None,
        name: str | None = None,
        view: bool = False,
        const: bool = False,
    ) -> _V:
        info = _tensor_info(v, self.dtype, role)
        e = _V(info, root, name or _vname(v), view, const)
        self.env[v.unique()] = e
        return e

    def get(self, v) -> _V:
        e = self.env.get(v.unique())
        if e is None:
            e = self.set(v)
        return e
