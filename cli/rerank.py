"""`costmodel rerank MODEL --strategy pointwise|pairwise|listwise|setwise --docs N`:
LLM calls, tokens and FLOPs per reranked query, QPP / RPP (E2R-FLOPs), latency and cost."""

from __future__ import annotations

import argparse
from typing import Any

from .common import (
    Subparsers,
    add_report_output,
    add_spec_limits,
    batch_size,
    devices,
    emit,
    metric,
    price,
    report_format,
    some_tokens,
    tokens,
)


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "rerank",
        help="LLM reranking per query: calls, tokens, FLOPs, QPP/RPP (E2R-FLOPs), latency, cost",
        description="Reranking the top N documents of a query with a pointwise, pairwise, listwise (sliding "
        "window) or setwise (heapsort) strategy: calls per query, prompt and generated tokens, FLOPs counted "
        "from the model's graph (or with E2R-FLOPs' closed form: --counting e2r), queries per PetaFLOP (QPP), "
        "metric per PetaFLOP (RPP, with --metric) and, with --hardware, latency and cost per query.",
    )
    p.add_argument("model", help="built-in model, spec file or config.json (decoder, encoder-decoder or encoder)")
    p.add_argument("--strategy", choices=("pointwise", "pairwise", "listwise", "setwise"), required=True)
    p.add_argument("--docs", type=batch_size, required=True, help="documents reranked per query")
    p.add_argument("--doc-len", type=tokens, required=True, help="tokens per document")
    p.add_argument("--query-len", type=tokens, required=True, help="tokens per query")
    p.add_argument("--output-len", type=some_tokens, help="generated tokens per call (default 1; listwise 4 per doc)")
    p.add_argument("--instruction-len", type=some_tokens, default=0, help="prompt-template tokens per call")
    p.add_argument("--window", type=batch_size, default=20, help="listwise: documents per window (default 20)")
    p.add_argument("--step", type=batch_size, default=10, help="listwise: window step (default 10)")
    p.add_argument("--set-size", type=batch_size, default=3, help="setwise: children per comparison (default 3)")
    p.add_argument("--top-k", type=batch_size, default=10, help="setwise: documents to extract (default 10)")
    p.add_argument("--pairwise", choices=("allpair", "sliding"), default="allpair", help="pairwise method")
    p.add_argument("--passes", type=batch_size, default=10, help="pairwise sliding: bubble-sort passes")
    p.add_argument("--metric", type=metric, help="ranking metric per query (e.g. nDCG@10 = 0.7): adds RPP")
    p.add_argument(
        "--counting",
        choices=("exact", "e2r"),
        default="exact",
        help="exact: the model's graph (default); e2r: E2R-FLOPs' closed form (gated MLP as 2 matrices)",
    )
    h = p.add_argument_group("latency and cost")
    h.add_argument("--hardware", "-H", help="hardware profile: adds latency and cost per query")
    h.add_argument("--tp", type=devices, default=1)
    h.add_argument("--dtype", default="bf16")
    h.add_argument("--batch", type=batch_size, default=1, help="pointwise/pairwise: calls run together")
    h.add_argument("--price-per-hour", type=price, help="USD per device-hour")
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import math

    from costmodel.errors import CostModelError
    from costmodel.frontends import load_model_spec
    from costmodel.planners import rerank as R

    fmt = report_format(args)
    if args.metric is not None and not math.isfinite(args.metric):
        raise CostModelError(f"--metric must be a finite number, got {args.metric}")
    spec = load_model_spec(args.model)
    if spec is None:
        raise CostModelError(f"{args.model!r} is not a model spec, config.json or built-in model name")
    setup = R.RerankSetup(
        strategy=R.Strategy(args.strategy),
        docs=args.docs,
        doc_len=args.doc_len,
        query_len=args.query_len,
        output_len=args.output_len,
        instruction_len=args.instruction_len,
        window=args.window,
        step=args.step,
        set_size=args.set_size,
        top_k=args.top_k,
        pairwise=args.pairwise,
        passes=args.passes,
    )
    res = R.rerank(spec, setup)
    e2r = res.e2r()
    if args.counting == "e2r" and e2r is None:
        raise CostModelError(f"E2R-FLOPs' closed form does not cover {spec.name} ({spec.architecture}): use exact")
    flops = res.flops if args.counting == "exact" else int(round(e2r or 0))
    out: dict[str, Any] = {
        "schema_version": 1,
        "model": spec.name,
        "strategy": setup.strategy.value,
        "counting": args.counting,
        "docs": setup.docs,
        "calls_per_query": res.calls,
        "prompt_tokens_per_query": res.tokens("prompt_tokens"),
        "output_tokens_per_query": res.tokens("output_tokens"),
        "flops_per_query": flops,
        "macs_per_query": res.macs if args.counting == "exact" else None,
        "qpp": R.qpp(flops),
        **res.facts,
        "calls": [
            {
                "count": g.count,
                "docs": g.docs,
                "prompt_tokens": g.prompt_tokens,
                "output_tokens": g.output_tokens,
                "flops": f,
            }
            for g, f in zip(res.groups, res.flops_per_call)
        ],
    }
    if args.metric is not None:
        out["metric"] = args.metric
        out["rpp"] = R.rpp(args.metric, flops)
    if e2r is not None:
        gate = res.e2r(gate=True) or e2r
        out["e2r"] = {
            "flops_per_query": int(round(e2r)),
            "flops_per_query_gate_counted": int(round(gate)),
            "exact_over_e2r": res.flops / e2r,
        }
    if args.hardware:
        from costmodel.planners.llm import ServingCase

        case = ServingCase.of(spec, args.hardware, tp=args.tp, dtype=args.dtype, price_per_hour=args.price_per_hour)
        lat = R.rerank_latency(case, res, args.batch)
        price = args.price_per_hour or case.system.device.price_per_hour
        out["hardware"] = case.system.device.name
        out["latency_s"] = lat
        out["queries_per_s"] = 1 / lat if lat else None
        out["cost_usd"] = lat * price * args.tp / 3600 if price else None
    from costmodel.report.rerank_report import rerank_document

    emit(rerank_document(out), args, fmt)
    return 0
