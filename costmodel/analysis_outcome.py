"""The outcome of a node's rule: what the analysis keeps of it for every node of the same
signature (analysis_memo.Outcome): its output values and their keys, its row (kind,
status, cost, shapes, dtype, kernel), the weights it reads, the parameters a folded
constant makes. A mixin of the analysis (analysis._Analyzer), apart for its size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .analysis_memo import Outcome
from .analysis_records import FLOAT_KINDS, NodeStatus, node_dtype, shapes_of
from .analysis_records import new_tuple as _tuple
from .ir.dtypes import DType
from .ir.graph import Node, Role, TensorInfo
from .ops.context import NodeContext
from .ops.cost import ZERO, Cost
from .ops.memo import Interner, input_key
from .ops.registry import OpDef, OpKind
from .ops.traffic import RESIDENT, io_traffic, tensor_traffic
from .symbolic import Shape, norm, prod

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

DEPLOYED = object()  # marks the input_key of a float re-typed to the deployment dtype


def params_cost(params: Any) -> Cost:
    return Cost(0, 0, 0, 0, 0, 0, 0, 0, params)


NO_PARAMS = params_cost(0)


def _is_small(shape: Shape) -> bool:
    n = prod(shape)
    return type(n) is int and n <= _SMALL


class Outcomes:
    """outcome() and its helpers; the state they read is the analysis's (analysis.py)."""

    dtype: DType | None
    int_deploy: bool
    deployed: dict[int, TensorInfo]
    interner: Interner

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
                key(input_key(v) if k not in retyped else (DEPLOYED, input_key(v))) for k, v in enumerate(vals)
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
                params_cost(params) if params else ZERO,
                "constant-folded: every input is a constant",
                in_shapes,
                shapes_of([o for o in values if o is not None]),
                dt,
                None,
            )
        elif opdef.zero is not None:
            dt = ctx.compute_dtype.name if ctx.compute_dtype else dt
            row = (kind, NodeStatus.ZERO, NO_PARAMS, opdef.zero, in_shapes, shapes_of(outs), dt, ctx.kernel)
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

    def deployed_output(self, o: TensorInfo, k: int, retyped: tuple[int, ...], infos: list[TensorInfo | None]) -> bool:
        """A folded output in the integer deployment dtype that is a float re-typed (a
        ConstantOfShape of a float value) or computed from one (a transposed weight)."""
        if o.dtype is not self.dtype:
            return False
        return k in retyped or any(i is not None and id(i) in self.deployed for i in infos)

    def is_float(self, info: TensorInfo) -> bool:
        """A float tensor, or one re-typed from float to the integer deployment dtype."""
        return info.dtype is not None and (info.dtype.kind in FLOAT_KINDS or id(info) in self.deployed)
