"""Predicted vs measured latency of torchvision classifiers from their ONNX exports, per
runtime: the acceptance of issue 15 posed on the measured set in benchmarks/data.

    python benchmarks/export_torchvision.py DIR          # needs torch + torchvision
    python benchmarks/validate_torchvision.py DIR [--runtime none,pytorch] [--per-model]

Every measured case (model, dtype, memory format, batch; CUDA-graph replay; eager
modules for every runtime but torch-compile, compiled ones for it) is analysed
from DIR/<model>.onnx with the batch bound, the measured dtype, `--execution graph`, on
the H200 profile. DIR defaults to the shipped exports (benchmarks/data/
h200-torchvision-onnx.tar.gz, unpacked to a temporary folder).

Half of the models (costmodel/engine/vision.py: sorted by name, every other one held
out) enter benchmarks/fit_device_model.py's fit of the device model; the other half never
does. The held-out line is the one to judge the model by.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from costmodel.api import analyze  # noqa: E402
from costmodel.engine.vision import EXPORTS, heldout_models  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "h200-torchvision-2026-12-04.json")


def stats(errs: list[float]) -> dict[str, float]:
    a = sorted(abs(e) for e in errs)
    if not a:
        return {"n": 0}
    return {"n": len(a), "median": a[len(a) // 2], "p90": a[int(0.9 * (len(a) - 1))], "max": a[-1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("onnx_dir", nargs="?", help="folder of <model>.onnx exports (default: the shipped ones)")
    ap.add_argument("--runtime", default="none,pytorch")
    ap.add_argument("--dtype", default="fp16", help="measured dtype to check (fp16, fp32, bf16)")
    ap.add_argument("--memory-format", default="channels_last")
    ap.add_argument("--per-model", action="store_true")
    args = ap.parse_args(argv)
    with open(DATA) as f:
        data = json.load(f)
    if args.onnx_dir is None:
        import tarfile
        import tempfile

        args.onnx_dir = tempfile.mkdtemp(prefix="costmodel-tv-")
        with tarfile.open(os.path.join(os.path.dirname(DATA), EXPORTS), "r:gz") as t:
            t.extractall(args.onnx_dir, filter="data")
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
        held = heldout_models([c["model"] for c in data["cases"]])
        for split, pick in (("fitted models", False), ("held-out models", True)):
            part = stats([e for m, es in per.items() if (m in held) is pick for e in es])
            if part["n"]:
                print(f"  {split:16s} n={part['n']:3d} median |err| {part['median']:.1%}  p90 {part['p90']:.1%}")
        if args.per_model:
            for m, es in per.items():
                print(f"  {m:22s}", " ".join(f"{e:+7.1%}" for e in es))
    return 0


if __name__ == "__main__":
    sys.exit(main())
