"""Reductions: sum/mean/amax/... over given axes, max/min (values, indices or
elementwise), argmax, cumsum, var/std, norms and topk."""

from __future__ import annotations

from ...ops import registry as R
from ...symbolic import prod
from .op import _Op
from .table import TABLE, _reg
from .values import const_info


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


def _axes(t: _Op, i: int) -> list | None:
    d = t.const(i) if not t.tensor(i) else None
    if d is None or isinstance(d, bool):
        return None
    return [d] if isinstance(d, int) else list(d)


def _reduce(op_type: str):
    def tr(t: _Op) -> None:
        # sum(x, dtype) / all(x) reduce everything; sum(x, dim, keepdim, dtype) the given dims
        axes = _axes(t, 1) if len(t.ins) >= 3 else None
        keep = bool(t.const(2, False)) if axes else False
        infos = [t.info(0), const_info(axes) if axes else None]
        t.run(op_type, infos, {"keepdims": int(keep)})

    return tr


for _n, _o in _REDUCE.items():
    TABLE[f"aten::{_n}"] = _reduce(_o)


@_reg("aten::max", "aten::min")
def _max(t: _Op) -> None:
    """max(x): ReduceMax; max(x, dim): ReduceMax and ArgMax (values and indices);
    max(x, y): elementwise Max."""
    red, arg, ew = ("ReduceMax", "ArgMax", "Max") if t.kind == "aten::max" else ("ReduceMin", "ArgMin", "Min")
    if len(t.ins) == 1:
        t.run(red, [t.info(0)], {"keepdims": 0})
    elif t.tensor(1):
        t.run(ew, [t.info(0), t.info(1)])
    else:
        dim, keep = int(t.const(1)), int(bool(t.const(2, False)))
        x = t.info(0)
        t.steps(
            red,
            R.REDUCTION,
            [(red, [x, const_info([dim])], {"keepdims": keep}), (arg, [x], {"axis": dim, "keepdims": keep})],
        )


@_reg("aten::argmax", "aten::argmin")
def _argmax(t: _Op) -> None:
    dim = t.const(1)
    x = t.info(0)
    if dim is None:
        x = x._replace(shape=(int(prod(x.shape)),)) if x.shape is not None else x
        dim = 0
    t.run("ArgMax", [x], {"axis": int(dim), "keepdims": int(bool(t.const(2, False)))})


@_reg("aten::cumsum", "aten::cumsum_", "aten::cumprod")
def _cumsum(t: _Op) -> None:
    t.run("CumSum", [t.info(0)])


@_reg("aten::var", "aten::std", "aten::var_mean", "aten::std_mean")
def _var(t: _Op) -> None:
    """mean, subtract, square, sum, divide (+ sqrt for std), as an export writes it."""
    x = t.info(0)
    axes = _axes(t, 1)
    keep = bool(t.const(3, False)) if len(t.ins) > 3 else False
    a = const_info(axes) if axes else None
    steps = [
        ("ReduceMean", [x, a], {"keepdims": 1}),
        ("Sub", [x, ("out", 0)], None),
        ("Mul", [("out", 1), ("out", 1)], None),
        ("ReduceSum", [("out", 2), a], {"keepdims": int(keep)}),
        ("Div", [("out", 3), const_info(1.0)], None),
    ]
    if "std" in t.kind:
        steps.append(("Sqrt", [("out", 4)], None))
    t.steps("ReduceMean", R.REDUCTION, steps)


@_reg("aten::norm", "aten::linalg_vector_norm", "aten::frobenius_norm")
def _norm(t: _Op) -> None:
    p = t.const(1, 2)
    axes = _axes(t, 2)
    keep = bool(t.const(3, False))
    op = "ReduceL1" if p == 1 else "ReduceL2"
    t.run(op, [t.info(0), const_info(axes) if axes else None], {"keepdims": int(keep)})


@_reg("aten::topk")
def _topk(t: _Op) -> None:
    k = int(t.const(1))
    t.run("TopK", [t.info(0), const_info([k])], {"axis": int(t.const(2, -1))}, n_out=2)
