"""`costmodel scale`: compute-optimal training (Chinchilla) for a budget in FLOPs,
GPU-hours or dollars, the training compute of N parameters on D tokens (6ND and exact
from the graph), and the days it takes on a cluster (through the training planner)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from .common import (
    MAX_BUDGET_USD,
    MAX_DEVICE_HOURS,
    MAX_PARAMS,
    MAX_TOKENS_PER_PARAM,
    MAX_TRAIN_FLOPS,
    Subparsers,
    add_report_output,
    add_spec_limits,
    batch_size,
    bounded_float,
    devices,
    emit,
    fraction,
    price,
    report_format,
    tokens,
    train_tokens,
)


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "scale",
        help="compute-optimal training: N and D for a budget (Chinchilla), 6ND, days on a cluster",
        description="Compute-optimal parameters and tokens for a budget (Hoffmann et al. 2022: C = 6ND, "
        "~20 tokens per parameter), or the compute of a given model and token count (6ND, Kaplan et al. "
        "2020, and exact FLOPs from the graph); with --hardware SYSTEM --gpus N the time to train through "
        "the training planner.",
    )
    b = p.add_argument_group("budget (one of)")
    b.add_argument(
        "--flops",
        type=bounded_float(0.0, MAX_TRAIN_FLOPS, "FLOPs", low_open=True),
        help="training compute budget, FLOPs (e.g. 5.76e23)",
    )
    b.add_argument(
        "--gpu-hours",
        type=bounded_float(0.0, MAX_DEVICE_HOURS, "device-hours", low_open=True),
        help="budget in device-hours on --hardware",
    )
    b.add_argument(
        "--budget-usd",
        type=bounded_float(0.0, MAX_BUDGET_USD, "USD", low_open=True),
        help="budget in USD on --hardware (at --price-per-hour)",
    )
    m = p.add_argument_group("or a given run")
    m.add_argument("--model", help="built-in model, spec file or config.json: its params and exact FLOPs")
    m.add_argument(
        "--params",
        type=bounded_float(1.0, MAX_PARAMS, "parameters"),
        help="parameters N (a Chinchilla-shaped decoder is assumed)",
    )
    m.add_argument("--tokens", type=train_tokens, help="training tokens D (default: compute-optimal for N)")
    p.add_argument(
        "--tokens-per-param",
        type=bounded_float(0.0, MAX_TOKENS_PER_PARAM, low_open=True),
        default=20.0,
        help="compute-optimal D / N (default 20, Chinchilla)",
    )
    c = p.add_argument_group("cluster (adds days)")
    c.add_argument("--hardware", "-H", help="system or device profile")
    c.add_argument("--gpus", type=devices, help="devices in the cluster")
    c.add_argument("--tp", type=devices, help="tensor parallel (default: searched)")
    c.add_argument("--pp", type=devices, help="pipeline stages (default: searched)")
    c.add_argument("--seq-len", type=tokens, default=2048, help="training sequence length (default 2048)")
    c.add_argument("--batch", type=batch_size, default=1024, help="global batch in sequences (default 1024)")
    c.add_argument("--precision", choices=("bf16-mixed", "fp16-mixed", "fp8", "fp32"), default="bf16-mixed")
    c.add_argument("--price-per-hour", type=price, help="USD per device-hour")
    c.add_argument("--mfu", type=fraction, help="with --gpu-hours / --budget-usd: a fixed MFU (0-1)")
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def _cluster_kw(args: argparse.Namespace) -> dict[str, Any]:
    return dict(
        seq_len=args.seq_len,
        global_batch=args.batch,
        tp=args.tp,
        pp=args.pp,
        precision=args.precision,
        price_per_hour=args.price_per_hour,
    )


def _check(args: argparse.Namespace) -> None:
    from costmodel.errors import CostModelError

    budgets = [k for k in ("flops", "gpu_hours", "budget_usd") if getattr(args, k) is not None]
    if len(budgets) > 1:
        raise CostModelError("give one budget: --flops, --gpu-hours or --budget-usd")
    if budgets and (args.model or args.params or args.tokens):
        raise CostModelError(
            "a budget (--flops/--gpu-hours/--budget-usd) or a run (--model/--params, --tokens), not both"
        )
    if not budgets and not (args.model or args.params):
        raise CostModelError("give a budget (--flops, --gpu-hours, --budget-usd) or a run (--model or --params)")
    if args.model and args.params:
        raise CostModelError("--model or --params, not both")
    if (args.gpu_hours or args.budget_usd) and not args.hardware:
        raise CostModelError("--gpu-hours and --budget-usd need --hardware (and --gpus, unless --mfu is given)")
    if (args.gpu_hours or args.budget_usd) and not args.gpus and args.mfu is None:
        raise CostModelError("--gpu-hours and --budget-usd need --gpus to plan the MFU (or give --mfu)")
    if args.mfu is not None and not args.mfu <= 1:
        raise CostModelError(f"--mfu is a fraction of the peak, at most 1; got {args.mfu}")
    if bool(args.hardware) != bool(args.gpus) and not (args.hardware and args.mfu is not None):
        raise CostModelError("--hardware and --gpus go together (the cluster the days are planned on)")
    for k in ("flops", "gpu_hours", "budget_usd", "params", "tokens"):
        v = getattr(args, k)
        if v is not None and v >= 1e40:
            raise CostModelError(f"--{k.replace('_', '-')} {v:g} is beyond any training run (below 1e40)")


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.planners import scaling as S

    _check(args)
    fmt = report_format(args)
    k = args.tokens_per_param
    out: dict[str, Any] = {"schema_version": 1, "tokens_per_param": k}
    budget: dict[str, Any] = {}
    run_ = None
    spec = None
    if args.gpu_hours or args.budget_usd:
        hours = args.gpu_hours
        if args.budget_usd:
            from costmodel.hardware.systems import get_system

            price = args.price_per_hour or get_system(args.hardware).device.price_per_hour
            if not price:
                raise CostModelError(f"no price for {args.hardware}: give --price-per-hour")
            hours = args.budget_usd / price
            budget["usd"] = args.budget_usd
            budget["price_per_hour"] = price
        c, run_, mfu = S.optimal_for_hours(
            hours, args.hardware, args.gpus or 0, tokens_per_param=k, mfu=args.mfu, **_cluster_kw(args)
        )
        budget.update(gpu_hours=hours, mfu=mfu, hardware=args.hardware)
        n, d = S.compute_optimal(c, k)
        out["mode"] = "budget"
    elif args.flops:
        c = args.flops
        n, d = S.compute_optimal(c, k)
        out["mode"] = "budget"
    else:
        if args.model:
            from costmodel.frontends import load_model_spec
            from costmodel.planners.workload import param_count

            spec = load_model_spec(args.model)
            if spec is None:
                raise CostModelError(f"{args.model!r} is not a model spec, config.json or built-in model name")
            n = float(param_count(spec))
        else:
            n = args.params
        d = args.tokens or k * n
        c = S.six_nd(n, d)
        out["mode"] = "run"
    if spec is None:
        spec = S.synthesize_spec(n)
    out.update(
        params=int(round(n)), tokens=int(round(d)), flops=c, flops_6nd=c if out["mode"] == "budget" else S.six_nd(n, d)
    )
    out["flops_exact"] = S.exact_training_flops(spec, d, args.seq_len)
    out["optimal_tokens"] = int(round(k * n))
    out["loss"] = S.parametric_loss(n, d)
    if budget:
        out["budget"] = budget
    from costmodel.planners.workload import param_count

    out["model"] = {
        "name": spec.name,
        "layers": spec.num_layers,
        "hidden_size": spec.hidden_size,
        "heads": spec.num_heads,
        "params": param_count(spec),
        "synthesized": not args.model,
    }
    if args.hardware and args.gpus:
        if run_ is None:
            run_ = S.train_on_cluster(spec, d, args.hardware, args.gpus, **_cluster_kw(args))
        out["cluster"] = {
            "hardware": run_.system,
            "gpus": run_.gpus,
            "tp": run_.tp,
            "pp": run_.pp,
            "dp": run_.dp,
            "recompute": run_.recompute,
            "seq_len": args.seq_len,
            "global_batch": args.batch,
            "mfu": run_.mfu,
            "step_s": run_.step_s,
            "gpu_hours": run_.gpu_hours,
            "cost_usd": run_.cost_usd,
        }
        out["days"] = run_.days
    if not all(math.isfinite(float(v)) for v in (c, n, d)):
        raise CostModelError("the budget is too large to size")
    from costmodel.report.scale_report import scale_document

    emit(scale_document(out), args, fmt)
    return 0
