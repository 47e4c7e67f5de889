"""`costmodel train MODEL --hardware SYSTEM_OR_DEVICE --gpus G --batch B --seq-len S`."""

from __future__ import annotations

import argparse

from .common import (
    add_spec_limits,
    add_report_output,
    batch_size,
    devices,
    emit,
    nonneg_int,
    price,
    report_format,
    tokens,
    train_tokens,
)


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
    p.add_argument("--gpus", type=devices, required=True)
    p.add_argument("--batch", type=batch_size, required=True, help="global batch (sequences per step)")
    p.add_argument("--seq-len", type=tokens, required=True)
    p.add_argument("--micro-batch", type=batch_size, help="default: global batch / dp (pp=1) or 1 (pp>1)")
    for k in ("tp", "pp", "ep", "cp"):
        p.add_argument(f"--{k}", type=devices, default=1)
    p.add_argument("--dp", type=devices, help="default: gpus / (tp x pp x cp)")
    p.add_argument("--sequence-parallel", action="store_true")
    p.add_argument("--interleave", type=devices, default=1, help="virtual pipeline chunks per stage")
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
    p.add_argument("--tokens", type=train_tokens, help="tokens to train on (e.g. 2e12)")
    p.add_argument("--price-per-hour", type=price, help="USD per device-hour")
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.planners.training import plan_training

    fmt = report_format(args)
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
    from costmodel.report.train_report import train_document

    emit(train_document(plan), args, fmt)
    return 0
