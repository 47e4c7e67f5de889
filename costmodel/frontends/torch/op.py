"""One traced op → rows: `_Op` reads a traced node's arguments, runs ONNX rules on
TensorInfos, and emits NodeCost rows (one per kernel) into its walker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...analysis import NodeCost, Unsupported
from ...errors import CostModelError, UnsupportedOpError
from ...ir.dtypes import FP32
from ...ir.graph import Node, Role, TensorInfo
from ...ops import registry as R
from ...ops.context import NodeContext, UnknownShape
from ...ops.cost import ZERO, Cost
from ...symbolic import norm, prod
from .base import OPSET
from .values import (
    _V,
    _const,
    _contiguous,
    _is_tensor,
    _list_tensors,
    _node_key,
    _row_dtype,
    _sum,
    _tensor_info,
    _vname,
    const_info,
)

if TYPE_CHECKING:
    from .walker import _Walker


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
    def rule(
        self, op_type: str, infos: list, attrs: Mapping[str, Any] | None = None, domain: str = "", n_out: int = 1
    ) -> tuple[Cost, NodeContext, Any]:
        opdef = self.w.reg.lookup(domain, op_type, OPSET)
        if opdef is None:
            raise CostModelError(f"no rule for {domain or 'ai.onnx'}::{op_type}")
        node = Node(
            self.base,
            op_type,
            domain,
            tuple(f"i{k}" if x is not None else "" for k, x in enumerate(infos)),
            tuple(f"o{k}" for k in range(n_out)),
            dict(attrs or {}),
        )
        ctx = NodeContext(node, list(infos), OPSET, None, self.w.dtype, self.w.lim)
        cost = opdef.rule(ctx)
        return (cost if isinstance(cost, Cost) else ZERO), ctx, opdef

    # -- rows -----------------------------------------------------------------------------
    def emit(
        self,
        op_type: str,
        kind: str,
        cost: Cost,
        *,
        domain: str = "",
        kernel: Any = None,
        reads: list | None = None,
        writes: list | None = None,
        byte_cost: Cost | None = None,
        suffix: str = "",
        out_shapes: tuple | None = None,
        status: str = "costed",
        reason: str = "",
    ) -> None:
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
                for x in _list_tensors(v):
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
        cost = Cost(
            cost.flops,
            cost.macs,
            cost.transcendentals,
            traffic.read_weights,
            traffic.read_activations,
            traffic.read_kv,
            traffic.write_activations,
            traffic.write_kv,
            norm(params),
        )
        out_names = [f"{self.base}{suffix}"] if suffix else [_vname(o) for o in self.outs if _is_tensor(o)]
        dt = _row_dtype([i for _, i in reads], writes)
        self.rows.append(
            NodeCost(
                self.base + suffix,
                op_type,
                domain,
                kind,
                status,
                cost,
                reason,
                tuple(in_shapes),
                out_shapes if out_shapes is not None else tuple(i.shape for i in writes),
                dt,
                kernel,
                tuple(in_names),
                tuple(out_names),
            )
        )
        if status == "costed":
            self.macs += int(cost.macs) if type(cost.macs) is int else 0

    def run(
        self,
        op_type: str,
        infos: list,
        attrs: Mapping[str, Any] | None = None,
        domain: str = "",
        n_out: int = 1,
        extra: Cost = ZERO,
        use_rule_bytes: bool = False,
        **kw: Any,
    ) -> NodeContext:
        """Cost one kernel with one rule on `infos` (default traffic: the node's own tensors)."""
        cost, ctx, opdef = self.rule(op_type, infos, attrs, domain, n_out)
        if opdef.zero is not None:
            self.view(reason=opdef.zero)
            return ctx
        self.emit(
            op_type,
            opdef.kind,
            cost + extra,
            domain=domain,
            kernel=ctx.kernel,
            byte_cost=ctx.bytes_override if use_rule_bytes else None,
            **kw,
        )
        return ctx

    def steps(self, op_type: str, kind: str, steps: list[tuple], hints_from: int = 0, **kw: Any) -> list:
        """One kernel whose arithmetic is several ONNX ops (an export's decomposition):
        steps = [(op_type, infos, attrs)], where an info may be ("out", j) for step j's
        output. Costs add; traffic is the node's own inputs and outputs (fused)."""
        total: list[Cost] = []
        outs: list[TensorInfo | None] = []
        kernel: Any = None
        for j, (t, infos, attrs) in enumerate(steps):
            infos = [outs[x[1]] if isinstance(x, tuple) and x and x[0] == "out" else x for x in infos]
            cost, ctx, _ = self.rule(t, infos, attrs)
            total.append(cost)
            outs.append(ctx.outputs[0])
            if j == hints_from:
                kernel = ctx.kernel
        self.emit(op_type, kind, _sum(total), kernel=kernel, **kw)
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
        self.emit(
            "View",
            R.VIEW,
            ZERO,
            domain="costmodel",
            status="zero",
            reason=reason,
            reads=[(src, src.info)] if src is not None else [],
            writes=[],
        )

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
