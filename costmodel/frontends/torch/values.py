"""Traced JIT values: what the walker records for each (`_V`), and small helpers to read
TorchScript values and types (names, tensor types, constants, int tuples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...ir.dtypes import DTYPES, DType
from ...ir.graph import Role, TensorInfo
from ...symbolic import prod
from .base import _SCALAR

# The JIT values and nodes these helpers read are torch._C objects (torch is imported
# lazily, so they are typed Any).
JitValue = Any
JitNode = Any


@dataclass(slots=True)
class _V:
    """One traced value: its IR name and its traced type (a view's IR name is its own;
    the Alias node that makes it says whose storage it shares)."""

    name: str
    info: TensorInfo


def _node_key(node: JitNode) -> tuple[Any, ...]:
    outs = [o.unique() for o in node.outputs()]
    return (node.kind(), *outs) if outs else (node.kind(), *[i.unique() for i in node.inputs()])


def _vname(v: JitValue) -> str:
    return f"%{v.debugName()}"


def _is_tensor(v: JitValue) -> bool:
    return bool(v.type().kind() == "TensorType")


def _numel(v: JitValue) -> int:
    try:
        return int(prod(v.type().sizes()))
    except Exception:  # noqa: BLE001 - sizes unknown to the tracer
        return 0


def _dtype(v: JitValue) -> DType | None:
    st = v.type().scalarType()
    return DTYPES.get(_SCALAR.get(st or "", ""), None)


def _tensor_info(v: JitValue, role: Role = Role.ACTIVATION) -> TensorInfo:
    """The traced type of a value (None shape/dtype where the tracer does not know)."""
    t = v.type()
    if t.kind() != "TensorType":
        return TensorInfo(None, None, role)
    sizes = t.sizes()
    shape = tuple(int(s) for s in sizes) if sizes is not None and all(s is not None for s in sizes) else None
    return TensorInfo(_dtype(v), shape, role)


def _contiguous(t: Any) -> bool:
    sizes, strides = t.sizes(), t.strides()
    if sizes is None or strides is None or any(s is None for s in sizes) or any(s is None for s in strides):
        return True
    expect = 1
    for n, st in zip(reversed(sizes), reversed(strides)):
        if n != 1 and st != expect:
            return False
        expect *= n
    return True


def _strides_perm(t: Any) -> tuple[int, ...] | None:
    """The permutation that lays a strided tensor out contiguously (dims by decreasing
    stride), or None when the strides are unknown."""
    sizes, strides = t.sizes(), t.strides()
    if sizes is None or strides is None or any(s is None for s in sizes) or any(s is None for s in strides):
        return None
    return tuple(sorted(range(len(sizes)), key=lambda i: (-strides[i], i)))


def _list_tensors(v: JitValue) -> list[JitValue]:
    """The tensors inside a Tensor[] argument written as a literal list (prim::ListConstruct)."""
    n = v.node()
    if v.type().kind() == "ListType" and n.kind() == "prim::ListConstruct":
        return [x for x in n.inputs() if _is_tensor(x)]
    return []


def _const(v: JitValue) -> Any:
    n = v.node()
    k = n.kind()
    if k == "prim::Constant":
        try:
            return v.toIValue()
        except Exception:  # noqa: BLE001 - a constant the JIT cannot hand back
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


def _ints(x: Any, n: int, default: int = 0) -> tuple[int, ...]:
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
