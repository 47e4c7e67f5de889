"""Contractions and convolution: linear, matmul family, addmm/baddbmm (bias and
scaling), einsum, and every convolution entry point (transposed ones included)."""

from __future__ import annotations

from typing import Any

from ...ops import registry as R
from .op import _Op
from .table import _reg
from .values import _ints, const_info


# -- contractions ------------------------------------------------------------------------
@_reg("aten::linear")
def _linear(t: _Op) -> None:
    """y = x W^T + b: one GEMM with the bias in its epilogue (costmodel::Linear)."""
    infos = [t.info(0), t.info(1), None if t.is_none(2) else t.info(2)]
    t.run("Linear", infos, {"transB": 1}, domain="costmodel")


@_reg("aten::matmul", "aten::mm", "aten::bmm", "aten::mv", "aten::dot", "aten::vdot", "aten::inner")
def _matmul(t: _Op) -> None:
    t.run("MatMul", [t.info(0), t.info(1)])


@_reg("aten::outer", "aten::ger")
def _outer(t: _Op) -> None:
    a, b = t.shape(0), t.shape(1)
    t.run("MatMul", [t.req(0)._replace(shape=(a[0], 1)), t.req(1)._replace(shape=(1, b[0]))])


@_reg("aten::addmm", "aten::addmv")
def _addmm(t: _Op) -> None:
    """beta*C + alpha*(A @ B): Gemm (bias add, and alpha/beta scaling when not 1)."""
    beta, alpha = float(t.const(3, 1)), float(t.const(4, 1))
    a, b = t.info(1), t.info(2)
    if t.kind == "aten::addmv":
        b = b._replace(shape=(b.shape[0], 1)) if b.shape else b
    attrs = {"alpha": alpha, "beta": beta}
    c = t.info(0) if beta != 0 else None
    if c is not None and t.kind == "aten::addmv" and c.shape is not None and len(c.shape) == 1:
        c = c._replace(shape=(c.shape[0], 1))
    t.run("Gemm", [a, b, c], attrs)


@_reg("aten::baddbmm", "aten::addbmm")
def _baddbmm(t: _Op) -> None:
    """beta*C + alpha*(A @ B) batched: MatMul, then (as an export writes it) Mul by alpha,
    Mul by beta and the Add of C, each costed by its elementwise rule."""
    beta, alpha = float(t.const(3, 1)), float(t.const(4, 1))
    steps: list[tuple] = [("MatMul", [t.info(1), t.info(2)], None)]
    if t.kind == "aten::addbmm":
        steps.append(("ReduceSum", [("out", 0), const_info([0])], {"keepdims": 0}))
    if alpha != 1:
        steps.append(("Mul", [("out", len(steps) - 1), const_info(alpha)], None))
    if beta != 0:
        last = len(steps) - 1
        c: Any = t.info(0)
        if beta != 1:
            steps.append(("Mul", [c, const_info(beta)], None))
            c = ("out", len(steps) - 1)
        steps.append(("Add", [("out", last), c], None))
    t.steps("MatMul", R.CONTRACTION, steps)


@_reg("aten::einsum")
def _einsum(t: _Op) -> None:
    eq = t.const(0)
    vals = t.list_values(1)
    infos = [t.w.get(v).info for v in vals]
    reads = [(t.w.get(v), t.w.get(v).info) for v in vals]
    t.run("Einsum", infos, {"equation": eq}, reads=reads)


# -- convolution ---------------------------------------------------------------------------
@_reg(
    "aten::_convolution",
    "aten::convolution",
    "aten::conv1d",
    "aten::conv2d",
    "aten::conv3d",
    "aten::_convolution_mode",
    "aten::conv_transpose1d",
    "aten::conv_transpose2d",
    "aten::conv_transpose3d",
)
def _conv(t: _Op) -> None:
    x, w = t.info(0), t.info(1)
    nsp = len(t.shape(0)) - 2
    k = t.kind
    if k in ("aten::_convolution", "aten::convolution"):
        stride, pad, dil, transposed, outpad, groups = (
            t.const(3),
            t.const(4),
            t.const(5),
            bool(t.const(6, False)),
            t.const(7),
            int(t.const(8, 1)),
        )
    elif "transpose" in k:
        stride, pad, outpad, groups, dil, transposed = (
            t.const(3),
            t.const(4),
            t.const(5),
            int(t.const(6, 1)),
            t.const(7),
            True,
        )
    else:
        stride, pad, dil, groups, transposed, outpad = (
            t.const(3),
            t.const(4),
            t.const(5),
            int(t.const(6, 1)),
            False,
            None,
        )
    attrs: dict[str, Any] = {
        "strides": _ints(stride, nsp, 1),
        "dilations": _ints(dil, nsp, 1),
        "group": groups,
        "kernel_shape": tuple(t.shape(1)[2:]),
    }
    if isinstance(pad, str):
        attrs["auto_pad"] = "VALID" if pad == "valid" else "SAME_UPPER"
    else:
        p = _ints(pad, nsp, 0)
        attrs["pads"] = p + p
    bias = None if t.is_none(2) else t.info(2)
    if transposed:
        attrs["output_padding"] = _ints(outpad, nsp, 0)
        t.run("ConvTranspose", [x, w, bias], attrs)
    else:
        t.run("Conv", [x, w, bias], attrs)
