"""`costmodel memory MODEL [MODEL ...] --contexts 1024,65536`: KV-cache bytes against
recurrent-state bytes per sequence as the context grows (transformers, sliding windows,
SSMs, RWKV, Griffin, hybrids side by side)."""

from __future__ import annotations

import argparse

from .common import Subparsers, add_report_output, add_spec_limits, emit, report_format, tokens


def _contexts(text: str) -> list[int]:
    vals = [tokens(x) for x in text.split(",") if x.strip()]
    if not vals or len(vals) > 64:
        raise argparse.ArgumentTypeError(f"{text[:200]!r} must list 1 to 64 context lengths")
    return vals


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "memory",
        help="state bytes vs KV-cache bytes per sequence as the context grows",
        description="Per sequence: the KV cache of attention layers (capped at the window for sliding-window "
        "layers) and the fixed recurrent state (Mamba, RWKV, linear attention / retention, Griffin's RG-LRU), "
        "at each context length; several models side by side. HTML output adds the chart.",
    )
    p.add_argument("models", nargs="+", help="built-in model names, spec files or config.json")
    p.add_argument(
        "--contexts",
        type=_contexts,
        default=None,
        help="context lengths (default 1024,4096,16384,65536,262144,1048576)",
    )
    p.add_argument("--kv-dtype", default="bf16", help="KV-cache dtype (default bf16)")
    p.add_argument("--dtype", default="bf16", help="activation dtype of the conv windows (default bf16)")
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.frontends import load_model_spec
    from costmodel.planners.state_memory import DEFAULT_CONTEXTS, state_vs_context

    fmt = report_format(args)
    specs = []
    for m in args.models:
        s = load_model_spec(m)
        if s is None:
            raise CostModelError(f"{m!r} is not a model spec, config.json or built-in model name")
        specs.append(s)
    rows = state_vs_context(specs, args.contexts or DEFAULT_CONTEXTS, args.kv_dtype, args.dtype)
    from costmodel.report.state_report import state_document

    emit(state_document(rows, args.kv_dtype), args, fmt)
    return 0
