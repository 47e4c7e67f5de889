"""`costmodel llm MODEL --hardware H --batch B --prompt-len P --output-len N`: serving an LLM."""

from __future__ import annotations

import argparse

from .common import (
    add_spec_limits,
    _inputs,
    add_report_output,
    batch_size,
    bounded_float,
    bounded_int,
    devices,
    emit,
    price,
    rate,
    report_format,
    tokens,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "llm",
        help="plan LLM inference: latency, throughput, memory, cost",
        description="Prefill and per-token decode latency, memory per device, the largest batch "
        "that fits, throughput and cost for serving an LLM.",
    )
    p.add_argument("model", help="built-in model name (costmodel specs), spec file or HF config.json")
    p.add_argument("--hardware", "-H", required=True, help="hardware profile name or file")
    p.add_argument("--batch", type=batch_size, default=1)
    p.add_argument("--prompt-len", type=tokens, default=512)
    p.add_argument("--output-len", type=tokens, default=128)
    p.add_argument("--tp", type=devices, default=1, help="tensor-parallel devices")
    p.add_argument("--pp", type=devices, default=1, help="pipeline-parallel stages")
    p.add_argument("--dtype", default="bf16", help="activation / compute dtype (default bf16)")
    p.add_argument("--weight-dtype", help="weight storage dtype (int4, int8, fp8 ...); default = --dtype")
    p.add_argument("--kv-dtype", help="KV-cache dtype (e.g. fp8); default = --dtype")
    p.add_argument("--price-per-hour", type=price, help="USD per device-hour (for cost per token)")
    p.add_argument("--prefill-execution", choices=("eager", "graph"), default="eager")
    p.add_argument("--decode-execution", choices=("graph", "eager"), default="graph")
    p.add_argument("--mode", choices=("calibrated", "ideal"), default="calibrated")
    p.add_argument(
        "--prefill-chunk",
        type=tokens,
        default=2048,
        help="tokens per prefill chunk for activation memory (default 2048)",
    )
    p.add_argument("--sweep", action="store_true", help="throughput-latency curve over batch sizes")
    p.add_argument("--plot", help="with --sweep: write the curve to a .png or .svg (needs matplotlib)")
    p.add_argument("--per-op", action="store_true", help="every op of a decode step and of the prefill")
    p.add_argument("--no-breakdown", action="store_true", help="skip the split of prefill and decode time by component")
    x = p.add_argument_group("beyond one request")
    x.add_argument("--rate", type=rate, help="continuous batching: requests per second -> TTFT/TPOT")
    x.add_argument("--helm", action="store_true", help="HELM idealized runtime table (prompt costs + slope)")
    x.add_argument("--draft", help="speculative decoding: the draft model")
    x.add_argument("--spec-k", type=bounded_int(1, 64, "tokens"), default=4, help="draft tokens per step (default 4)")
    x.add_argument(
        "--acceptance",
        type=bounded_float(0.0, 1.0, high_open=True),
        default=0.7,
        help="draft acceptance rate, in [0, 1) (default 0.7)",
    )
    x.add_argument(
        "--shared-prefix",
        type=tokens,
        metavar="TOKENS",
        help="many calls over one context of this length (prompt-len = each call's question)",
    )
    x.add_argument("--calls", type=batch_size, default=16, help="calls sharing the prefix (default 16)")
    x.add_argument("--output-lens", help="comma-separated output lengths (a distribution, e.g. for reasoning models)")
    x.add_argument("--reranker-docs", type=batch_size, help="E2R-FLOPs: documents reranked per query")
    x.add_argument("--doc-len", type=tokens, default=256, help="tokens per document (default 256)")
    x.add_argument(
        "--metric",
        type=bounded_float(0.0, 100.0),
        help="E2R: retrieval metric for RPP (e.g. nDCG@10: a score in [0, 1], or a percentage up to 100)",
    )
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def _extras(args: argparse.Namespace) -> dict:
    from costmodel.errors import CostModelError
    from costmodel.planners import llm_extras as X

    kw = {k: v for k, v in _kw(args).items() if k not in ("prompt_len", "output_len")}
    out: dict = {}
    if args.rate:
        out["continuous_batching"] = X.continuous_batching(
            args.model, args.hardware, args.rate, args.prompt_len, args.output_len, **kw
        )
    if args.helm:
        out["helm"] = X.helm_runtime(args.model, args.hardware, **kw)
    if args.draft:
        out["speculative"] = X.speculative(
            args.model,
            args.draft,
            args.hardware,
            args.spec_k,
            args.acceptance,
            args.prompt_len,
            args.output_len,
            batch=args.batch,
            **kw,
        )
    if args.shared_prefix:
        out["shared_prefix"] = X.shared_prefix(
            args.model, args.hardware, args.shared_prefix, args.prompt_len, args.calls, args.output_len, **kw
        )
    if args.output_lens:
        import argparse as _ap

        try:
            lens = [tokens(v) for v in args.output_lens.split(",") if v.strip()]
        except _ap.ArgumentTypeError as e:
            raise CostModelError(f"--output-lens: {e}") from None
        if not lens or len(lens) > 100_000:
            raise CostModelError("--output-lens must list 1 to 100,000 positive integers")
        out["output_distribution"] = X.output_length_distribution(
            args.model, args.hardware, args.prompt_len, lens, batch=args.batch, **kw
        )
    if args.reranker_docs:
        out["reranker"] = X.reranker_flops(args.model, args.prompt_len, args.doc_len, args.reranker_docs, args.metric)
    return out


def _kw(args: argparse.Namespace) -> dict:
    return dict(
        prompt_len=args.prompt_len,
        output_len=args.output_len,
        tp=args.tp,
        pp=args.pp,
        dtype=args.dtype,
        weight_dtype=args.weight_dtype,
        kv_dtype=args.kv_dtype,
        price_per_hour=args.price_per_hour,
        prefill_execution=args.prefill_execution,
        decode_execution=args.decode_execution,
        mode=args.mode,
        prefill_chunk=args.prefill_chunk,
    )


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.planners.llm import plan_llm

    if args.plot and not args.sweep:
        raise CostModelError("--plot draws the --sweep curve: add --sweep (or use --format html for every chart)")
    if args.per_op and args.no_breakdown:
        raise CostModelError("--per-op lists the ops of the breakdown: drop --no-breakdown")
    fmt = report_format(args)
    if args.plot:
        from costmodel.report.files import check_output_path

        check_output_path(args.plot, inputs=_inputs(args), suffixes=(".png", ".svg"), what="plot")
    if "," in args.hardware:  # a comparison across devices
        from .compare import compare_hardware_shortcut

        return compare_hardware_shortcut(args, fmt, "llm")
    plan = plan_llm(args.model, args.hardware, batch=args.batch, **_kw(args))
    sweep = None
    if args.sweep:
        from costmodel.planners.llm import sweep_batches

        top = max(plan.max_batch, 1)
        batches = sorted({b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if b <= top} | {top})
        sweep = sweep_batches(args.model, args.hardware, batches, **_kw(args))
    extras = _extras(args)
    breakdown = None
    hw = None
    if not args.no_breakdown:
        from costmodel.hardware import get_profile
        from costmodel.planners.breakdown import llm_breakdown

        hw = get_profile(args.hardware)
        breakdown = llm_breakdown(
            args.model,
            hw,
            plan,
            prefill_execution=args.prefill_execution,
            decode_execution=args.decode_execution,
            mode=args.mode,
        )
    from costmodel.report.llm_report import document, sweep_chart

    if args.plot and sweep:
        from costmodel.report.roofline import write_plot

        write_plot(sweep_chart(sweep), args.plot, inputs=_inputs(args))
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
