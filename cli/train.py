"""`costmodel train MODEL --hardware SYSTEM_OR_DEVICE --gpus G --batch B --seq-len S`."""

from __future__ import annotations

import argparse
import json
import sys

from .common import console, nonneg_int, positive_float, positive_int


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="plan a training run: step time, MFU, memory per device, time and cost",
        description="Training step time and memory per device under a parallel layout "
        "(data, tensor + sequence, pipeline 1F1B / interleaved, expert, context), "
        "ZeRO, recompute; with --tokens the time, device-hours and cost to train.",
    )
    p.add_argument("model", help="built-in model name, spec file or HF config.json")
    p.add_argument(
        "--hardware",
        "-H",
        required=True,
        help="system (dgx-a100-80gb, dgx-h100, hgx-h200, mi300x-node, tpu-v5p-slice) or device profile",
    )
    p.add_argument("--gpus", type=positive_int, required=True)
    p.add_argument("--batch", type=positive_int, required=True, help="global batch (sequences per step)")
    p.add_argument("--seq-len", type=positive_int, required=True)
    p.add_argument("--micro-batch", type=positive_int, help="default: global batch / dp (pp=1) or 1 (pp>1)")
    for k in ("tp", "pp", "cp"):
        p.add_argument(f"--{k}", type=positive_int, default=1)
    p.add_argument(
        "--ep", type=positive_int, help="expert-parallel degree (default: the spec's moe.expert_parallel, else 1)"
    )
    p.add_argument("--dp", type=positive_int, help="default: gpus / (tp x pp x cp)")
    p.add_argument("--sequence-parallel", action="store_true")
    p.add_argument("--interleave", type=positive_int, default=1, help="virtual pipeline chunks per stage")
    p.add_argument("--zero", type=nonneg_int, default=0, choices=(0, 1, 2, 3))
    p.add_argument("--recompute", choices=("none", "selective", "full"), default="none")
    p.add_argument("--precision", choices=("bf16-mixed", "fp16-mixed", "fp8", "fp32"), default="bf16-mixed")
    p.add_argument(
        "--optimizer",
        choices=("adamw", "adam", "sgd", "sgd-momentum", "adafactor", "adam8bit", "lion"),
        default="adamw",
    )
    p.add_argument("--offload", action="store_true", help="optimizer states in host memory (ZeRO-Offload)")
    p.add_argument("--execution", choices=("eager", "graph"), default="eager")
    p.add_argument("--tokens", type=float, help="tokens to train on (e.g. 2e12)")
    p.add_argument("--price-per-hour", type=positive_float, help="USD per device-hour")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.planners.training import plan_training

    if args.tokens is not None and not (args.tokens > 0 and args.tokens < 1e18):
        raise CostModelError("--tokens must be a positive number below 1e18")
    plan = plan_training(
        args.model,
        args.hardware,
        args.gpus,
        args.batch,
        args.seq_len,
        micro_batch=args.micro_batch,
        tp=args.tp,
        pp=args.pp,
        dp=args.dp,
        ep=args.ep,
        cp=args.cp,
        sequence_parallel=args.sequence_parallel,
        interleave=args.interleave,
        zero=args.zero,
        recompute=args.recompute,
        precision=args.precision,
        optimizer=args.optimizer,
        offload=args.offload,
        tokens=int(args.tokens) if args.tokens else None,
        price_per_hour=args.price_per_hour,
        execution=args.execution,
    )
    d = plan.to_dict()
    if args.format == "json":
        sys.stdout.write(json.dumps(d, indent=1) + "\n")
        return 0
    from rich.table import Table

    from costmodel.report.fmt import nbytes, seconds, si

    e = d["execution"]
    t = Table(title=f"training plan: {plan.model} on {plan.system}", show_header=False, title_justify="left")
    t.add_column("", style="bold")
    t.add_column("")
    t.add_row("params", f"{plan.params:,} ({si(plan.params)})")
    t.add_row(
        "layout",
        f"{e['gpus']} devices = tp {e['tp']} x pp {e['pp']} x dp {e['dp']} x cp {e['cp']}"
        f" (ep {e['ep']}), interleave {e['interleave']}, sp {e['sequence_parallel']}",
    )
    t.add_row(
        "batch",
        f"global {e['global_batch']} x {e['seq_len']} tokens, micro-batch {e['micro_batch']}, "
        f"{d['microbatches']} microbatches",
    )
    t.add_row(
        "step",
        f"{seconds(plan.step_latency_s)}  ({si(plan.model_flops, 'FLOP')}, {d['step']['tokens_per_s']:,.0f} tokens/s)",
    )
    t.add_row("MFU / HFU", f"{plan.mfu:.1%} / {plan.hfu:.1%}")
    for k, v in plan.breakdown.to_dict().items():
        t.add_row(f"  {k[:-2]}", seconds(v))
    m = plan.memory.to_dict()
    t.add_row(
        "memory / device",
        f"weights {nbytes(m['weights_bytes'])} + grads {nbytes(m['grads_bytes'])} + "
        f"optimizer {nbytes(m['optimizer_bytes'])} + activations "
        f"{nbytes(m['activation_bytes'])} = {nbytes(m['total_bytes'])} of "
        f"{nbytes(m['capacity_bytes'])}",
    )
    t.add_row("fits", "yes" if d["fits"] else "NO")
    if "training" in d:
        tr = d["training"]
        t.add_row(
            "to train",
            f"{tr['tokens']:.3g} tokens: {tr['steps']:,} steps, {tr['days']:.2f} days, "
            f"{tr['device_hours']:,.0f} device-hours" + (f", ${tr['cost_usd']:,.0f}" if "cost_usd" in tr else ""),
        )
    for n in d["notes"]:
        t.add_row("note", n)
    console().print(t)
    return 0
