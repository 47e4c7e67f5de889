"""The result: TorchGraphCost (a GraphCost plus the module tree), the rollup of the
walker's rows into it (totals, parameters, peak activations, per-module costs and
unsupported ops), and the module tree as text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...analysis import GraphCost, NodeCost
from ...ir.graph import Role
from ...ops import registry as R
from ...ops.cost import Cost
from ...symbolic import norm, prod
from .values import _sum

if TYPE_CHECKING:
    from .trace import _Result
    from .walker import _Walker


@dataclass(frozen=True)
class TorchGraphCost(GraphCost):
    """A GraphCost from a traced module, plus its module tree. `modules` maps every
    module's name ('' is the model; 'layer1.0.conv1'...) to the cost of the ops it ran,
    its descendants included, with params by ownership (tied parameters once, in the
    first module that owns them). `module_unsupported` lists, per module, the ops
    without a cost (descendants included). `fvcore_macs` is fvcore's own `by_module()`
    of the traced counts (the handles return MACs), a cross-check of `modules`."""

    modules: Mapping[str, Cost] = field(default_factory=dict)
    module_types: Mapping[str, str] = field(default_factory=dict)
    module_unsupported: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    fvcore_macs: Mapping[str, int] = field(default_factory=dict)
    traced_on: str = "meta"
    notes: tuple[str, ...] = ()

    def by_module(self, depth: int | None = None) -> dict[str, Cost]:
        """Module name → cost; `depth` keeps modules at most that many levels deep."""
        if depth is None:
            return dict(self.modules)
        return {k: v for k, v in self.modules.items() if (k.count(".") + 1 if k else 0) <= depth}

    def modules_dict(self) -> dict[str, Any]:
        out = {}
        for name, c in self.modules.items():
            d = c.to_dict()
            d["type"] = self.module_types.get(name, "")
            uns = self.module_unsupported.get(name)
            if uns:
                d["unsupported"] = dict(uns)
            out[name] = d
        return out


# -- rollups ---------------------------------------------------------------------------
def _finish(res: _Result, traced_on: str, notes: list[str], original: Any) -> TorchGraphCost:
    w = res.walker
    fca = res.fca
    rows = list(w.rows)
    scopes = list(w.row_module)
    total_params = sum(int(p.numel()) for p in res.module.parameters())
    counted = sum(int(r.cost.params) for r in rows)
    if counted < total_params:
        rows.append(
            NodeCost(
                "(parameters not read by the traced forward)",
                "Parameters",
                "",
                R.VIEW,
                "zero",
                Cost(params=total_params - counted),
                "parameters the traced forward never reads",
            )
        )
        scopes.append("")
    total = _sum(r.cost for r in rows)
    peak = _peak(rows, w)
    weight_bytes = norm(sum(w.weight_bytes.values()))
    # module tree
    aliases: dict[int, str] = {}
    for name, mod in res.module.named_modules(remove_duplicate=False):
        aliases.setdefault(id(mod), name)
    names = list(dict.fromkeys(aliases[id(m)] for _, m in res.module.named_modules(remove_duplicate=False)))
    types = {n: type(res.module.get_submodule(n)).__name__ if n else type(res.module).__name__ for n in names}
    groups: dict[str, list[Cost]] = {n: [] for n in names}
    uns: dict[str, Counter] = {n: Counter() for n in names}
    for r, scope in zip(rows, scopes):
        for anc in _ancestors(scope):
            if anc in groups:
                groups[anc].append(r.cost)
                if r.status == "unsupported":
                    uns[anc][r.op_type] += 1
    pc = res.fvcore_nn.parameter_count(res.module)
    modules = {n: _sum(groups[n]).replace(params=int(pc.get(n, 0))) for n in names}
    fv = {k: int(v) for k, v in fca.by_module().items()}
    for n in names:
        try:
            fv_uns = fca.unsupported_ops(n)
        except KeyError:
            continue
        for op, c in fv_uns.items():
            if op not in uns[n]:
                uns[n][op] += c
    return TorchGraphCost(
        nodes=tuple(rows),
        total=total,
        params=total_params,
        unsupported=tuple(w.unsupported),
        symbols=(),
        peak_activation_bytes=peak,
        weight_bytes=weight_bytes,
        outputs={},
        modules=modules,
        module_types=types,
        module_unsupported={n: dict(c) for n, c in uns.items() if c},
        fvcore_macs=fv,
        traced_on=traced_on,
        notes=tuple(notes),
    )


def _ancestors(scope: str) -> list[str]:
    if not scope:
        return [""]
    parts = scope.split(".")
    return [""] + [".".join(parts[:k]) for k in range(1, len(parts) + 1)]


def _peak(rows: list[NodeCost], w: _Walker) -> Any:
    """Peak bytes of live activations (inputs and op outputs, never weights) in row order."""
    size: dict[str, Any] = {}
    for v in w.env.values():
        if v.info.role is not Role.WEIGHT and v.info.shape is not None and v.info.dtype is not None and not v.view:
            size.setdefault(v.name, v.info.dtype.nbytes(prod(v.info.shape)))
    last: dict[str, int] = {}
    for i, r in enumerate(rows):
        for x in r.input_names:
            last[x] = i
    for o in w.output_names:
        last[o] = len(rows)
    live: dict[str, Any] = {}
    cur = peak = 0
    for nm in w.input_names:
        if nm in size and nm not in live:
            live[nm] = size[nm]
            cur += size[nm]
    peak = cur
    for i, r in enumerate(rows):
        for o in r.output_names:
            if o in size and o not in live:
                live[o] = size[o]
                cur += size[o]
        peak = max(peak, cur)
        for x in set(r.input_names) | set(r.output_names):
            if x in live and last.get(x, -1) <= i:
                cur -= live.pop(x)
    return peak


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
        label = (indent + (name.rsplit(".", 1)[-1] if name else "(model)"))[:40]
        lines.append(
            f"{label:<40} {gc.module_types.get(name, ''):<20.20} {si(c.flops):>10} {si(c.macs):>10} "
            f"{si(c.params):>10} {si(c.bytes):>10}"
        )
        for op, k in sorted((gc.module_unsupported.get(name) or {}).items()):
            lines.append(f"{'':<40} unsupported: {op} x{k}")
    return "\n".join(lines)
