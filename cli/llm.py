"""`costmodel llm MODEL --hardware H --batch B --prompt-len P --output-len N`: serving an LLM."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .common import (
    MAX_SIMULATED,
    Subparsers,
    _inputs,
    add_report_output,
    add_runtime_option,
    add_spec_limits,
    batch_size,
    bounded_float,
    bounded_int,
    devices,
    emit,
    percentile,
    price,
    rate,
    report_format,
    slo_seconds,
    tokens,
)

if TYPE_CHECKING:  # the planners load when the command runs (start-up speed)
    from costmodel.planners.llm import ServingCase

# costmodel/planners/serving_precision.py SERVING_PRECISIONS and "none" (tests/test_serving_precision.py checks)
PRECISIONS = ("fp8", "fp4", "none")


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "llm",
        help="plan LLM inference: latency, throughput, memory, cost",
        description="Prefill and per-token decode latency, memory per device, the largest batch "
        "that fits, throughput and cost for serving an LLM.",
    )
    p.add_argument("model", help="built-in model name (costmodel specs), spec file or HF config.json")
    p.add_argument("--hardware", "-H", help="hardware profile name or file (required, except with --helm)")
    p.add_argument("--batch", type=batch_size, default=1)
    p.add_argument("--prompt-len", type=tokens, default=512)
    p.add_argument("--output-len", type=tokens, default=128)
    p.add_argument("--tp", type=devices, default=1, help="tensor-parallel devices")
    p.add_argument("--pp", type=devices, default=1, help="pipeline-parallel stages")
    p.add_argument(
        "--dp",
        type=devices,
        default=1,
        help="MoE: data-parallel attention groups of --tp devices each (the replica holds dp x tp devices)",
    )
    p.add_argument("--ep", type=devices, default=1, help="MoE: devices the routed experts are split over (= dp x tp)")
    p.add_argument("--dtype", default="bf16", help="activation / compute dtype (default bf16)")
    p.add_argument("--weight-dtype", help="weight storage dtype (int4, int8, fp8 ...); default = --dtype")
    p.add_argument("--kv-dtype", help="KV-cache dtype (e.g. fp8); default = --dtype")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="a quantized checkpoint's recipe: fp8 / fp4 (NVFP4) block linears, fp8 attention and KV cache; "
        "embedding, LM head, norms and residual stream in --dtype (default: the recipe --dtype fp8|fp4 names; "
        "none: every tensor in --dtype)",
    )
    p.add_argument("--price-per-hour", type=price, help="USD per device-hour (for cost per token)")
    p.add_argument("--prefill-execution", choices=("eager", "graph"), default="eager")
    p.add_argument("--decode-execution", choices=("graph", "eager"), default="graph")
    p.add_argument("--mode", choices=("calibrated", "ideal"), default="calibrated")
    add_runtime_option(p, several=True)
    p.add_argument(
        "--prefill-chunk",
        type=tokens,
        default=2048,
        help="tokens per prefill chunk for activation memory (default 2048)",
    )
    p.add_argument(
        "--allow-past-context",
        action="store_true",
        help="cost prompt + output lengths past the model's context window (else an error naming the limit)",
    )
    p.add_argument("--sweep", action="store_true", help="throughput-latency curve over batch sizes")
    p.add_argument("--plot", help="with --sweep: write the curve to a .png or .svg (needs matplotlib)")
    p.add_argument("--per-op", action="store_true", help="every op of a decode step and of the prefill")
    p.add_argument("--no-breakdown", action="store_true", help="skip the split of prefill and decode time by component")
    x = p.add_argument_group("beyond one request")
    x.add_argument(
        "--rate",
        type=rate,
        help="continuous batching with chunked prefill: Poisson requests per second -> TTFT/TPOT percentiles",
    )
    x.add_argument(
        "--capacity",
        action="store_true",
        help="the highest request rate one replica sustains (continuous batching, memory-limited batch)",
    )
    x.add_argument("--replicas", type=devices, default=1, help="with --rate: replicas sharing the rate")
    x.add_argument("--ttft", type=slo_seconds, help="with --rate: TTFT SLO (s): does it hold, how many replicas")
    x.add_argument("--tpot", type=slo_seconds, help="with --rate: TPOT SLO (s)")
    x.add_argument("--percentile", type=percentile, default=99.0, help="with --rate: SLO percentile (99)")
    x.add_argument(
        "--prompt-lens", metavar="LENS", help="with --rate / --capacity: prompt lengths 256,1024 or 256:0.7,4096:0.3"
    )
    x.add_argument(
        "--batch-cap", type=batch_size, help="with --rate / --capacity: most sequences a replica runs at once"
    )
    x.add_argument(
        "--simulate",
        type=bounded_int(1, MAX_SIMULATED, "requests"),
        metavar="REQUESTS",
        help="with --rate: also simulate this many requests step by step (the load model's check)",
    )
    x.add_argument(
        "--helm",
        nargs="?",
        const="reference",
        choices=("reference", "given"),
        help="HELM's idealized runtimes (inference_idealized_runtimes.json structure) instead of the plan: "
        "'reference' (default) in HELM's reference setup (Megatron-LM, A100 80GB, fp16, GPUs as HELM's runs "
        "chose them: weights in at most 55%% of each, tensor parallel within 8, then pipeline stages; --tp/--pp "
        "override, --hardware replaces the device), 'given' on this command's hardware, --tp and dtype",
    )
    x.add_argument("--helm-name", help="with --helm: the model's key in the table (default: the spec's name)")
    x.add_argument("--draft", help="speculative decoding: the draft model")
    x.add_argument("--spec-k", type=bounded_int(1, 64, "tokens"), default=4, help="draft tokens per step (default 4)")
    x.add_argument(
        "--spec-heads",
        choices=("medusa", "eagle"),
        help="speculative decoding with draft heads on the target (Medusa, Cai et al. 2024; EAGLE, Li et al. 2024)",
    )
    x.add_argument(
        "--tree",
        help="with --spec-heads: candidates per node at each depth, e.g. 4,2,2 (default: a chain of --spec-k)",
    )
    x.add_argument(
        "--acceptance",
        default="0.7",
        help="acceptance rate in [0, 1) (default 0.7), or one per depth / draft position: 0.8,0.6,0.5",
    )
    x.add_argument(
        "--shared-prefix",
        type=tokens,
        metavar="TOKENS",
        help="many calls over one context of this length (prompt-len = each call's question)",
    )
    x.add_argument("--calls", type=batch_size, default=16, help="calls sharing the prefix (default 16)")
    x.add_argument(
        "--output-lens",
        metavar="LEN[:WEIGHT],...",
        help="a distribution of output lengths, e.g. 10,100 or 10:0.9,4000:0.1 (reasoning models): expected "
        "FLOPs, latency and cost per query; with --rate / --capacity, the requests' output lengths",
    )
    x.add_argument(
        "--reranker-docs",
        type=batch_size,
        help="pointwise reranking (E2R-FLOPs): documents per query, each call generating --output-len "
        "tokens (`costmodel rerank` has every strategy)",
    )
    x.add_argument("--doc-len", type=tokens, default=256, help="tokens per document (default 256)")
    x.add_argument(
        "--metric",
        type=bounded_float(0.0, 100.0),
        help="E2R: retrieval metric for RPP (e.g. nDCG@10: a score in [0, 1], or a percentage up to 100)",
    )
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


_branching = bounded_int(1, 64, "candidates")
MAX_TREE_NODES = 1 << 16  # verified in one forward: Medusa's and EAGLE's trees have ~60


def _tree(text: str) -> list[int]:
    """--tree: candidates per node at each depth (1 to 64 each, at most 64 depths and
    MAX_TREE_NODES nodes in all)."""
    from costmodel.errors import CostModelError

    try:
        vals = [_branching(x) for x in text.split(",") if x.strip()]
    except argparse.ArgumentTypeError as e:
        raise CostModelError(f"--tree: {e}") from None
    nodes, width = 0, 1
    for v in vals:
        width *= v
        nodes += width
        if nodes > MAX_TREE_NODES:
            raise CostModelError(f"--tree {text[:200]!r} has more than {MAX_TREE_NODES:,} nodes")
    if not 0 < len(vals) <= 64:
        raise CostModelError("--tree must list 1 to 64 depths")
    return vals


def _extras(args: argparse.Namespace, case: ServingCase) -> dict[str, Any]:
    from costmodel.errors import CostModelError
    from costmodel.planners import llm_extras as X
    from costmodel.planners.serving_lengths import Lengths

    out: dict[str, Any] = {}
    outputs = Lengths.parse(args.output_lens, "--output-lens") if args.output_lens is not None else None
    if args.rate:
        if not 50 <= args.percentile < 100:
            raise CostModelError(f"--percentile must be in [50, 100), got {args.percentile:g}")
        out["continuous_batching"] = X.continuous_batching(
            case,
            args.rate,
            args.prompt_len,
            args.output_len,
            args.batch_cap,
            prompt=Lengths.parse(args.prompt_lens, "--prompt-lens") if args.prompt_lens is not None else None,
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
            Lengths.parse(args.prompt_lens, "--prompt-lens")
            if args.prompt_lens is not None
            else Lengths.fixed(args.prompt_len),
            outputs or Lengths.fixed(args.output_len),
            args.batch_cap,
        )
    elif not args.rate and (args.prompt_lens is not None or args.batch_cap):
        raise CostModelError("--prompt-lens and --batch-cap go with --rate or --capacity")
    if args.draft or args.spec_heads:
        from costmodel.planners import speculative as SP

        rates = SP.parse_rates(args.acceptance)
        if args.draft and args.spec_heads:
            raise CostModelError("--draft (a draft model) or --spec-heads (draft heads), not both")
        if args.draft:
            from costmodel.planners.llm import ServingCase

            draft = ServingCase.of(args.draft, args.hardware, batch=args.batch, **_kw(args))
            out["speculative"] = X.speculative(case, draft, args.spec_k, rates, args.prompt_len, args.output_len)
        else:
            tree = _tree(args.tree) if args.tree else [1] * args.spec_k
            out["speculative"] = SP.speculative_tree(
                case, args.spec_heads, tree, rates, args.prompt_len, args.output_len
            )
    if args.shared_prefix:
        out["shared_prefix"] = X.shared_prefix(case, args.shared_prefix, args.prompt_len, args.calls, args.output_len)
    if outputs is not None:
        out["output_distribution"] = X.output_length_distribution(
            case, args.prompt_len, list(outputs.values), list(outputs.weights)
        )
    if args.reranker_docs:
        out["reranker"] = X.reranker_flops(
            case.spec, args.prompt_len, args.doc_len, args.reranker_docs, args.metric, args.output_len
        )
    return out


def _helm(args: argparse.Namespace, fmt: str) -> int:
    from costmodel.errors import CostModelError
    from costmodel.frontends import load_model_spec
    from costmodel.planners import helm as H
    from costmodel.planners.llm import ServingCase

    others = [
        f
        for f in ("sweep", "rate", "capacity", "draft", "spec_heads", "shared_prefix", "output_lens", "reranker_docs")
        if getattr(args, f)
    ]
    if others:
        raise CostModelError(f"--helm makes HELM's table alone: drop --{others[0].replace('_', '-')}")
    spec = load_model_spec(args.model)
    if spec is None:
        raise CostModelError(f"{args.model!r} is not a model spec, config.json or built-in model name")
    if args.helm == "reference":
        case = H.reference_case(
            spec,
            args.hardware or H.REFERENCE_DEVICE,
            args.tp if args.tp > 1 else None,
            args.pp if args.pp > 1 else None,
        )
        setup = "HELM reference: Megatron-LM 2022, fp16, batch 1, unfused attention"
    else:
        if not args.hardware:
            raise CostModelError("--helm given needs --hardware")
        case = ServingCase.of(spec, args.hardware, batch=1, **_kw(args))
        setup = f"this command's setup: {args.dtype}, prefill {args.prefill_execution}, decode {args.decode_execution}"
    name = args.helm_name or spec.name
    entry = H.helm_entry(case)
    from costmodel.report.helm_report import helm_document

    emit(helm_document(name, entry, setup), args, fmt)
    return 0


def _kw(args: argparse.Namespace) -> dict[str, Any]:
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
        precision=args.precision,
        price_per_hour=args.price_per_hour,
        prefill_execution=args.prefill_execution,
        decode_execution=args.decode_execution,
        mode=args.mode,
        prefill_chunk=args.prefill_chunk,
        runtime=args.runtime,
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
    if args.helm:
        return _helm(args, fmt)
    if not args.hardware:
        raise CostModelError("the following arguments are required: --hardware")
    if args.plot:
        from costmodel.report.files import check_output_path

        check_output_path(args.plot, inputs=_inputs(args), suffixes=(".png", ".svg"), what="plot")
    if "," in args.hardware or (args.runtime and "," in args.runtime):  # devices / runtimes side by side
        from .compare import compare_hardware_shortcut

        return compare_hardware_shortcut(args, fmt, "llm")
    case = ServingCase.of(args.model, args.hardware, batch=args.batch, **_kw(args))
    plan = case.plan()
    sweep = None
    if args.sweep:
        top = max(plan.max_batch, 1)
        batches = sorted({b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if b <= top} | {top})
        from costmodel.report.progress import progress_bar

        bar = progress_bar(len(batches), "sweep", enabled=True)
        try:
            sweep = sweep_batches(case, batches, bar.hook() if bar is not None else None)
        finally:
            if bar is not None:
                bar.close()
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
            runtime=case.setup.runtime,
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
