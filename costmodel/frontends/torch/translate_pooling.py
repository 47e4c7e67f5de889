"""Pooling and resampling: max/average pooling, adaptive pooling, upsampling and grid
sampling."""

from __future__ import annotations

from typing import Any

from .op import _Op
from .table import _reg
from .values import _ints


# -- pooling and resampling ---------------------------------------------------------------
def _window(t: _Op) -> tuple[int, dict[str, Any]]:
    """The spatial rank and a pooling op's window: kernel_shape, strides (the kernel when
    not given) and symmetric pads, from arguments 1-3 (shared by max and average pooling)."""
    nsp = len(t.shape(0)) - 2
    kernel = _ints(t.const(1), nsp, 1)
    stride = t.const(2)
    strides = kernel if not stride else _ints(stride, nsp, 1)
    p = _ints(t.const(3), nsp, 0)
    return nsp, {"kernel_shape": kernel, "strides": strides, "pads": p + p}


@_reg(
    "aten::max_pool1d",
    "aten::max_pool2d",
    "aten::max_pool3d",
    "aten::max_pool1d_with_indices",
    "aten::max_pool2d_with_indices",
    "aten::max_pool3d_with_indices",
)
def _max_pool(t: _Op) -> None:
    nsp, attrs = _window(t)
    attrs["dilations"] = _ints(t.const(4), nsp, 1)
    attrs["ceil_mode"] = int(bool(t.const(5, False)))
    t.run("MaxPool", [t.val(0)], attrs)


@_reg("aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d")
def _avg_pool(t: _Op) -> None:
    _, attrs = _window(t)
    attrs["ceil_mode"] = int(bool(t.const(4, False)))
    t.run("AveragePool", [t.val(0)], attrs)


@_reg(
    "aten::adaptive_avg_pool1d",
    "aten::adaptive_avg_pool2d",
    "aten::adaptive_avg_pool3d",
    "aten::adaptive_max_pool1d",
    "aten::adaptive_max_pool2d",
    "aten::adaptive_max_pool3d",
)
def _adaptive_pool(t: _Op) -> None:
    """Global pooling when the output is 1x1; else the fixed window an export uses
    (stride in // out, kernel in - (out - 1) * stride). Adaptive max pooling's indices
    output is not computed by an inference export: allocated only."""
    x = t.shape(0)
    out = t.out_shape(0)
    avg = "avg" in t.kind
    names = t.out_names()
    if all(o == 1 for o in out[2:]):
        t.emit("GlobalAveragePool" if avg else "GlobalMaxPool", [t.val(0)], outputs=names[:1])
    else:
        strides = tuple(max(i // o, 1) for i, o in zip(x[2:], out[2:]))
        kernel = tuple(i - (o - 1) * s for i, o, s in zip(x[2:], out[2:], strides))
        attrs = {"kernel_shape": kernel, "strides": strides}
        t.emit("AveragePool" if avg else "MaxPool", [t.val(0)], attrs, outputs=names[:1])
    if len(names) > 1:
        t.factory("Empty", outputs=names[1:], infos=[t.out_info(1)], suffix="/indices")


@_reg(
    "aten::upsample_nearest1d",
    "aten::upsample_nearest2d",
    "aten::upsample_nearest3d",
    "aten::_upsample_nearest_exact1d",
    "aten::_upsample_nearest_exact2d",
    "aten::_upsample_nearest_exact3d",
    "aten::upsample_linear1d",
    "aten::upsample_bilinear2d",
    "aten::upsample_trilinear3d",
    "aten::upsample_bicubic2d",
    "aten::_upsample_bilinear2d_aa",
    "aten::_upsample_bicubic2d_aa",
)
def _upsample(t: _Op) -> None:
    mode = "cubic" if "bicubic" in t.kind else ("linear" if "linear" in t.kind else "nearest")
    sizes = t.constant(list(t.out_shape(0)))
    t.run("Resize", [t.val(0), None, None, sizes], {"mode": mode})


@_reg("aten::grid_sampler", "aten::grid_sampler_2d")
def _grid_sample(t: _Op) -> None:
    t.run("GridSample", [t.val(0), t.val(1)], {"mode": "linear"})
