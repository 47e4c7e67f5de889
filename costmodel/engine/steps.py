"""Measured whole-model steps as fit/validation cases: the H200 set's Qwen2.5-7B-like
decoder (prefill in eager mode; decode eager and as a CUDA-graph replay), lowered by the
LLM planner's own lowering and timed segment by segment with their repeats.

They are the only measured whole graphs: half of them (the first, third, ... of each
phase and execution mode) enter the fit, where they pin the per-kernel overhead of graph replay and the eager pipeline on a
busy GPU; the other half is held out. A StepCase quacks like measured.Case (`m.profile`,
`m.family`, `measured_s`, `predict`, `holdout`), so fitting and validation take both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..analysis import GraphCost, analyze_graph
from ..hardware import get_profile
from .calibration import Calibration
from .latency import graph_latency
from .uncertainty import family_of

__all__ = ["StepCase", "load_steps", "step_model", "step_rows"]

STEP_WEIGHT = 3.0  # a whole step counts as 3 single ops in the fit (fitting.case_weights)


@dataclass(frozen=True)
class StepInfo:
    """The subset of a Measurement's interface the fit and the report read."""

    profile: str
    op: str
    time_s: float
    label: str
    family: str = "model"
    dtype: str = "bf16"

    def condition(self, key: str, default: str = "") -> str:
        return default

    def shape_text(self) -> str:
        return self.label


@dataclass(frozen=True)
class StepCase:
    m: StepInfo
    segments: tuple[tuple[GraphCost, int], ...]
    execution: str
    holdout: bool

    @property
    def measured_s(self) -> float:
        return self.m.time_s

    def predict(self, hw: Any, cal: Calibration, mode: str = "calibrated") -> float:
        return sum(
            graph_latency(gc, hw, mode=mode, execution=self.execution, calibration=cal, bands=False).latency_s * rep
            for gc, rep in self.segments
        )

    def components(self, hw: Any, cal: Calibration) -> tuple[list[float], list[str]]:
        """Each kernel's predicted time (times its segment's repeat) and family."""
        times: list[float] = []
        fams: list[str] = []
        for gc, rep in self.segments:
            t = graph_latency(gc, hw, execution=self.execution, calibration=cal, bands=False)
            for n, nt in zip(gc.nodes, t.nodes):
                times.append(nt.time_s * rep)
                fams.append(family_of(n.kind, n.op_type))
        return times, fams


def step_model(raw: dict[str, Any]) -> tuple[Any, Any]:
    """The (ModelSpec, Workload) of one measured LLM row of the H200 set."""
    from ..frontends.lower import Logits, Phase, Workload
    from ..frontends.spec import spec_from_dict
    from ..ir.dtypes import dtype

    spec = spec_from_dict(
        dict(
            name=raw["model"],
            architecture="decoder",
            vocab_size=raw["vocab"],
            hidden_size=raw["d"],
            num_layers=raw["layers"],
            num_heads=raw["heads"],
            num_kv_heads=raw["kv_heads"],
            intermediate_size=raw["ffn"],
            position="none",
        )
    )
    if raw["phase"] == "prefill":
        wl = Workload(Phase.PREFILL, raw["batch"], raw["prompt_len"], 0, Logits.LAST, dtype("bf16"))
    else:
        wl = Workload(Phase.DECODE, raw["batch"], 1, raw["context_len"] - 1, Logits.LAST, dtype("bf16"))
    return spec, wl


def step_rows(root: Any = None) -> list[dict[str, Any]]:
    """The measured LLM rows of the H200 set, in file order."""
    from .datasets import SETS, data_dir

    path = data_dir(root) / SETS["h200"].pattern
    data = json.loads(path.read_text(encoding="utf-8"))
    return [x for x in data["cases"] if x.get("section") == "llm"]


def load_steps(root: Any = None) -> list[StepCase]:
    from ..frontends.lower import lower

    profile = get_profile("h200").name
    out = []
    seen: dict[tuple[str, str], int] = {}
    for raw in step_rows(root):
        # every other step of each (phase, execution) group is held out, the first fitted
        group = (raw["phase"], str(raw.get("mode")))
        i = seen[group] = seen.get(group, -1) + 1
        spec, wl = step_model(raw)
        segs = tuple((analyze_graph(sg.graph), sg.repeat) for sg in lower(spec, wl))
        length = raw.get("prompt_len") or raw.get("context_len")
        label = f"llm {raw['phase']} {raw.get('mode')} batch={raw['batch']} len={length}"
        info = StepInfo(profile, f"llm_{raw['phase']}", float(raw["measured_s"]), label)
        out.append(StepCase(info, segs, "graph" if raw.get("mode") == "cuda_graph" else "eager", i % 2 == 1))
    return out
