"""Predicted vs published training runs (benchmarks/data/published_training.json).

Every run is planned with the same model (no per-run constant): its model spec, system,
layout and recipe as the publication describes them go through `estimate_training`, and
the published throughput is turned into seconds per optimizer step by the convention its
`measured.kind` names:
- step_s: seconds per iteration as published;
- tokens_per_s_per_gpu: global batch x sequence / (value x GPUs);
- tflops_per_gpu_megatron: Megatron-LM's count 24 f B s l h^2 (1 + s/6h + V/16lh) with
  f = 4 under full recompute (Narayanan et al. 2021, eq. 3), over value x GPUs;
- tflops_per_gpu_6n: (6 N + 12 l h s) FLOPs per token (PaLM's MFU convention);
- gpu_hours: GPU-hours for `tokens` tokens, i.e. tokens / (hours x 3600) per GPU.

    python -m benchmarks.published_training            # table of per-run errors
    python -m benchmarks.published_training --markdown # the same as Markdown (docs)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from dataclasses import dataclass
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "published_training.json")


@dataclass(frozen=True)
class Row:
    id: str
    group: str
    measured_s: float
    predicted_s: float
    fits: bool
    source: str

    @property
    def error(self) -> float:
        return self.predicted_s / self.measured_s - 1


def load() -> list[dict[str, Any]]:
    with open(DATA, encoding="utf-8") as f:
        return list(json.load(f)["runs"])


def measured_step_s(run: dict[str, Any], spec: Any) -> float:
    m = run["measured"]
    b, s, g = run["global_batch"], run["seq_len"], run["gpus"]
    kind, value = m["kind"], float(m["value"])
    if kind == "step_s":
        return value
    if kind == "tokens_per_s_per_gpu":
        return b * s / (value * g)
    if kind == "gpu_hours":
        return b * s / (float(m["tokens"]) / (value * 3600) * g)
    h, layers, vocab = spec.hidden_size, spec.num_layers, spec.vocab_size
    if kind == "tflops_per_gpu_megatron":
        f = float(m.get("recompute_factor", 3))
        flops = 24 * f * b * s * layers * h * h * (1 + s / (6 * h) + vocab / (16 * layers * h))
        return flops / (value * 1e12 * g)
    if kind == "tflops_per_gpu_6n":
        from costmodel.planners.workload import param_count

        flops = (6 * param_count(spec) + 12 * layers * h * s) * b * s
        return flops / (value * 1e12 * g)
    raise ValueError(f"{run['id']}: unknown measured kind {kind!r}")


def predict(run: dict[str, Any]) -> Row:
    from costmodel.frontends import load_model_spec
    from costmodel.hardware.systems import get_system
    from costmodel.planners.layout import make_layout, make_recipe
    from costmodel.planners.training import estimate_training

    spec = load_model_spec(run["model"])
    system = get_system(run["system"])
    lay = make_layout(spec, run["gpus"], run["global_batch"], run["seq_len"], **run.get("layout", {}))
    rec = make_recipe(run["global_batch"], run["seq_len"], schedule=lay.schedule, **run.get("recipe", {}))
    plan = estimate_training(spec, system, lay, rec)
    return Row(run["id"], run["group"], measured_step_s(run, spec), plan.step_latency_s, plan.fits, run["source"])


def rows() -> list[Row]:
    return [predict(r) for r in load()]


def summary(rs: list[Row]) -> dict[str, float]:
    errs = [abs(r.error) for r in rs]
    meg = [abs(r.error) for r in rs if r.group == "megatron"]
    return {
        "runs": len(rs),
        "median_abs_error": statistics.median(errs),
        "mean_abs_error": statistics.fmean(errs),
        "megatron_mean_abs_error": statistics.fmean(meg) if meg else float("nan"),
        "within_12pct": sum(e <= 0.12 for e in errs) / len(errs),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    rs = rows()
    if args.markdown:
        print("| run | measured s/step | predicted | error |")
        print("| --- | ---: | ---: | ---: |")
        for r in rs:
            print(f"| {r.id} | {r.measured_s:.3f} | {r.predicted_s:.3f} | {r.error * 100:+.1f}% |")
    else:
        for r in rs:
            print(f"{r.id:55s} {r.measured_s:10.3f} {r.predicted_s:10.3f} {r.error * 100:+7.1f}%  fits={r.fits}")
    print(json.dumps(summary(rs), allow_nan=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
