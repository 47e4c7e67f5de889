"""Contractions and convolution: linear, matmul family, addmm/baddbmm (bias and
scaling), einsum, and every convolution entry point (transposed ones included)."""

from __future__ import annotations

from typing import Any

from .op import _Op
from .table import _reg
from .values import _ints


# -- contractions ------------------------------------------------------------------------
@_reg("aten::linear")
def _linear(t: _Op) -> None:
    """y = x W^T + b: one GEMM with the bias in its epilogue (costmodel::Linear)."""
    t.run("Linear", [t.val(0), t.val(1), t.opt(2)], {"transB": 1}, domain="costmodel")


@_reg("aten::matmul", "aten::mm", "aten::bmm", "aten::mv", "aten::dot", "aten::vdot", "aten::inner")
def _matmul(t: _Op) -> None:
    t.run("MatMul", [t.val(0), t.val(1)])


@_reg("aten::outer", "aten::ger")
def _outer(t: _Op) -> None:
    """a (n) x b (m): MatMul of the (n, 1) and (1, m) views."""
    a, b = t.info(0), t.info(1)
    col, row = t.tmp("col"), t.tmp("row")
    t.alias(t.val(0), [col], [a._replace(shape=(t.shape(0)[0], 1))], suffix="/col")
    t.alias(t.val(1), [row], [b._replace(shape=(1, t.shape(1)[0]))], suffix="/row")
    t.run("MatMul", [col, row])


@_reg("aten::addmm", "aten::addmv")
def _addmm(t: _Op) -> None:
    """beta*C + alpha*(A @ B): Gemm (bias add, and alpha/beta scaling when not 1); addmv's
    vectors as (n, 1) columns."""
    beta, alpha = float(t.const(3, 1)), float(t.const(4, 1))
    a, b = t.val(1), t.val(2)
    c = t.val(0) if beta != 0 else None
    attrs = {"alpha": alpha, "beta": beta}
    if t.kind == "aten::addmv":
        vec = t.tmp("vec")
        t.alias(b, [vec], [t.info(2)._replace(shape=(t.shape(2)[0], 1))], suffix="/vec")
        b = vec
        if c is not None and len(t.shape(0)) == 1:
            col = t.tmp("bias")
            t.alias(c, [col], [t.info(0)._replace(shape=(t.shape(0)[0], 1))], suffix="/bias")
            c = col
        out = t.tmp("gemm")
        t.emit("Gemm", [a, b, c], attrs, outputs=[out])
        t.alias(out, t.out_names(), [t.out_info(0)], suffix="/out")
        return
    t.run("Gemm", [a, b, c], attrs)


@_reg("aten::baddbmm", "aten::addbmm")
def _baddbmm(t: _Op) -> None:
    """beta*C + alpha*(A @ B) batched: one kernel doing MatMul, then (as an export writes
    it) Mul by alpha, Mul by beta and the Add of C, each costed by its elementwise rule."""
    beta, alpha = float(t.const(3, 1)), float(t.const(4, 1))
    steps: list[tuple[str, list[Any], dict[str, Any] | None]] = [("MatMul", [("in", 0), ("in", 1)], None)]
    if t.kind == "aten::addbmm":
        steps.append(("ReduceSum", [("out", 0), t.constant([0])], {"keepdims": 0}))
    if alpha != 1:
        steps.append(("Mul", [("out", len(steps) - 1), t.constant(alpha)], None))
    if beta != 0:
        last = len(steps) - 1
        c: Any = ("in", 2)
        if beta != 1:
            steps.append(("Mul", [c, t.constant(beta)], None))
            c = ("out", len(steps) - 1)
        steps.append(("Add", [("out", last), c], None))
    inputs = [t.val(1), t.val(2)] + ([t.val(0)] if beta != 0 else [])
    t.fused("FusedContraction", inputs, steps)


@_reg("aten::einsum")
def _einsum(t: _Op) -> None:
    eq = t.const(0)
    t.run("Einsum", [t.name_of(v) for v in t.list_values(1)], {"equation": eq})


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
    inputs = [t.val(0), t.val(1), t.opt(2)]
    if transposed:
        attrs["output_padding"] = _ints(outpad, nsp, 0)
        t.run("ConvTranspose", inputs, attrs)
    else:
        t.run("Conv", inputs, attrs)
