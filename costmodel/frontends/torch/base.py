"""Shared by the torch front end: the opset its graphs declare, the option values, the
JIT vocabularies (scalar types, bookkeeping ops, views, reshapes), and the lazy import of
torch and fvcore."""

from __future__ import annotations

from typing import Any

from ...errors import CostModelError

OPSET = 23  # the graphs' ONNX opset: Attention, RMSNormalization... exist from 23
CAUSAL_MODES = ("dense", "skip")
DEVICES = ("auto", "meta", "cpu")

# JIT scalar type names → costmodel dtypes.
_SCALAR = {
    "Float": "fp32",
    "Double": "fp64",
    "Half": "fp16",
    "BFloat16": "bf16",
    "Long": "int64",
    "Int": "int32",
    "Short": "int16",
    "Char": "int8",
    "Byte": "uint8",
    "Bool": "bool",
    "ComplexFloat": "complex64",
    "ComplexDouble": "complex128",
    "Float8_e4m3fn": "fp8_e4m3",
    "Float8_e5m2": "fp8_e5m2",
    "Float8_e4m3fnuz": "fp8_e4m3fnuz",
    "Float8_e5m2fnuz": "fp8_e5m2fnuz",
    "UInt16": "uint16",
    "UInt32": "uint32",
    "UInt64": "uint64",
}

# Scalar bookkeeping the tracer records; no tensor work, no row.
_SCALAR_OPS = {
    "aten::size",
    "aten::Int",
    "aten::Float",
    "aten::Bool",
    "aten::ScalarImplicit",
    "aten::numel",
    "aten::dim",
    "aten::__getitem__",
    "aten::len",
    "aten::item",
    "aten::format",
    "aten::warn",
    "aten::__and__",
    "aten::__or__",
    "aten::__not__",
    "aten::is_floating_point",
    "aten::device",
    "aten::dtype",
    "aten::sym_size",
    "aten::sym_numel",
    "aten::_assert_async",
    "aten::_shape_as_tensor",
}
# Views: no data moves (PyTorch views share storage); a zero row.
_VIEWS = {
    "aten::view",
    "aten::_reshape_alias",
    "aten::unflatten",
    "aten::squeeze",
    "aten::squeeze_",
    "aten::unsqueeze",
    "aten::unsqueeze_",
    "aten::transpose",
    "aten::transpose_",
    "aten::t",
    "aten::permute",
    "aten::select",
    "aten::slice",
    "aten::narrow",
    "aten::expand",
    "aten::expand_as",
    "aten::view_as",
    "aten::unbind",
    "aten::chunk",
    "aten::split",
    "aten::split_with_sizes",
    "aten::unsafe_chunk",
    "aten::unsafe_split",
    "aten::tensor_split",
    "aten::movedim",
    "aten::moveaxis",
    "aten::swapaxes",
    "aten::swapdims",
    "aten::diagonal",
    "aten::as_strided",
    "aten::detach",
    "aten::detach_",
    "aten::alias",
    "aten::numpy_T",
    "aten::mT",
    "aten::mH",
    "aten::real",
    "aten::imag",
    "aten::view_as_real",
    "aten::view_as_complex",
    "aten::lift_fresh",
    "aten::resolve_conj",
    "aten::resolve_neg",
    "aten::dropout",
    "aten::dropout_",
    "aten::feature_dropout",
    "aten::alpha_dropout",
    "aten::feature_alpha_dropout",
    "aten::broadcast_to",
    "aten::_unsafe_view",
}
# Reshapes are views of contiguous inputs and copies otherwise.
_RESHAPES = {"aten::reshape", "aten::flatten", "aten::reshape_as", "aten::contiguous"}


class UntranslatableOp(Exception):
    """A traced op the front end cannot express as IR nodes (its arguments are not what
    the translation needs); the op is listed as unsupported with this reason."""


def _imports() -> tuple[Any, Any]:
    """torch and fvcore.nn, imported on first use: they take seconds to import and are an
    optional extra (`pip install costmodel[torch]`)."""
    try:
        import torch
        import fvcore.nn as fvcore_nn
    except ImportError as e:
        raise CostModelError(
            f"PyTorch analysis needs torch and fvcore ({e.name} is missing): pip install 'costmodel[torch]'"
        ) from None
    return torch, fvcore_nn


def _one_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return f"{type(e).__name__}: {s[0] if s else ''}"[:300]
