"""GraphCost: one pass in topological order that infers types, folds constants and costs
every node; rollups by op type and scope; the unsupported list; peak live activations.

Unknown is never zero: a node without a rule, or whose rule cannot resolve its shapes,
is listed in `unsupported` (and raises under strict=True); it is never silently costed 0.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

import numpy as np

from .errors import BindingError, CostModelError, UnsupportedOpError, did_you_mean, name_list
from .ir.dtypes import DType
from .ir.graph import Graph, Node, Role, TensorInfo
from .limits import Limits, gc_paused
from .ops import registry as _registry
from .ops.context import NodeContext, UnknownShape
from .ops.cost import COST_FIELDS, ZERO, Cost
from .passes.bind import bind_shape, retype
from .symbolic import add_all, norm, prod, to_json_number

# Kinds whose nodes fold away when every input is a constant (load-time transforms every
# runtime performs); heavier kinds fold only on small inputs.
_CHEAP = {
    _registry.VIEW,
    _registry.SHAPE,
    _registry.MOVEMENT,
    _registry.ELEMENTWISE,
    _registry.GENERATOR,
    _registry.QUANTIZE,
}
_SMALL = 4096
_FLOAT_KINDS = ("float", "complex")  # DType.is_float, without a property call per tensor
_FIELD_GETTERS = tuple(attrgetter(f) for f in COST_FIELDS)


@dataclass(frozen=True, slots=True)
class NodeCost:
    name: str
    op_type: str
    domain: str
    kind: str
    status: str  # "costed" | "zero" | "folded" | "unsupported"
    cost: Cost
    reason: str = ""
    input_shapes: tuple = ()
    output_shapes: tuple = ()
    dtype: str | None = None
    hints: Mapping[str, Any] = field(default_factory=dict)
    input_names: tuple = ()
    output_names: tuple = ()

    @property
    def scope(self) -> str:
        n = self.name
        return n.rsplit("/", 1)[0] if "/" in n else ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "op_type": self.op_type,
            "domain": self.domain,
            "kind": self.kind,
            "status": self.status,
        }
        if self.reason:
            d["reason"] = self.reason
        d.update(self.cost.to_dict())
        d["input_shapes"] = [_shape_json(s) for s in self.input_shapes]
        d["output_shapes"] = [_shape_json(s) for s in self.output_shapes]
        d["dtype"] = self.dtype
        return d


@dataclass(frozen=True, slots=True)
class Unsupported:
    name: str
    op_type: str
    domain: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op_type": self.op_type, "domain": self.domain or "ai.onnx", "reason": self.reason}


@dataclass(frozen=True)
class GraphCost:
    nodes: tuple[NodeCost, ...]
    total: Cost
    params: Any
    unsupported: tuple[Unsupported, ...]
    symbols: tuple[str, ...]
    peak_activation_bytes: Any
    weight_bytes: Any
    outputs: Mapping[str, TensorInfo] = field(default_factory=dict)

    def by_type(self) -> dict[str, Cost]:
        groups: dict[str, list[Cost]] = {}
        for n in self.nodes:
            k = n.op_type if not n.domain else f"{n.domain}::{n.op_type}"
            groups.setdefault(k, []).append(n.cost)
        return {k: sum_costs(v) for k, v in groups.items()}

    def by_scope(self, depth: int = 1) -> dict[str, Cost]:
        groups: dict[str, list[Cost]] = {}
        for n in self.nodes:
            parts = [p for p in n.scope.split("/") if p][:depth]
            k = "/".join(parts) or "(root)"
            groups.setdefault(k, []).append(n.cost)
        return {k: sum_costs(v) for k, v in groups.items()}

    @property
    def coverage(self) -> float:
        real = [n for n in self.nodes if n.status != "folded"]
        if not real:
            return 1.0
        return 1.0 - sum(1 for n in real if n.status == "unsupported") / len(real)


def sum_costs(costs: Iterable[Cost]) -> Cost:
    """Field-wise exact sum, equal to adding the costs one by one but linear in their
    number: ints add as ints and each field's symbolic terms are combined by one Add."""
    costs = [c for c in costs if c is not ZERO]
    if not costs:
        return ZERO
    if len(costs) == 1:
        return costs[0] + ZERO  # normalises fields exactly as `+` does
    return Cost(*(add_all(list(map(get, costs))) for get in _FIELD_GETTERS))


def _no_subgraphs(g: Graph, inputs: list) -> Any:
    """The subgraph runner of a node without subgraphs (rules look a subgraph up first)."""
    raise UnknownShape("the node has no subgraphs")


def _fast_constructor(cls: type) -> Any:
    """A constructor for a frozen slots dataclass taking every field positionally, which
    sets the fields from C (map over object.__setattr__, as the generated __init__ does
    one Python call per field); the analysis makes a NodeCost and a Cost for every node."""
    names = tuple(f.name for f in dataclass_fields(cls))
    new, set_, n = object.__new__, object.__setattr__, len(names)

    def make(*values: Any) -> Any:
        obj = new(cls)
        deque(map(set_, repeat(obj, n), names, values), 0)
        return obj

    return make


_node_cost = _fast_constructor(NodeCost)
_new_cost = _fast_constructor(Cost)


def _params_cost(params: Any) -> Cost:
    return _new_cost(0, 0, 0, 0, 0, 0, 0, 0, params)


def _shape_json(s: tuple | None) -> Any:
    if s is None:
        return None
    return [to_json_number(d) for d in s]


class _Analyzer:
    def __init__(
        self,
        registry: _registry.Registry,
        dtype: DType | None,
        strict: bool,
        limits: Limits,
        bindings: Mapping[str, int],
    ) -> None:
        self.registry = registry
        self.dtype = dtype
        self.strict = strict
        self.limits = limits
        self.bindings = dict(bindings)
        self.params_seen: set[int] = set()
        self.runtime_weights: dict[int, Any] = {}
        self.depth = 0
        # (opset, rule) per (opsets of the graph, domain, op type): registry look-ups, per analysis
        self._opdefs: dict[tuple[int, str, str], tuple[int, Any]] = {}

    # -- environment ------------------------------------------------------------------
    def initial_env(self, g: Graph, outer: Mapping[str, TensorInfo] | None) -> dict[str, TensorInfo]:
        env: dict[str, TensorInfo] = dict(outer) if outer else {}
        for name, init in g.initializers.items():
            dt = retype(init.dtype, self.dtype)
            role = Role.WEIGHT if (init.dtype.is_float or prod(init.shape) > 64) else Role.CONSTANT
            data = init.data
            env[name] = TensorInfo(dt, init.shape, role, data, True)
        for name in g.inputs:
            dt, shape = g.declared.get(name, (None, None))
            if shape is not None:
                shape = bind_shape(shape, self.bindings)
            env[name] = TensorInfo(retype(dt, self.dtype) if dt else dt, shape, Role.INPUT, None, False)
        return env

    # -- main loop --------------------------------------------------------------------
    def run(
        self, g: Graph, outer: Mapping[str, TensorInfo] | None = None, prefix: str = ""
    ) -> tuple[list[NodeCost], list[Unsupported], dict[str, TensorInfo], Any]:
        self.depth += 1
        if self.depth > self.limits.max_subgraph_depth:
            raise CostModelError(f"subgraphs nested deeper than {self.limits.max_subgraph_depth}")
        env = self.initial_env(g, outer)
        order = g.topological(frozenset(env))
        self.limits.check_nodes(len(order))
        results: list[NodeCost] = []
        unsupported: list[Unsupported] = []
        opsets = g.opsets
        for node in order:
            self.limits.tick()
            nc = self.node(node, env, opsets, unsupported, prefix)
            results.append(nc)
        peak = self.peak_live(g, order, env) if self.depth == 1 else 0
        self.depth -= 1
        return results, unsupported, env, peak

    def node(
        self,
        node: Node,
        env: dict[str, TensorInfo],
        opsets: Mapping[str, int],
        unsupported: list[Unsupported],
        prefix: str,
    ) -> NodeCost:
        infos = [env[x] if x else None for x in node.inputs]
        key = (id(opsets), node.domain, node.op_type)
        found = self._opdefs.get(key)
        if found is None:
            opset = opsets.get(node.domain, 1 if node.domain else opsets.get("", 1))
            found = self._opdefs[key] = (opset, self.registry.lookup(node.domain, node.op_type, opset))
        opset, opdef = found
        name = prefix + node.name
        if opdef is None:
            reason = f"no cost rule for {node.domain or 'ai.onnx'}::{node.op_type} (opset {opset})"
            return self.unsupported(node, name, infos, env, reason, unsupported, "unknown")
        runner = self.subgraph_runner(env, name) if node.subgraphs else _no_subgraphs
        ctx = NodeContext(node, infos, opset, runner, self.dtype, self.limits)
        try:
            compute = opdef.rule(ctx)
        except UnknownShape as e:
            return self.unsupported(node, name, infos, env, f"cannot infer shapes: {e}", unsupported, opdef.kind)
        except CostModelError:
            raise
        except (ValueError, TypeError, ZeroDivisionError, IndexError, KeyError, OverflowError) as e:
            raise CostModelError(f"invalid node: {type(e).__name__}: {e}", where=ctx.where) from None
        if ctx.hints:
            unsupported.extend(ctx.hints.pop("_unsupported", ()))
        # Declared types fill what the rule could not say (e.g. data-dependent shapes).
        outs = ctx.outputs
        fold = self.folds(node, opdef.kind, infos, ctx.hints)
        is_shape_op = opdef.kind == _registry.SHAPE
        for k, oname in enumerate(node.outputs):
            if not oname:
                continue
            o = outs[k]
            if o is None:
                o = TensorInfo(None, None)
            if fold or (is_shape_op and o.data is not None):
                role = Role.WEIGHT if (o.dtype is not None and o.dtype.kind in _FLOAT_KINDS) else Role.CONSTANT
                o = TensorInfo(o.dtype, o.shape, role, o.data, True)
            env[oname] = o
        if fold:
            params = self.folded_params(node, infos, env, opdef.kind)
            return _node_cost(
                name,
                node.op_type,
                node.domain,
                opdef.kind,
                "folded",
                _params_cost(params) if params else ZERO,
                "constant-folded: every input is a constant",
                _shapes(infos),
                _shapes([env.get(o) for o in node.outputs if o]),
                _dt(infos, outs),
                {},
                node.inputs,
                node.outputs,
            )
        if opdef.zero is not None:
            return _node_cost(
                name,
                node.op_type,
                node.domain,
                opdef.kind,
                "zero",
                _params_cost(self.new_params(node, infos)),
                opdef.zero,
                _shapes(infos),
                _shapes(outs),
                _dt(infos, outs),
                ctx.hints,
                node.inputs,
                node.outputs,
            )
        self.note_weights(infos)
        cost = compute if isinstance(compute, Cost) else ZERO
        b = ctx.bytes_override
        traffic = (
            (b.read_weights, b.read_activations, b.read_kv, b.write_activations, b.write_kv)
            if b is not None
            else self.traffic(node, ctx, infos, outs)
        )
        cost = _new_cost(
            cost.flops, cost.macs, cost.transcendentals, *traffic, cost.params + self.new_params(node, infos)
        )
        return _node_cost(
            name,
            node.op_type,
            node.domain,
            opdef.kind,
            "costed",
            cost,
            "",
            _shapes(infos),
            _shapes(outs),
            _dt(infos, outs),
            ctx.hints,
            node.inputs,
            node.outputs,
        )

    @staticmethod
    def folds(node: Node, kind: str, infos: list, hints: Mapping[str, Any]) -> bool:
        """A node folds away at load time when every input is a constant (and it has inputs
        or generates its output); heavier kinds fold only on small inputs."""
        for i in infos:
            if i is not None and not i.const:
                return False
        if not (node.inputs or kind == _registry.GENERATOR) or hints.get("no_fold"):
            return False
        if kind in _CHEAP:
            return True
        return all(i is None or i.shape is None or _is_small(i.shape) for i in infos)

    def unsupported(
        self, node: Node, name: str, infos: list, env: dict, reason: str, out: list[Unsupported], kind: str
    ) -> NodeCost:
        if self.strict:
            raise UnsupportedOpError(reason, where=f"node {name!r}")
        out.append(Unsupported(name, node.op_type, node.domain, reason))
        for o in node.outputs:
            if o and o not in env:
                env[o] = TensorInfo(None, None)
        return _node_cost(
            name,
            node.op_type,
            node.domain,
            kind,
            "unsupported",
            _params_cost(self.new_params(node, infos)),
            reason,
            _shapes(infos),
            (),
            _dt(infos, ()),
            {},
            node.inputs,
            node.outputs,
        )

    # -- traffic and params -----------------------------------------------------------
    def traffic(self, node: Node, ctx: NodeContext, infos: list, outs: list) -> tuple:
        """Bytes (read weights, read activations, read KV, write activations, write KV)."""
        rw: list[Any] = []
        ra: list[Any] = []
        rk: list[Any] = []
        wa: list[Any] = []
        wk: list[Any] = []
        seen: set[str] = set()
        for i, (nm, info) in enumerate(zip(node.inputs, infos)):
            if info is None or info.shape is None or info.dtype is None or nm in seen:
                continue
            seen.add(nm)
            b = info.dtype.nbytes(prod(info.shape))
            if i in ctx.kv_inputs:
                rk.append(b)
            elif info.role is Role.WEIGHT:
                rw.append(b)
            else:
                ra.append(b)
        for k, o in enumerate(outs):
            if o is None or o.shape is None or o.dtype is None or not node.outputs[k]:
                continue
            (wk if k in ctx.kv_outputs else wa).append(o.dtype.nbytes(prod(o.shape)))
        return add_all(rw), add_all(ra), add_all(rk), add_all(wa), add_all(wk)

    def note_weights(self, infos: list) -> None:
        """Weights a runtime keeps resident: every weight tensor a costed node reads."""
        for info in infos:
            if info is not None and info.role is Role.WEIGHT and id(info) not in self.runtime_weights:
                self.runtime_weights[id(info)] = _bytes(info)

    def new_params(self, node: Node, infos: list) -> Any:
        """Float weights read by this node for the first time (each tensor counted once)."""
        total: Any = 0
        seen = self.params_seen
        for info in infos:
            if info is None or info.role is not Role.WEIGHT or info.shape is None:
                continue
            key = id(info)
            if key in seen or info.dtype is None or info.dtype.kind not in _FLOAT_KINDS:
                continue
            seen.add(key)
            total = total + prod(info.shape)
        return total if type(total) is int else norm(total)

    def folded_params(self, node: Node, infos: list, env: dict, kind: str) -> Any:
        """A constant-folded float output is a new parameter tensor when it is made from
        no float weight (ConstantOfShape of a shape) or by dequantizing (DequantizeLinear
        of an int8 initializer). Anything else computed from weights (a transpose, a
        gathered position-bias table) is derived from weights already counted."""
        total: Any = 0
        reads_float_weight = False
        for i in infos:
            if (
                i is not None
                and i.role is Role.WEIGHT
                and i.dtype is not None
                and i.dtype.kind in _FLOAT_KINDS
                and i.shape is not None
            ):
                reads_float_weight = True
                break
        source = kind == _registry.QUANTIZE or not reads_float_weight
        for o in node.outputs:
            info = env.get(o)
            if info is None or info.dtype is None or info.dtype.kind not in _FLOAT_KINDS or info.shape is None:
                continue
            self.params_seen.add(id(info))
            n = prod(info.shape)
            if source:
                total = total + n
        # Weights first read by the folded node (e.g. a transposed weight) count here.
        if kind != _registry.QUANTIZE:
            total = total + self.new_params(node, infos)
        else:
            self.new_params(node, infos)
        return norm(total)

    # -- subgraphs --------------------------------------------------------------------
    def subgraph_runner(self, env: dict[str, TensorInfo], name: str):
        def run(g: Graph, inputs: list[TensorInfo | None]) -> tuple[Cost, list[TensorInfo | None], list[Unsupported]]:
            outer = dict(env)
            for nm, info in zip(g.inputs, inputs):
                if info is not None:
                    outer[nm] = info
            # Subgraph inputs named in g.inputs are provided; declared types fill the rest.
            sub = Graph(g.name, g.nodes, [], g.outputs, g.initializers, g.declared, g.opsets)
            for nm in g.inputs:
                if nm not in outer or outer[nm] is None:
                    dt, sh = g.declared.get(nm, (None, None))
                    outer[nm] = TensorInfo(dt, bind_shape(sh, self.bindings) if sh else sh)
            nodes, uns, senv, _ = self.run(sub, outer, prefix=name + "/")
            total = sum_costs(n.cost for n in nodes)
            return total, [senv.get(o) for o in g.outputs], uns

        return run

    # -- liveness ---------------------------------------------------------------------
    def peak_live(self, g: Graph, order: list[Node], env: dict[str, TensorInfo]) -> Any:
        """Peak bytes of live activations (graph inputs and intermediates), by liveness.

        With symbolic sizes the peak is the live total at the step that is largest when
        every symbol is large (1024): the formula of the dominant step, not a Max over
        thousands of expressions. Steps are compared by exact integer values at 1024 (each
        distinct tensor size is evaluated once) and only the winning step's live tensors
        are summed symbolically, so the pass stays linear in the node count."""
        last = g.last_use(order)
        at_1024: dict[Any, Any] = {}

        def value(b: Any) -> Any:
            if type(b) is int:
                return b
            v = at_1024.get(b)
            if v is None:
                v = b.subs({s: 1024 for s in b.free_symbols})
                v = at_1024[b] = int(v) if v.is_Integer else v
            return v

        live: dict[str, Any] = {}
        cur: Any = 0  # live total, symbolic sizes counted at 1024 (exact while n_sym is 0)
        n_sym = 0  # live tensors of symbolic size
        concrete = True
        peak = 0
        best_i, best_v = -2, -1.0  # the symbolic phase's largest step, by its value at 1024
        for nm in g.inputs:
            b = _bytes(env.get(nm))
            if b:
                live[nm] = b
        for b in live.values() if order else ():  # a graph without nodes has no step
            if type(b) is int:
                cur += b
            else:
                cur, n_sym = cur + value(b), n_sym + 1
        for i, n in enumerate(order):
            for o in n.outputs:
                info = env.get(o)
                if o and info is not None and not info.const:
                    b = _bytes(info)
                    if b:
                        live[o] = b
                        if type(b) is int:
                            cur += b
                        else:
                            cur, n_sym = cur + value(b), n_sym + 1
            if concrete and not n_sym:
                if cur > peak:
                    peak = cur
            else:
                concrete = False
                if float(cur) > best_v:
                    best_i, best_v = i, float(cur)
            for x in chain(n.inputs, n.outputs):  # a name listed twice is popped once
                if x in live and last.get(x, -1) <= i:
                    b = live.pop(x)
                    if type(b) is int:
                        cur -= b
                    else:
                        cur, n_sym = cur - value(b), n_sym - 1
        if concrete:
            return peak
        if float(peak) > best_v:
            return norm(peak)
        return norm(add_all(self._live_at(g, order, env, last, best_i)))

    @staticmethod
    def _live_at(g: Graph, order: list[Node], env: dict[str, TensorInfo], last: dict[str, int], step: int) -> list[Any]:
        """Sizes of the tensors live at `step` (after its outputs are made, before frees)."""
        live: dict[str, Any] = {}
        for nm in g.inputs:
            b = _bytes(env.get(nm))
            if b:
                live[nm] = b
        for i, n in enumerate(order[: step + 1]):
            for o in n.outputs:
                info = env.get(o)
                if o and info is not None and not info.const:
                    b = _bytes(info)
                    if b:
                        live[o] = b
            if i == step:
                break
            for x in chain(n.inputs, n.outputs):
                if x in live and last.get(x, -1) <= i:
                    live.pop(x)
        return list(live.values())


def _bytes(info: TensorInfo | None) -> Any:
    if info is None or info.shape is None or info.dtype is None:
        return 0
    return info.dtype.nbytes(prod(info.shape))


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except TypeError:
        return False


def _is_small(shape: tuple) -> bool:
    n = prod(shape)
    return type(n) is int and n <= _SMALL


def _shapes(infos: Iterable) -> tuple:
    return tuple([i.shape if i is not None else None for i in infos])


def _dt(infos: list, outs: Iterable) -> str | None:
    """The node's dtype: its first float output or input, else its first typed input."""
    for i in outs:
        if i is not None and i.dtype is not None and i.dtype.kind in _FLOAT_KINDS:
            return i.dtype.name
    for i in infos:
        if i is not None and i.dtype is not None and i.dtype.kind in _FLOAT_KINDS:
            return i.dtype.name
    for i in infos:
        if i is not None and i.dtype is not None:
            return i.dtype.name
    return None


def analyze_graph(
    graph: Graph,
    *,
    bindings: Mapping[str, int] | None = None,
    dtype: DType | None = None,
    strict: bool = False,
    registry: _registry.Registry | None = None,
    limits: Limits | None = None,
) -> GraphCost:
    reg = registry or _registry.load_all()
    bindings = dict(bindings or {})
    known = set(graph.symbols)
    for k, v in bindings.items():
        if k not in known and not known:
            raise BindingError(f"unknown symbol {k!r}: the model has no symbolic dims (every shape is fixed)")
        if k not in known:
            raise BindingError(
                f"unknown symbol {k!r}{did_you_mean(k, known)}; the model's symbols are: {name_list(known)}"
            )
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise BindingError(f"binding {k}={v!r} must be a positive integer")
    lim = (limits or Limits()).start()
    an = _Analyzer(reg, dtype, strict, lim, {k: int(v) for k, v in bindings.items()})
    with gc_paused():
        nodes, uns, env, peak = an.run(graph)
        total = sum_costs(n.cost for n in nodes)
        weight_bytes: Any = add_all(an.runtime_weights.values())
    free = set()
    for v in (total.flops, total.bytes_read, total.bytes_written, total.params):
        if hasattr(v, "free_symbols"):
            free |= {s.name for s in v.free_symbols}
    return GraphCost(
        tuple(nodes),
        total,
        total.params,
        tuple(uns),
        tuple(sorted(free)),
        norm(peak),
        norm(weight_bytes),
        {o: env.get(o) for o in graph.outputs},
    )


__all__ = ["GraphCost", "NodeCost", "Unsupported", "analyze_graph"]
