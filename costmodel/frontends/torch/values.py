"""Traced JIT values: what the walker records for each (`_V`), and small helpers to read
TorchScript values and types (names, tensor types, constants, int tuples) and to add
costs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...ir.dtypes import BOOL, DTYPES, FP32, INT64, DType
from ...ir.graph import Role, TensorInfo
from ...ops.cost import ZERO, Cost
from ...passes.bind import retype
from ...symbolic import prod
from .base import _SCALAR


@dataclass
class _V:
    info: TensorInfo
    root: str | None  # state-dict name of the parameter/buffer this value views
    name: str  # canonical name (a view shares its base's name)
    view: bool = False
    const: bool = False  # made from sizes and traced constants only (folds away)


def _node_key(node) -> tuple:
    outs = [o.unique() for o in node.outputs()]
    return (node.kind(), *outs) if outs else (node.kind(), *[i.unique() for i in node.inputs()])


def _vname(v) -> str:
    return f"%{v.debugName()}"


def _is_tensor(v) -> bool:
    return v.type().kind() == "TensorType"


def _numel(v) -> int:
    try:
        return int(prod(v.type().sizes()))
    except Exception:  # noqa: BLE001
        return 0


def _tensor_info(v, override: DType | None, role: Role = Role.ACTIVATION) -> TensorInfo:
    t = v.type()
    if t.kind() != "TensorType":
        return TensorInfo(None, None, role)
    st = t.scalarType()
    dt = DTYPES.get(_SCALAR.get(st or "", ""), None)
    sizes = t.sizes()
    shape = tuple(int(s) for s in sizes) if sizes is not None and all(s is not None for s in sizes) else None
    return TensorInfo(retype(dt, override), shape, role, None, role is Role.WEIGHT)


def _contiguous(t) -> bool:
    sizes, strides = t.sizes(), t.strides()
    if sizes is None or strides is None or any(s is None for s in sizes) or any(s is None for s in strides):
        return True
    expect = 1
    for n, st in zip(reversed(sizes), reversed(strides)):
        if n != 1 and st != expect:
            return False
        expect *= n
    return True


def _list_tensors(v) -> list:
    """The tensors inside a Tensor[] argument written as a literal list (prim::ListConstruct)."""
    n = v.node()
    if v.type().kind() == "ListType" and n.kind() == "prim::ListConstruct":
        return [x for x in n.inputs() if _is_tensor(x)]
    return []


def _const(v) -> Any:
    n = v.node()
    k = n.kind()
    if k == "prim::Constant":
        try:
            return v.toIValue()
        except Exception:  # noqa: BLE001
            return None
    if k == "prim::ListConstruct":
        return [_const(i) for i in n.inputs()]
    if k in ("aten::Int", "aten::Float", "prim::NumToTensor", "aten::ScalarImplicit"):
        return _const(n.input())
    if k == "aten::size" and n.inputsSize() == 2:
        sizes = n.inputsAt(0).type().sizes()
        d = _const(n.inputsAt(1))
        return sizes[d] if sizes is not None and d is not None else None
    return None


def const_info(value: Any, dt: DType = FP32) -> TensorInfo:
    """A known constant (0-d for a number, 1-d for a list of ints)."""
    if isinstance(value, (list, tuple)):
        return TensorInfo(INT64, (len(value),), Role.CONSTANT, np.array(list(value), dtype=np.int64), True)
    if isinstance(value, bool):
        return TensorInfo(BOOL, (), Role.CONSTANT, np.asarray(value), True)
    if isinstance(value, int) and not dt.is_float:
        return TensorInfo(dt, (), Role.CONSTANT, np.asarray(value, dtype=np.int64), True)
    return TensorInfo(dt, (), Role.CONSTANT, np.asarray(float(value) if value is not None else 0.0), True)


def _row_dtype(ins: list, outs: list) -> str | None:
    for i in list(outs) + list(ins):
        if i is not None and i.dtype is not None and i.dtype.is_float:
            return i.dtype.name
    for i in ins:
        if i is not None and i.dtype is not None:
            return i.dtype.name
    return None


def _ints(x: Any, n: int, default: int = 0) -> tuple:
    if x is None:
        return (default,) * n
    if isinstance(x, int):
        return (x,) * n
    x = list(x)
    if not x:
        return (default,) * n
    if len(x) == 1:
        return (int(x[0]),) * n
    return tuple(int(a) for a in x)


def _sum(costs) -> Cost:
    total = ZERO
    for c in costs:
        total = total + c
    return total
