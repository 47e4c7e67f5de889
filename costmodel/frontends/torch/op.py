"""One traced op -> IR nodes: `_Op` reads a traced node's arguments and emits the ONNX
(or `costmodel`-domain) nodes an export would hold for it, into its walker's graph. It
never costs anything: the analysis runs the nodes' rules."""

from __future__ import annotations

from ...symbolic import Shape

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ...ir.dtypes import BOOL, FP32, INT64, DType
from ...ir.graph import Graph, Node, TensorInfo
from .base import OPSET, UntranslatableOp
from .values import JitNode, JitValue, _const, _contiguous, _is_tensor, _list_tensors, _strides_perm, _V, _vname


class Builder(Protocol):
    """What a translation needs of the walk that builds the graph (walker.py)."""

    names: Counter[str]
    list_base: dict[int, str]
    causal: str

    def get(self, v: JitValue) -> _V: ...
    def traced(self, v: JitValue) -> TensorInfo: ...
    def constant(self, data: np.ndarray, dt: DType) -> str: ...
    def stored(self, shape: tuple[int, ...], dt: DType) -> str: ...
    def add(self, node: Node) -> None: ...


def shape_attr(info: TensorInfo) -> list[int] | None:
    return list(info.shape) if info.shape is not None else None


class _Op:
    """Translation of one traced node: helpers to read its arguments and to emit the IR
    nodes that stand for it (named after its module scope and aten op)."""

    def __init__(self, w: Builder, node: JitNode, kind: str, scope: str) -> None:
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
        self.emitted: list[str] = []

    # -- arguments ------------------------------------------------------------------------
    def v(self, i: int) -> JitValue | None:
        return self.ins[i] if i < len(self.ins) else None

    def is_none(self, i: int) -> bool:
        v = self.v(i)
        return v is None or v.type().kind() == "NoneType"

    def tensor(self, i: int) -> bool:
        v = self.v(i)
        return v is not None and _is_tensor(v)

    def info(self, i: int) -> TensorInfo:
        """The traced type of tensor input i."""
        if not self.tensor(i):
            raise UntranslatableOp(f"input {i} is not a tensor")
        return self.w.get(self.ins[i]).info

    def shape(self, i: int) -> Shape:
        s = self.info(i).shape
        if s is None:
            raise UntranslatableOp(f"shape of input {i} unknown")
        return s

    def val(self, i: int) -> str:
        """The IR value of tensor input i."""
        if not self.tensor(i):
            raise UntranslatableOp(f"input {i} is not a tensor")
        return self.w.get(self.ins[i]).name

    def opt(self, i: int) -> str | None:
        """The IR value of optional tensor input i (None when absent)."""
        return None if self.is_none(i) else self.val(i)

    def name_of(self, v: JitValue) -> str:
        return self.w.get(v).name

    def info_of(self, v: JitValue) -> TensorInfo:
        return self.w.get(v).info

    def out_info(self, k: int = 0) -> TensorInfo:
        return self.w.traced(self.outs[k])

    def out_shape(self, k: int = 0) -> Shape:
        s = self.out_info(k).shape
        if s is None:
            raise UntranslatableOp(f"shape of output {k} unknown")
        return s

    def const(self, i: int, default: Any = None) -> Any:
        v = self.v(i)
        if v is None:
            return default
        c = _const(v)
        return default if c is None else c

    def list_values(self, i: int) -> list[JitValue]:
        """Tensor values of a Tensor[] argument (prim::ListConstruct)."""
        v = self.v(i)
        if v is None or v.node().kind() != "prim::ListConstruct":
            raise UntranslatableOp(f"input {i} is not a literal tensor list")
        return list(v.node().inputs())

    def all_tensor_inputs(self) -> list[str]:
        """The node's tensor inputs, then the tensors inside its Tensor[] arguments."""
        names = [self.w.get(v).name for v in self.ins if _is_tensor(v)]
        for v in self.ins:
            names += [self.w.get(x).name for x in _list_tensors(v)]
        return names

    # -- values ---------------------------------------------------------------------------
    def constant(self, value: Any, dt: DType = FP32) -> str:
        """A known constant (0-d for a number, 1-d int64 for a list of ints)."""
        if isinstance(value, (list, tuple)):
            return self.w.constant(np.array([int(x) for x in value], dtype=np.int64), INT64)
        if isinstance(value, bool):
            return self.w.constant(np.asarray(value), BOOL)
        if isinstance(value, int) and not dt.is_float:
            return self.w.constant(np.asarray(value, dtype=np.int64), dt)
        return self.w.constant(np.asarray(float(value) if value is not None else 0.0), dt)

    def scalar(self, i: int, like: TensorInfo | None = None) -> str:
        """Tensor input i as it is; a Python number as a 0-d constant of `like`'s dtype."""
        if self.tensor(i):
            return self.val(i)
        dt = like.dtype if like is not None and like.dtype is not None else FP32
        return self.constant(self.const(i, 0), dt)

    def tmp(self, label: str) -> str:
        """A fresh IR value name for an intermediate of this op."""
        return f"{self.base}/{label}"

    def out_names(self) -> list[str]:
        """IR names of the traced node's tensor outputs (defined by what this op emits)."""
        return [_vname(o) for o in self.outs if _is_tensor(o)]

    # -- nodes ----------------------------------------------------------------------------
    def emit(
        self,
        op_type: str,
        inputs: Sequence[str | None],
        attrs: Mapping[str, Any] | None = None,
        *,
        domain: str = "",
        outputs: Sequence[str] | None = None,
        subgraphs: Mapping[str, Graph] | None = None,
        suffix: str = "",
        untranslated: str = "",
    ) -> tuple[str, ...]:
        """One IR node; outputs default to the traced node's tensor outputs."""
        name = self.base + suffix
        if name in self.emitted:
            name = f"{name}/{len(self.emitted)}"
        outs = tuple(outputs) if outputs is not None else tuple(self.out_names())
        self.w.add(
            Node(
                name,
                op_type,
                domain,
                tuple(x or "" for x in inputs),
                outs,
                dict(attrs or {}),
                dict(subgraphs or {}),
                untranslated,
            )
        )
        self.emitted.append(name)
        return outs

    def run(
        self,
        op_type: str,
        inputs: Sequence[str | None],
        attrs: Mapping[str, Any] | None = None,
        domain: str = "",
        n_out: int | None = None,
    ) -> tuple[str, ...]:
        """One ONNX op whose outputs are the traced outputs (the first `n_out`, the rest of
        the op's outputs left unused)."""
        outs = self.out_names()
        if n_out is not None:
            outs = outs[:n_out]
        return self.emit(op_type, inputs, attrs, domain=domain, outputs=outs)

    def alias(self, src: str, outputs: Sequence[str], infos: Sequence[TensorInfo], suffix: str = "") -> None:
        """Views of `src` with the given types."""
        self.emit(
            "Alias",
            [src],
            {"shapes": [shape_attr(i) for i in infos], "dtypes": [_dt(i) for i in infos]},
            domain="costmodel",
            outputs=outputs,
            suffix=suffix,
        )

    def view(self) -> None:
        """The traced node is a view of its first tensor input."""
        src = next((v for v in self.ins if _is_tensor(v)), None)
        outs = [o for o in self.outs if _is_tensor(o)]
        if src is None:
            raise UntranslatableOp("a view of no tensor")
        if not outs:
            for o in self.outs:  # unbind / chunk / split: a list of views, unpacked later
                self.w.list_base[o.unique()] = self.w.get(src).name
            return
        self.alias(self.w.get(src).name, [_vname(o) for o in outs], [self.w.traced(o) for o in outs])

    def reshape(self) -> None:
        """A view of a contiguous input; a copy of a strided one (PyTorch lays it out
        again): as an export, a Transpose to the input's memory order, then a view."""
        if not self.tensor(0):
            raise UntranslatableOp("reshape of a non-tensor")
        t = self.ins[0].type()
        perm = _strides_perm(t)
        if _contiguous(t) or not _contiguous(self.outs[0].type()) or perm is None:
            self.view()
            return
        x = self.info(0)
        assert x.shape is not None  # a strided input has known sizes (perm is not None)
        permuted = self.emit("Transpose", [self.val(0)], {"perm": list(perm)}, outputs=[self.tmp("contiguous")])
        self.alias(permuted[0], self.out_names(), [self.out_info(0)], suffix="/view")

    def copy(self, inputs: Sequence[str], *, strided: bool = False) -> None:
        """A data-movement kernel: reads `inputs`, writes the traced outputs."""
        self.copy_like("Copy", inputs, {"strided": int(strided)})

    def copy_like(self, op_type: str, inputs: Sequence[str], attrs: Mapping[str, Any] | None = None) -> None:
        """A `costmodel` op told its output types (the traced outputs) by attributes."""
        infos = [self.w.traced(o) for o in self.outs if _is_tensor(o)]
        types = {"shapes": [shape_attr(i) for i in infos], "dtypes": [_dt(i) for i in infos]}
        self.emit(op_type, inputs, {**types, **(attrs or {})}, domain="costmodel")

    def factory(
        self,
        op_type: str = "Fill",
        *,
        outputs: Sequence[str] | None = None,
        infos: Sequence[TensorInfo] | None = None,
        suffix: str = "",
    ) -> None:
        """A tensor made in the forward (zeros, arange, rand: Fill; empty: Empty); by
        default the traced outputs."""
        if infos is None:
            infos = [self.w.traced(o) for o in self.outs if _is_tensor(o)]
        self.emit(
            op_type,
            [],
            {"shapes": [shape_attr(i) for i in infos], "dtypes": [_dt(i) for i in infos]},
            domain="costmodel",
            outputs=outputs,
            suffix=suffix,
        )

    def fused(
        self,
        op_type: str,
        inputs: Sequence[str | None],
        steps: Sequence[tuple[str, Sequence[Any], Mapping[str, Any] | None]],
        *,
        outputs_from: Sequence[int] | None = None,
        principal: int = 0,
    ) -> None:
        """One kernel (FusedElementwise / FusedContraction / FusedReduction) whose
        arithmetic is several ONNX ops, as an export writes them: `steps` are
        (op_type, inputs, attrs) where an input is ("in", k) for the kernel's input k,
        ("out", j) for step j's output, a value name (a constant), or None. The kernel's
        outputs are the outputs of steps `outputs_from` (default: the last step)."""
        b = self.base
        body_inputs = [f"{b}/in{k}" for k in range(len(inputs))]
        nodes: list[Node] = []
        for j, (t, args, attrs) in enumerate(steps):
            names: list[str] = []
            for a in args:
                if a is None:
                    names.append("")
                elif isinstance(a, tuple) and a[0] == "in":
                    names.append(body_inputs[a[1]])
                elif isinstance(a, tuple) and a[0] == "out":
                    names.append(f"{b}/s{a[1]}")
                else:
                    names.append(a)  # a constant of the graph (the body sees the outer scope)
            domain, _, op = t.rpartition("::")
            nodes.append(Node(f"{op.lower()}{j}", op, domain, tuple(names), (f"{b}/s{j}",), dict(attrs or {})))
        last = outputs_from if outputs_from is not None else [len(steps) - 1]
        body = Graph(
            f"{b}/body",
            nodes,
            [x for x, v in zip(body_inputs, inputs) if v],
            [f"{b}/s{j}" for j in last],
            {},
            {},
            {"": OPSET, "costmodel": 1},
        )
        self.emit(
            op_type,
            [v for v in inputs if v],
            {"principal": principal},
            domain="costmodel",
            subgraphs={"body": body},
        )


def _dt(info: TensorInfo) -> str | None:
    return info.dtype.name if info.dtype is not None else None
