"""Predicted vs measured latency of torchvision classifiers from their ONNX exports, per
runtime: the acceptance of issue 15 posed on the measured set in benchmarks/data.

    python benchmarks/export_torchvision.py DIR          # needs torch + torchvision
    python benchmarks/validate_torchvision.py DIR [--runtime none,pytorch] [--per-model]

Every measured case (model, dtype, memory format, batch; CUDA-graph replay; eager
modules for every runtime but torch-compile, compiled ones for it) is analysed
from DIR/<model>.onnx with the batch bound, the measured dtype, `--execution graph`, on
the H200 profile. This set was measured for this work and used to check (not fit) the
runtime rewrites: no engine parameter is fitted on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from costmodel.api import analyze  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "h200-torchvision-2026-12-04.json")


def stats(errs: list[float]) -> dict[str, float]:
    a = sorted(abs(e) for e in errs)
    if not a:
        return {"n": 0}
    return {"n": len(a), "median": a[len(a) // 2], "p90": a[int(0.9 * (len(a) - 1))], "max": a[-1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("onnx_dir")
    ap.add_argument("--runtime", default="none,pytorch")
    ap.add_argument("--dtype", default="fp16", help="measured dtype to check (fp16, fp32, bf16)")
    ap.add_argument("--memory-format", default="channels_last")
    ap.add_argument("--per-model", action="store_true")
    args = ap.parse_args(argv)
    with open(DATA) as f:
        data = json.load(f)
    measured = [c for c in data["cases"] if c["dtype"] == args.dtype and c["memory_format"] == args.memory_format]
    for rt in args.runtime.split(","):
        # torch.compile's own measurements check the torch-compile runtime; eager ones the rest
        cases = [c for c in measured if bool(c.get("compiled")) == (rt == "torch-compile")]
        errs: list[float] = []
        per: dict[str, list[float]] = {}
        for c in cases:
            path = os.path.join(args.onnx_dir, c["model"] + ".onnx")
            if not os.path.exists(path):
                continue
            r = analyze(
                path, hardware="h200", bindings={"batch": c["batch"]}, dtype=c["dtype"], execution="graph", runtime=rt
            )
            e = r.latency_s / c["measured_s"] - 1
            errs.append(e)
            per.setdefault(c["model"], []).append(e)
        s = stats(errs)
        if not s["n"]:
            print(f"{rt}: no exports found in {args.onnx_dir}")
            continue
        print(f"{rt:14s} n={s['n']:3d} median |err| {s['median']:.1%}  p90 {s['p90']:.1%}  max {s['max']:.1%}")
        if args.per_model:
            for m, es in per.items():
                print(f"  {m:22s}", " ".join(f"{e:+7.1%}" for e in es))
    return 0


if __name__ == "__main__":
    sys.exit(main())
