"""GraphCost: one pass in topological order that infers types, folds constants and costs
every node; rollups by op type and scope; the unsupported list; peak live activations
(passes/liveness.py). Every front end's graph is costed here and only here.

Unknown is never zero: a node without a rule, whose rule cannot resolve its shapes, or
that its front end could not translate, is listed in `unsupported` (and raises under
strict=True); it is never silently costed 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from operator import attrgetter
from time import monotonic
from typing import Any

import numpy as np

from .errors import BindingError, CostModelError, UnsupportedOpError, did_you_mean, name_list
from .ir.dtypes import DType
from .ir.graph import Graph, Node, Repeat, Role, TensorInfo, tensor_bytes
from .limits import Limits, gc_paused
from .ops import registry as _registry
from .ops.context import NodeContext, SubgraphResult, SubgraphRunner, UnknownShape, Unsupported
from .ops.cost import ZERO, Cost
from .ops.memo import Interner, input_key
from .ops.registry import OpDef, OpKind
from .ops.traffic import RESIDENT, io_traffic, tensor_traffic
from .passes.bind import bind_shape, retype
from .passes.liveness import peak_live_bytes
from .passes.rewrite import Facts, NodeFacts
from .passes.rewrite import run as run_rewrites
from .passes.runtimes import Runtime, get_runtime
from .analysis_memo import Outcome, clear_memo, shared_memo
from .analysis_records import FLOAT_KINDS, GraphCost, NodeCost, NodeStatus, node_dtype, shapes_of, sum_costs
from .symbolic import Shape, add_all, norm, prod

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


def _no_subgraphs(g: Graph, inputs: Sequence[TensorInfo | None]) -> SubgraphResult:
    """The subgraph runner of a node without subgraphs (rules look a subgraph up first)."""
    raise UnknownShape("the node has no subgraphs")


_node_cost = NodeCost
_new_cost = Cost
_tuple = tuple.__new__  # a named tuple from a tuple of its fields, in C
_ONCE = (1, "")  # NodeCost's repeat and block: a node that runs once
_DEPLOYED = object()  # marks the input_key of a float re-typed to the deployment dtype


def _params_cost(params: Any) -> Cost:
    return _new_cost(0, 0, 0, 0, 0, 0, 0, 0, params)


_NO_PARAMS = _params_cost(0)


_cost_of = attrgetter("cost")


class _Analyzer:
    def __init__(
        self,
        registry: _registry.Registry,
        dtype: DType | None,
        strict: bool,
        limits: Limits,
        bindings: Mapping[str, int],
        memo: bool = True,
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
        self.int_deploy = dtype is not None and dtype.kind not in FLOAT_KINDS
        self.deployed: dict[int, TensorInfo] = {}  # id -> the tensor, kept alive for its id
        self.runtime_weights: dict[int, Any] = {}
        # A folded constant computed from resident tensors (a transposed tied head, rows
        # gathered from a position table, a broadcast bias) is a view or recompute of
        # them: what stays resident is its sources. id -> (the tensor, its sources)
        self.derived: dict[int, tuple[TensorInfo, tuple[TensorInfo, ...]]] = {}
        self.depth = 0
        # value name -> the value whose storage it shares (views), for the liveness pass
        self.aliases: dict[str, str] = {}
        # (opset, rule) per (opsets of the graph, domain, op type): registry look-ups;
        # signature -> outcome: nodes a rule sees alike are costed once (ops/memo.py).
        # Both kept between analyses in this thread, with the numbering of the signatures'
        # parts (analysis_memo.py): a sweep or a search re-analysing graphs that share layers
        # costs each distinct layer once.
        self.memo: dict[tuple[Any, ...], Outcome] | None = None
        if memo:
            shared = shared_memo(registry, dtype, limits)
            self._opdefs, self.memo, self.interner = shared.opdefs, shared.memo, shared.interner
        else:
            self._opdefs, self.interner = {}, Interner()
        self.keys: dict[str, Any] = {}  # value name -> its interned input_key, in the graph being run

    # -- environment ------------------------------------------------------------------
    def initial_env(self, g: Graph, outer: Mapping[str, TensorInfo] | None) -> dict[str, TensorInfo]:
        env: dict[str, TensorInfo] = dict(outer) if outer else {}
        target, int_deploy = self.dtype, self.int_deploy
        # Equal constants (small integer tensors: shapes, axes) share one value: only a
        # parameter or buffer is known by identity (params_seen, runtime_weights), and
        # the reader gives equal small initializers one array (frontends/onnx.py).
        consts: dict[tuple[int, Any, Any, Role | None], TensorInfo] = {}
        for name, init in g.initializers.items():
            dt = init.dtype if target is None else retype(init.dtype, target)
            role = init.role
            data = init.data
            if role is None:
                if data is not None:  # a constant met before: its role follows from dtype and shape
                    info = consts.get((id(data), dt, init.shape, None))
                    if info is not None:
                        env[name] = info
                        continue
                role = Role.WEIGHT if (init.dtype.is_float or prod(init.shape) > 64) else Role.CONSTANT
            if role is Role.CONSTANT and data is not None:
                c = (id(data), dt, init.shape, init.role)
                info = consts.get(c)
                if info is None:
                    info = consts[c] = _tuple(TensorInfo, (dt, init.shape, role, data, True))
                env[name] = info
                continue
            info = env[name] = _tuple(TensorInfo, (dt, init.shape, role, data, True))
            if int_deploy and dt is not init.dtype and init.dtype.is_float:
                self.deployed[id(info)] = info
        for name in g.inputs:
            dt, shape = g.declared.get(name, (None, None))
            if shape is not None:
                shape = bind_shape(shape, self.bindings)
            env[name] = TensorInfo(retype(dt, self.dtype) if dt else dt, shape, Role.INPUT, None, False)
        return env

    def key_of(self, info: TensorInfo | None, arrays: dict[int, Any] | None = None) -> Any:
        """A value's input_key (ops/memo.py; `arrays` as there), marked when it is a float
        re-typed to the integer deployment dtype (a parameter, unlike a natively integer
        tensor alike)."""
        k = input_key(info, arrays)
        return self.interner.key((_DEPLOYED, k) if self.deployed and id(info) in self.deployed else k)

    def initial_keys(self, env: dict[str, TensorInfo]) -> dict[str, Any]:
        """Each value's interned input_key (key_of), for the values a graph starts with:
        a value shared by several names (equal constants) and an array shared by several
        values (the reader's equal small initializers) keyed once. `env` keeps them all
        alive meanwhile, so ids name them."""
        keys: dict[str, Any] = {}
        by_info: dict[int, Any] = {}
        by_data: dict[int, Any] = {}
        for name, info in env.items():
            k = by_info.get(id(info))
            if k is None:
                k = by_info[id(info)] = self.key_of(info, by_data)
            keys[name] = k
        return keys

    # -- main loop --------------------------------------------------------------------
    def run(
        self, g: Graph, outer: Mapping[str, TensorInfo] | None = None, prefix: str = ""
    ) -> tuple[list[NodeCost], list[Unsupported], dict[str, TensorInfo], Any]:
        self.depth += 1
        if self.depth > self.limits.max_subgraph_depth:
            raise CostModelError(f"subgraphs nested deeper than {self.limits.max_subgraph_depth}")
        env = self.initial_env(g, outer)
        outer_keys, self.keys = self.keys, self.initial_keys(env) if self.memo is not None else {}
        self.keys[""] = None  # an absent optional input
        order = g.topological(frozenset(env))
        self.limits.check_nodes(len(order))
        results: list[NodeCost] = []
        unsupported: list[Unsupported] = []
        opsets, declared = g.opsets, g.declared
        tick, cost_node, append = self.limits.tick, self.node, results.append
        deadline = self.limits.deadline
        memo, keys, opdefs, interner = self.memo, self.keys, self._opdefs, self.interner
        get_key, attr_numbers, opsets_id = keys.__getitem__, interner.attrs, interner.opsets(opsets)
        # The memo's look-up and its hits run here, in the loop (a call per node less on
        # the path most nodes take); a miss, a node with subgraphs or without a rule goes
        # to node(). The signature is ops/memo.py's: (op, inputs, attributes, which inputs
        # are the same value, which outputs are used).
        for node in order:
            if deadline and monotonic() > deadline:
                tick()  # raises LimitExceeded
            found = opdefs.get((opsets_id, node.domain, node.op_type))
            if found is None:
                found = self.opdef(node, opsets, opsets_id)
            sig: tuple[Any, ...] | None = None
            if memo is not None and found[1] is not None and not node.subgraphs and not node.untranslated:
                try:
                    parts = tuple(map(get_key, node.inputs))
                except KeyError:  # a value made elsewhere (an unsupported node's output)
                    parts = tuple([self.key_of(env[x]) if x else None for x in node.inputs])
                known = attr_numbers.get(id(node.attrs))
                attrs = known[0] if known is not None else interner.attrs_of(node)
                if attrs is not None:  # else an attribute holds an unhashable value
                    ins, outs = node.inputs, node.outputs
                    sig = (
                        id(found),  # found lives as long as the analysis: its id names (opset, rule)
                        parts,
                        attrs,
                        tuple(map(ins.index, ins)) if len(ins) > 1 and len(set(ins)) < len(ins) else None,
                        len(outs) if "" not in outs else tuple(map(bool, outs)),
                    )
                    try:
                        hit = memo.get(sig)
                    except TypeError:  # a known value that cannot be hashed
                        hit = sig = None
                    if hit is not None:
                        name = prefix + node.name
                        covers = _covers(node, prefix) if node.covers else ()
                        if hit.plain:  # record's first case, inline: most repeated nodes are plain
                            env.update(zip(outs, hit.values))  # type: ignore[arg-type]  # plain: no None
                            keys.update(zip(outs, hit.keys))
                            nc = _tuple(
                                NodeCost, (name, node.op_type, node.domain, *hit.row, ins, outs, covers, *_ONCE)
                            )
                        elif hit.weight:  # record's fresh case, inline: the model-zoo graphs' weights
                            o = env[outs[0]] = _tuple(TensorInfo, hit.values[0])  # type: ignore[arg-type]  # set
                            keys[outs[0]] = hit.keys[0]
                            self.params_seen.add(id(o))
                            nc = _tuple(
                                NodeCost, (name, node.op_type, node.domain, *hit.row, ins, outs, covers, *_ONCE)
                            )
                        elif hit.reads:  # record's second case, inline: a CNN's convs and norms
                            row = self.own_row(hit, ins, env, node.repeat.count if node.repeat is not None else 1)
                            env.update(zip(outs, hit.values))  # type: ignore[arg-type]  # reads: no None
                            keys.update(zip(outs, hit.keys))
                            nc = _tuple(NodeCost, (name, node.op_type, node.domain, *row, ins, outs, covers, *_ONCE))
                        else:
                            nc = self.record(hit, node, name, prefix, None, env)
                        append(nc if node.repeat is None else _repeated(nc, node.repeat))
                        continue
            nc = cost_node(node, found, sig, env, unsupported, prefix, declared)
            append(nc if node.repeat is None else _repeated(nc, node.repeat))
        peak = peak_live_bytes(g, order, env, self.aliases, g.repeats) if self.depth == 1 else 0
        self.depth -= 1
        self.keys = outer_keys
        return results, unsupported, env, peak

    def opdef(self, node: Node, opsets: Mapping[str, int], opsets_id: int) -> tuple[int, OpDef | None]:
        """(opset, rule) of the node's op in a graph with `opsets` (numbered `opsets_id`),
        looked up once per op."""
        opset = opsets.get(node.domain, 1 if node.domain else opsets.get("", 1))
        found = self._opdefs[(opsets_id, node.domain, node.op_type)] = (
            opset,
            self.registry.lookup(node.domain, node.op_type, opset),
        )
        return found

    def node(
        self,
        node: Node,
        found: tuple[int, OpDef | None],
        sig: tuple[Any, ...] | None,
        env: dict[str, TensorInfo],
        unsupported: list[Unsupported],
        prefix: str,
        declared: Mapping[str, tuple[DType | None, Shape | None]],
    ) -> NodeCost:
        """A node the memo did not answer: run its rule (kept under `sig` when it has one),
        or list it as unsupported."""
        opset, opdef = found
        name = prefix + node.name
        if node.untranslated or opdef is None:
            infos = [env[x] if x else None for x in node.inputs]
            reason = node.untranslated or f"no cost rule for {node.domain or 'ai.onnx'}::{node.op_type} (opset {opset})"
            return self.unsupported(node, name, infos, env, reason, unsupported, OpKind.UNKNOWN, declared)
        memo = self.memo
        infos = [env[x] if x else None for x in node.inputs]
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
        outcome = self.outcome(node, opdef, ctx, infos, compute)
        if sig is not None and not ctx.named:
            memo[sig] = outcome  # type: ignore[index]  # memo is set when sig is
        return self.record(outcome, node, name, prefix, infos, env)

    def outcome(
        self, node: Node, opdef: OpDef, ctx: NodeContext, infos: list[TensorInfo | None], compute: Cost | None
    ) -> Outcome:
        """What the rule found, as far as it is the same for every node of the signature."""
        outs = ctx.outputs
        kind = opdef.kind
        fold = opdef.fold and not ctx.no_fold and self.folds(node, kind, infos)
        o = outs[0] if len(outs) == 1 else None
        if (
            o is not None
            and not fold
            and opdef.zero is None
            and kind is not OpKind.SHAPE
            and node.outputs[0]
            and not (ctx.aliases or ctx.bytes_override or ctx.kv_inputs or ctx.kv_outputs)
        ):
            return self.costed_one(node, kind, ctx, infos, compute, o)
        is_shape_op = kind is OpKind.SHAPE
        values: list[TensorInfo | None] = []
        retyped: list[int] = []  # folded outputs in the integer deployment dtype (self.deployed)
        fresh = False
        for k, oname in enumerate(node.outputs):
            if not oname:
                values.append(None)
                continue
            o = outs[k]
            if o is None:
                o = TensorInfo(None, None)
            if fold or (is_shape_op and o.data is not None):
                deployed = self.int_deploy and fold and self.deployed_output(o, k, ctx.retyped, infos)
                floats = deployed or (o.dtype is not None and o.dtype.kind in FLOAT_KINDS)
                o = _tuple(TensorInfo, (o.dtype, o.shape, Role.WEIGHT if floats else Role.CONSTANT, o.data, True))
                fresh = fresh or floats
                if deployed:
                    retyped.append(k)
            values.append(o)
        aliases: tuple[tuple[int, int], ...] = ()
        if ctx.aliases and not fold:
            aliases = tuple(
                (k, i)
                for k, i in ctx.aliases.items()
                if k < len(node.outputs) and node.outputs[k] and i < len(node.inputs) and node.inputs[i]
            )
        in_shapes = shapes_of(infos)
        dt = node_dtype(infos, outs)
        vals = tuple(values)
        key = self.interner.key
        if retyped:
            vkeys = tuple(
                key(input_key(v) if k not in retyped else (_DEPLOYED, input_key(v))) for k, v in enumerate(vals)
            )
        elif len(vals) == 1:
            vkeys = (key(input_key(vals[0])),)
        else:
            vkeys = tuple([key(input_key(v)) for v in vals])
        resident = self.resident(infos)
        made: tuple[int, ...] = ()
        count: Any = 0
        derive = False
        row: tuple[Any, ...]
        if fold:
            # no float output (shape arithmetic): no parameter made, nothing derived
            made, count, derive = self.folded_outputs(values, retyped, kind, infos) if fresh else ((), 0, False)
            params = norm(count)
            row = (
                kind,
                NodeStatus.FOLDED,
                _params_cost(params) if params else ZERO,
                "constant-folded: every input is a constant",
                in_shapes,
                shapes_of([o for o in values if o is not None]),
                dt,
                None,
            )
        elif opdef.zero is not None:
            dt = ctx.compute_dtype.name if ctx.compute_dtype else dt
            row = (kind, NodeStatus.ZERO, _NO_PARAMS, opdef.zero, in_shapes, shapes_of(outs), dt, ctx.kernel)
        else:
            cost = compute if isinstance(compute, Cost) else ZERO
            b = ctx.bytes_override
            writes = outs if "" not in node.outputs else [o if node.outputs[k] else None for k, o in enumerate(outs)]
            if b is not None:
                traffic = (b.read_weights, b.read_activations, b.read_kv, b.write_activations, b.write_kv)
            elif ctx.kv_inputs or ctx.kv_outputs:
                traffic = tensor_traffic(zip(node.inputs, infos), writes, ctx.kv_inputs, ctx.kv_outputs)
            else:
                traffic = io_traffic(node.inputs, infos, writes)
            cost = _tuple(Cost, (cost.flops, cost.macs, cost.transcendentals, *traffic, cost.params))
            dt = ctx.compute_dtype.name if ctx.compute_dtype else dt
            row = (kind, NodeStatus.COSTED, cost, "", in_shapes, shapes_of(outs), dt, ctx.kernel)
        simple = not (fresh or aliases or made) and None not in vals
        plain, reads = simple and not resident, simple and bool(resident)
        weight = made == (0,) and len(vals) == 1 and fresh and not (retyped or aliases or resident or derive)
        fields = (vals, vkeys, fresh, tuple(retyped), aliases, resident, made, count, derive, plain, reads, weight, row)
        return _tuple(Outcome, fields)

    def costed_one(
        self,
        node: Node,
        kind: OpKind,
        ctx: NodeContext,
        infos: list[TensorInfo | None],
        compute: Cost | None,
        o: TensorInfo,
    ) -> Outcome:
        """outcome's most common case, without its branches: a costed node with one output
        `o`, no view, no KV cache, no traffic of its own."""
        cost = compute if isinstance(compute, Cost) else ZERO
        traffic = io_traffic(node.inputs, infos, ctx.outputs)
        cost = _tuple(Cost, (cost.flops, cost.macs, cost.transcendentals, *traffic, cost.params))
        if ctx.compute_dtype:
            dt: str | None = ctx.compute_dtype.name
        elif o.dtype is not None and o.dtype.kind in FLOAT_KINDS:
            dt = o.dtype.name
        else:
            dt = node_dtype(infos, ctx.outputs)
        in_shapes = shapes_of(infos)
        resident = self.resident(infos)
        row = (kind, NodeStatus.COSTED, cost, "", in_shapes, (o.shape,), dt, ctx.kernel)
        vkeys = (self.interner.key(input_key(o)),)
        fields = ((o,), vkeys, False, (), (), resident, (), 0, False, not resident, bool(resident), False, row)
        return _tuple(Outcome, fields)

    def resident(self, infos: list[TensorInfo | None]) -> tuple[tuple[int, Any, Any], ...]:
        """Outcome.resident: (input, bytes, elements if a float parameter) of each weight
        or buffer the node reads."""
        weights: list[tuple[int, Any, Any]] = []
        for k, i in enumerate(infos):
            if i is not None and i.role in RESIDENT:
                if i.shape is None or i.dtype is None:
                    weights.append((k, 0, None))
                    continue
                n = prod(i.shape)
                weights.append((k, i.dtype.nbytes(n), n if i.role is Role.WEIGHT and self.is_float(i) else None))
        return tuple(weights)

    def folded_outputs(
        self, values: Sequence[TensorInfo | None], retyped: list[int], kind: OpKind, infos: list[TensorInfo | None]
    ) -> tuple[tuple[int, ...], Any, bool]:
        """A folded node's float outputs of known shape (re-typed floats included), the
        elements among them that are new parameters, and whether they are derived from the
        node's resident inputs (see record)."""
        reads_float = any(i is not None and i.shape is not None and self.is_float(i) for i in infos)
        source = kind is OpKind.QUANTIZE or not reads_float
        made: list[int] = []
        total: Any = 0
        for k, info in enumerate(values):
            if info is None or info.shape is None or info.dtype is None:
                continue
            if info.dtype.kind not in FLOAT_KINDS and k not in retyped:
                continue
            made.append(k)
            if source:
                total = total + prod(info.shape)
        return tuple(made), total, not source

    def record(
        self,
        oc: Outcome,
        node: Node,
        name: str,
        prefix: str,
        infos: list[TensorInfo | None] | None,
        env: dict[str, TensorInfo],
    ) -> NodeCost:
        """The node's own record from a (possibly shared) outcome: its outputs in `env`, its
        views, the parameters it reads first, its name. `infos`: its inputs' values (None:
        read from `env` where needed; they are read before its outputs are set)."""
        if oc.plain:
            names = node.outputs
            env.update(zip(names, oc.values))  # type: ignore[arg-type]  # plain: no None among them
            self.keys.update(zip(names, oc.keys))
            covers = _covers(node, prefix) if node.covers else ()
            return _tuple(NodeCost, (name, node.op_type, node.domain, *oc.row, node.inputs, names, covers, *_ONCE))
        if oc.reads:  # as plain, with its own row (made before its outputs are set)
            names = node.outputs
            row = self.own_row(oc, node.inputs, env, node.repeat.count if node.repeat is not None else 1)
            env.update(zip(names, oc.values))  # type: ignore[arg-type]  # reads: no None among them
            self.keys.update(zip(names, oc.keys))
            covers = _covers(node, prefix) if node.covers else ()
            return _tuple(NodeCost, (name, node.op_type, node.domain, *row, node.inputs, names, covers, *_ONCE))
        if infos is None and oc.derive:
            infos = [env[x] if x else None for x in node.inputs]
        if oc.resident:  # before the outputs are set
            row = self.own_row(oc, node.inputs, env, node.repeat.count if node.repeat is not None else 1)
        else:
            row = oc.row
        names = node.outputs
        keys = self.keys
        if oc.fresh:  # a folded weight is a parameter, counted by identity: each node its own
            for oname, o, k in zip(names, oc.values, oc.keys):
                if o is not None:
                    env[oname] = _tuple(TensorInfo, o)
                    keys[oname] = k
            for k in oc.retyped:
                o = env[names[k]]
                self.deployed[id(o)] = o
        else:
            for oname, o, k in zip(names, oc.values, oc.keys):
                if o is not None:
                    env[oname] = o
                    keys[oname] = k
        if oc.aliases:
            ins = node.inputs
            for k, i in oc.aliases:
                self.aliases[names[k]] = ins[i]
        if oc.made:
            # A constant-folded float output is a parameter tensor of its own when it is
            # made from no float tensor (ConstantOfShape of a shape) or by dequantizing
            # (DequantizeLinear of an int8 initializer): `oc.count` holds their elements.
            # Anything else computed from floats (a transpose of a weight, a gathered
            # position-bias table) is derived from tensors already counted or that are no
            # parameters. Either way its elements are never counted again downstream.
            # A derived one keeps its resident sources (this node's inputs, or theirs).
            sources = self.resident_sources(infos) if oc.derive and infos is not None else ()
            for k in oc.made:
                o = env[names[k]]
                self.params_seen.add(id(o))
                if sources:
                    self.derived[id(o)] = (o, sources)
        return _tuple(
            NodeCost,
            (
                name,
                node.op_type,
                node.domain,
                *row,
                node.inputs,
                names,
                _covers(node, prefix) if node.covers else (),
                *_ONCE,
            ),
        )

    def own_row(self, oc: Outcome, ins: tuple[str, ...], env: dict[str, TensorInfo], copies: int) -> tuple[Any, ...]:
        """The outcome's row with this node's parameters: the float weights it is the first to
        read (each tensor counted once); a costed node also notes the weights a runtime keeps
        resident (`copies` of each for a node of a repeated block: each copy has its own)."""
        row = oc.row
        status = row[1]
        costed = status is NodeStatus.COSTED
        new: Any = 0
        seen, resident, derived = self.params_seen, self.runtime_weights, self.derived
        for k, nbytes, count in oc.resident:
            key = id(env[ins[k]])
            if costed:
                # a folded constant derived from weights keeps its sources resident
                d = derived.get(key) if derived else None
                if d is None:
                    if key not in resident:
                        resident[key] = nbytes * copies
                else:
                    for t in d[1]:
                        if id(t) not in resident:
                            resident[id(t)] = tensor_bytes(t) * copies
            if count is not None and key not in seen:
                seen.add(key)
                new = new + count
        if type(new) is not int:
            new = norm(new)
        elif not new and status is not NodeStatus.FOLDED:
            return row  # no parameter read first: the outcome's own row
        kind, _, cost, *rest = row
        if costed:
            cost = _tuple(Cost, cost[:8] + (cost.params + new,))  # params: its last field
        elif status is NodeStatus.FOLDED:
            # weights first read by the folded node (a transposed weight) count here
            params = norm(oc.count + new if kind is not OpKind.QUANTIZE else oc.count)
            cost = _params_cost(params) if params else ZERO
        else:
            cost = _params_cost(new)
        return (kind, status, cost, *rest)

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
            shapes_of(infos),
            (),
            node_dtype(infos, ()),
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
        return info.dtype is not None and (info.dtype.kind in FLOAT_KINDS or id(info) in self.deployed)

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
            if key in seen or info.dtype is None or (info.dtype.kind not in FLOAT_KINDS and key not in deployed):
                continue
            seen.add(key)
            total = total + prod(info.shape)
        return total if type(total) is int else norm(total)

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


def _repeated(nc: NodeCost, rep: Repeat) -> NodeCost:
    """A node of a repeated block: its costs (parameters included: each copy has its own
    weights) times the copies, which it records."""
    c, r = nc.cost, rep.count
    cost = c if c is ZERO else _tuple(Cost, tuple(norm(x * r) for x in c))
    return nc._replace(cost=cost, repeat=r, block=rep.block)


def _covers(node: Node, prefix: str) -> tuple[str, ...]:
    """The exported nodes a rewritten node stands for, named as the analysis names them."""
    if not node.covers:
        return ()
    return tuple(prefix + c for c in node.covers) if prefix else node.covers


def _is_small(shape: Shape) -> bool:
    n = prod(shape)
    return type(n) is int and n <= _SMALL


def analyze_graph(
    graph: Graph,
    *,
    bindings: Mapping[str, int] | None = None,
    dtype: DType | None = None,
    strict: bool = False,
    registry: _registry.Registry | None = None,
    limits: Limits | None = None,
    runtime: Runtime | str | None = None,
    memo: bool = True,
) -> GraphCost:
    """Cost every node of `graph`. With a `runtime` (a name of passes/runtimes.py or a
    Runtime), the nodes are the kernels that runtime launches: the graph is analysed,
    rewritten by the runtime's passes from what the analysis found, and the rewritten
    graph analysed; FLOPs and parameters are the same, bytes and kernels are the
    runtime's, and each node `covers` the graph nodes it runs. `memo=False` runs every
    node's rule even where an earlier node had the same signature (ops/memo.py): the
    result is the same, only slower."""
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
    gc = _analyze(graph, reg, dtype, strict, lim, binds, memo)
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
        gc = _analyze(rewritten, reg, dtype, strict, lim, binds, memo)
    return replace(gc, runtime=rt.name)


def _analyze(
    graph: Graph,
    reg: _registry.Registry,
    dtype: DType | None,
    strict: bool,
    lim: Limits,
    bindings: dict[str, int],
    memo: bool = True,
) -> GraphCost:
    an = _Analyzer(reg, dtype, strict, lim, bindings, memo)
    with gc_paused():
        nodes, uns, env, peak = an.run(graph)
        total = sum_costs(map(_cost_of, nodes))
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


__all__ = ["GraphCost", "NodeCost", "NodeStatus", "Unsupported", "analyze_graph", "clear_memo"]
