"""Operator coverage of the default ONNX domain, counted from what is registered at test
time, and a guard against rules registered under names ONNX does not have."""

from __future__ import annotations

import onnx.defs

from costmodel.ops.registry import load_all

MAX_OPSET = 23
MIN_COVERED = 150
# onnxruntime registers these contrib ops in the ONNX domain (kOnnxDomain), so exporters
# emit them there (onnxruntime/core/graph/contrib_ops/contrib_defs.cc); they are not
# ONNX ops, but a default-domain rule for them is deliberate, not a typo.
ORT_IN_ONNX_DOMAIN = {"SimplifiedLayerNormalization"}


def _schemas():
    return [s for s in onnx.defs.get_all_schemas_with_history() if s.domain in ("", "ai.onnx")]


def onnx_ops(max_opset: int | None = MAX_OPSET) -> set[str]:
    """Default-domain op types with a schema at or below max_opset (any when None)."""
    return {s.name for s in _schemas() if max_opset is None or s.since_version <= max_opset}


def registered() -> set[str]:
    return {d.op_type for d in load_all() if d.domain == ""}


def test_default_domain_coverage():
    covered = registered() & onnx_ops()
    missing = sorted(onnx_ops() - covered)
    assert len(covered) >= MIN_COVERED, (
        f"{len(covered)} of {len(onnx_ops())} default-domain ops (opsets <= {MAX_OPSET}) have a rule; "
        f"missing: {', '.join(missing)}"
    )


def test_registered_names_are_onnx_ops():
    unknown = sorted(registered() - onnx_ops(None) - ORT_IN_ONNX_DOMAIN)
    assert not unknown, f"rules registered for op types ONNX does not define: {unknown}"


def test_covered_ops_resolve_at_max_opset():
    """A rule registered only for a later opset than the op's schemas would never fire."""
    reg = load_all()
    for t in sorted(registered() & onnx_ops()):
        assert reg.lookup("", t, MAX_OPSET) is not None, t
