"""Data movement: copies, generators and allocations, concatenation, tiling,
permuting copies, padding, triangles, and indexing (embedding, gathers, index,
scatters, one-hot)."""

from __future__ import annotations

from typing import Any

from ...ir.graph import Role
from ...ops import registry as R
from ...ops.cost import ZERO, Cost
from ...symbolic import norm, prod
from .op import _Op
from .table import _reg
from .values import _is_tensor, _list_tensors


@_reg("aten::clone", "aten::copy_", "aten::fill_", "aten::zero_")
def _clone(t: _Op) -> None:
    if t.kind == "aten::copy_":
        t.copy("Identity", reads=[(t.w.get(t.ins[1]), t.info(1))] if t.tensor(1) else [])
        t.aliases[t.outs[0].unique()] = t.w.get(t.ins[0])
    elif t.kind in ("aten::fill_", "aten::zero_"):
        t.copy("ConstantOfShape", R.GENERATOR, reads=[])
        t.aliases[t.outs[0].unique()] = t.w.get(t.ins[0])
    else:
        t.copy("Identity")


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
    t.copy("ConstantOfShape", R.GENERATOR, reads=[])


@_reg("aten::empty", "aten::empty_like", "aten::new_empty", "aten::empty_strided", "aten::new_empty_strided")
def _empty(t: _Op) -> None:
    t.emit(
        "ConstantOfShape",
        R.GENERATOR,
        ZERO,
        reads=[],
        writes=[],
        status="zero",
        reason="allocation: no data is written",
    )


# -- movement ---------------------------------------------------------------------------
@_reg("aten::cat", "aten::concat", "aten::concatenate", "aten::stack", "aten::hstack", "aten::vstack")
def _cat(t: _Op) -> None:
    t.copy("Concat")


@_reg("aten::repeat", "aten::tile", "aten::repeat_interleave")
def _repeat(t: _Op) -> None:
    if not t.tensor(0):
        t.copy("Tile", reads=[])
        return
    t.copy("Tile", reads=[(t.w.get(t.ins[0]), t.info(0))])


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
    t.copy("DepthToSpace" if "pixel" in t.kind else "Transpose", reads=[(t.w.get(t.ins[0]), t.info(0))])


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
)
def _pad(t: _Op) -> None:
    t.copy("Pad", reads=[(t.w.get(t.ins[0]), t.info(0))])


@_reg("aten::tril", "aten::triu", "aten::tril_", "aten::triu_")
def _trilu(t: _Op) -> None:
    t.copy("Trilu", reads=[(t.w.get(t.ins[0]), t.info(0))])


def _gather_bytes(t: _Op, table: int, index: int | list) -> Cost:
    """A gather reads the selected elements (the output's size) and the indices."""
    src = t.info(table)
    out = t.out_info(0)
    b = out.dtype.nbytes(prod(out.shape)) if out.shape is not None and out.dtype is not None else 0
    idx: Any = 0
    for i in [index] if isinstance(index, int) else index:
        inf = t.info(i)
        if inf is not None and inf.shape is not None and inf.dtype is not None:
            idx = idx + inf.dtype.nbytes(prod(inf.shape))
    if src is not None and src.role is Role.WEIGHT:
        return Cost(read_weights=norm(b), read_activations=norm(idx), write_activations=norm(b))
    return Cost(read_activations=norm(b + idx), write_activations=norm(b))


@_reg("aten::embedding")
def _embedding(t: _Op) -> None:
    """Gather of the rows the indices select (the table itself is not read)."""
    t.run("Gather", [t.info(0), t.info(1)], {"axis": 0}, use_rule_bytes=True)


@_reg("aten::index_select", "aten::gather", "aten::take_along_dim", "aten::take")
def _index_select(t: _Op) -> None:
    t.copy(
        "Gather" if t.kind == "aten::index_select" else "GatherElements",
        byte_cost=_gather_bytes(t, 0, 2 if t.kind in ("aten::index_select", "aten::gather") else 1),
    )


@_reg("aten::index")
def _index(t: _Op) -> None:
    idx = [x for x in t.list_values(1) if _is_tensor(x)]
    extra = [(t.w.get(x), t.w.get(x).info) for x in idx]
    src = t.w.get(t.ins[0])
    out = t.out_info(0)
    b = out.dtype.nbytes(prod(out.shape)) if out.shape is not None and out.dtype is not None else 0
    ib = sum((i.dtype.nbytes(prod(i.shape)) for _, i in extra if i.shape is not None and i.dtype is not None), 0)
    role_w = src.info.role is Role.WEIGHT
    bc = Cost(
        read_weights=norm(b) if role_w else 0,
        read_activations=norm(ib + (0 if role_w else b)),
        write_activations=norm(b),
    )
    t.copy("GatherND", reads=[(src, src.info)] + extra, byte_cost=bc)


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
    reads = []
    for i, v in enumerate(t.ins):
        if i > 0 and _is_tensor(v):
            reads.append((t.w.get(v), t.w.get(v).info))
    for v in t.ins:
        for x in _list_tensors(v):
            reads.append((t.w.get(x), t.w.get(x).info))
    upd = [i for _, i in reads if i is not None and i.dtype is not None and i.dtype.is_float]
    writes = upd[-1:] if upd else []
    t.copy("ScatterND", reads=reads, writes=writes)
    if t.kind.endswith("_"):
        t.aliases[t.outs[0].unique()] = t.w.get(t.ins[0])


@_reg("aten::one_hot")
def _one_hot(t: _Op) -> None:
    t.copy("OneHot", reads=[(t.w.get(t.ins[0]), t.info(0))])
