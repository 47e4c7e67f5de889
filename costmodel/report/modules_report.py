"""The module tree of a traced PyTorch module (costmodel/traced.py) as plain text."""

from __future__ import annotations

from typing import Any

from ..traced import TorchGraphCost
from .text import inert


def render_modules(gc: TorchGraphCost, depth: int | None = None) -> str:
    """The module tree as text: name, type, FLOPs, MACs, params, bytes."""

    def si(x: Any) -> str:
        v = float(x)
        for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if abs(v) >= scale:
                return f"{v / scale:.3g} {unit}"
        return f"{v:.3g}"

    lines = [f"{'module':<40} {'type':<20} {'FLOPs':>10} {'MACs':>10} {'params':>10} {'bytes':>10}"]
    for name, c in gc.by_module(depth).items():
        indent = "  " * (name.count(".") + 1 if name else 0)
        label = inert((indent + (name.rsplit(".", 1)[-1] if name else "(model)"))[:40])
        kind = inert(gc.module_types.get(name, ""))
        lines.append(
            f"{label:<40} {kind:<20.20} {si(c.flops):>10} {si(c.macs):>10} {si(c.params):>10} {si(c.bytes):>10}"
        )
        for op, k in sorted((gc.module_unsupported.get(name) or {}).items()):
            lines.append(f"{'':<40} unsupported: {inert(op)} x{k}")
    return "\n".join(lines)
