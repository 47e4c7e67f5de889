"""Whole-process start-up: costmodel commands against `python -c "import numpy"`; and
loading a large ONNX graph against onnx's own loader and C++ shape inference.

    python benchmarks/bench_startup.py [--runs 9] [--load-nodes 100000] [--json results.json]

Each command runs as a fresh process; the commands are interleaved round by round (so
load on a shared machine hits all of them alike) and each figure is the median over the
rounds. A ratio is a command's median over the median of `python -c "import numpy"`
(also reported: the median of the per-round ratios). Bytecode is compiled once first
and kept, as after a normal install (PYTHONDONTWRITEBYTECODE is dropped: with it every
run recompiles costmodel's sources).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESNET = os.path.join(ROOT, "costmodel", "examples", "resnet50.onnx")  # the model-zoo ResNet-50 graph


def commands() -> dict[str, list[str]]:
    py = sys.executable
    cm = [py, "-m", "costmodel"]
    return {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import numpy'": [py, "-c", "import numpy"],
        "analyze resnet50.onnx --format json": [*cm, "analyze", RESNET, "--format", "json"],
        "analyze resnet50.onnx --hardware h100": [*cm, "analyze", RESNET, "--hardware", "h100"],
        "hardware list": [*cm, "hardware", "list"],
        "llm llama-3-8b --hardware h100": [*cm, "llm", "llama-3-8b", "--hardware", "h100"],
        "train llama-3-8b --hardware dgx-h100 --gpus 8": [
            *cm,
            *"train llama-3-8b --hardware dgx-h100 --gpus 8 --batch 64 --seq-len 2048".split(),
        ],
        "--help": [*cm, "--help"],
    }


BEFORE = ("analyze resnet50.onnx --format json", "hardware list", "llm llama-3-8b --hardware h100")


def before_shim(checkout: str, work: str) -> str:
    """A folder whose `costmodel` and `costmodel_cli` are another checkout's (say, an
    older commit from `git worktree add`): `python -m costmodel` run there imports that
    code, since the working folder comes first on sys.path."""
    shim = os.path.join(work, "before")
    os.makedirs(shim, exist_ok=True)
    for name, target in (("costmodel", "costmodel"), ("costmodel_cli", "cli")):
        link = os.path.join(shim, name)
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(os.path.join(os.path.abspath(checkout), target), link)
    return shim


def measure(cmds: dict[str, list[str]], runs: int, cwd: dict[str, str] | None = None) -> dict[str, list[float]]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cwd = cwd or {}
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for name, argv in cmds.items():  # warm-up: bytecode written, files in the page cache
        subprocess.run(argv, cwd=cwd.get(name, ROOT), env=env, stdout=subprocess.DEVNULL, check=True)
    for _ in range(runs):
        for name, argv in cmds.items():
            t = time.perf_counter()
            subprocess.run(argv, cwd=cwd.get(name, ROOT), env=env, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - t)
    return times


def summarise(times: dict[str, list[float]], base: str = "python -c 'import numpy'") -> list[dict]:
    rows = []
    for name, ts in times.items():
        per_round = [t / b for t, b in zip(ts, times[base])]
        rows.append(
            {
                "command": name,
                "median_s": statistics.median(ts),
                "ratio_to_numpy": statistics.median(ts) / statistics.median(times[base]),
                "median_round_ratio": statistics.median(per_round),
                "runs_s": ts,
            }
        )
    return rows


LOAD_CHILD = r"""
import json, statistics, sys, time
import onnx, onnx.shape_inference
from costmodel.frontends.onnx import to_graph
from costmodel.symbolic import symbol
symbol("batch")  # sympy imported before timing: the chain's batch dim is symbolic
path, runs = sys.argv[1], int(sys.argv[2])
to_graph(path)
onnx.shape_inference.infer_shapes(onnx.load(path))
ours, load, infer = [], [], []
for _ in range(runs):
    t = time.perf_counter()
    g = to_graph(path)
    ours.append(time.perf_counter() - t)
    del g
    t = time.perf_counter()
    m = onnx.load(path)
    t1 = time.perf_counter()
    onnx.shape_inference.infer_shapes(m)
    infer.append(time.perf_counter() - t1)
    load.append(t1 - t)
    del m
med = statistics.median
print(json.dumps({"to_graph_s": med(ours), "onnx_load_s": med(load), "infer_shapes_s": med(infer),
                  "nodes": len(to_graph(path).nodes)}, allow_nan=False))
"""


def loader(nodes: int, runs: int, work: str) -> dict:
    """costmodel's ONNX loader (file -> IR graph, weights unread) vs onnx.load, and vs
    onnx.load + onnx.shape_inference.infer_shapes, on a synthetic chain, interleaved in one
    process after a warm-up of each."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import synthetic

    path = synthetic.ensure(work, "chain", nodes)
    p = subprocess.run([sys.executable, "-c", LOAD_CHILD, path, str(runs)], capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    d = json.loads(p.stdout.strip().splitlines()[-1])
    d["ratio_to_onnx_load_and_infer"] = d["to_graph_s"] / (d["onnx_load_s"] + d["infer_shapes_s"])
    return d


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count()}
    for pkg in ("numpy", "onnx", "protobuf", "ml_dtypes", "sympy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def markdown(rows: list[dict], info: dict) -> str:
    lines = [
        f"{info['date']}, Python {info['python']}, numpy {info['numpy']}, onnx {info['onnx']} (not imported), "
        f"protobuf {info['protobuf']}, {info['cpus']} CPUs.",
        "",
        "| command | median | / `import numpy` | median of per-round ratios |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['command']}` | {r['median_s'] * 1e3:.0f} ms | {r['ratio_to_numpy']:.2f}x | "
            f"{r['median_round_ratio']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="costmodel start-up and ONNX loading, side by side with numpy and onnx")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--only", nargs="*", help="command names to time (numpy's is always timed)")
    ap.add_argument("--before", metavar="CHECKOUT", help="also time a few commands of another checkout")
    ap.add_argument("--load-nodes", type=int, default=100_000, help="synthetic chain size for the loader (0: skip)")
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "bench"), help="where synthetic graphs are written")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    cmds = commands()
    if args.only:
        cmds = {k: v for k, v in cmds.items() if k in args.only or "numpy" in k}
    info = versions()
    cwd: dict[str, str] = {}
    if args.before:
        shim = before_shim(args.before, args.work)
        for name in BEFORE:
            if name in cmds:
                cmds[f"{name} (before)"] = cmds[name]
                cwd[f"{name} (before)"] = shim
    rows = summarise(measure(cmds, args.runs, cwd))
    sys.stdout.write(markdown(rows, info))
    load = loader(args.load_nodes, args.runs, args.work) if args.load_nodes else None
    if load:
        sys.stdout.write(
            f"\nLoading the {load['nodes']:,}-node synthetic chain (median of {args.runs}): costmodel "
            f"{load['to_graph_s'] * 1e3:.0f} ms; onnx.load {load['onnx_load_s'] * 1e3:.0f} ms + "
            f"infer_shapes {load['infer_shapes_s'] * 1e3:.0f} ms; ratio "
            f"{load['ratio_to_onnx_load_and_infer']:.2f}x\n"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "rows": rows, "loader": load}, f, indent=1, allow_nan=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
