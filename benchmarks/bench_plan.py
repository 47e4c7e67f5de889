"""Whole-process speed of `costmodel plan train` (issue 17: >= 5,000 layouts per second of
whole-process time, goal 10^4): the issue's command as a fresh process, interleaved round
by round with `python -c "import numpy"`, the layouts it evaluated (its JSON's
`evaluated`) over its median wall time.

    python benchmarks/bench_plan.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAN = (
    "plan train llama-3-70b --hardware dgx-h100 --gpus 64,128,256,512 --batch 1024 --seq-len 4096 "
    "--tokens 1e12 --format json --top 10"
).split()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    cmds = {"plan": [sys.executable, "-m", "costmodel", *PLAN], "numpy": [sys.executable, "-c", "import numpy"]}
    times: dict[str, list[float]] = {k: [] for k in cmds}
    evaluated = 0
    for _ in range(args.runs):
        for k, c in cmds.items():
            t = time.perf_counter()
            p = subprocess.run(c, capture_output=True, text=True, cwd=ROOT, check=True)
            times[k].append(time.perf_counter() - t)
            if k == "plan":
                evaluated = json.loads(p.stdout)["evaluated"]
    plan = statistics.median(times["plan"])
    out = {
        "evaluated": evaluated,
        "plan_s": plan,
        "layouts_per_s": evaluated / plan,
        "import_numpy_s": statistics.median(times["numpy"]),
        "runs": args.runs,
    }
    print(json.dumps(out, indent=1, allow_nan=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
