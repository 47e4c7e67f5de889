"""plan serve speed: configurations judged per second (issue 17's target 10^4).

    python benchmarks/bench_plan_serve.py [--runs 3] [--json results.json]

A configuration is one (device, layout, weight dtype, batch cap, replica count) the load
model judges against the SLOs. Measured three ways, each the median of --runs runs:
- in process, warm: search_serving() after one warm-up search of the same model (imports
  and first-use caches paid), split into sampling the step tables (the engine's work)
  and judging configurations on them (the array arithmetic);
- the exhaustive reference (exhaustive=True: a fresh step table and one load-model call
  per configuration) on a smaller space, for the array path's speed-up;
- whole process: `costmodel plan serve ... --format json` as a subprocess, wall time
  from start to exit (Python start-up and imports included).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

CASES = [
    # the example: Llama-3-70B, 10 req/s of 1,024 + 256 tokens, TTFT 1 s, TPOT 50 ms
    dict(
        model="llama-3-70b", hardware=["h100", "h200", "a100"], prompt=1024, output=256, rate=10.0, ttft=1.0, tpot=0.05
    ),
    # a small model at a high rate (many replicas per device count)
    dict(model="llama-3.2-1b", hardware=["h100", "a100"], prompt=256, output=64, rate=40.0, ttft=1.0, tpot=0.05),
    # a MoE model: tensor-parallel and expert-parallel layouts
    dict(model="mixtral-8x7b", hardware=["h100"], prompt=512, output=128, rate=5.0, ttft=2.0, tpot=0.1),
]


def _search(case: dict[str, Any], **kw: Any) -> Any:
    from costmodel.planners.search_serving import search_serving

    return search_serving(
        case["model"], case["hardware"], case["prompt"], case["output"], case["rate"], case["ttft"], case["tpot"], **kw
    )


def _split(case: dict[str, Any]) -> tuple[float, float]:
    """(seconds sampling step tables, seconds judging) for one search, timed by wrapping
    the two functions the search calls."""
    import costmodel.planners.search_serving as S

    spent = {"table": 0.0, "judge": 0.0}
    table_fn, judge_fn = S.step_table, S._judge

    def timed(key: str, fn: Any) -> Any:
        def inner(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - t

        return inner

    S.step_table, S._judge = timed("table", table_fn), timed("judge", judge_fn)
    try:
        _search(case)
    finally:
        S.step_table, S._judge = table_fn, judge_fn
    return spent["table"], spent["judge"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    results: list[dict[str, Any]] = []
    for case in CASES:
        _search(case)  # warm-up
        runs = [_search(case) for _ in range(args.runs)]
        seconds = statistics.median(r.seconds for r in runs)
        evaluated = runs[0].evaluated
        table_s, judge_s = _split(case)
        small = dict(tps=(1, 2), weight_dtypes=(None, "fp8"), caps=(16, 64, 0), max_devices=16)
        fast = statistics.median(_search(case, **small).seconds for _ in range(args.runs))
        slow = _search(case, exhaustive=True, **small)
        argv_cli = [
            sys.executable, "-m", "costmodel", "plan", "serve", case["model"], "-H", ",".join(case["hardware"]),
            "--prompt-len", str(case["prompt"]), "--output-len", str(case["output"]), "--rate", str(case["rate"]),
            "--ttft", str(case["ttft"]), "--tpot", str(case["tpot"]), "--format", "json",
        ]  # fmt: skip
        walls = []
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run(argv_cli, check=True, capture_output=True)
            walls.append(time.perf_counter() - t)
        wall = statistics.median(walls)
        row = {
            "model": case["model"],
            "hardware": case["hardware"],
            "configurations": evaluated,
            "in_process_s": seconds,
            "per_s_in_process": evaluated / seconds,
            "sampling_tables_s": table_s,
            "judging_s": judge_s,
            "per_s_judging": evaluated / judge_s if judge_s else None,
            "small_space": slow.evaluated,
            "exhaustive_s": slow.seconds,
            "array_s": fast,
            "array_speedup": slow.seconds / fast,
            "whole_process_s": wall,
            "per_s_whole_process": evaluated / wall,
        }
        results.append(row)
        print(
            f"{case['model']:>14} {evaluated:>7} configurations: in process {seconds:.2f} s "
            f"({evaluated / seconds:,.0f}/s; tables {table_s:.2f} s, judging {judge_s:.2f} s = "
            f"{row['per_s_judging']:,.0f}/s); whole process {wall:.2f} s ({evaluated / wall:,.0f}/s); "
            f"exhaustive {slow.seconds:.2f} s vs array {fast:.2f} s on {slow.evaluated} ({row['array_speedup']:.1f}x)"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": platform.platform(), "python": sys.version, "results": results},
                f,
                indent=1,
                allow_nan=False,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
