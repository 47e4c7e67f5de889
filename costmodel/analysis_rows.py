"""A node's own record (NodeCost) from its outcome, which nodes of one signature share:
its outputs in the environment, its views, the parameters it is the first to read, the
weights a runtime keeps resident; and the record of a node the analysis cannot cost. A
mixin of the analysis (analysis._Analyzer), apart for its size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .analysis_memo import Outcome
from .analysis_outcome import params_cost
from .analysis_records import FLOAT_KINDS, NodeCost, NodeStatus, node_dtype, shapes_of
from .analysis_records import new_tuple as _tuple
from .errors import UnsupportedOpError
from .ir.dtypes import DType
from .ir.graph import Node, Repeat, Role, TensorInfo, tensor_bytes
from .ops.context import Unsupported
from .ops.cost import ZERO, Cost
from .ops.registry import OpKind
from .ops.traffic import RESIDENT
from .passes.bind import bind_shape, retype
from .symbolic import Shape, norm, prod

ONCE = (1, "")  # NodeCost's repeat and block: a node that runs once


class Rows:
    """record() and the parameter bookkeeping; the state is the analysis's (analysis.py)."""

    dtype: DType | None
    strict: bool
    bindings: dict[str, int]
    keys: dict[str, Any]
    params_seen: set[int]
    deployed: dict[int, TensorInfo]
    runtime_weights: dict[int, Any]
    derived: dict[int, tuple[TensorInfo, tuple[TensorInfo, ...]]]
    aliases: dict[str, str]

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
            covers = covers_of(node, prefix) if node.covers else ()
            return _tuple(NodeCost, (name, node.op_type, node.domain, *oc.row, node.inputs, names, covers, *ONCE))
        if oc.reads:  # as plain, with its own row (made before its outputs are set)
            names = node.outputs
            row = self.own_row(oc, node.inputs, env, node.repeat.count if node.repeat is not None else 1)
            env.update(zip(names, oc.values))  # type: ignore[arg-type]  # reads: no None among them
            self.keys.update(zip(names, oc.keys))
            covers = covers_of(node, prefix) if node.covers else ()
            return _tuple(NodeCost, (name, node.op_type, node.domain, *row, node.inputs, names, covers, *ONCE))
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
                covers_of(node, prefix) if node.covers else (),
                *ONCE,
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
            cost = params_cost(params) if params else ZERO
        else:
            cost = params_cost(new)
        return (kind, status, cost, *rest)

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
        return NodeCost(
            name,
            node.op_type,
            node.domain,
            kind,
            NodeStatus.UNSUPPORTED,
            params_cost(self.new_params(node, infos)),
            reason,
            shapes_of(infos),
            (),
            node_dtype(infos, ()),
            None,
            node.inputs,
            node.outputs,
            covers_of(node, name[: len(name) - len(node.name)]),
            1,
            "",
        )

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


def repeated_cost(nc: NodeCost, rep: Repeat) -> NodeCost:
    """A node of a repeated block: its costs (parameters included: each copy has its own
    weights) times the copies, which it records."""
    c, r = nc.cost, rep.count
    cost = c if c is ZERO else _tuple(Cost, tuple(norm(x * r) for x in c))
    return nc._replace(cost=cost, repeat=r, block=rep.block)


def covers_of(node: Node, prefix: str) -> tuple[str, ...]:
    """The exported nodes a rewritten node stands for, named as the analysis names them."""
    if not node.covers:
        return ()
    return tuple(prefix + c for c in node.covers) if prefix else node.covers
