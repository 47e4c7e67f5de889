"""GraphCost: one pass in topological order that infers types, folds constants and costs
every node; rollups by op type and scope; the unsupported list; peak live activations
(passes/liveness.py). Every front end's graph is costed here and only here.

Unknown is never zero: a node without a rule, whose rule cannot resolve its shapes, or
that its front end could not translate, is listed in `unsupported` (and raises under
strict=True); it is never silently costed 0.

The analysis is one class in three modules: this one walks the graph (environment, the
memo's look-up and hits, rule calls, subgraphs); analysis_outcome.py makes the outcome of
a rule that nodes of one signature share; analysis_rows.py makes each node's own record
from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from operator import attrgetter
from time import monotonic
from typing import Any

import numpy as np

from .errors import BindingError, CostModelError, did_you_mean, name_list
from .ir.dtypes import DType
from .ir.graph import Graph, Node, Role, TensorInfo
from .limits import Limits, gc_paused
from .ops import registry as _registry
from .ops.context import NodeContext, SubgraphResult, SubgraphRunner, UnknownShape, Unsupported
from .ops.memo import Interner, input_key
from .ops.registry import OpDef, OpKind
from .passes.bind import bind_shape, retype
from .passes.liveness import peak_live_bytes
from .passes.rewrite import Facts, NodeFacts
from .passes.rewrite import run as run_rewrites
from .passes.runtimes import Runtime, get_runtime
from .analysis_memo import Outcome, clear_memo, shared_memo
from .analysis_outcome import DEPLOYED, Outcomes
from .analysis_rows import ONCE, Rows, covers_of, repeated_cost
from .analysis_records import FLOAT_KINDS, GraphCost, NodeCost, NodeStatus, sum_costs
from .analysis_records import new_tuple as _tuple
from .symbolic import Shape, add_all, norm, prod


def _no_subgraphs(g: Graph, inputs: Sequence[TensorInfo | None]) -> SubgraphResult:
    """The subgraph runner of a node without subgraphs (rules look a subgraph up first)."""
    raise UnknownShape("the node has no subgraphs")


_cost_of = attrgetter("cost")


class _Analyzer(Outcomes, Rows):
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
        return self.interner.key((DEPLOYED, k) if self.deployed and id(info) in self.deployed else k)

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
                        covers = covers_of(node, prefix) if node.covers else ()
                        if hit.plain:  # record's first case, inline: most repeated nodes are plain
                            env.update(zip(outs, hit.values))  # type: ignore[arg-type]  # plain: no None
                            keys.update(zip(outs, hit.keys))
                            nc = _tuple(NodeCost, (name, node.op_type, node.domain, *hit.row, ins, outs, covers, *ONCE))
                        elif hit.weight:  # record's fresh case, inline: the model-zoo graphs' weights
                            o = env[outs[0]] = _tuple(TensorInfo, hit.values[0])  # type: ignore[arg-type]  # set
                            keys[outs[0]] = hit.keys[0]
                            self.params_seen.add(id(o))
                            nc = _tuple(NodeCost, (name, node.op_type, node.domain, *hit.row, ins, outs, covers, *ONCE))
                        elif hit.reads:  # record's second case, inline: a CNN's convs and norms
                            row = self.own_row(hit, ins, env, node.repeat.count if node.repeat is not None else 1)
                            env.update(zip(outs, hit.values))  # type: ignore[arg-type]  # reads: no None
                            keys.update(zip(outs, hit.keys))
                            nc = _tuple(NodeCost, (name, node.op_type, node.domain, *row, ins, outs, covers, *ONCE))
                        else:
                            nc = self.record(hit, node, name, prefix, None, env)
                        append(nc if node.repeat is None else repeated_cost(nc, node.repeat))
                        continue
            nc = cost_node(node, found, sig, env, unsupported, prefix, declared)
            append(nc if node.repeat is None else repeated_cost(nc, node.repeat))
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
