"""Normalization: layer/RMS/batch/instance/group norm, softmax and local response norm."""

from __future__ import annotations

from ...ir.graph import Role
from .op import _Op
from .table import _reg


# -- normalization ----------------------------------------------------------------------
@_reg("aten::layer_norm")
def _layer_norm(t: _Op) -> None:
    shape = t.shape(0)
    ns = t.const(1) or [shape[-1]]
    infos = [t.info(0), None if t.is_none(2) else t.info(2), None if t.is_none(3) else t.info(3)]
    if infos[1] is None and infos[2] is not None:
        infos[1] = infos[2]
    t.run("LayerNormalization", infos, {"axis": -len(ns)})


@_reg("aten::rms_norm")
def _rms_norm(t: _Op) -> None:
    ns = t.const(1) or [t.shape(0)[-1]]
    t.run("RMSNormalization", [t.info(0), None if t.is_none(2) else t.info(2)], {"axis": -len(ns)})


@_reg("aten::batch_norm", "aten::_native_batch_norm_legit_no_training", "aten::native_batch_norm")
def _batch_norm(t: _Op) -> None:
    x = t.info(0)
    c = t.shape(0)[1] if len(t.shape(0)) > 1 else 1
    ch = x._replace(shape=(c,), role=Role.CONSTANT)
    infos = [x] + [t.info(i) if not t.is_none(i) else ch for i in (1, 2, 3, 4)]
    training = bool(t.const(5, False)) if t.kind != "aten::_native_batch_norm_legit_no_training" else False
    t.run("BatchNormalization", infos, {"training_mode": int(training)}, n_out=1)


@_reg("aten::instance_norm")
def _instance_norm(t: _Op) -> None:
    t.run(
        "InstanceNormalization", [t.info(0), None if t.is_none(1) else t.info(1), None if t.is_none(2) else t.info(2)]
    )


@_reg("aten::group_norm")
def _group_norm(t: _Op) -> None:
    t.run(
        "GroupNormalization",
        [t.info(0), None if t.is_none(2) else t.info(2), None if t.is_none(3) else t.info(3)],
        {"num_groups": int(t.const(1))},
    )


@_reg("aten::softmax", "aten::_softmax", "aten::log_softmax", "aten::_log_softmax", "aten::special_softmax")
def _softmax(t: _Op) -> None:
    op = "LogSoftmax" if "log_softmax" in t.kind else "Softmax"
    t.run(op, [t.info(0)], {"axis": int(t.const(1, -1))})


@_reg("aten::local_response_norm")
def _lrn(t: _Op) -> None:
    t.run("LRN", [t.info(0)], {"size": int(t.const(1))})
