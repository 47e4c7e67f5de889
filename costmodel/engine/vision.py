"""Measured whole torchvision classifiers on the H200 as fit/validation cases.

benchmarks/data/h200-torchvision-2026-12-04.json times 36 torchvision classifiers under
CUDA-graph replay (fp16, channels-last, batch 1/16/64/256, eager PyTorch modules);
benchmarks/data/h200-torchvision-onnx.tar.gz holds their ONNX exports without weights
(benchmarks/export_torchvision.py, opset 17). Each case is the export analysed with the
`pytorch` runtime at the measured batch and dtype and timed with `execution="graph"`:
the question of issue 15, posed as a user would pose it.

Whole models are held out: the models are sorted by name and every other one (the 2nd,
4th, ...) never enters the fit (HOLDOUT_RULE), so a held-out model's layers, widths and
block structure are unseen; only device features (per-kernel overheads by kernel class,
conv efficiencies) are fitted on the other half. A VisionCase quacks like measured.Case /
steps.StepCase.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass, replace
from typing import Any

from ..analysis import GraphCost, NodeStatus, analyze_graph
from ..hardware import get_profile
from ..ir.dtypes import dtype as to_dtype
from .calibration import Calibration
from .latency import graph_latency
from .steps import StepInfo

__all__ = ["EXPORTS", "HOLDOUT_RULE", "MEASURED", "VisionCase", "heldout_models", "load_vision"]

MEASURED = "h200-torchvision-2026-12-04.json"
EXPORTS = "h200-torchvision-onnx.tar.gz"
HOLDOUT_RULE = "models sorted by name, every other one (2nd, 4th, ...) held out"
FAMILY = "vision"


@dataclass(frozen=True)
class VisionCase:
    m: StepInfo
    graph_cost: GraphCost  # the costed kernels only (uncosted nodes take no time)
    holdout: bool
    batch: int

    @property
    def measured_s(self) -> float:
        return self.m.time_s

    def predict(self, hw: Any, cal: Calibration, mode: str = "calibrated") -> float:
        return graph_latency(self.graph_cost, hw, mode=mode, execution="graph", calibration=cal, bands=False).latency_s

    def components(self, hw: Any, cal: Calibration) -> tuple[list[float], list[str]]:
        from .uncertainty import family_of

        t = graph_latency(self.graph_cost, hw, execution="graph", calibration=cal, bands=False)
        return [nt.time_s for nt in t.nodes], [family_of(n.kind, n.op_type) for n in self.graph_cost.nodes]


def heldout_models(models: list[str]) -> set[str]:
    return {m for i, m in enumerate(sorted(set(models))) if i % 2 == 1}


def _exports(root: Any) -> dict[str, bytes]:
    from .datasets import data_dir

    out = {}
    with tarfile.open(data_dir(root) / EXPORTS, "r:gz") as t:
        for member in t.getmembers():
            if member.isfile() and member.name.endswith(".onnx"):
                f = t.extractfile(member)
                if f is not None:
                    out[member.name.removesuffix(".onnx")] = f.read()
    return out


def load_vision(
    root: Any = None, dtype: str = "fp16", memory_format: str = "channels_last", models: Any = None
) -> list[VisionCase]:
    """The eager-module (not torch.compile'd) cases of one dtype and memory format (of
    `models` only, when given; the hold-out split is over every measured model)."""
    from ..frontends.onnx import to_graph
    from ..frontends.onnx_proto import parse_model
    from .datasets import data_dir

    data = json.loads((data_dir(root) / MEASURED).read_text(encoding="utf-8"))
    rows = [
        c
        for c in data["cases"]
        if c["dtype"] == dtype and c["memory_format"] == memory_format and not c.get("compiled")
    ]
    blobs = _exports(root)
    held = heldout_models([c["model"] for c in rows])
    profile = get_profile("h200").name
    graphs: dict[str, Any] = {}
    out = []
    for c in rows:
        name = c["model"]
        if name not in blobs or (models is not None and name not in models):
            continue
        g = graphs.get(name)
        if g is None:
            g = graphs[name] = to_graph(parse_model(blobs[name]))
        gc = analyze_graph(g, bindings={"batch": c["batch"]}, dtype=to_dtype(dtype), runtime="pytorch")
        gc = replace(gc, nodes=tuple(n for n in gc.nodes if n.status == NodeStatus.COSTED))
        label = f"{name} {dtype} {memory_format} batch={c['batch']}"
        info = StepInfo(profile, "torchvision", float(c["measured_s"]), label, family=FAMILY, dtype=dtype)
        out.append(VisionCase(info, gc, name in held, int(c["batch"])))
    return out
