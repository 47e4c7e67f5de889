"""The module / scope tree of an analysis: FLOPs, bytes, params and time rolled up by
the scope in each node's name, to a depth.

- ONNX graphs exported by PyTorch name nodes by module path: `/encoder/layers.0/mlp/MatMul`
  -> scopes encoder > layers.0 > mlp.
- Specs lower to `layers3/attn.qkv`: scopes layers3 > attn (the part of the leaf before
  its first dot is the block inside the layer).
- Traced torch modules name rows `layer1/0/conv1`: the module tree, with each module's
  type from the trace.
Nodes without a scope count in the root only. Folded nodes (constant subgraphs) cost
nothing at run time; only the parameters some of them make are counted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Column, Table, fraction


def scope_path(name: str) -> list[str]:
    parts = [p for p in name.split("/") if p]
    if len(parts) <= 1:
        return []
    scope = parts[:-1]
    leaf = parts[-1]
    head = leaf.split(".", 1)[0]
    if "." in leaf and head.isidentifier():
        scope.append(head)
    return scope


@dataclass
class _Acc:
    path: tuple[str, ...]
    ops: int = 0
    flops: Any = 0
    macs: Any = 0
    bytes: Any = 0
    params: Any = 0
    time_s: float = 0.0


def rollup(ops: Any, timings: Any | None, depth: int) -> list[_Acc]:
    """Depth-first list of scopes (root first), children in graph order."""
    order: dict[tuple[str, ...], _Acc] = {(): _Acc(())}
    times = list(timings) if timings is not None else [None] * len(ops)
    for n, t in zip(ops, times):
        # a folded node runs nothing but may make a parameter (ConstantOfShape weights)
        folded = n.status == "folded"
        if folded and not n.cost.params:
            continue
        path = scope_path(n.name)[:depth]
        c = n.cost
        for k in range(len(path) + 1):
            key = tuple(path[:k])
            a = order.get(key)
            if a is None:
                a = order[key] = _Acc(key)
            a.ops += 0 if folded else getattr(n, "repeat", 1)
            a.flops = a.flops + c.flops
            a.macs = a.macs + c.macs
            a.bytes = a.bytes + c.bytes
            a.params = a.params + c.params
            if t is not None:
                a.time_s += t.time_s
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for key in order:
        if key:
            children.setdefault(key[:-1], []).append(key)
    out: list[_Acc] = []

    def walk(key: tuple[str, ...]) -> None:
        out.append(order[key])
        for ch in children.get(key, ()):
            walk(ch)

    walk(())
    return out


def table(
    ops: Any,
    timings: Any | None,
    depth: int,
    *,
    total_params: Any = None,
    module_types: dict[str, str] | None = None,
    title: str = "",
    root: str = "(model)",
) -> Table:
    accs = rollup(ops, timings, depth)
    top = accs[0]
    timed = timings is not None
    params_total = total_params if total_params is not None else top.params
    cols = [
        Column("module", "module", "text", 0, elide=True),
        Column("ops", "ops", "count", 4),
        Column("flops", "FLOPs", "count", 0),
        Column("flops_share", "% FLOPs", "percent", 1),
        Column("params", "params", "count", 2),
        Column("params_share", "% params", "percent", 3),
        Column("bytes", "bytes", "bytes", 3),
    ]
    if module_types:
        cols.insert(1, Column("type", "type", "text", 5))
    if timed:
        cols += [Column("time_s", "time", "seconds", 0), Column("time_share", "% time", "percent", 1)]
    rows = []
    levels = []
    for a in accs:
        label = a.path[-1] if a.path else root
        row: list[Any] = [label]
        if module_types:
            row.append(module_types.get(".".join(a.path), ""))
        row += [
            a.ops,
            a.flops,
            fraction(a.flops, top.flops),
            a.params,
            fraction(a.params, params_total),
            a.bytes,
        ]
        if timed:
            row += [a.time_s, fraction(a.time_s, top.time_s)]
        rows.append(tuple(row))
        levels.append(len(a.path))
    return Table(
        "tree",
        title or f"module tree (depth {depth})",
        tuple(cols),
        tuple(rows),
        levels=tuple(levels),
        note="each row includes the modules below it; ops outside any module count in the first row only",
    )


def to_json(t: Table) -> list[dict[str, Any]]:
    keys = [c.key for c in t.columns]
    out = []
    paths: list[str] = []
    for r, lvl in zip(t.rows, t.levels or ()):
        del paths[max(lvl - 1, 0) :]
        if lvl:
            paths.append(str(r[0]))
        d = dict(zip(keys, r))
        d["path"] = "/".join(paths)
        d["depth"] = lvl
        out.append(d)
    return out
