"""Coverage of the registry against the ONNX operator schemas, for `costmodel ops`.

The schemas are the onnx.defs facts the front end keeps as data (frontends/onnx_defs.py),
so this needs no onnx import."""

from __future__ import annotations

from typing import Any

from ..frontends import onnx_defs
from .registry import load_all


def coverage(opset: int | None = None, domain: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    reg = load_all()
    opset = opset or onnx_defs.opset_version()
    schemas: dict[str, int] = {}
    for s in onnx_defs.all_schemas_with_history():
        if s.domain == "" and s.since_version <= opset and not s.deprecated:
            schemas[s.name] = min(schemas.get(s.name, 10**9), s.since_version)
    rows: list[dict[str, Any]] = []
    covered = zero = 0
    for name in sorted(schemas):
        d = reg.lookup("", name, opset)
        if d is None:
            rows.append(dict(domain="ai.onnx", op_type=name, status="unsupported", since=None, kind=None))
            continue
        covered += 1
        if d.zero is not None:
            zero += 1
        rows.append(
            dict(
                domain="ai.onnx",
                op_type=name,
                status="zero-cost" if d.zero else "rule",
                since=d.since,
                kind=d.kind,
                note=d.zero or "",
            )
        )
    contrib = [d for d in reg if d.domain != ""]
    for d in sorted(contrib, key=lambda d: (d.domain, d.op_type, d.since)):
        rows.append(
            dict(
                domain=d.domain,
                op_type=d.op_type,
                status="zero-cost" if d.zero else "rule",
                since=d.since,
                kind=d.kind,
                note=d.zero or "",
            )
        )
    extra = sorted({d.op_type for d in reg if d.domain == "" and d.op_type not in schemas})
    if domain is not None:
        dom = "ai.onnx" if domain in ("", "ai.onnx") else domain
        rows = [r for r in rows if r["domain"] == dom]
    summary = dict(
        opset=opset,
        onnx_ops=len(schemas),
        covered=covered,
        zero_cost=zero,
        rules=covered - zero,
        contrib_rules=len(contrib),
        newer_ops_with_rules=extra,
    )
    return rows, summary
