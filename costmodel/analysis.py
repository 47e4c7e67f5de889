"""GraphCost: one pass in topological order that infers types, folds constants and costs
every node; rollups by op type and scope; the unsupported list; peak live activations
(passes/liveness.py). Every front end's graph is costed here and only here.

Unknown is never zero: a node without a rule, whose rule cannot resolve its shapes, or
that its front end could not translate, is listed in `unsupported` (and raises under
strict=True); it is never silently costed 0.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from enum import StrEnum
from itertools import repeat
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np

from .errors import BindingError, CostModelError, UnsupportedOpError, did_you_mean, name_list
from .ir.dtypes import DType
from .ir.graph import Graph, Node, Repeat, Role, TensorInfo, tensor_bytes
from .limits import Limits, gc_paused
from .ops import registry as _registry
from .ops.context import NodeContext, SubgraphResult, SubgraphRunner, UnknownShape, Unsupported
from .ops.cost import COST_FIELDS, ZERO, Cost
from .ops.kernel import Kernel
from .ops.registry import OpDef, OpKind
from .ops.traffic import RESIDENT, tensor_traffic
from .passes.bind import bind_shape, retype
from .passes.liveness import peak_live_bytes
from .passes.rewrite import Facts, NodeFacts
from .passes.rewrite import run as run_rewrites
from .passes.runtimes import Runtime, get_runtime
from .symbolic import add_all, norm, prod, Shape, to_json_number

# Kinds whose nodes fold away when every input is a constant (load-time transforms every
# runtime performs); heavier kinds fold only on small inputs.
_CHEAP = {
    OpKind.VIEW,
    OpKind.SHAPE,
    OpKind.MOVEMENT,
    OpKind.ELEMENTWISE,
    OpKind.GENERATOR,
    OpKind.QUANTIZE,
}
_SMALL = 4096
_FLOAT_KINDS = ("float", "complex")  # DType.is_float, without a property call per tensor
_FIELD_GETTERS = tuple(attrgetter(f) for f in COST_FIELDS)
T = TypeVar("T")


class NodeStatus(StrEnum):
    """What the analysis did with a node (values are the JSON strings)."""

    COSTED = "costed"  # a kernel: compute and traffic
    ZERO = "zero"  # a declared zero-cost op (view, metadata), with its reason
    FOLDED = "folded"  # every input constant: computed once at load time
    UNSUPPORTED = "unsupported"  # no cost: listed in `unsupported`


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeCost:
    name: str
    op_type: str
    domain: str
    kind: OpKind
    status: NodeStatus
    cost: Cost
    reason: str = ""
    input_shapes: tuple[Shape | None, ...] = ()
    output_shapes: tuple[Shape | None, ...] = ()
    dtype: str | None = None
    kernel: Kernel | None = None  # what the engine times the kernel by (ops/kernel.py)
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()  # graph nodes this kernel stands for (empty: only itself)
    # copies of a repeated block this row stands for (ir.graph.Repeat): `cost` is all of
    # them together, `kernel` one copy's
    repeat: int = 1
    block: str = ""  # the repeated block's name (ir.graph.Repeat.block), "" when it runs once

    @property
    def covered(self) -> tuple[str, ...]:
        """The names of the exported graph's nodes this row accounts for."""
        return self.covers or (self.name,)

    def one_copy(self) -> NodeCost:
        """This row for one copy of its repeated block (itself when it runs once)."""
        r = self.repeat
        if r == 1:
            return self
        c = self.cost
        return replace(self, cost=Cost(*(_per_copy(get(c), r) for get in _FIELD_GETTERS)), repeat=1, block="")

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
        d["covers"] = list(self.covered)
        d["repeat"] = self.repeat
        return d


@dataclass(frozen=True, kw_only=True)
class GraphCost:
    nodes: tuple[NodeCost, ...]
    total: Cost
    params: Any
    unsupported: tuple[Unsupported, ...]
    symbols: tuple[str, ...]
    peak_activation_bytes: Any
    weight_bytes: Any
    outputs: Mapping[str, TensorInfo | None] = field(default_factory=dict)
    # every value's type as the analysis found it (what runtime rewrites read)
    values: Mapping[str, TensorInfo] = field(default_factory=dict)
    runtime: str = "none"  # the runtime whose kernels the nodes are (passes/runtimes.py)

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
        real = [n for n in self.nodes if n.status is not NodeStatus.FOLDED]
        if not real:
            return 1.0
        missing = sum(n.repeat for n in real if n.status is NodeStatus.UNSUPPORTED)
        return 1.0 - missing / sum(n.repeat for n in real)


def sum_costs(costs: Iterable[Cost]) -> Cost:
    """Field-wise exact sum, equal to adding the costs one by one but linear in their
    number: ints add as ints and each field's symbolic terms are combined by one Add."""
    costs = [c for c in costs if c is not ZERO]
    if not costs:
        return ZERO
    if len(costs) == 1:
        return costs[0] + ZERO  # normalises fields exactly as `+` does
    return Cost(*(add_all(list(map(get, costs))) for get in _FIELD_GETTERS))


def _no_subgraphs(g: Graph, inputs: Sequence[TensorInfo | None]) -> SubgraphResult:
    """The subgraph runner of a node without subgraphs (rules look a subgraph up first)."""
    raise UnknownShape("the node has no subgraphs")


def _fast_constructor(cls: type[T]) -> Callable[..., T]:  # cls: a dataclass
    """A constructor for a frozen slots dataclass taking every field positionally, which
    sets the fields from C (map over object.__setattr__, as the generated __init__ does
    one Python call per field); the analysis makes a NodeCost and a Cost for every node."""
    names = tuple(f.name for f in dataclass_fields(cls))  # type: ignore[arg-type]  # T is a dataclass type
    new, set_, n = object.__new__, object.__setattr__, len(names)

    def make(*values: Any) -> T:
        obj: T = new(cls)
        deque(map(set_, repeat(obj, n), names, values), 0)
        return obj

    return make


_node_cost = _fast_constructor(NodeCost)
_new_cost = _fast_constructor(Cost)


def _params_cost(params: Any) -> Cost:
    return _new_cost(0, 0, 0, 0, 0, 0, 0, 0, params)


def _shape_json(s: Shape | None) -> Any:
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
        # Float tensors re-typed to an integer deployment dtype (--dtype int8 / int4) and
        # the constants folded from them: parameters still, though their dtype is an int
        # (a natively integer tensor of a quantized model stays no parameter, as in fp32).
        self.int_deploy = dtype is not None and dtype.kind not in _FLOAT_KINDS
        self.deployed: dict[int, TensorInfo] = {}  # id -> the tensor, kept alive for its id
        self.runtime_weights: dict[int, Any] = {}
        # A folded constant computed from resident tensors (a transposed tied head, rows
        # gathered from a position table, a broadcast bias) is a view or recompute of
        # them: what stays resident is its sources. id -> (the tensor, its sources)
        self.derived: dict[int, tuple[TensorInfo, tuple[TensorInfo, ...]]] = {}
        self.depth = 0
        # value name -> the value whose storage it shares (views), for the liveness pass
        self.aliases: dict[str, str] = {}
        # (opset, rule) per (opsets of the graph, domain, op type): registry look-ups, per analysis
        self._opdefs: dict[tuple[int, str, str], tuple[int, OpDef | None]] = {}

    # -- environment ------------------------------------------------------------------
    def initial_env(self, g: Graph, outer: Mapping[str, TensorInfo] | None) -> dict[str, TensorInfo]:
        env: dict[str, TensorInfo] = dict(outer) if outer else {}
        for name, init in g.initializers.items():
            dt = retype(init.dtype, self.dtype)
            role = init.role
            if role is None:
                role = Role.WEIGHT if (init.dtype.is_float or prod(init.shape) > 64) else Role.CONSTANT
            info = env[name] = TensorInfo(dt, init.shape, role, init.data, True)
            if self.int_deploy and dt is not init.dtype and init.dtype.is_float:
                self.deployed[id(info)] = info
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
            nc = self.node(node, env, opsets, unsupported, prefix, g.declared)
            results.append(nc)
        peak = peak_live_bytes(g, order, env, self.aliases, g.repeats) if self.depth == 1 else 0
        self.depth -= 1
        return results, unsupported, env, peak

    def node(
        self,
        node: Node,
        env: dict[str, TensorInfo],
        opsets: Mapping[str, int],
        unsupported: list[Unsupported],
        prefix: str,
        declared: Mapping[str, tuple[DType | None, Shape | None]],
    ) -> NodeCost:
        key = (id(opsets), node.domain, node.op_type)
        found = self._opdefs.get(key)
        if found is None:
            opset = opsets.get(node.domain, 1 if node.domain else opsets.get("", 1))
            found = self._opdefs[key] = (opset, self.registry.lookup(node.domain, node.op_type, opset))
        opset, opdef = found
        name = prefix + node.name
        r = node.repeat.count if node.repeat is not None else 1
        if r != 1:
            nc = self._node(node, env, opsets, unsupported, name, prefix, declared, r, opdef, opset)
            return _repeated(nc, node.repeat)  # type: ignore[arg-type]  # r != 1: a Repeat
        return self._node(node, env, opsets, unsupported, name, prefix, declared, r, opdef, opset)

    def _node(
        self,
        node: Node,
        env: dict[str, TensorInfo],
        opsets: Mapping[str, int],
        unsupported: list[Unsupported],
        name: str,
        prefix: str,
        declared: Mapping[str, tuple[DType | None, Shape | None]],
        r: int,
        opdef: OpDef | None,
        opset: int,
    ) -> NodeCost:
        infos = [env[x] if x else None for x in node.inputs]
        if node.untranslated:
            return self.unsupported(node, name, infos, env, node.untranslated, unsupported, OpKind.UNKNOWN, declared)
        if opdef is None:
            reason = f"no cost rule for {node.domain or 'ai.onnx'}::{node.op_type} (opset {opset})"
            return self.unsupported(node, name, infos, env, reason, unsupported, OpKind.UNKNOWN, declared)
        runner = self.subgraph_runner(env, name) if node.subgraphs else _no_subgraphs
        ctx = NodeContext(node, infos, opset, runner, self.dtype, self.limits)
        try:
            compute = opdef.rule(ctx)
        except UnknownShape as e:
            reason = f"cannot infer shapes: {e}"
            return self.unsupported(node, name, infos, env, reason, unsupported, opdef.kind, declared)
        except CostModelError:
            raise
        except (ValueError, TypeError, ZeroDivisionError, IndexError, KeyError, OverflowError) as e:
            raise CostModelError(f"invalid node: {type(e).__name__}: {e}", where=ctx.where) from None
        if ctx.nested_unsupported:
            unsupported.extend(ctx.nested_unsupported)
        outs = ctx.outputs
        fold = opdef.fold and not ctx.no_fold and self.folds(node, opdef.kind, infos)
        is_shape_op = opdef.kind is OpKind.SHAPE
        for k, oname in enumerate(node.outputs):
            if not oname:
                continue
            o = outs[k]
            if o is None:
                o = TensorInfo(None, None)
            if fold or (is_shape_op and o.data is not None):
                deployed = self.int_deploy and fold and self.deployed_output(o, k, ctx.retyped, infos)
                floats = deployed or (o.dtype is not None and o.dtype.kind in _FLOAT_KINDS)
                o = TensorInfo(o.dtype, o.shape, Role.WEIGHT if floats else Role.CONSTANT, o.data, True)
                if deployed:
                    self.deployed[id(o)] = o
            env[oname] = o
        if ctx.aliases and not fold:
            for k, i in ctx.aliases.items():
                if k < len(node.outputs) and node.outputs[k] and i < len(node.inputs) and node.inputs[i]:
                    self.aliases[node.outputs[k]] = node.inputs[i]
        if fold:
            params = self.folded_params(node, infos, env, opdef.kind)
            return _node_cost(
                name,
                node.op_type,
                node.domain,
                opdef.kind,
                NodeStatus.FOLDED,
                _params_cost(params) if params else ZERO,
                "constant-folded: every input is a constant",
                _shapes(infos),
                _shapes([env.get(o) for o in node.outputs if o]),
                _dt(infos, outs),
                None,
                node.inputs,
                node.outputs,
                _covers(node, prefix),
                1,
                "",
            )
        if opdef.zero is not None:
            return _node_cost(
                name,
                node.op_type,
                node.domain,
                opdef.kind,
                NodeStatus.ZERO,
                _params_cost(self.new_params(node, infos)),
                opdef.zero,
                _shapes(infos),
                _shapes(outs),
                ctx.compute_dtype.name if ctx.compute_dtype else _dt(infos, outs),
                ctx.kernel,
                node.inputs,
                node.outputs,
                _covers(node, prefix),
                1,
                "",
            )
        self.note_weights(infos, r)
        cost = compute if isinstance(compute, Cost) else ZERO
        b = ctx.bytes_override
        traffic = (
            (b.read_weights, b.read_activations, b.read_kv, b.write_activations, b.write_kv)
            if b is not None
            else tensor_traffic(
                zip(node.inputs, infos),
                [o if node.outputs[k] else None for k, o in enumerate(outs)],
                ctx.kv_inputs,
                ctx.kv_outputs,
            )
        )
        cost = _new_cost(
            cost.flops, cost.macs, cost.transcendentals, *traffic, cost.params + self.new_params(node, infos)
        )
        return _node_cost(
            name,
            node.op_type,
            node.domain,
            opdef.kind,
            NodeStatus.COSTED,
            cost,
            "",
            _shapes(infos),
            _shapes(outs),
            ctx.compute_dtype.name if ctx.compute_dtype else _dt(infos, outs),
            ctx.kernel,
            node.inputs,
            node.outputs,
            _covers(node, prefix),
            1,
            "",
        )

    @staticmethod
    def folds(node: Node, kind: OpKind, infos: list[TensorInfo | None]) -> bool:
        """A node folds away at load time when every input is a constant (and it has inputs
        or generates its output); heavier kinds fold only on small inputs."""
        for i in infos:
            if i is not None and not i.const:
                return False
        if not (node.inputs or kind is OpKind.GENERATOR):
            return False
        if kind in _CHEAP:
            return True
        return all(i is None or i.shape is None or _is_small(i.shape) for i in infos)

    def unsupported(
        self,
        node: Node,
        name: str,
        infos: list[TensorInfo | None],
        env: dict[str, TensorInfo],
        reason: str,
        out: list[Unsupported],
        kind: OpKind,
        declared: Mapping[str, tuple[DType | None, Shape | None]],
    ) -> NodeCost:
        if self.strict:
            raise UnsupportedOpError(reason, where=f"node {name!r}")
        out.append(Unsupported(name=name, op_type=node.op_type, domain=node.domain, reason=reason))
        for o in node.outputs:
            if o and o not in env:
                # what the front end declared about the output (a traced type) lets the
                # nodes after it be costed; else it is unknown
                dt, shape = declared.get(o, (None, None))
                if shape is None:
                    env[o] = TensorInfo(None, None)
                else:
                    env[o] = TensorInfo(retype(dt, self.dtype), bind_shape(shape, self.bindings))
        return _node_cost(
            name,
            node.op_type,
            node.domain,
            kind,
            NodeStatus.UNSUPPORTED,
            _params_cost(self.new_params(node, infos)),
            reason,
            _shapes(infos),
            (),
            _dt(infos, ()),
            None,
            node.inputs,
            node.outputs,
            _covers(node, name[: len(name) - len(node.name)]),
            1,
            "",
        )

    # -- params -----------------------------------------------------------------------
    def deployed_output(self, o: TensorInfo, k: int, retyped: tuple[int, ...], infos: list[TensorInfo | None]) -> bool:
        """A folded output in the integer deployment dtype that is a float re-typed (a
        ConstantOfShape of a float value) or computed from one (a transposed weight)."""
        if o.dtype is not self.dtype:
            return False
        return k in retyped or any(i is not None and id(i) in self.deployed for i in infos)

    def is_float(self, info: TensorInfo) -> bool:
        """A float tensor, or one re-typed from float to the integer deployment dtype."""
        return info.dtype is not None and (info.dtype.kind in _FLOAT_KINDS or id(info) in self.deployed)

    def note_weights(self, infos: list[TensorInfo | None], copies: int = 1) -> None:
        """Weights a runtime keeps resident: every weight tensor a costed node reads, and
        for a folded constant derived from weights, the weights it is made from (`copies`
        of each for a node of a repeated block: each copy has its own)."""
        held = self.runtime_weights
        for info in infos:
            if info is None or info.role not in RESIDENT:
                continue
            derived = self.derived.get(id(info))
            for t in derived[1] if derived is not None else (info,):
                if id(t) not in held:
                    held[id(t)] = tensor_bytes(t) * copies

    def resident_sources(self, infos: list[TensorInfo | None]) -> tuple[TensorInfo, ...]:
        """The resident tensors (initializers, source constants) that `infos` are made of."""
        found: dict[int, TensorInfo] = {}
        for i in infos:
            if i is None or i.role not in RESIDENT:
                continue
            derived = self.derived.get(id(i))
            for t in derived[1] if derived is not None else (i,):
                found.setdefault(id(t), t)
        return tuple(found.values())

    def new_params(self, node: Node, infos: list[TensorInfo | None]) -> Any:
        """Float weights read by this node for the first time (each tensor counted once)."""
        total: Any = 0
        seen = self.params_seen
        deployed = self.deployed
        for info in infos:
            if info is None or info.role is not Role.WEIGHT or info.shape is None:
                continue
            key = id(info)
            if key in seen or info.dtype is None or (info.dtype.kind not in _FLOAT_KINDS and key not in deployed):
                continue
            seen.add(key)
            total = total + prod(info.shape)
        return total if type(total) is int else norm(total)

    def folded_params(
        self, node: Node, infos: list[TensorInfo | None], env: dict[str, TensorInfo], kind: OpKind
    ) -> Any:
        """A constant-folded float output is a new parameter tensor when it is made from
        no float tensor (ConstantOfShape of a shape) or by dequantizing (DequantizeLinear
        of an int8 initializer). Anything else computed from floats (a transpose of a
        weight, a gathered position-bias table, arithmetic on a framework's scalar
        constants) is derived from tensors already counted or that are no parameters."""
        total: Any = 0
        reads_float = False
        for i in infos:
            if i is not None and i.shape is not None and self.is_float(i):
                reads_float = True
                break
        source = kind is OpKind.QUANTIZE or not reads_float
        sources = () if source else self.resident_sources(infos)
        for o in node.outputs:
            info = env.get(o)
            if info is None or info.shape is None or not self.is_float(info):
                continue
            self.params_seen.add(id(info))
            n = prod(info.shape)
            if source:
                total = total + n
            elif sources and info.role in RESIDENT:
                self.derived[id(info)] = (info, sources)
        # Weights first read by the folded node (e.g. a transposed weight) count here.
        if kind is not OpKind.QUANTIZE:
            total = total + self.new_params(node, infos)
        else:
            self.new_params(node, infos)
        return norm(total)

    # -- subgraphs --------------------------------------------------------------------
    def subgraph_runner(self, env: dict[str, TensorInfo], name: str) -> SubgraphRunner:
        def run(g: Graph, inputs: Sequence[TensorInfo | None]) -> SubgraphResult:
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
            return SubgraphResult(
                cost=sum_costs(n.cost for n in nodes),
                outputs=tuple(senv.get(o) for o in g.outputs),
                unsupported=tuple(uns),
                kernels=tuple(n.kernel for n in nodes),
            )

        return run


def _per_copy(x: Any, r: int) -> Any:
    return x // r if type(x) is int else norm(x / r)


def _repeated(nc: NodeCost, rep: Repeat) -> NodeCost:
    """A node of a repeated block: its costs (parameters included: each copy has its own
    weights) times the copies, which it records."""
    c, r = nc.cost, rep.count
    cost = c if c is ZERO else _new_cost(*(norm(get(c) * r) for get in _FIELD_GETTERS))
    return replace(nc, cost=cost, repeat=r, block=rep.block)


def _covers(node: Node, prefix: str) -> tuple[str, ...]:
    """The exported nodes a rewritten node stands for, named as the analysis names them."""
    if not node.covers:
        return ()
    return tuple(prefix + c for c in node.covers) if prefix else node.covers


def _is_small(shape: Shape) -> bool:
    n = prod(shape)
    return type(n) is int and n <= _SMALL


def _shapes(infos: Iterable[TensorInfo | None]) -> tuple[Shape | None, ...]:
    return tuple([i.shape if i is not None else None for i in infos])


def _dt(infos: Sequence[TensorInfo | None], outs: Iterable[TensorInfo | None]) -> str | None:
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
    runtime: Runtime | str | None = None,
) -> GraphCost:
    """Cost every node of `graph`. With a `runtime` (a name of passes/runtimes.py or a
    Runtime), the nodes are the kernels that runtime launches: the graph is analysed,
    rewritten by the runtime's passes from what the analysis found, and the rewritten
    graph analysed; FLOPs and parameters are the same, bytes and kernels are the
    runtime's, and each node `covers` the graph nodes it runs."""
    rt = get_runtime(runtime)
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
    binds = {k: int(v) for k, v in bindings.items()}
    gc = _analyze(graph, reg, dtype, strict, lim, binds)
    if not rt.rewrites or (graph.eager_code and rt.runs_code_eagerly):
        # an eager runtime runs a graph of the model's own eager code as it is written
        return replace(gc, runtime=rt.name)
    if graph.repeated:
        raise CostModelError(
            f"runtime {rt.name!r} rewrites across repeated blocks: analyse the unrolled graph "
            "(frontends.spec_graph(..., unrolled=True))"
        )
    facts = Facts(gc.values, {n.output_names: NodeFacts(n.status, n.kind) for n in gc.nodes})
    rewritten = run_rewrites(graph, rt.rewrites, facts)
    if rewritten is not graph:
        gc = _analyze(rewritten, reg, dtype, strict, lim, binds)
    return replace(gc, runtime=rt.name)


def _analyze(
    graph: Graph, reg: _registry.Registry, dtype: DType | None, strict: bool, lim: Limits, bindings: dict[str, int]
) -> GraphCost:
    an = _Analyzer(reg, dtype, strict, lim, bindings)
    with gc_paused():
        nodes, uns, env, peak = an.run(graph)
        total = sum_costs(n.cost for n in nodes)
        weight_bytes: Any = add_all(an.runtime_weights.values())
    free = set()
    for v in (total.flops, total.bytes_read, total.bytes_written, total.params):
        if hasattr(v, "free_symbols"):
            free |= {s.name for s in v.free_symbols}
    return GraphCost(
        nodes=tuple(nodes),
        total=total,
        params=total.params,
        unsupported=tuple(uns),
        symbols=tuple(sorted(free)),
        peak_activation_bytes=norm(peak),
        weight_bytes=norm(weight_bytes),
        outputs={o: env.get(o) for o in graph.outputs},
        values=env,
    )


__all__ = ["GraphCost", "NodeCost", "NodeStatus", "Unsupported", "analyze_graph"]
