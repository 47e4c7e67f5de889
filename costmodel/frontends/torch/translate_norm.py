"""Normalization: layer/RMS/batch/instance/group norm, softmax and local response norm."""

from __future__ import annotations

from .op import _Op
from .table import _reg


# -- normalization ----------------------------------------------------------------------
@_reg("aten::layer_norm")
def _layer_norm(t: _Op) -> None:
    """LayerNormalization; a bias without a weight stands in as the scale (its bytes are
    read once, as PyTorch's kernel reads them)."""
    ns = t.const(1) or [t.shape(0)[-1]]
    scale, bias = t.opt(2), t.opt(3)
    t.run("LayerNormalization", [t.val(0), scale or bias, bias], {"axis": -len(ns)}, n_out=1)


@_reg("aten::rms_norm")
def _rms_norm(t: _Op) -> None:
    ns = t.const(1) or [t.shape(0)[-1]]
    t.run("RMSNormalization", [t.val(0), t.opt(2)], {"axis": -len(ns)})


@_reg("aten::batch_norm", "aten::_native_batch_norm_legit_no_training", "aten::native_batch_norm")
def _batch_norm(t: _Op) -> None:
    training = bool(t.const(5, False)) if t.kind != "aten::_native_batch_norm_legit_no_training" else False
    inputs = [t.val(0)] + [t.opt(i) for i in (1, 2, 3, 4)]
    t.run("BatchNormalization", inputs, {"training_mode": int(training)}, n_out=1)


@_reg("aten::instance_norm")
def _instance_norm(t: _Op) -> None:
    t.run("InstanceNormalization", [t.val(0), t.opt(1), t.opt(2)])


@_reg("aten::group_norm")
def _group_norm(t: _Op) -> None:
    t.run("GroupNormalization", [t.val(0), t.opt(2), t.opt(3)], {"num_groups": int(t.const(1))})


@_reg("aten::softmax", "aten::_softmax", "aten::log_softmax", "aten::_log_softmax", "aten::special_softmax")
def _softmax(t: _Op) -> None:
    op = "LogSoftmax" if "log_softmax" in t.kind else "Softmax"
    t.run(op, [t.val(0)], {"axis": int(t.const(1, -1))})


@_reg("aten::local_response_norm")
def _lrn(t: _Op) -> None:
    t.run("LRN", [t.val(0)], {"size": int(t.const(1))})
