"""A traced PyTorch module, analysed: the front end (frontends/torch/) translates the
trace into one IR graph, `analyze_graph` costs it as it costs every graph, and the node
costs roll up into the module tree. Nothing here costs a node."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .analysis import GraphCost, NodeStatus, analyze_graph
from .analysis_records import sum_costs
from .frontends.torch.trace import TorchTrace, trace_module
from .ir.dtypes import DType
from .ir.graph import Graph
from .limits import Limits
from .ops.cost import Cost
from .ops.registry import Registry


@dataclass(frozen=True, kw_only=True)
class TorchGraphCost(GraphCost):
    """A GraphCost from a traced module, plus its module tree. `modules` maps every
    module's name ('' is the model; 'layer1.0.conv1'...) to the cost of the ops it ran,
    its descendants included, with params by ownership (tied parameters once, in the
    first module that owns them). `module_unsupported` lists, per module, the ops
    without a cost (descendants included). `fvcore_macs` is fvcore's own `by_module()`
    of the traced counts (its handles return each op's MACs), a cross-check of `modules`."""

    modules: Mapping[str, Cost] = field(default_factory=dict)
    module_types: Mapping[str, str] = field(default_factory=dict)
    module_unsupported: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    fvcore_macs: Mapping[str, int] = field(default_factory=dict)
    traced_on: str = "meta"
    notes: tuple[str, ...] = ()

    def by_module(self, depth: int | None = None) -> dict[str, Cost]:
        """Module name -> cost; `depth` keeps modules at most that many levels deep."""
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


def analyze_module(
    module: Any,
    example_inputs: Any,
    *,
    dtype: DType | None = None,
    strict: bool = False,
    limits: Limits | None = None,
    registry: Registry | None = None,
    causal_attention: str = "dense",
    device: str = "auto",
    train: bool = False,
    runtime: Any = None,
) -> tuple[TorchGraphCost, str]:
    """Trace `module(*example_inputs)` (frontends/torch/trace.py explains the options),
    analyse the graph and roll it up by module. Returns (TorchGraphCost, display name)."""
    lim = (limits or Limits()).start()
    costs: list[GraphCost] = []

    def analyse(graph: Graph) -> dict[str, int]:
        gc = analyze_graph(graph, dtype=dtype, strict=strict, registry=registry, limits=lim, runtime=runtime)
        costs[:] = [gc]
        return {
            n.name: n.cost.macs
            for n in gc.nodes
            if n.status is NodeStatus.COSTED and type(n.cost.macs) is int and n.cost.macs
        }

    trace = trace_module(
        module,
        example_inputs,
        limits=lim,
        causal_attention=causal_attention,
        device=device,
        train=train,
        on_graph=analyse,
    )
    return _rollup(costs[0], trace), trace.name


def _rollup(gc: GraphCost, trace: TorchTrace) -> TorchGraphCost:
    names = list(trace.module_types)
    groups: dict[str, list[Cost]] = {n: [] for n in names}
    uns: dict[str, Counter[str]] = {n: Counter() for n in names}
    where = trace.node_module
    for n in gc.nodes:
        scope = where.get(n.name, "")
        key = f"{n.domain}::{n.op_type}" if n.domain else n.op_type
        for anc in _ancestors(scope):
            if anc in groups:
                groups[anc].append(n.cost)
                if n.status is NodeStatus.UNSUPPORTED:
                    uns[anc][key] += 1
    for mod, ops in trace.fvcore_unsupported.items():
        for op, c in ops.items():
            if mod in uns and op not in uns[mod]:
                uns[mod][op] += c
    modules = {n: sum_costs(groups[n]).replace(params=trace.module_params.get(n, 0)) for n in names}
    return TorchGraphCost(
        nodes=gc.nodes,
        total=gc.total,
        params=gc.params,
        unsupported=gc.unsupported,
        symbols=gc.symbols,
        peak_activation_bytes=gc.peak_activation_bytes,
        weight_bytes=gc.weight_bytes,
        outputs=gc.outputs,
        modules=modules,
        module_types=dict(trace.module_types),
        module_unsupported={n: dict(c) for n, c in uns.items() if c},
        fvcore_macs=dict(trace.fvcore_by_module),
        traced_on=trace.traced_on,
        notes=trace.notes,
    )


def _ancestors(scope: str) -> list[str]:
    if not scope:
        return [""]
    parts = scope.split(".")
    return [""] + [".".join(parts[:k]) for k in range(1, len(parts) + 1)]


__all__ = ["TorchGraphCost", "analyze_module"]
