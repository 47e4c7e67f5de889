"""What a rule sees of one node (input types, attributes, known values) and the typed
setters through which it says more than its compute `Cost`: output types, the kernel
record the engine times (`set_kernel`), outputs that share an input's storage
(`alias`), a node that must never fold (`never_fold`), unsupported nodes found in its
subgraphs (`report_unsupported`) and, rarely, its own memory traffic (`bytes_override`,
built with `traffic`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from ..errors import ShapeError
from ..ir.dtypes import FP32, DType
from ..ir.graph import Graph, Node, Role, TensorInfo
from ..limits import Limits
from ..passes.bind import RETYPABLE
from ..symbolic import norm, prod, Shape
from .cost import Cost
from .kernel import Kernel
from .traffic import tensor_traffic


_tuple = tuple.__new__  # a named tuple from a tuple of its fields


class UnknownShape(Exception):
    """A rule needs a shape or value that inference could not determine."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsupported:
    """A node without a cost: no rule, shapes a rule could not resolve, or a node the
    front end could not translate. Listed in every result and report."""

    name: str
    op_type: str
    domain: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op_type": self.op_type, "domain": self.domain or "ai.onnx", "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class SubgraphResult:
    """A subgraph analysed by the analysis that runs the rule: its total cost, its output
    types, what it could not cost, and the kernel record of each of its nodes in order."""

    cost: Cost
    outputs: tuple[TensorInfo | None, ...]
    unsupported: tuple[Unsupported, ...]
    kernels: tuple[Kernel | None, ...]


SubgraphRunner = Callable[[Graph, Sequence[TensorInfo | None]], SubgraphResult]

_MISSING = object()
_INT_ONLY = {int}


class NodeContext:
    # What a rule may set, at its default: set on an instance only by the rules that
    # need it (a rule miss makes one context; most set none of these).
    kernel: Kernel | None = None
    no_fold = False
    nested_unsupported: tuple[Unsupported, ...] = ()
    aliases: dict[int, int] | None = None
    bytes_override: Cost | None = None
    compute_dtype: DType | None = None  # the node's math dtype when not its output's
    kv_inputs: tuple[int, ...] = ()
    kv_outputs: tuple[int, ...] = ()
    retyped: tuple[int, ...] = ()  # outputs whose float dtype became dtype_override
    named = False

    def __init__(
        self,
        node: Node,
        inputs: list[TensorInfo | None],
        opset: int,
        subgraph_runner: SubgraphRunner | None = None,
        dtype_override: DType | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.node = node
        self.opset = opset
        self.attrs = node.attrs
        self.inputs = inputs
        self.outputs: list[TensorInfo | None] = [None] * len(node.outputs)
        self.subgraph_runner = subgraph_runner
        self.dtype_override = dtype_override
        self.limits = limits

    # -- errors ---------------------------------------------------------------------
    @property
    def where(self) -> str:
        n = self.node
        return f"node {n.name!r} ({n.op_type})" if n.name else f"node {n.op_type}"

    def node_name(self) -> str:
        """The node's name, for a symbol named after it (a size known only at run time). A
        result that reads the name is this node's own: the analysis never shares it with
        another node of the same signature."""
        self.named = True
        return self.node.name

    def fail(self, message: str) -> ShapeError:
        return ShapeError(message, where=self.where)

    # -- attributes -----------------------------------------------------------------
    def attr(self, name: str, default: Any = _MISSING) -> Any:
        v = self.attrs.get(name, _MISSING)
        if v is _MISSING:
            if default is _MISSING:
                raise self.fail(f"missing required attribute {name!r}")
            return default
        return v

    # -- inputs ---------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    def has(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] is not None

    def info(self, i: int) -> TensorInfo:
        info = self.inputs[i] if i < len(self.inputs) else None
        if info is None:
            raise self.fail(f"input {i} is required")
        return info

    def shape(self, i: int) -> Shape:
        s = self.info(i).shape
        if s is None:
            raise UnknownShape(f"shape of input {i} unknown")
        return s

    def rank(self, i: int) -> int:
        return len(self.shape(i))

    def dtype(self, i: int) -> DType:
        d = self.info(i).dtype
        return d if d is not None else FP32

    def numel(self, i: int) -> Any:
        return prod(self.shape(i))

    def data(self, i: int) -> np.ndarray | None:
        info = self.inputs[i] if i < len(self.inputs) else None
        return None if info is None else info.data

    @overload
    def ints(self, i: int) -> Shape: ...
    @overload
    def ints(self, i: int, *, required: bool) -> Shape | None: ...
    def ints(self, i: int, *, required: bool = True) -> Shape | None:
        """Content of a small integer input (shape, axes, pads) as a flat tuple; None for
        an unknown or absent input when not `required`."""
        d = self.data(i)
        if d is None:
            if required:
                raise UnknownShape(f"value of input {i} unknown" if self.has(i) else f"input {i} absent")
            return None
        flat = np.asarray(d).reshape(-1)
        if flat.dtype != object:  # tolist() already yields Python ints / floats
            return tuple(flat.tolist())
        return tuple(norm(x) if not isinstance(x, (np.integer, np.floating)) else int(x) for x in flat.tolist())

    def scalar(self, i: int) -> Any:
        d = self.data(i)
        if d is None:
            return None
        flat = np.asarray(d).reshape(-1)
        return flat[0].item() if hasattr(flat[0], "item") else flat[0]

    def is_const(self, i: int) -> bool:
        info = self.inputs[i] if i < len(self.inputs) else None
        return info is not None and info.const

    # -- outputs --------------------------------------------------------------------
    def set_output(self, i: int, dtype: DType | None, shape: Shape | None, data: Any = None) -> None:
        if i >= len(self.outputs):
            return
        symbolic = False
        if shape is not None:
            shape = tuple(shape)
            if {*map(type, shape)} == _INT_ONLY:  # in C: the common case, every dim an int
                if min(shape) < 0:
                    raise self.fail(f"output {i} would have a negative dimension {shape}")
            else:
                for d in shape:
                    if type(d) is not int:
                        symbolic = True
                    elif d < 0:
                        raise self.fail(f"output {i} would have a negative dimension {shape}")
        if self.dtype_override is not None and dtype is not None and dtype.name in RETYPABLE:
            if dtype is not self.dtype_override:
                self.retyped += (i,)
            dtype = self.dtype_override
        if symbolic and shape is not None and self.limits is not None:  # int dims are within the limits
            self.limits.check_shape(shape, self.where)
        if data is not None and not isinstance(data, np.ndarray):
            if isinstance(data, (float, np.floating)):
                data = np.asarray(data)
            else:
                box = np.empty((), dtype=object)
                box[()] = norm(int(data)) if isinstance(data, (np.integer, bool, np.bool_)) else data
                data = box
        self.outputs[i] = _tuple(TensorInfo, (dtype, shape, Role.ACTIVATION, data, False))  # made in C

    def same_as(self, i: int = 0, out: int = 0, dtype: DType | None = None) -> Shape:
        s = self.shape(i)
        self.set_output(out, dtype or self.info(i).dtype, s)
        return s

    def out_shape(self, i: int = 0) -> Shape:
        o = self.outputs[i]
        if o is None or o.shape is None:
            raise UnknownShape(f"shape of output {i} unknown")
        return o.shape

    def out_numel(self, i: int = 0) -> Any:
        return prod(self.out_shape(i))

    # -- what the rule says beyond its compute cost -------------------------------------
    def set_kernel(self, kernel: Kernel) -> None:
        """The kernel record the engine times this node with."""
        self.kernel = kernel

    def set_compute_dtype(self, dtype: DType) -> None:
        """The dtype the kernel computes in when it is not the output's: a quantized GEMM
        multiplies fp8 inputs and writes 16-bit results (cuBLASLt scaled matmul)."""
        self.compute_dtype = dtype

    def never_fold(self) -> None:
        """The node runs at every call even when its inputs are constants (random numbers,
        a loop body with side effects): it is never constant-folded."""
        self.no_fold = True

    def alias(self, output: int, input: int) -> None:
        """Output `output` shares the storage of input `input` (a view): it allocates
        nothing, and keeps the input alive while it is used."""
        if self.aliases is None:
            self.aliases = {}
        self.aliases[output] = input

    def report_unsupported(self, items: Iterable[Unsupported]) -> None:
        """Unsupported nodes found inside this node's subgraphs (listed at top level)."""
        seen = {(u.name, u.reason) for u in self.nested_unsupported}
        new = []
        for u in items:
            if (u.name, u.reason) not in seen:
                seen.add((u.name, u.reason))
                new.append(u)
        self.nested_unsupported += tuple(new)

    def traffic(self, reads: Iterable[int], kv_read: Any = 0, kv_write: Any = 0, writes: Iterable[int] = (0,)) -> Cost:
        """Bytes of the inputs in `reads` (by role, each tensor once), the given KV bytes,
        and the outputs in `writes` that the graph uses: for `bytes_override`."""
        names = self.node.inputs
        ins = [(names[i], self.inputs[i]) for i in reads if i < len(self.inputs) and self.inputs[i] is not None]
        outs = [self.outputs[k] for k in writes if k < len(self.outputs) and self.node.outputs[k] and self.outputs[k]]
        rw, ra, _, wa, _ = tensor_traffic(ins, outs)
        return Cost(
            read_weights=rw, read_activations=ra, read_kv=norm(kv_read), write_activations=wa, write_kv=norm(kv_write)
        )
