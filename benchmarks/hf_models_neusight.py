"""How far off are whole-model predictions of HF transformers in fp32 eager PyTorch on the
GPUs of the NeuSight per-op set (P4, P100, T4, V100 PCIe, A100 PCIe 40 GB), estimated
from the per-op measurements the repository ships (benchmarks/data/public/neusight):

    python benchmarks/hf_models_neusight.py [--batch 4 --seq 512] [--markdown FILE]

Method. There are no whole-model measurements here, and NeuSight's op shapes are random,
so a model's kernels almost never match a measured shape exactly. For each kernel of a
model's eager forward (tests/test_hf_gpu_matrix.py's configs, `analyze` semantics) the
script finds the k nearest measured ops of the same kind on the same device in log-shape
space (GEMM: m, n, k; batched GEMM: batch, m, n, k; softmax / LayerNorm: rows, cols;
elementwise: element count), predicts each of them through the product (a one-op graph,
engine.measured.Case), and takes the geometric mean of pred / measured as that kernel's
error ratio. The model's "measured" time is then estimated as the sum over kernels of
predicted time / ratio (kernels with no neighbour within `--radius` — copies, gathers,
routed experts on their own — and the engine's dispatch gaps are taken as predicted), and
the model error as predicted / estimated - 1.

What it measures: the part of a whole-model error that comes from the per-kernel model
on shapes like the model's. What it cannot: inter-kernel gaps and framework work that a
per-op benchmark does not see, fusion or layout differences in the real model, the
kernels with no counterpart in the set. Neighbours come from the set's held-out rows (not
fitted), and with --lodo the device is predicted by the model refitted without it.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import costmodel  # noqa: E402
from costmodel.engine.calibration import for_profile  # noqa: E402
from costmodel.engine.latency import graph_latency  # noqa: E402
from costmodel.frontends.spec import spec_from_hf  # noqa: E402
from costmodel.hardware import get_profile  # noqa: E402

DEVICES = ("p4", "p100-pcie-16gb", "t4", "v100-pcie-32gb", "a100-pcie-40gb")
ELEMENTWISE = {"Add": "add", "Mul": "mul", "Div": "div", "Pow": "pow"}
UNARY = {"Gelu": "gelu", "Tanh": "tanh", "Relu": "relu"}


def kernel_key(node: Any) -> tuple[str, tuple[float, ...]] | None:
    """(NeuSight op, log2 shape features) of a costed node, or None when the set has no
    counterpart."""
    ins, outs = node.input_shapes, node.output_shapes
    if not outs or outs[0] is None or any(type(d) is not int for s in ins if s for d in s):
        return None
    out = outs[0]
    numel = math.prod(out) if out else 1

    def logs(*v: int) -> tuple[float, ...]:
        return tuple(math.log2(max(x, 1)) for x in v)

    op = node.op_type
    if op == "Linear":  # weight (k, n), or (n, k) for a tied embedding read transposed
        x, w = ins[0], ins[1]
        k = x[-1]
        return "linear", logs(math.prod(x[:-1]), w[1] if w[0] == k else w[0], k)
    if op == "ExpertMLP":  # its up-projection over the routed tokens (tokens x top_k)
        x, w_in = ins[0], ins[1]
        top_k = int(getattr(getattr(node, "kernel", None), "top_k", 1))  # ops/kernel.py MoEShape
        return "linear", logs(math.prod(x[:-1]) * top_k, w_in[2], w_in[1])
    if op == "MatMul" and len(ins[0]) >= 3:
        a, b = ins[0], ins[1]
        return "matmul", logs(math.prod(a[:-2]), a[-2], b[-1], a[-1])
    if op == "Softmax":
        return "softmax", logs(numel // out[-1], out[-1])
    if op == "LayerNormalization":
        return "layer_norm", logs(numel // out[-1], out[-1])
    if op in UNARY:
        return UNARY[op], logs(numel)
    if op in ELEMENTWISE:
        scalar = any(s is not None and len(s) == 0 for s in ins[1:2])
        return ELEMENTWISE[op] + ("_scalar" if scalar else ""), logs(numel)
    return None


def features(m: Any) -> tuple[float, ...] | None:
    d = dict(m.dims)
    lg = math.log2
    if m.op == "linear":
        return (lg(d["m"]), lg(d["n"]), lg(d["k"]))
    if m.op == "matmul":
        return (lg(d["batch"]), lg(d["m"]), lg(d["n"]), lg(d["k"]))
    if m.op in ("softmax", "layer_norm"):
        return (lg(d["rows"]), lg(d["cols"]))
    if "rows" in d:  # elementwise
        return (lg(d["rows"] * d["cols"]),)
    return None  # convolutions


class Neighbours:
    """Held-out NeuSight rows of one device, by op, with their product predictions."""

    def __init__(self, rows: Sequence[Any], hw: Any, cal: Any) -> None:
        from costmodel.engine.measured import build_case

        self.hw, self.cal = hw, cal
        self.by_op: dict[str, tuple[np.ndarray, list[Any]]] = {}
        groups: dict[str, list[Any]] = {}
        for m in rows:
            if features(m) is not None:
                groups.setdefault(m.op, []).append(m)
        for op, ms in groups.items():
            self.by_op[op] = (np.array([features(m) for m in ms]), ms)
        self._ratio: dict[int, float] = {}
        self._build = build_case

    def ratio(self, op: str, feat: tuple[float, ...], k: int, radius: float) -> float | None:
        """Geometric mean of pred / measured over the k nearest rows (None: none within
        `radius` in log2 units)."""
        if op not in self.by_op:
            return None
        x, ms = self.by_op[op]
        dist = np.sqrt(((x - np.array(feat)) ** 2).sum(axis=1))
        idx = [int(i) for i in np.argsort(dist)[:k] if dist[i] <= radius]
        if not idx:
            return None
        logs = []
        for i in idx:
            r = self._ratio.get(id(ms[i]))
            if r is None:
                case = self._build(ms[i])
                if case is None:
                    continue
                r = self._ratio[id(ms[i])] = case.predict(self.hw, case.calibration(self.cal)) / case.measured_s
            logs.append(math.log(r))
        return math.exp(sum(logs) / len(logs)) if logs else None


def estimate(gc: Any, hw: Any, cal: Any, nb: Neighbours, k: int, radius: float) -> dict[str, float]:
    timing = graph_latency(gc, hw, execution="eager", calibration=cal, bands=False)
    by_name = {n.name: n for n in gc.nodes}
    est = timing.latency_s
    covered = 0.0
    for nt in timing.nodes:
        node = by_name.get(nt.name)
        key = kernel_key(node) if node is not None and nt.time_s else None
        if key is None:
            continue
        r = nb.ratio(key[0], key[1], k, radius)
        if r is None:
            continue
        est += nt.time_s / r - nt.time_s
        covered += nt.time_s
    return {"pred_s": timing.latency_s, "est_s": est, "covered": covered / timing.latency_s}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--k", type=int, default=5, help="neighbours per kernel")
    ap.add_argument("--radius", type=float, default=1.5, help="largest neighbour distance, log2 units")
    ap.add_argument("--lodo", action="store_true", help="predict each device by the model fitted without it")
    ap.add_argument(
        "--attn",
        choices=("config", "eager"),
        default="config",
        help="attention as the configs say (transformers' default: SDPA, one fused kernel; Switch: eager) or "
        'eager everywhere (attn_implementation="eager", as NeuSight timed its whole models)',
    )
    ap.add_argument("--markdown", help="write the table as Markdown to FILE")
    args = ap.parse_args(argv)

    from costmodel.engine import devicemodel
    from costmodel.engine.datasets import load_measurements
    from costmodel.engine.fitting import calibration_for

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from test_hf_gpu_matrix import MODELS

    held = [m for _, m, h in load_measurements(["neusight"]) if h]
    costs = {
        name: costmodel.analyze(
            spec_from_hf({**cfg, **({"attn_implementation": "eager"} if args.attn == "eager" else {})}),
            bindings={"batch": args.batch, "seq": args.seq},
            dtype="fp32",
        ).graph_cost
        for name, cfg in MODELS.items()
    }
    lodo = devicemodel.load_model().lodo
    rows: list[tuple[str, str, dict[str, float]]] = []
    for dev in DEVICES:
        hw = get_profile(dev)
        cal = calibration_for(hw, lodo[dev]) if args.lodo and dev in lodo else for_profile(hw)
        nb = Neighbours([m for m in held if m.profile == dev], hw, cal)
        for name, gc in costs.items():
            rows.append((name, dev, estimate(gc, hw, cal, nb, args.k, args.radius)))
    errs = [r["pred_s"] / r["est_s"] - 1 for _, _, r in rows]
    lines = [
        f"fp32 eager forward, batch {args.batch} x seq {args.seq}; neighbours: k={args.k}, radius {args.radius} "
        f"(log2), held-out NeuSight rows; calibration: {'leave-one-device-out' if args.lodo else 'shipped'}; "
        f"attention: {'eager' if args.attn == 'eager' else 'as configured'}",
        "",
        "| model | device | predicted ms | estimated measured ms | error | time covered |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (name, dev, r), e in zip(rows, errs):
        lines.append(
            f"| {name} | {dev} | {r['pred_s'] * 1e3:.1f} | {r['est_s'] * 1e3:.1f} | {e:+.1%} | {r['covered']:.0%} |"
        )
    abs_err = sorted(abs(e) for e in errs)
    lines += [
        "",
        f"median |error| {statistics.median(abs_err):.1%}, p90 {abs_err[int(0.9 * (len(abs_err) - 1))]:.1%}, "
        f"max {abs_err[-1]:.1%} over {len(errs)} (model, device) pairs; time covered by matched kernels: median "
        f"{statistics.median(r['covered'] for _, _, r in rows):.0%}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        from costmodel.report.files import write_atomic

        write_atomic(args.markdown, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
