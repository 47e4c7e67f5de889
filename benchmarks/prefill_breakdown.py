"""Why the H200 whole-model LLM steps are off: each step's per-kernel breakdown next to the
measured single ops nearest each kernel, and two what-ifs on the eager pipeline.

    python benchmarks/prefill_breakdown.py                # breakdown + continuous-pipeline what-if
    python benchmarks/prefill_breakdown.py --refit-host   # + host parameters refitted for it (~20 s)

The product times a model segment by segment (embedding, one layer graph x its repeat,
head: planners/workload.py, engine/steps.py) and each segment's eager pipeline starts
from an empty queue, so every layer pays the host's dispatch of its first kernels again.
`continuous` times the same kernels as one eager pipeline (lower.assemble: one graph
with the layers as a Repeat block, engine/latency.py's _eager_overheads), as PyTorch
runs them: the host dispatches layer i+1 while the GPU runs layer i. `--refit-host`
refits the global host parameters (eager_gap_s, dispatch_*) on the fit's cases with the
continuous steps, everything else as shipped (the fit script's fit_added), and prints
the steps and the held-out single ops with them. Nothing is written.

Measured numbers only from benchmarks/data/h200-2026-11-28.json; the held-out rows are
printed, never fitted (the refit uses the fit's training cases, as the fit script does).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from costmodel.analysis import analyze_graph  # noqa: E402
from costmodel.engine import datasets, fitting  # noqa: E402
from costmodel.engine.calibration import for_profile  # noqa: E402
from costmodel.engine.kernels import gemm_alignment  # noqa: E402
from costmodel.engine.latency import graph_latency  # noqa: E402
from costmodel.engine.steps import StepCase, load_steps, step_model, step_rows  # noqa: E402
from costmodel.frontends.lower import assemble, lower  # noqa: E402
from costmodel.hardware import get_profile  # noqa: E402

MODEL_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hardware_profiles", "device-model.json"
)


def continuous_steps() -> list[StepCase]:
    """The H200 steps, each as one assembled graph: one eager pipeline across segments."""
    out = []
    for s, raw in zip(load_steps(), step_rows()):
        spec, wl = step_model(raw)
        gc = analyze_graph(assemble(lower(spec, wl), "step"))
        out.append(StepCase(s.m, ((gc, 1),), s.execution, s.holdout))
    return out


def nearest(cases: list[Any], op: str, want: dict[str, float], keys: tuple[str, ...], extra: Any = None) -> Any:
    """The measured bf16/fp16 case of `op` nearest `want` in log-space over `keys`."""
    best, dist = None, math.inf
    for c in cases:
        d = dict(c.m.dims)
        if c.m.op != op or c.m.dtype not in ("bf16", "fp16") or (extra and not extra(d)):
            continue
        x = sum(math.log(max(float(d.get(k, 1)), 1) / max(want[k], 1)) ** 2 for k in keys)
        if x < dist:
            best, dist = c, x
    return best


def breakdown(steps: list[StepCase], ops: list[Any], hw: Any, cal: Any) -> None:
    for s in steps:
        pred = s.predict(hw, cal)
        tag = "held out" if s.holdout else "fitted"
        print(
            f"\n== {s.m.label} ({tag}): measured {s.measured_s * 1e3:.3f} ms, predicted {pred * 1e3:.3f} ms ({pred / s.measured_s - 1:+.1%})"
        )
        if "prefill" not in s.m.label:
            continue
        print(
            f"   {'kernel':14s} {'x':>3s} {'bound':9s} {'GPU us':>9s} {'exposed us':>10s} {'TFLOP/s':>8s}  nearest measured single op (error of the model on it)"
        )
        for gc, rep in s.segments:
            t = graph_latency(gc, hw, execution=s.execution, calibration=cal, bands=False)
            for n, nt in zip(gc.nodes, t.nodes):
                if not nt.time_s:
                    continue
                gpu = nt.time_s - nt.overhead_s
                tf = nt.flops / gpu / 1e12 if gpu > 0 and nt.flops else 0.0
                print(
                    f"   {n.name:14s} {rep:3d} {nt.bound:9s} {gpu * 1e6:9.1f} {nt.overhead_s * 1e6:10.1f} {tf:8.0f}  {_near(n, ops, hw, cal)}"
                )


def _near(n: Any, ops: list[Any], hw: Any, cal: Any) -> str:
    shapes = n.input_shapes
    if n.op_type == "Linear" and shapes and shapes[0] and shapes[1]:
        m = math.prod(int(x) for x in shapes[0][:-1])
        k, nn = (int(x) for x in shapes[1])
        c = nearest(ops, "matmul", {"m": m, "n": nn, "k": k}, ("m", "n", "k"))
        if c is None:
            return ""
        d = dict(c.m.dims)
        cls = gemm_alignment(d["n"], d["k"], 2)
        p = c.predict(hw, cal)
        return f"matmul {d['m']}x{d['n']}x{d['k']} ({cls}; this kernel: {gemm_alignment(nn, k, 2)}) {p / c.measured_s - 1:+.1%}"
    if n.op_type == "GroupQueryAttention" and shapes and shapes[0]:
        b, sq = int(shapes[0][0]), int(shapes[0][1])
        c = nearest(ops, "sdpa", {"b": b, "sq": sq, "skv": sq}, ("b", "sq", "skv"), lambda d: d.get("causal") == 1)
        if c is None:
            return ""
        d = dict(c.m.dims)
        p = c.predict(hw, cal)
        shape = f"b{d['b']} hq{d['hq']} hkv{d['hkv']} s{d['sq']} d{d['d']}"
        return f"causal sdpa {shape} {p / c.measured_s - 1:+.1%}"
    return ""


def whatif(
    label: str, steps: list[StepCase], profiles: dict[str, Any], params: dict[str, float], refines: dict[str, Any]
) -> None:
    pred = fitting.predict(steps, profiles, params, refines)
    print(f"\n-- {label}")
    for phase in ("prefill", "decode"):
        for split in (False, True):
            errs = [p / s.measured_s - 1 for s, p in zip(steps, pred) if phase in s.m.label and s.holdout is split]
            print(
                f"   {phase} {'held-out' if split else 'fitted  '} median {np.median(np.abs(errs)):.1%}: {', '.join(f'{e:+.1%}' for e in errs)}"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refit-host", action="store_true", help="refit the host parameters for the continuous pipeline")
    ap.add_argument("--iters", type=int, default=15)
    args = ap.parse_args(argv)
    hw = get_profile("h200")
    cal = for_profile(hw)
    named = datasets.load_cases(["h200"] if not args.refit_host else datasets.SETS, per_group=40)
    ops = [c for s, c in named if s == "h200"]
    steps = load_steps()
    breakdown(steps, ops, hw, cal)

    import benchmarks.fit_device_model as fdm

    p1, refines, _, _ = fdm.load_stage1(MODEL_FILE)
    with open(MODEL_FILE, encoding="utf-8") as f:
        import json

        params = {**p1, **json.load(f)["params"]}
    cont = continuous_steps()
    profiles = {d: get_profile(d) for d in sorted({c.m.profile for _, c in named} | {hw.name})}
    whatif("shipped: one eager pipeline per segment", steps, profiles, params, refines)
    whatif("continuous eager pipeline, shipped parameters", cont, profiles, params, refines)
    if args.refit_host:
        train = [c for _, c in named if not c.holdout] + [s for s in cont if not s.holdout]
        keys = [k for k in params if k.startswith("dispatch_") or k == "eager_gap_s"]
        new = fdm.fit_added(train, profiles, params, refines, keys, args.iters)
        print("\n   host parameters: " + ", ".join(f"{k} {params[k] * 1e6:.1f} -> {new[k] * 1e6:.1f} us" for k in keys))
        whatif("continuous eager pipeline, host parameters refitted", cont, profiles, new, refines)
        held = [c for c in ops if c.holdout]
        for tag, pp in (("shipped", params), ("refitted", new)):
            pr = fitting.predict(held, profiles, pp, refines)
            err = np.median(np.abs(pr / np.array([c.measured_s for c in held]) - 1))
            print(f"   H200 single ops held out ({tag} host parameters): median {err:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
