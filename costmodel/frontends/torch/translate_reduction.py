"""Reductions: sum/mean/amax/... over given axes, max/min (values, indices or
elementwise), argmax, cumsum, var/std, norms and topk."""

from __future__ import annotations

from typing import Any

from ...symbolic import prod
from .op import _Op
from .table import TABLE, Handler, _reg


# -- reductions -------------------------------------------------------------------------
_REDUCE = {
    "sum": "ReduceSum",
    "mean": "ReduceMean",
    "amax": "ReduceMax",
    "amin": "ReduceMin",
    "prod": "ReduceProd",
    "logsumexp": "ReduceLogSumExp",
    "all": "ReduceMin",
    "any": "ReduceMax",
    "nansum": "ReduceSum",
    "nanmean": "ReduceMean",
}


def _axes(t: _Op, i: int) -> list[int] | None:
    d = t.const(i) if not t.tensor(i) else None
    if d is None or isinstance(d, bool):
        return None
    return [d] if isinstance(d, int) else list(d)


def _reduce(op_type: str) -> Handler:
    def tr(t: _Op) -> None:
        # sum(x, dtype) / all(x) reduce everything; sum(x, dim, keepdim, dtype) the given dims
        axes = _axes(t, 1) if len(t.ins) >= 3 else None
        keep = bool(t.const(2, False)) if axes else False
        t.run(op_type, [t.val(0), t.constant(axes) if axes else None], {"keepdims": int(keep)})

    return tr


for _n, _o in _REDUCE.items():
    TABLE[f"aten::{_n}"] = _reduce(_o)


@_reg("aten::max", "aten::min")
def _max(t: _Op) -> None:
    """max(x): ReduceMax; max(x, dim): ReduceMax and ArgMax (values and indices);
    max(x, y): elementwise Max."""
    red, arg, ew = ("ReduceMax", "ArgMax", "Max") if t.kind == "aten::max" else ("ReduceMin", "ArgMin", "Min")
    if len(t.ins) == 1:
        t.run(red, [t.val(0)], {"keepdims": 0})
    elif t.tensor(1):
        t.run(ew, [t.val(0), t.val(1)])
    else:
        dim, keep = int(t.const(1)), int(bool(t.const(2, False)))
        x = ("in", 0)
        t.fused(
            "FusedReduction",
            [t.val(0)],
            [(red, [x, t.constant([dim])], {"keepdims": keep}), (arg, [x], {"axis": dim, "keepdims": keep})],
            outputs_from=[0, 1],
        )


@_reg("aten::argmax", "aten::argmin")
def _argmax(t: _Op) -> None:
    """argmax(x) over every element: ArgMax of the flat view."""
    dim = t.const(1)
    x = t.val(0)
    op = "ArgMax" if t.kind == "aten::argmax" else "ArgMin"
    if dim is None:
        flat = t.tmp("flat")
        t.alias(x, [flat], [t.info(0)._replace(shape=(int(prod(t.shape(0))),))], suffix="/flat")
        x, dim = flat, 0
    t.run(op, [x], {"axis": int(dim), "keepdims": int(bool(t.const(2, False)))})


@_reg("aten::cumsum", "aten::cumsum_", "aten::cumprod")
def _cumsum(t: _Op) -> None:
    t.run("CumSum", [t.val(0)])


@_reg("aten::var", "aten::std", "aten::var_mean", "aten::std_mean")
def _var(t: _Op) -> None:
    """mean, subtract, square, sum, divide (+ sqrt for std), as an export writes it."""
    x = ("in", 0)
    axes = _axes(t, 1)
    keep = bool(t.const(3, False)) if len(t.ins) > 3 else False
    a = t.constant(axes) if axes else None
    steps: list[tuple[str, list[Any], dict[str, Any] | None]] = [
        ("ReduceMean", [x, a], {"keepdims": 1}),
        ("Sub", [x, ("out", 0)], None),
        ("Mul", [("out", 1), ("out", 1)], None),
        ("ReduceSum", [("out", 2), a], {"keepdims": int(keep)}),
        ("Div", [("out", 3), t.constant(1.0)], None),
    ]
    if "std" in t.kind:
        steps.append(("Sqrt", [("out", 4)], None))
    n_out = len([o for o in t.outs if o.type().kind() == "TensorType"])
    # var_mean / std_mean also return the mean (the first step's output)
    outputs = [len(steps) - 1, 0] if n_out == 2 else None
    t.fused("FusedReduction", [t.val(0)], steps, outputs_from=outputs)


@_reg("aten::norm", "aten::linalg_vector_norm", "aten::frobenius_norm")
def _norm(t: _Op) -> None:
    p = t.const(1, 2)
    axes = _axes(t, 2)
    keep = bool(t.const(3, False))
    op = "ReduceL1" if p == 1 else "ReduceL2"
    t.run(op, [t.val(0), t.constant(axes) if axes else None], {"keepdims": int(keep)})


@_reg("aten::topk")
def _topk(t: _Op) -> None:
    k = int(t.const(1))
    t.run("TopK", [t.val(0), t.constant([k])], {"axis": int(t.const(2, -1))}, n_out=2)
