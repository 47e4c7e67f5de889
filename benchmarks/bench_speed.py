"""Analyser speed: costmodel against onnx-tool on the same graphs, plus scaling checks.

    python benchmarks/bench_speed.py [--tv-dir /tmp/tv] [--gpt2 /tmp/gpt2/gpt2_48l.onnx]
        [--work /tmp/costmodel-bench] [--runs 7] [--synthetic 10000 100000 1000000]
        [--json results.json] [--skip-onnx-tool]

What each tool is asked to do (in-process, after imports, after one warm-up, median of
--runs runs, the two tools interleaved run by run so machine noise hits both alike):
- costmodel: `costmodel.analyze(path, bindings=...)`: load (weights never read), one pass
  of shape inference + costing in topological order, totals, peak live activations.
  Bindings: {"batch": 1} for torchvision exports, {"batch": 1, "seq": 128} for GPT-2,
  none for the model-zoo graphs (their shapes are concrete). Also timed symbolic (no
  bindings): formulas in batch (and seq).
- onnx-tool: `Model(path)`; `graph.graph_reorder_nodes()`; `graph.shape_infer(inputs)`;
  `graph.profile()` -- what `onnx_tool.model_profile` does, minus printing the table.
  It needs concrete input shapes (the same values costmodel binds) and the weights: a
  graph whose external weight file was deleted gets a copy beside a zero-filled sparse
  weight file of the right size (no real weights exist; the values do not change counts).

Graphs: the model-zoo graphs shipped in the onnx wheel (onnx/backend/test/data/light),
torchvision exports (benchmarks/export_torchvision.py: swin_t, vit_b_16, vit_l_16), a
48-layer GPT-2 (benchmarks/export_gpt2.py), and synthetic graphs of 10k-1M nodes
(benchmarks/synthetic.py; costmodel only, each size in a fresh process for its peak RSS).
Also: `costmodel analyze <resnet50> --format json` wall time as a whole process, and
`Report.evaluate` over a 1000 x 1000 batch x seq grid.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if "--root" in sys.argv:  # time another checkout of costmodel (before/after comparisons)
    ROOT = os.path.abspath(sys.argv[sys.argv.index("--root") + 1])
sys.path.insert(0, ROOT)

ZOO_NAMES = [
    "resnet50",
    "densenet121",
    "inception_v1",
    "inception_v2",
    "shufflenet",
    "squeezenet",
    "vgg19",
    "bvlc_alexnet",
    "zfnet512",
]
# issue 17's acceptance graphs (resnet50, timed too, is outside the set)
HEADLINE = ["zoo:densenet121", "zoo:inception_v2", "tv:swin_t"]


# -- graphs -------------------------------------------------------------------------------
def zoo_dir() -> str:
    import onnx

    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


def graphs(args) -> list[dict]:
    out = []
    for n in ZOO_NAMES:
        out.append({"id": f"zoo:{n}", "path": os.path.join(zoo_dir(), f"light_{n}.onnx"), "bind": {}})
    for n in ("swin_t", "vit_b_16", "vit_l_16"):
        p = os.path.join(args.tv_dir, f"{n}.onnx")
        if os.path.exists(p):
            out.append({"id": f"tv:{n}", "path": p, "bind": {"batch": 1}})
        else:
            print(f"skipping {p} (run benchmarks/export_torchvision.py)", file=sys.stderr)
    if args.gpt2 and os.path.exists(args.gpt2):
        out.append({"id": "gpt2-48l", "path": args.gpt2, "bind": {"batch": 1, "seq": 128}})
    elif args.gpt2:
        print(f"skipping {args.gpt2} (run benchmarks/export_gpt2.py)", file=sys.stderr)
    return out


def onnx_tool_copy(path: str, work: str) -> str:
    """The model as onnx-tool can load it: with its external weight file present."""
    import onnx

    m = onnx.load(path, load_external_data=False)
    ends: dict[str, int] = {}
    for t in m.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            d = {e.key: e.value for e in t.external_data}
            end = int(d.get("offset", 0)) + int(d.get("length", 0))
            ends[d["location"]] = max(ends.get(d["location"], 0), end)
    if not ends:
        return path
    dst_dir = os.path.join(work, "onnx_tool")
    os.makedirs(dst_dir, exist_ok=True)
    dst = os.path.join(dst_dir, os.path.basename(path))
    if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(path):
        with open(path, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
    for loc, end in ends.items():
        data = os.path.join(dst_dir, loc)
        if not os.path.exists(data) or os.path.getsize(data) != end:
            with open(data, "wb") as f:
                f.truncate(end)  # sparse: zeros, no disk blocks
    return dst


def input_shapes(path: str, bind: dict) -> dict[str, tuple[str, tuple]]:
    import onnx

    m = onnx.load(path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    out = {}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else bind[d.dim_param] for d in tt.shape.dim)
        out[vi.name] = ("int64" if tt.elem_type == onnx.TensorProto.INT64 else "float32", dims)
    return out


# -- the two analysers --------------------------------------------------------------------
def run_costmodel(path: str, bind: dict | None):
    import costmodel

    return costmodel.analyze(path, bindings=bind or None)


def run_onnx_tool(path: str, shapes: dict):
    import onnx_tool
    from onnx_tool.tensor import create_ndarray_f32, create_ndarray_int64

    model = onnx_tool.Model(path, {"verbose": False})
    g = model.graph
    g.graph_reorder_nodes()
    inputs = {k: (create_ndarray_int64 if dt == "int64" else create_ndarray_f32)(s) for k, (dt, s) in shapes.items()}
    g.shape_infer(inputs)
    g.profile()
    return g


def forget_outcomes() -> None:
    """costmodel.analysis.clear_memo where the timed checkout has it (--root)."""
    from costmodel import analysis

    clear = getattr(analysis, "clear_memo", None)
    if clear is not None:
        clear()


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def compare(gs: list[dict], args) -> list[dict]:
    rows = []
    for gr in gs:
        path, bind = gr["path"], gr["bind"]
        row = {"graph": gr["id"], "file": os.path.basename(path)}  # no path of the machine in results
        r = run_costmodel(path, bind)  # warm-up
        row["nodes"] = len(r.ops)
        row["macs"] = int(r.macs) if isinstance(r.macs, int) else str(r.macs)
        tools = {"costmodel": lambda p=path, b=bind: run_costmodel(p, b)}
        # cold: the first analysis of the graph in its thread, the rule outcomes kept
        # between analyses forgotten before each run (outside the timed call)
        before = {"costmodel_cold": forget_outcomes}
        tools["costmodel_cold"] = tools["costmodel"]
        if gr["bind"]:
            tools["costmodel_symbolic"] = lambda p=path: run_costmodel(p, None)
            tools["costmodel_symbolic"]()
        if not args.skip_onnx_tool:
            ot_path = onnx_tool_copy(path, args.work)
            shapes = input_shapes(path, bind)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    g = run_onnx_tool(ot_path, shapes)  # warm-up
                row["onnx_tool_macs"] = int(round(g.macs[0]))
                tools["onnx_tool"] = lambda p=ot_path, s=shapes: run_onnx_tool(p, s)
            except Exception as e:  # noqa: BLE001
                row["onnx_tool_error"] = f"{type(e).__name__}: {e}"[:200]
        times: dict[str, list[float]] = {k: [] for k in tools}
        for _ in range(args.runs):  # interleaved: each round runs every tool once
            for k, fn in tools.items():
                if k in before:
                    before[k]()
                with contextlib.redirect_stdout(io.StringIO()):
                    times[k].append(timed(fn))
        for k, ts in times.items():
            row[f"{k}_s"] = statistics.median(ts)
            row[f"{k}_runs"] = ts
        if "onnx_tool_s" in row:
            row["speedup"] = row["onnx_tool_s"] / row["costmodel_s"]
            row["speedup_cold"] = row["onnx_tool_s"] / row["costmodel_cold_s"]
        rows.append(row)
        print(_fmt_row(row), flush=True)
    return rows


def _fmt_row(row: dict) -> str:
    ot = row.get("onnx_tool_s")
    return (
        f"{row['graph']:<22} {row['nodes']:>6} nodes  costmodel {row['costmodel_s'] * 1e3:9.1f} ms"
        + f"  cold {row['costmodel_cold_s'] * 1e3:9.1f} ms"
        + (f"  symbolic {row['costmodel_symbolic_s'] * 1e3:9.1f} ms" if "costmodel_symbolic_s" in row else "")
        + (
            f"  onnx-tool {ot * 1e3:9.1f} ms  x{row['speedup']:.1f} (cold x{row['speedup_cold']:.1f})"
            if ot
            else f"  onnx-tool {row.get('onnx_tool_error', '-')}"
        )
    )


# -- whole-process CLI, evaluate(), synthetic graphs ------------------------------------
def cli_wall(path: str, runs: int) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode compiled once
    cmd = [sys.executable, "-m", "cli.main", "analyze", path, "--format", "json"]
    subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
        ts.append(time.perf_counter() - t)
    return {
        "command": "costmodel analyze light_resnet50.onnx --format json",
        "median_s": statistics.median(ts),
        "runs": ts,
    }


def evaluate_grid(path: str) -> dict:
    import numpy as np

    import costmodel

    t = time.perf_counter()
    r = costmodel.analyze(path)
    t_an = time.perf_counter() - t
    b = np.arange(1, 1001)[:, None]
    s = np.arange(1, 1001)[None, :] * 4
    t = time.perf_counter()
    r.evaluate(batch=b, seq=s)
    first = time.perf_counter() - t
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        out = r.evaluate(batch=b, seq=s)
        ts.append(time.perf_counter() - t)
    exact = r.bind(batch=7, seq=512)
    assert out["flops"][6, 127] == exact["flops"]
    return {
        "model": os.path.basename(path),
        "points": int(out["flops"].size),
        "symbols": list(r.symbols),
        "analyze_symbolic_s": t_an,
        "first_evaluate_s": first,
        "evaluate_median_s": statistics.median(ts),
    }


SYNTH_CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import costmodel


def vm(key):  # this process's own memory (ru_maxrss would include the parent's: it survives exec)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024


costmodel.analyze({warmup!r}, bindings={bind!r})  # rule modules imported, caches warm
base = vm("VmRSS")
t = time.perf_counter()
r = costmodel.analyze({path!r}, bindings={bind!r})
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "nodes": len(r.ops), "rss_before_mb": base, "peak_rss_mb": vm("VmHWM"),
                  "flops": str(r.flops)}}, allow_nan=False))
"""


VS_INFER_CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, {root!r})
import onnx, onnx.shape_inference
import costmodel

m = onnx.load({path!r})
costmodel.analyze({warmup!r}, bindings={{"batch": 1}})  # rule modules imported, caches warm
costmodel.analyze({warmup!r})
t = {{"infer_shapes_s": [], "bound_s": [], "symbolic_s": []}}
for _ in range({runs}):  # interleaved
    s = time.perf_counter(); onnx.shape_inference.infer_shapes(m); t["infer_shapes_s"].append(time.perf_counter() - s)
    s = time.perf_counter(); costmodel.analyze({path!r}, bindings={{"batch": 1}}); t["bound_s"].append(time.perf_counter() - s)
    s = time.perf_counter(); costmodel.analyze({path!r}); t["symbolic_s"].append(time.perf_counter() - s)
out = {{k: statistics.median(v) for k, v in t.items()}}
out["runs"] = t
print(json.dumps(out))
"""


def vs_infer_shapes(n: int, work: str, runs: int) -> dict:
    """costmodel's whole analysis of the n-node synthetic chain (file to report, bound and
    symbolic) against onnx's C++ shape inference of the same model already loaded, in
    one fresh process, interleaved run by run."""
    import synthetic as synth

    path = synth.ensure(os.path.join(work, "synthetic"), "chain", n)
    warmup = synth.ensure(os.path.join(work, "synthetic"), "chain", 1000)
    code = VS_INFER_CHILD.format(root=ROOT, path=path, warmup=warmup, runs=runs)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    d = json.loads(p.stdout.strip().splitlines()[-1])
    d.update({"nodes": n, "bound_over_infer": d["bound_s"] / d["infer_shapes_s"]})
    d["symbolic_over_bound"] = d["symbolic_s"] / d["bound_s"]
    print(
        f"chain {n}: infer_shapes {d['infer_shapes_s']:.2f} s, costmodel bound {d['bound_s']:.2f} s "
        f"({d['bound_over_infer']:.2f}x), symbolic {d['symbolic_s']:.2f} s ({d['symbolic_over_bound']:.2f}x bound)",
        flush=True,
    )
    return d


def synthetic(sizes: list[int], work: str, symbolic_up_to: int) -> list[dict]:
    import synthetic as synth

    rows = []
    for kind in ("chain", "wide"):
        for n in sizes:
            path = synth.ensure(os.path.join(work, "synthetic"), kind, n)
            warmup = synth.ensure(os.path.join(work, "synthetic"), kind, 1000)
            for bind in ({"batch": 1}, None):
                if bind is None and n > symbolic_up_to:
                    continue
                code = SYNTH_CHILD.format(root=ROOT, path=path, bind=bind, warmup=warmup)
                p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
                if p.returncode != 0:
                    rows.append({"kind": kind, "nodes": n, "bound": bind is not None, "error": p.stderr[-500:]})
                    continue
                d = json.loads(p.stdout.strip().splitlines()[-1])
                d.update({"kind": kind, "bound": bind is not None, "file_mb": os.path.getsize(path) / 2**20})
                rows.append(d)
                print(
                    f"synthetic {kind:<5} {n:>8} nodes {'batch=1' if bind else 'symbolic'}: {d['seconds']:.2f} s, "
                    f"{d['seconds'] / n * 1e6:.1f} us/node, peak RSS {d['peak_rss_mb']:.0f} MiB",
                    flush=True,
                )
    return rows


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    for mod in ("onnx", "numpy", "sympy", "onnx_tool"):
        try:
            info[mod] = __import__(mod).__version__ if mod != "onnx_tool" else _onnx_tool_version()
        except Exception:  # noqa: BLE001
            info[mod] = None
    return info


def _onnx_tool_version() -> str:
    from importlib.metadata import version

    return version("onnx-tool")


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def markdown(results: dict) -> str:
    """The results as the tables of docs/benchmarks.md."""
    out = []
    m = results["machine"]
    out.append(
        f"Machine: {m.get('cpu')} ({m.get('cpus')} CPUs), {m.get('memory_gib')} GiB; Python {m.get('python')}, "
        f"onnx {m.get('onnx')}, numpy {m.get('numpy')}, sympy {m.get('sympy')}, onnx-tool {m.get('onnx_tool')}.\n"
    )
    out.append(
        "| graph | nodes | costmodel (bound) | cold | costmodel (symbolic) | onnx-tool | speed-up | speed-up, cold |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["graphs"]:
        sym = f"{r['costmodel_symbolic_s'] * 1e3:.1f} ms" if "costmodel_symbolic_s" in r else "-"
        ot = f"{r['onnx_tool_s'] * 1e3:.1f} ms" if "onnx_tool_s" in r else f"failed: {r.get('onnx_tool_error', '-')}"
        sp = f"{r['speedup']:.1f}x" if "speedup" in r else "-"
        cold = f"{r['costmodel_cold_s'] * 1e3:.1f} ms" if "costmodel_cold_s" in r else "-"
        spc = f"{r['speedup_cold']:.1f}x" if "speedup_cold" in r else "-"
        out.append(
            f"| {r['graph']} | {r['nodes']} | {r['costmodel_s'] * 1e3:.1f} ms | {cold} | {sym} | {ot} | {sp} | {spc} |"
        )
    out.append("")
    if results.get("geomean_speedup_headline") and results.get("geomean_speedup_all") == results.get(
        "geomean_speedup_all"
    ):
        out.append(
            f"Geometric-mean speed-up on {', '.join(HEADLINE)}: **{results['geomean_speedup_headline']:.1f}x** "
            f"(time ratio {1 / results['geomean_speedup_headline']:.3f}); "
            f"over all {len([r for r in results['graphs'] if 'speedup' in r])} graphs: "
            f"**{results['geomean_speedup_all']:.1f}x**.\n"
        )
        if results.get("geomean_speedup_headline_cold"):
            out.append(
                f"Cold (each analysis the graph's first in its thread): **"
                f"{results['geomean_speedup_headline_cold']:.1f}x** "
                f"(time ratio {1 / results['geomean_speedup_headline_cold']:.3f}).\n"
            )
    v = results.get("vit_scaling")
    if v:
        out.append(
            f"Scaling: vit_l_16 has {v['nodes_ratio']:.2f}x the nodes of vit_b_16 and takes "
            f"**{v['time_ratio']:.2f}x** as long bound ({v['time_ratio_symbolic']:.2f}x symbolic).\n"
        )
    c = results.get("cli")
    if c:
        out.append(f"`{c['command']}` as a whole process: **{c['median_s']:.2f} s** (median of {len(c['runs'])}).\n")
    e = results.get("evaluate")
    if e:
        out.append(
            f"`Report.evaluate` on {e['model']} ({', '.join(e['symbols'])} free): {e['points']:,} points in "
            f"**{e['evaluate_median_s'] * 1e3:.0f} ms** (first call, compiling the formulas: "
            f"{e['first_evaluate_s'] * 1e3:.0f} ms; the symbolic analysis itself: {e['analyze_symbolic_s']:.2f} s).\n"
        )
    vi = results.get("vs_infer_shapes")
    if vi:
        out.append(
            f"{vi['nodes']:,}-node chain: costmodel bound {vi['bound_s']:.2f} s = **{vi['bound_over_infer']:.2f}x** "
            f"onnx.shape_inference.infer_shapes on the loaded model ({vi['infer_shapes_s']:.2f} s); symbolic "
            f"{vi['symbolic_s']:.2f} s = **{vi['symbolic_over_bound']:.2f}x** bound.\n"
        )
    syn = results.get("synthetic")
    if syn:
        out.append("| synthetic graph | nodes | dims | time | per node | RSS before | peak RSS |")
        out.append("|---|---:|---|---:|---:|---:|---:|")
        for r in syn:
            if "error" in r:
                out.append(f"| {r['kind']} | {r['nodes']} | {'batch=1' if r['bound'] else 'symbolic'} | failed | | | |")
                continue
            out.append(
                f"| {r['kind']} | {r['nodes']:,} | {'batch=1' if r['bound'] else 'symbolic'} | "
                f"{r['seconds']:.2f} s | {r['seconds'] / r['nodes'] * 1e6:.0f} us | "
                f"{r['rss_before_mb']:.0f} MiB | {r['peak_rss_mb']:.0f} MiB |"
            )
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tv-dir", default="/tmp/tv")
    ap.add_argument("--gpt2", default="/tmp/gpt2/gpt2_48l.onnx")
    ap.add_argument("--work", default="/tmp/costmodel-bench")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--synthetic", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--symbolic-up-to", type=int, default=100_000, help="largest synthetic size also run symbolic")
    ap.add_argument(
        "--vs-infer", type=int, default=100_000, help="chain size timed against onnx's infer_shapes (0: skip)"
    )
    ap.add_argument("--skip-onnx-tool", action="store_true")
    ap.add_argument("--only", nargs="*", help="graph ids to compare (default: all)")
    ap.add_argument("--root", help="the costmodel checkout to time (default: this one)")
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--synthetic-only", action="store_true", help="only the synthetic graphs")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--markdown", metavar="JSON", help="print the tables of a results file and exit")
    args = ap.parse_args(argv)
    if args.markdown:
        with open(args.markdown) as f:
            sys.stdout.write(markdown(json.load(f)))
        return 0
    sys.path.insert(0, HERE)
    results: dict = {"machine": machine()}
    if args.synthetic_only:
        if args.vs_infer:
            results["vs_infer_shapes"] = vs_infer_shapes(args.vs_infer, args.work, max(args.runs, 3))
        results["synthetic"] = synthetic(args.synthetic, args.work, args.symbolic_up_to)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1, default=str, allow_nan=False)
        return 0
    gs = graphs(args)
    if args.only is not None:
        gs = [g for g in gs if g["id"] in args.only]
    print(json.dumps(results["machine"], allow_nan=False), flush=True)
    rows = compare(gs, args)
    results["graphs"] = rows
    by = {r["graph"]: r for r in rows}
    head = [by[g]["speedup"] for g in HEADLINE if g in by and "speedup" in by[g]]
    allsp = [r["speedup"] for r in rows if "speedup" in r]
    results["geomean_speedup_headline"] = geomean(head) if len(head) == len(HEADLINE) else None
    results["geomean_speedup_all"] = geomean(allsp)
    cold = [by[g]["speedup_cold"] for g in HEADLINE if g in by and "speedup_cold" in by[g]]
    results["geomean_speedup_headline_cold"] = geomean(cold) if len(cold) == len(HEADLINE) else None
    if results["geomean_speedup_headline_cold"]:
        results["geomean_time_ratio_headline_cold"] = 1 / results["geomean_speedup_headline_cold"]
    if results["geomean_speedup_headline"]:
        results["geomean_time_ratio_headline"] = 1 / results["geomean_speedup_headline"]
    if "tv:vit_b_16" in by and "tv:vit_l_16" in by:
        b, l_ = by["tv:vit_b_16"], by["tv:vit_l_16"]
        results["vit_scaling"] = {
            "nodes_ratio": l_["nodes"] / b["nodes"],
            "time_ratio": l_["costmodel_s"] / b["costmodel_s"],
            "time_ratio_symbolic": l_["costmodel_symbolic_s"] / b["costmodel_symbolic_s"],
        }
    if allsp:
        print(
            f"geomean speedup {HEADLINE}: {results['geomean_speedup_headline']}; all graphs: "
            f"{results['geomean_speedup_all']:.2f}; cold: {results['geomean_speedup_headline_cold']}",
            flush=True,
        )
    if "vit_scaling" in results:
        print("vit_l/vit_b:", results["vit_scaling"], flush=True)
    if not args.skip_cli:
        results["cli"] = cli_wall(os.path.join(zoo_dir(), "light_resnet50.onnx"), max(args.runs, 5))
        print("CLI:", results["cli"]["median_s"], flush=True)
    if args.gpt2 and os.path.exists(args.gpt2) and hasattr(__import__("costmodel.api").api.Report, "evaluate"):
        results["evaluate"] = evaluate_grid(args.gpt2)
        print("evaluate:", results["evaluate"], flush=True)
    if args.vs_infer:
        results["vs_infer_shapes"] = vs_infer_shapes(args.vs_infer, args.work, max(args.runs, 3))
    if args.synthetic:
        results["synthetic"] = synthetic(args.synthetic, args.work, args.symbolic_up_to)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str, allow_nan=False)
    sys.stdout.write("\n" + markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
