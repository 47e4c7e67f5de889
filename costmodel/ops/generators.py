"""Ops that create tensors from attributes or shapes. A generator whose inputs are all
constants folds at load time (its output is a constant; a float one is a weight)."""

from __future__ import annotations

import numpy as np

from ..ir.dtypes import DTYPES, FP32, INT64, ONNX_DTYPES
from ..symbolic import ceildiv, norm, smax, symbol
from . import values
from .context import NodeContext
from .cost import Cost
from .registry import GENERATOR, op


@op("Constant", kind=GENERATOR, zero="constant: stored in the model")
def constant(ctx: NodeContext) -> None:
    for name in ("value", "sparse_value"):
        t = ctx.attrs.get(name)
        if t is not None:
            data = t.data
            if data is not None and (t.dtype.kind in ("int", "uint", "bool")):
                data = values.obj(data) if t.dtype.kind != "bool" else data
            ctx.set_output(0, t.dtype, t.shape, data)
            return
    for name, dt in (("value_int", INT64), ("value_float", FP32)):
        if name in ctx.attrs:
            v = ctx.attrs[name]
            ctx.set_output(0, dt, (), values.obj(np.array(v, dtype=object)) if dt is INT64 else np.array(v))
            return
    for name, dt in (("value_ints", INT64), ("value_floats", FP32)):
        if name in ctx.attrs:
            v = list(ctx.attrs[name])
            ctx.set_output(0, dt, (len(v),), values.obj(v) if dt is INT64 else np.array(v))
            return
    if "value_string" in ctx.attrs or "value_strings" in ctx.attrs:
        n = len(ctx.attrs.get("value_strings", ())) if "value_strings" in ctx.attrs else None
        ctx.set_output(0, DTYPES["string"], (n,) if n is not None else ())
        return
    raise ctx.fail("Constant has no value attribute")


@op("ConstantOfShape", kind=GENERATOR)
def constant_of_shape(ctx: NodeContext) -> Cost:
    """0 FLOPs; writes every output element once."""
    shape = ctx.ints(0)
    t = ctx.attrs.get("value")
    dt = t.dtype if t is not None else FP32
    data = None
    if values.small(shape) and t is not None and t.data is not None:
        fill = t.data.reshape(-1)[0]
        data = np.full([int(d) for d in shape], fill)
        if dt.kind in ("int", "uint"):
            data = values.obj(data)
    elif values.small(shape) and t is None:
        data = np.zeros([int(d) for d in shape])
    ctx.set_output(0, dt, shape, data)
    return Cost()


@op("Range", kind=GENERATOR)
def range_(ctx: NodeContext) -> Cost:
    """1 FLOP per element (start + i * delta as an FMA counted once... as one add)."""
    start, limit, delta = ctx.scalar(0), ctx.scalar(1), ctx.scalar(2)
    dt = ctx.dtype(0)
    if start is None or limit is None or delta is None:
        n = symbol(f"range_{_safe(ctx.node_name())}")
        ctx.set_output(0, dt, (n,))
        return Cost(flops=n)
    if delta == 0:
        raise ctx.fail("Range delta is 0")
    if dt.kind in ("int", "uint"):
        n = smax(ceildiv(norm(limit - start), delta), 0)
    else:
        n = max(int(np.ceil((float(limit) - float(start)) / float(delta))), 0)
    data = None
    if type(n) is int and n <= values.MAX_ELEMENTS:
        if dt.kind in ("int", "uint"):
            data = values.obj([norm(start + i * delta) for i in range(n)])
        else:
            data = np.array([start + i * delta for i in range(n)], dtype=np.float64)
    ctx.set_output(0, dt, (n,), data)
    return Cost(flops=n)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


@op("EyeLike", kind=GENERATOR)
def eye_like(ctx: NodeContext) -> Cost:
    """0 FLOPs; writes the output."""
    dt = ONNX_DTYPES.get(int(ctx.attr("dtype", 0)), None) or ctx.dtype(0)
    ctx.set_output(0, dt, ctx.shape(0))
    return Cost()


@op("RandomNormal", "RandomUniform", kind=GENERATOR, fold=False)
def random_(ctx: NodeContext) -> Cost:
    """Per element: a few integer ops for the generator plus the transform; counted as 2
    FLOPs (scale and shift) and, for RandomNormal, 1 transcendental (Box-Muller)."""
    dt = ONNX_DTYPES.get(int(ctx.attr("dtype", 1)), FP32)
    shape = tuple(ctx.attr("shape"))
    ctx.set_output(0, dt, shape)
    n = ctx.out_numel()
    return Cost(flops=2 * n, transcendentals=n if ctx.node.op_type == "RandomNormal" else 0)


@op("RandomNormalLike", "RandomUniformLike", kind=GENERATOR, fold=False)
def random_like(ctx: NodeContext) -> Cost:
    """As RandomNormal/RandomUniform, shaped like the input."""
    dt = ONNX_DTYPES.get(int(ctx.attr("dtype", 0)), None) or ctx.dtype(0)
    ctx.set_output(0, dt, ctx.shape(0))
    n = ctx.out_numel()
    return Cost(flops=2 * n, transcendentals=n if "Normal" in ctx.node.op_type else 0)


@op("Bernoulli", kind=GENERATOR, fold=False)
def bernoulli(ctx: NodeContext) -> Cost:
    """Per element: one uniform draw and one compare (2 FLOPs)."""
    dt = ONNX_DTYPES.get(int(ctx.attr("dtype", 0)), None) or ctx.dtype(0)
    ctx.set_output(0, dt, ctx.shape(0))
    return Cost(flops=2 * ctx.out_numel())


@op("Multinomial", kind=GENERATOR, fold=False)
def multinomial(ctx: NodeContext) -> Cost:
    """Per sample: a cumulative sum over the classes and a search: ~2 x classes FLOPs."""
    b, c = ctx.shape(0)
    n = ctx.attr("sample_size", 1)
    ctx.set_output(0, ONNX_DTYPES.get(int(ctx.attr("dtype", 6)), INT64), (b, n))
    return Cost(flops=norm(2 * b * n * c), transcendentals=norm(b * c))
