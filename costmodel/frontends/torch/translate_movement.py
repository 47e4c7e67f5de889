"""Data movement: copies, generators and allocations, concatenation, tiling,
permuting copies, padding, triangles, and indexing (embedding, gathers, index,
scatters, one-hot)."""

from __future__ import annotations

from .op import _Op
from .table import _reg


@_reg("aten::clone", "aten::copy_", "aten::fill_", "aten::zero_")
def _clone(t: _Op) -> None:
    """clone: a copy of its input; copy_(dst, src) writes dst from src (dst is not read);
    fill_/zero_ write their tensor (read nothing)."""
    if t.kind == "aten::copy_":
        t.copy([t.val(1)] if t.tensor(1) else [])
    elif t.kind in ("aten::fill_", "aten::zero_"):
        t.factory()
    else:
        t.copy([t.val(0)])


# -- generators -------------------------------------------------------------------------
@_reg(
    "aten::zeros",
    "aten::ones",
    "aten::full",
    "aten::zeros_like",
    "aten::ones_like",
    "aten::full_like",
    "aten::new_zeros",
    "aten::new_ones",
    "aten::new_full",
    "aten::arange",
    "aten::linspace",
    "aten::eye",
    "aten::rand",
    "aten::randn",
    "aten::rand_like",
    "aten::randn_like",
    "aten::randint",
    "aten::scalar_tensor",
    "aten::tensor",
    "aten::bernoulli",
    "aten::bernoulli_",
    "aten::normal_",
    "aten::uniform_",
)
def _gen(t: _Op) -> None:
    """0 FLOPs: writes the tensor it makes."""
    t.factory()


@_reg("aten::empty", "aten::empty_like", "aten::new_empty", "aten::empty_strided", "aten::new_empty_strided")
def _empty(t: _Op) -> None:
    t.factory("Empty")


# -- movement ---------------------------------------------------------------------------
@_reg("aten::cat", "aten::concat", "aten::concatenate", "aten::stack", "aten::hstack", "aten::vstack")
def _cat(t: _Op) -> None:
    t.copy(t.all_tensor_inputs())


@_reg("aten::repeat", "aten::tile", "aten::repeat_interleave")
def _repeat(t: _Op) -> None:
    t.copy([t.val(0)] if t.tensor(0) else [])


@_reg(
    "aten::flip",
    "aten::roll",
    "aten::fliplr",
    "aten::flipud",
    "aten::rot90",
    "aten::pixel_shuffle",
    "aten::pixel_unshuffle",
    "aten::channel_shuffle",
)
def _permute_copy(t: _Op) -> None:
    """A permuting copy (strided reads or writes); pixel (un)shuffle moves whole rows."""
    t.copy([t.val(0)], strided="pixel" not in t.kind)


@_reg(
    "aten::constant_pad_nd",
    "aten::pad",
    "aten::reflection_pad1d",
    "aten::reflection_pad2d",
    "aten::reflection_pad3d",
    "aten::replication_pad1d",
    "aten::replication_pad2d",
    "aten::replication_pad3d",
    "aten::zero_pad2d",
    "aten::tril",
    "aten::triu",
    "aten::tril_",
    "aten::triu_",
    "aten::one_hot",
)
def _copy_of_input(t: _Op) -> None:
    """Reads its input once, writes its output (pad, triangles, one-hot)."""
    t.copy([t.val(0)])


@_reg("aten::embedding")
def _embedding(t: _Op) -> None:
    """Gather of the rows the indices select (the table itself is not read)."""
    t.run("Gather", [t.val(0), t.val(1)], {"axis": 0})


@_reg("aten::index_select", "aten::gather")
def _gather(t: _Op) -> None:
    """index_select(x, dim, idx): Gather; gather(x, dim, idx): GatherElements. Both read
    the elements they select and the indices."""
    op = "Gather" if t.kind == "aten::index_select" else "GatherElements"
    t.run(op, [t.val(0), t.val(2)], {"axis": int(t.const(1, 0))})


@_reg("aten::take_along_dim", "aten::take")
def _take(t: _Op) -> None:
    t.run("GatherElements", [t.val(0), t.val(1)], {"axis": int(t.const(2, 0) or 0)})


@_reg("aten::index")
def _index(t: _Op) -> None:
    """x[i, j, ...] with index tensors: reads the selected elements and the indices."""
    idx = [t.name_of(x) for x in t.list_values(1) if x.type().kind() == "TensorType"]
    t.copy_like("Index", [t.val(0), *idx])


@_reg(
    "aten::index_put_",
    "aten::index_put",
    "aten::scatter",
    "aten::scatter_",
    "aten::scatter_add",
    "aten::scatter_add_",
    "aten::index_add",
    "aten::index_add_",
    "aten::index_copy",
    "aten::index_copy_",
    "aten::masked_scatter",
    "aten::masked_scatter_",
    "aten::slice_scatter",
    "aten::select_scatter",
)
def _scatter(t: _Op) -> None:
    """Reads the updates and indices, writes the updated elements (in place)."""
    t.emit("Scatter", t.all_tensor_inputs(), domain="costmodel")
