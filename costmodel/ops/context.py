"""What a rule sees of one node: input types, attributes, known values; where it writes
output types, engine hints and (rarely) its own memory traffic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..ir.dtypes import FP32, DType
from ..ir.graph import Node, Role, TensorInfo
from ..passes.bind import RETYPABLE
from ..symbolic import norm, prod
from .cost import Cost


class UnknownShape(Exception):
    """A rule needs a shape or value that inference could not determine."""


_MISSING = object()


class NodeContext:
    __slots__ = (
        "attrs",
        "bytes_override",
        "dtype_override",
        "hints",
        "inputs",
        "kv_inputs",
        "kv_outputs",
        "limits",
        "node",
        "opset",
        "outputs",
        "subgraph_runner",
    )

    def __init__(
        self,
        node: Node,
        inputs: list[TensorInfo | None],
        opset: int,
        subgraph_runner: Callable[..., Any] | None = None,
        dtype_override: DType | None = None,
        limits: Any = None,
    ) -> None:
        self.node = node
        self.opset = opset
        self.attrs = node.attrs
        self.inputs = inputs
        self.outputs: list[TensorInfo | None] = [None] * len(node.outputs)
        self.hints: dict[str, Any] = {}
        self.bytes_override: Cost | None = None
        self.kv_inputs: tuple[int, ...] = ()
        self.kv_outputs: tuple[int, ...] = ()
        self.subgraph_runner = subgraph_runner
        self.dtype_override = dtype_override
        self.limits = limits

    # -- errors ---------------------------------------------------------------------
    @property
    def where(self) -> str:
        n = self.node
        return f"node {n.name!r} ({n.op_type})" if n.name else f"node {n.op_type}"

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
        if i >= len(self.inputs) or self.inputs[i] is None:
            raise self.fail(f"input {i} is required")
        return self.inputs[i]  # type: ignore[return-value]

    def shape(self, i: int) -> tuple:
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
        if not self.has(i):
            return None
        return self.inputs[i].data  # type: ignore[union-attr]

    def ints(self, i: int, *, required: bool = True) -> tuple | None:
        """Content of a small integer input (shape, axes, pads) as a flat tuple."""
        d = self.data(i)
        if d is None:
            if required and self.has(i):
                raise UnknownShape(f"value of input {i} unknown")
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
        return self.has(i) and self.inputs[i].const  # type: ignore[union-attr]

    # -- outputs --------------------------------------------------------------------
    def set_output(self, i: int, dtype: DType | None, shape: tuple | None, data: Any = None) -> None:
        if i >= len(self.outputs):
            return
        symbolic = False
        if shape is not None:
            shape = tuple(shape)
            for d in shape:
                if type(d) is not int:
                    symbolic = True
                elif d < 0:
                    raise self.fail(f"output {i} would have a negative dimension {shape}")
        if self.dtype_override is not None and dtype is not None and dtype.name in RETYPABLE:
            dtype = self.dtype_override
        if symbolic and self.limits is not None:  # int dims are always within the limits
            self.limits.check_shape(shape, self.where)
        if data is not None and not isinstance(data, np.ndarray):
            if isinstance(data, (float, np.floating)):
                data = np.asarray(data)
            else:
                box = np.empty((), dtype=object)
                box[()] = norm(int(data)) if isinstance(data, (np.integer, bool, np.bool_)) else data
                data = box
        self.outputs[i] = TensorInfo(dtype, shape, Role.ACTIVATION, data, False)

    def same_as(self, i: int = 0, out: int = 0, dtype: DType | None = None) -> tuple:
        s = self.shape(i)
        self.set_output(out, dtype or self.info(i).dtype, s)
        return s

    def out_shape(self, i: int = 0) -> tuple:
        o = self.outputs[i]
        if o is None or o.shape is None:
            raise UnknownShape(f"shape of output {i} unknown")
        return o.shape

    def out_numel(self, i: int = 0) -> Any:
        return prod(self.out_shape(i))

    def hint(self, **kw: Any) -> None:
        self.hints.update(kw)
