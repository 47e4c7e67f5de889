"""`costmodel llm MODEL --hardware H --batch B --prompt-len P --output-len N`: serving an LLM."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import add_report_output, emit, positive_float, positive_int, report_format

if TYPE_CHECKING:  # the planners load when the command runs (start-up speed)
    from costmodel.planners.llm import ServingCase


def add_parser(sub) -> None:
    p = sub.add_parser(
        "llm",
        help="plan LLM inference: latency, throughput, memory, cost",
        description="Prefill and per-token decode latency, memory per device, the largest batch "
        "that fits, throughput and cost for serving an LLM.",
    )
    p.add_argument("model", help="built-in model name (costmodel specs), spec file or HF config.json")
    p.add_argument("--hardware", "-H", required=True, help="hardware profile name or file")
    p.add_argument("--batch", type=positive_int, default=1)
    p.add_argument("--prompt-len", type=positive_int, default=512)
    p.add_argument("--output-len", type=positive_int, default=128)
    p.add_argument("--tp", type=positive_int, default=1, help="tensor-parallel devices")
    p.add_argument("--pp", type=positive_int, default=1, help="pipeline-parallel stages")
    p.add_argument(
        "--dp",
        type=positive_int,
        default=1,
        help="MoE: data-parallel attention groups of --tp devices each (the replica holds dp x tp devices)",
    )
    p.add_argument(
        "--ep", type=positive_int, default=1, help="MoE: devices the routed experts are split over (= dp x tp)"
    )
    p.add_argument("--dtype", default="bf16", help="activation / compute dtype (default bf16)")
    p.add_argument("--weight-dtype", help="weight storage dtype (int4, int8, fp8 ...); default = --dtype")
    p.add_argument("--kv-dtype", help="KV-cache dtype (e.g. fp8); default = --dtype")
    p.add_argument("--price-per-hour", type=positive_float, help="USD per device-hour (for cost per token)")
    p.add_argument("--prefill-execution", choices=("eager", "graph"), default="eager")
    p.add_argument("--decode-execution", choices=("graph", "eager"), default="graph")
    p.add_argument("--mode", choices=("calibrated", "ideal"), default="calibrated")
    p.add_argument(
        "--prefill-chunk",
        type=positive_int,
        default=2048,
        help="tokens per prefill chunk for activation memory (default 2048)",
    )
    p.add_argument(
        "--allow-past-context", action="store_true", help="plan prompt + output beyond the model's context length"
    )
    p.add_argument("--sweep", action="store_true", help="throughput-latency curve over batch sizes")
    p.add_argument("--plot", help="with --sweep: write the curve to a .png or .svg (needs matplotlib)")
    p.add_argument("--per-op", action="store_true", help="every op of a decode step and of the prefill")
    p.add_argument("--no-breakdown", action="store_true", help="skip the split of prefill and decode time by component")
    x = p.add_argument_group("beyond one request")
    x.add_argument(
        "--rate",
        type=positive_float,
        help="continuous batching with chunked prefill: Poisson requests per second -> TTFT/TPOT percentiles",
    )
    x.add_argument(
        "--capacity",
        action="store_true",
        help="the highest request rate one replica sustains (continuous batching, memory-limited batch)",
    )
    x.add_argument("--replicas", type=positive_int, default=1, help="with --rate: replicas sharing the rate")
    x.add_argument("--ttft", type=positive_float, help="with --rate: TTFT SLO (s): does it hold, how many replicas")
    x.add_argument("--tpot", type=positive_float, help="with --rate: TPOT SLO (s)")
    x.add_argument("--percentile", type=positive_float, default=99.0, help="with --rate: SLO percentile (99)")
    x.add_argument(
        "--prompt-lens", metavar="LENS", help="with --rate / --capacity: prompt lengths 256,1024 or 256:0.7,4096:0.3"
    )
    x.add_argument(
        "--batch-cap", type=positive_int, help="with --rate / --capacity: most sequences a replica runs at once"
    )
    x.add_argument(
        "--simulate",
        type=positive_int,
        metavar="REQUESTS",
        help="with --rate: also simulate this many requests step by step (the load model's check)",
    )
    x.add_argument("--helm", action="store_true", help="HELM idealized runtime table (prompt costs + slope)")
    x.add_argument("--draft", help="speculative decoding: the draft model")
    x.add_argument("--spec-k", type=positive_int, default=4, help="draft tokens per step (default 4)")
    x.add_argument("--acceptance", type=float, default=0.7, help="draft acceptance rate (default 0.7)")
    x.add_argument(
        "--shared-prefix",
        type=positive_int,
        metavar="TOKENS",
        help="many calls over one context of this length (prompt-len = each call's question)",
    )
    x.add_argument("--calls", type=positive_int, default=16, help="calls sharing the prefix (default 16)")
    x.add_argument(
        "--output-lens",
        metavar="LENS",
        help="output lengths 10,100 or 10:0.9,4000:0.1 (a distribution, e.g. for reasoning models; with --rate too)",
    )
    x.add_argument("--reranker-docs", type=positive_int, help="E2R-FLOPs: documents reranked per query")
    x.add_argument("--doc-len", type=positive_int, default=256, help="tokens per document (default 256)")
    x.add_argument("--metric", type=float, help="E2R: retrieval metric (e.g. nDCG@10) for RPP")
    add_report_output(p)
    p.set_defaults(run=run)


def _extras(args: argparse.Namespace, case: ServingCase) -> dict:
    from costmodel.errors import CostModelError
    from costmodel.planners import llm_extras as X

    from costmodel.planners.serving_load import Lengths

    out: dict = {}
    outputs = Lengths.parse(args.output_lens, "--output-lens") if args.output_lens else None
    if args.rate:
        if not 50 <= args.percentile < 100:
            raise CostModelError(f"--percentile must be in [50, 100), got {args.percentile:g}")
        out["continuous_batching"] = X.continuous_batching(
            case,
            args.rate,
            args.prompt_len,
            args.output_len,
            args.batch_cap,
            prompt=Lengths.parse(args.prompt_lens, "--prompt-lens") if args.prompt_lens else None,
            output=outputs,
            replicas=args.replicas,
            ttft=args.ttft,
            tpot=args.tpot,
            percentile=args.percentile / 100,
            simulate_requests=args.simulate or 0,
        )
    elif any(v is not None for v in (args.ttft, args.tpot, args.simulate)) or args.replicas != 1:
        raise CostModelError("--replicas, --ttft, --tpot and --simulate go with --rate")
    if args.capacity:
        out["capacity"] = X.capacity(
            case,
            Lengths.parse(args.prompt_lens, "--prompt-lens") if args.prompt_lens else Lengths.fixed(args.prompt_len),
            outputs or Lengths.fixed(args.output_len),
            args.batch_cap,
        )
    elif not args.rate and (args.prompt_lens or args.batch_cap):
        raise CostModelError("--prompt-lens and --batch-cap go with --rate or --capacity")
    if args.helm:
        out["helm"] = X.helm_runtime(case)
    if args.draft:
        from costmodel.planners.llm import ServingCase

        draft = ServingCase.of(args.draft, args.hardware, batch=args.batch, **_kw(args))
        out["speculative"] = X.speculative(case, draft, args.spec_k, args.acceptance, args.prompt_len, args.output_len)
    if args.shared_prefix:
        out["shared_prefix"] = X.shared_prefix(case, args.shared_prefix, args.prompt_len, args.calls, args.output_len)
    if outputs is not None:
        out["output_distribution"] = X.output_length_distribution(
            case, args.prompt_len, list(outputs.values), list(outputs.weights)
        )
    if args.reranker_docs:
        out["reranker"] = X.reranker_flops(case.spec, args.prompt_len, args.doc_len, args.reranker_docs, args.metric)
    return out


def _kw(args: argparse.Namespace) -> dict:
    return dict(
        prompt_len=args.prompt_len,
        output_len=args.output_len,
        tp=args.tp,
        pp=args.pp,
        dp=args.dp,
        ep=args.ep,
        dtype=args.dtype,
        weight_dtype=args.weight_dtype,
        kv_dtype=args.kv_dtype,
        price_per_hour=args.price_per_hour,
        prefill_execution=args.prefill_execution,
        decode_execution=args.decode_execution,
        mode=args.mode,
        prefill_chunk=args.prefill_chunk,
        allow_past_context=args.allow_past_context,
    )


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.planners.llm import ServingCase, sweep_batches

    if args.plot and not args.sweep:
        raise CostModelError("--plot draws the --sweep curve: add --sweep (or use --format html for every chart)")
    if args.per_op and args.no_breakdown:
        raise CostModelError("--per-op lists the ops of the breakdown: drop --no-breakdown")
    fmt = report_format(args)
    if args.plot:
        from costmodel.report.files import check_output_path

        check_output_path(args.plot, inputs=[args.model], suffixes=(".png", ".svg"), what="plot")
    if "," in args.hardware:  # a comparison across devices
        from .compare import compare_hardware_shortcut

        return compare_hardware_shortcut(args, fmt, "llm")
    case = ServingCase.of(args.model, args.hardware, batch=args.batch, **_kw(args))
    plan = case.plan()
    sweep = None
    if args.sweep:
        top = max(plan.max_batch, 1)
        batches = sorted({b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if b <= top} | {top})
        sweep = sweep_batches(case, batches)
    extras = _extras(args, case)
    breakdown = None
    hw = None
    if not args.no_breakdown and case.layout.ep == 1:  # the breakdown splits a tp x pp replica
        from costmodel.planners.breakdown import llm_breakdown

        hw = case.system.device
        breakdown = llm_breakdown(
            case.spec,
            hw,
            plan,
            prefill_execution=args.prefill_execution,
            decode_execution=args.decode_execution,
            mode=args.mode,
        )
    from costmodel.report.llm_report import document, sweep_chart

    if args.plot and sweep:
        from costmodel.report.roofline import write_plot

        write_plot(sweep_chart(sweep), args.plot, inputs=[args.model])
    doc = document(
        plan,
        sweep=sweep,
        extras=extras,
        breakdown=breakdown,
        per_op=args.per_op,
        hardware=hw,
        charts=fmt == "html",
    )
    emit(doc, args, fmt)
    return 0
