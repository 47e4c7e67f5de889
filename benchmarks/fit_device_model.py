"""Fit the cross-device model on every measured set the repository ships, refit it without
each device in turn (leave-one-device-out), and write the result as data:

    python benchmarks/fit_device_model.py                 # fit both stages and print the summary
    python benchmarks/fit_device_model.py --write         # also write the model and the profiles' tables
    python benchmarks/fit_device_model.py --stage1 hardware_profiles/device-model.json --write
                                                          # stage 2 only, on the shipped stage 1

Two stages. Stage 1 fits every parameter and refinement on the op sets and the H200 LLM
steps, with the convolution-only parameters of stage 2 held where they leave the model as
it was before them (NEUTRAL). Stage 2 fits only those (STAGE2) on the same cases plus the
fitted half of the H200 torchvision classifiers, everything else held at stage 1: the
classifiers teach the model about convolutions, not about the kernels an LLM runs
(a joint fit let them move row_cycles, softmax_passes and the H200 bandwidth refinement,
and with them the LLM numbers). The leave-one-device-out sets are made the same way.

Writes (with --write):
- hardware_profiles/device-model.json: the global parameters, the leave-one-device-out
  parameter sets, the residual quantiles the 80% bands are built from, the graph-band
  correlation, and the provenance (sets, sample, date);
- the [calibration] table of each measured device's profile: its `refine` multipliers.

Every prediction runs the product (costmodel.engine.measured.Case: one-op graph ->
analyze_graph -> graph_latency). The fit is costmodel.engine.fitting (robust
Levenberg-Marquardt on log errors, hand-written in numpy). A few minutes on two cores at
the default sample size; `--per-group 15 --iters 5` is a smoke run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from costmodel.engine import datasets, fitting  # noqa: E402
from costmodel.engine.devicemodel import features  # noqa: E402
from costmodel.engine.measured import Case  # noqa: E402
from costmodel.engine.steps import load_steps  # noqa: E402
from costmodel.engine.vision import HOLDOUT_RULE, load_vision  # noqa: E402
from costmodel.hardware import get_profile  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_FILE = os.path.join(ROOT, "hardware_profiles", "device-model.json")
# what each measured device's refinement was fitted on, for its [calibration] table
RUNS = {
    "h200": (
        "PyTorch 2.11.0+cu130, CUDA 13.0, cuDNN 9.19",
        "eager ops, CUDA events (benchmarks/data/h200-2026-11-28.json)",
    ),
    "neusight": (
        "PyTorch 2.1.0, CUDA 12.1, cuDNN 8.9",
        "NeuSight fp32 eager ops, CUDA events (benchmarks/data/public/neusight)",
    ),
    "vidur-a40": (
        "Vidur profiling (vLLM/sarathi kernels, fp16)",
        "profiler kernel times (benchmarks/data/public/vidur-a40)",
    ),
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def finite(x: object) -> object:
    """x with NaN / infinite floats as None (strict JSON)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x


def sig6(v: float) -> float:
    """Six significant digits: the parameters in seconds (kernel_overhead_s ~4e-6) lose
    their value to round(v, 6)."""
    return float(f"{v:.6g}")


def quantiles(logs: Sequence[float]) -> dict[str, float]:
    a = np.asarray(logs, float)
    return {
        "q10": round(float(np.quantile(a, 0.1)), 4),
        "q50": round(float(np.quantile(a, 0.5)), 4),
        "q90": round(float(np.quantile(a, 0.9)), 4),
        "n": len(a),
    }


def by_family(cases: Sequence[Case], pred: np.ndarray) -> dict[str, dict[str, float]]:
    out: dict[str, list[float]] = {}
    for c, p in zip(cases, pred):
        out.setdefault(c.m.family, []).append(math.log(c.measured_s / p))
    return {f: quantiles(v) for f, v in sorted(out.items()) if len(v) >= 5}


def median_err(cases: Sequence[Case], pred: np.ndarray) -> float:
    return float(np.median(np.abs(pred / np.array([c.measured_s for c in cases]) - 1))) if len(cases) else float("nan")


def graph_correlation(residuals: dict, params: dict, refines: dict) -> float:
    """The graph-band correlation rho (uncertainty.graph_band) that makes the fitted H200
    whole-model steps' errors, normalised by their band half-widths (the side they fall
    on), have unit RMS: the band as wide as those graphs' real errors. The held-out steps
    are the check (`costmodel validate`), never an input."""
    from costmodel.engine.uncertainty import graph_spread

    hw = get_profile("h200")
    cal = fitting.calibration_for(hw, params, refines.get(hw.name))
    steps = [(st.measured_s, *st.components(hw, cal)) for st in load_steps() if not st.holdout]
    best, best_err = 0.5, math.inf
    for rho in np.linspace(0.0, 1.0, 21):
        res = {**residuals, "graph_correlation": float(rho)}
        zs = []
        for measured, times, fams in steps:
            mu, s_lo, s_hi = graph_spread(times, fams, cal, res)
            x = math.log(measured / sum(times)) - mu
            zs.append(x / max(s_hi if x >= 0 else s_lo, 1e-9))
        err = abs(math.sqrt(float(np.mean(np.square(zs)))) - 1.0)
        if err < best_err:
            best, best_err = float(rho), err
    log(f"graph correlation {best:.2f} over {len(steps)} H200 steps (|RMS z - 1| = {best_err:.2f})")
    return round(best, 2)


def band_residuals(
    cases: Sequence[Case],
    profiles: dict,
    params: dict,
    refines: dict,
    lodo: dict[str, dict[str, float]],
) -> dict:
    """The residual tables the 80% bands are built from (costmodel/engine/uncertainty.py):
    "measured" from the cases the fit saw, predicted as fitted (held-out shapes stay the
    check), "unmeasured" from every device's leave-one-device-out predictions, the
    datasheet features some validation device lacked (their error is in these residuals)
    and the graph correlation on the fitted H200 steps."""
    train = [c for c in cases if not c.holdout]
    lodo_cases = [c for d in sorted(lodo) for c in cases if c.m.profile == d]
    lodo_pred = [
        p for d in sorted(lodo) for p in fitting.predict([c for c in cases if c.m.profile == d], profiles, lodo[d])
    ]
    covered = sorted({f for d in sorted({c.m.profile for c in cases}) for f in features(profiles[d]).missing})
    residuals = {
        "measured": by_family(train, fitting.predict(train, profiles, params, refines)),
        "unmeasured": by_family(lodo_cases, np.array(lodo_pred)) if lodo_cases else {},
        "covered_missing": covered,
        "incomplete_widen": 1.5,  # ASSUMED: a feature no validation device lacked; see docs/calibration.md
        "unknown_widen": 1.5,  # ASSUMED: kernels no family covers get the widest band x 1.5
    }
    residuals["graph_correlation"] = graph_correlation(residuals, params, refines)
    return residuals


def calibration_table(device: str, set_name: str, refine: dict, stats: dict, date: str) -> str:
    software, method = RUNS[set_name]
    inner = ", ".join(f"{k} = {v:.4g}" for k, v in sorted(refine.items()))
    return "\n".join(
        [
            "[calibration]",
            "# Per-device refinement of the cross-device model, fitted by benchmarks/fit_device_model.py",
            f"# on the shipped measured set '{set_name}' (held-out shapes excluded from the fit).",
            f'date = "{date}"',
            f'device = "{device}"',
            f'software = "{software}"',
            f'method = "{method}"',
            f'sets = "{set_name}"',
            f'holdout = "median |pred/meas - 1| {stats["heldout"]:.3f} over {stats["n_heldout"]} held-out cases '
            f'(leave-one-device-out {stats["lodo"]:.3f})"',
            f"refine = {{ {inner} }}",
        ]
    )


def write_profile_table(name: str, table: str) -> None:
    path = os.path.join(ROOT, "hardware_profiles", f"{get_profile(name).name}.toml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "\n[calibration]" in text:
        head, _, rest = text.partition("\n[calibration]")
        nxt = re.search(r"^\[", rest, re.MULTILINE)
        tail = rest[nxt.start() :] if nxt else ""
        text = head.rstrip() + "\n\n" + table + "\n" + ("\n" + tail if tail else "")
    else:
        text = text.rstrip() + "\n\n" + table + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# stage 1 holds these where they leave the model as it was before the torchvision set
NEUTRAL = {
    "conv_misaligned_ratio": 1.0,
    "conv_grouped_ratio": 1.0,
    "conv_bias_bandwidth_ratio": 1.0,
    "overhead_ratio_conv": 1.0,
}
# stage 2 fits only what a convolution's kernels use (no LLM kernel reads any of them)
STAGE2 = ("conv_mma16", *NEUTRAL)
# Parameters newer than a reused stage-1 document (--stage1): fitted on top of it, on the
# stage-1 cases, with everything else held (fit_added). The GEMM alignment classes' middle
# class prices only 16-/8-bit GEMMs whose leading dims are 4-/8- but not 16-byte aligned;
# the LLM steps' GEMMs are all 16-byte aligned (tests/test_kernel_alignment.py), so they
# leave stage 1's LLM numbers as they were. A fresh stage 1 (no --stage1) fits them with
# the rest.
ADDED = ("gemm_partial_16", "gemm_partial_bandwidth_ratio")


def fit_added(
    train: Sequence,
    profiles: dict,
    stage1: dict[str, float],
    refines: dict[str, dict[str, float]],
    keys: Sequence[str],
    iters: int,
    log_fn: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """`keys` (parameters a reused stage-1 document lacks) fitted on `train` with every
    other parameter and every device's refinements as stage 1 left them."""
    if not keys:
        return dict(stage1)
    out = fitting.fit(
        train,
        profiles,
        fixed={k: v for k, v in stage1.items() if k not in keys},
        refine_devices=[],
        refine_keys=(),
        fixed_refines=refines,
        max_iter=iters,
        log=log_fn,
    )
    return {**stage1, **{k: out.params[k] for k in keys}}


def stage2(
    train: Sequence,
    profiles: dict,
    stage1: dict[str, float],
    refines: dict[str, dict[str, float]],
    iters: int,
    log_fn: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """The STAGE2 parameters fitted on `train` with every other parameter and every
    device's refinements (`conv` included) as stage 1 left them."""
    fixed = {k: v for k, v in stage1.items() if k not in STAGE2}
    out = fitting.fit(
        train,
        profiles,
        start={k: stage1[k] for k in STAGE2},
        fixed=fixed,
        refine_devices=[],
        refine_keys=(),
        fixed_refines=refines,
        max_iter=iters,
        log=log_fn,
    )
    return {**stage1, **{k: out.params[k] for k in STAGE2}}


def load_stage1(path: str) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, dict[str, float]], str]:
    """Stage 1 of an earlier fit: its parameters, refinements and LODO sets (the STAGE2
    parameters as recorded in its `stage1` block; a document from before the staged fit
    has none and held them neutral by not having them)."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    st = doc.get("stage1") or {}
    params = {**NEUTRAL, **doc["params"], **st.get("params", {})}
    lodo = {d: {**NEUTRAL, **p, **st.get("lodo", {}).get(d, {})} for d, p in doc.get("lodo", {}).items()}
    source = (
        st.get("source") or f"the fit of {doc.get('date')} (per_group {doc['sample']['per_group']}, no torchvision)"
    )
    return params, doc["refines"], lodo, source


def bands_only(cases: Sequence[Case], profiles: dict, write: bool) -> int:
    """The shipped model's "residuals" recomputed (band_residuals), nothing else changed."""
    with open(MODEL_FILE, encoding="utf-8") as f:
        doc = json.load(f)
    doc["residuals"] = band_residuals(cases, profiles, doc["params"], doc["refines"], doc["lodo"])
    print(json.dumps(doc["residuals"], indent=1, allow_nan=False))
    if write:
        with open(MODEL_FILE, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, sort_keys=False, allow_nan=False)
            f.write("\n")
        log(f"wrote the residuals of {MODEL_FILE}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-group", type=int, default=40, help="sample size per (set, device, op, dtype)")
    ap.add_argument("--iters", type=int, default=25)
    ap.add_argument("--no-lodo", action="store_true", help="skip the leave-one-device-out refits")
    ap.add_argument("--no-vision", action="store_true", help="leave the H200 torchvision classifiers out")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--json", help="also write the fitted model document to this file (for inspection)")
    ap.add_argument("--stage1", help="reuse stage 1 (parameters, refinements, LODO sets) of this device-model document")
    ap.add_argument(
        "--bands-only",
        action="store_true",
        help="recompute only the band residuals of the shipped model (its parameters untouched)",
    )
    args = ap.parse_args(argv)
    t0 = time.time()
    named = datasets.load_cases(per_group=args.per_group)
    cases: list = [c for _, c in named] + load_steps()  # the H200 whole-model steps, half held out
    # the H200 torchvision classifiers (CUDA-graph replay), half of the models held out whole
    vision = [] if args.no_vision else load_vision()
    cases += vision
    set_of = {c.m.profile: s for s, c in named}
    profiles = {d: get_profile(d) for d in sorted({c.m.profile for c in cases})}
    if args.bands_only:
        return bands_only(cases, profiles, args.write)
    train = [c for c in cases if not c.holdout]
    test = [c for c in cases if c.holdout]
    log(
        f"{len(cases)} cases ({len(train)} fit, {len(test)} held out) on {len(profiles)} devices, {time.time() - t0:.0f} s"
    )

    llm_train = [c for c in train if c.m.family != "vision"]
    if args.stage1:
        p1, refines, lodo1, source = load_stage1(args.stage1)
        stage1_cost, stage1_iters = None, 0
        log(f"stage 1 from {args.stage1}: {source}")
        added = [k for k in ADDED if k not in p1]
        if added:
            p1 = fit_added(llm_train, profiles, p1, refines, added, args.iters, log)
            for d, l1 in lodo1.items():
                rest1 = [c for c in llm_train if c.m.profile != d]
                lodo1[d] = fit_added(
                    rest1, profiles, l1, {k: v for k, v in refines.items() if k != d}, added, args.iters
                )
            source += f"; {', '.join(added)} fitted on top of it {_dt.date.today().isoformat()}"
            log(f"added: {', '.join(f'{k} {p1[k]:.4g}' for k in added)}, {time.time() - t0:.0f} s")
    else:
        out1 = fitting.fit(llm_train, profiles, fixed=NEUTRAL, max_iter=args.iters, log=log)
        p1, refines, lodo1 = dict(out1.params), out1.refines, {}
        stage1_cost, stage1_iters = out1.cost, out1.iterations
        source = f"fitted {_dt.date.today().isoformat()} (per_group {args.per_group}, no torchvision)"
        log(f"stage 1: cost {out1.cost:.3f} in {out1.iterations} iterations, {time.time() - t0:.0f} s")
    params = stage2(train, profiles, p1, refines, args.iters, log) if vision else p1
    log(f"stage 2: {', '.join(f'{k} {p1[k]:.4g} -> {params[k]:.4g}' for k in STAGE2)}, {time.time() - t0:.0f} s")

    lodo: dict[str, dict[str, float]] = {}
    lodo_stage1: dict[str, dict[str, float]] = {}
    lodo_pred: dict[str, np.ndarray] = {}
    if not args.no_lodo:
        for d in profiles:
            # both stages again without any case of d (the classifiers are all H200 cases)
            if d in lodo1:
                l1 = lodo1[d]
            else:
                rest1 = [c for c in llm_train if c.m.profile != d]
                l1 = dict(fitting.fit(rest1, profiles, fixed=NEUTRAL, max_iter=args.iters).params)
            rest = [c for c in train if c.m.profile != d]
            # the other devices keep their refinements of the full fit (the LODO stage-1
            # refits' ones are not kept); d's play no part
            others = {k: v for k, v in refines.items() if k != d}
            full_d = stage2(rest, profiles, l1, others, args.iters) if vision else l1
            lodo[d] = {k: sig6(v) for k, v in full_d.items()}
            lodo_stage1[d] = {k: sig6(l1[k]) for k in STAGE2}
            mine = [c for c in cases if c.m.profile == d]
            lodo_pred[d] = fitting.predict(mine, profiles, lodo[d])
            log(f"LODO {d}: median {median_err(mine, lodo_pred[d]):.3f} ({len(mine)} cases), {time.time() - t0:.0f} s")
    residuals = band_residuals(cases, profiles, params, refines, lodo)

    vision_stats = {}
    if vision:
        pv = fitting.predict(vision, profiles, params, refines)
        for split, pick in (("fit", False), ("heldout", True)):
            idx = [i for i, c in enumerate(vision) if c.holdout is pick]
            err = np.abs(pv[idx] / np.array([vision[i].measured_s for i in idx]) - 1)
            vision_stats[split] = {
                "cases": len(idx),
                "models": sorted({vision[i].m.shape_text().split()[0] for i in idx}),
                "median": round(float(np.median(err)), 4),
                "p90": round(float(np.quantile(err, 0.9)), 4),
            }
            log(f"torchvision {split}: median {np.median(err):.3f} p90 {np.quantile(err, 0.9):.3f} ({len(idx)} cases)")
    today = _dt.date.today().isoformat()
    per_device = {}
    for d in profiles:
        mine_t = [c for c in test if c.m.profile == d and c.m.family != "vision"]
        per_device[d] = {
            "heldout": median_err(mine_t, fitting.predict(mine_t, profiles, params, refines)),
            "n_heldout": len(mine_t),
            "lodo": median_err([c for c in cases if c.m.profile == d], lodo_pred[d])
            if d in lodo_pred
            else float("nan"),
        }
        log(
            f"{d:18s} held-out {per_device[d]['heldout']:.3f} (n={per_device[d]['n_heldout']}) LODO {per_device[d]['lodo']:.3f}"
        )
    doc = {
        "format": "costmodel-device-model",
        "version": 1,
        "date": today,
        "generated_by": "benchmarks/fit_device_model.py",
        "sets": sorted(datasets.SETS),
        "sample": {"per_group": args.per_group, "cases": len(cases), "fit": len(train), "heldout": len(test)},
        "fit": {
            "stage1_cost": None if stage1_cost is None else round(stage1_cost, 4),
            "stage1_iterations": stage1_iters,
        },
        "params": {k: sig6(v) for k, v in params.items()},
        "refines": refines,
        # stage 1's values of the parameters stage 2 refits (the rest are the same), so that
        # --stage1 on this document reproduces stage 2
        "stage1": {
            "source": source,
            "params": {k: sig6(p1[k]) for k in STAGE2},
            "lodo": lodo_stage1,
        },
        "lodo": lodo,
        "residuals": residuals,
        "torchvision": {"holdout": HOLDOUT_RULE, **vision_stats} if vision_stats else {},
        "per_device": {
            d: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()} for d, s in per_device.items()
        },
    }
    summary = {k: doc[k] for k in ("sample", "fit", "torchvision", "per_device")}
    print(json.dumps(finite(summary), indent=1, allow_nan=False))  # NaN (no LODO run) prints as null
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(finite(doc), f, indent=1, allow_nan=False)
    if args.write:
        with open(MODEL_FILE, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, sort_keys=False, allow_nan=False)
            f.write("\n")
        for d, ref in refines.items():
            write_profile_table(d, calibration_table(profiles[d].display_name, set_of[d], ref, per_device[d], today))
        log(f"wrote {MODEL_FILE} and {len(refines)} profile tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
