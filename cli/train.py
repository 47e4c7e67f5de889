"""`costmodel train MODEL --hardware SYSTEM_OR_DEVICE --gpus G --batch B --seq-len S`."""

from __future__ import annotations

import argparse

from .common import (
    MAX_DEVICES,
    MAX_LAYERS,
    Subparsers,
    add_report_output,
    add_runtime_option,
    add_spec_limits,
    batch_size,
    bounded_int,
    devices,
    emit,
    nonneg_int,
    price,
    report_format,
    runtime_option,
    tokens,
    train_tokens,
)


_stage_layers = bounded_int(1, MAX_LAYERS, "layers")


def _counts(text: str) -> list[int]:
    """Layers per pipeline stage, each a plausible layer count, at most one per device."""
    vals = [_stage_layers(x) for x in text.split(",") if x.strip()]
    if not vals or len(vals) > MAX_DEVICES:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} must list 1 to {MAX_DEVICES:,} stage sizes")
    return vals


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "train",
        help="plan a training run: step time, MFU, memory per device, time and cost",
        description="Training step time and memory per device under a parallel layout "
        "(data, tensor + sequence, pipeline 1F1B / interleaved / ZB-H1 / DualPipe over even or "
        "uneven stages, expert, context), ZeRO / FSDP, recompute, precision recipes, and what "
        "communication overlap hides; with --tokens the time, device-hours and cost to train.",
    )
    p.add_argument("model", help="built-in model name, spec file or HF config.json")
    p.add_argument(
        "--hardware",
        "-H",
        required=True,
        help="system (dgx-a100-40gb, dgx-a100-80gb, aws-p4d, aws-p5, dgx-h100, h800-node, hgx-h200, "
        "mi300x-node, frontier, tpu-v5p-slice), a system file, or a device profile",
    )
    p.add_argument("--gpus", type=devices, required=True)
    p.add_argument("--batch", type=batch_size, required=True, help="global batch (sequences per step)")
    p.add_argument("--seq-len", type=tokens, required=True)
    p.add_argument(
        "--micro-batch", type=batch_size, help="default: the largest that fits (under pipelining, leaving >= pp)"
    )
    for k in ("tp", "pp", "cp"):
        p.add_argument(f"--{k}", type=devices, default=1)
    p.add_argument(
        "--ep", type=devices, help="expert-parallel degree (default: the spec's moe.expert_parallel, else 1)"
    )
    p.add_argument("--dp", type=devices, help="default: gpus / (tp x pp x cp)")
    p.add_argument("--sequence-parallel", action="store_true")
    p.add_argument("--interleave", type=devices, default=1, help="virtual pipeline chunks per stage")
    p.add_argument(
        "--schedule",
        choices=("auto", "1f1b", "interleaved", "zb-h1", "dualpipe"),
        default="auto",
        help="pipeline schedule (auto: interleaved with --interleave > 1, else 1f1b)",
    )
    p.add_argument(
        "--stage-layers",
        type=_counts,
        help="layers per pipeline (virtual) stage, e.g. 7,8,8,...,7 (default: even, the first and last "
        "stages lighter when the layers do not divide)",
    )
    p.add_argument("--zero", type=nonneg_int, default=0, choices=(0, 1, 2, 3))
    p.add_argument("--fsdp", choices=("full", "hybrid"), help="FSDP sharding (ZeRO-3; hybrid: shard inside a node)")
    p.add_argument("--shard-group", type=devices, help="ranks a ZeRO stage shards over (hybrid sharding)")
    p.add_argument("--recompute", choices=("none", "selective", "full"), default="none")
    p.add_argument(
        "--attention",
        choices=("fused", "unfused"),
        default="fused",
        help="fused: one FlashAttention kernel; unfused: the scores through memory (Megatron-LM before FlashAttention)",
    )
    p.add_argument(
        "--precision",
        choices=(
            "bf16-mixed",
            "bf16-mixed-bf16-grads",
            "bf16-autocast",
            "fp16-mixed",
            "fp8",
            "fp8-fp8-allgather",
            "fp32",
        ),
        help="precision recipe (default: bf16-autocast on one device with eager dispatch or with --runtime pytorch, "
        "else bf16-mixed)",
    )
    p.add_argument(
        "--optimizer-impl",
        choices=("fused", "foreach", "per-tensor"),
        help="optimizer kernels (default: foreach under bf16-autocast, as torch.optim; fused otherwise)",
    )
    p.add_argument(
        "--overlap",
        help="communication hidden behind compute: comma list of dp, fsdp, tp, pp, ep, or none / all "
        "(default: dp, fsdp, pp, and ep under dualpipe)",
    )
    p.add_argument(
        "--optimizer",
        choices=("adamw", "adam", "sgd", "sgd-momentum", "adafactor", "adam8bit", "lion"),
        default="adamw",
    )
    p.add_argument("--offload", action="store_true", help="optimizer states in host memory (ZeRO-Offload)")
    p.add_argument("--execution", choices=("eager", "graph"), default="eager")
    add_runtime_option(p)
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
        schedule=args.schedule,
        stage_layers=args.stage_layers,
        zero=args.zero,
        fsdp=args.fsdp,
        shard_group=args.shard_group,
        recompute=args.recompute,
        attention=args.attention,
        precision=args.precision,
        optimizer=args.optimizer,
        optimizer_impl=args.optimizer_impl,
        overlap=args.overlap,
        offload=args.offload,
        tokens=int(args.tokens) if args.tokens else None,
        price_per_hour=args.price_per_hour,
        execution=args.execution,
        runtime=runtime_option(args),
    )
    from costmodel.report.train_report import train_document

    emit(train_document(plan), args, fmt)
    return 0
