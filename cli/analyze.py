"""`costmodel analyze MODEL`: FLOPs, MACs, params, bytes (and latency with --hardware)."""

from __future__ import annotations

import argparse

from .common import (
    Subparsers,
    add_hardware_options,
    add_report_output,
    add_spec_limits,
    binding,
    emit,
    engine_options,
    positive_int,
    report_format,
    runtime_option,
)

EXAMPLES = {"resnet50": "resnet50.onnx"}


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "analyze",
        help="count FLOPs/MACs/params/bytes of a model (and its latency on hardware)",
        description="Analyze a model: exact FLOPs, MACs, params and memory traffic, per op and "
        "in total, as numbers or formulas in the model's dynamic dims.",
    )
    p.add_argument("model", nargs="?", help="ONNX file, spec file, HF config.json or built-in spec name")
    p.add_argument("--example", choices=sorted(EXAMPLES), help="analyze a bundled example graph instead of MODEL")
    p.add_argument(
        "--torch",
        metavar="PKG.MOD:FACTORY",
        help="analyze a PyTorch module made by FACTORY() (needs costmodel[torch]); with --input-shape",
    )
    p.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="1,3,224,224",
        help="shape of one --torch input (repeat for several inputs)",
    )
    p.add_argument(
        "--input-dtype",
        action="append",
        default=[],
        metavar="DTYPE",
        help="dtype of the --torch inputs: one for all or one per input (default float32; int64 for ids)",
    )
    p.add_argument(
        "--set",
        dest="bindings",
        action="append",
        type=binding,
        default=[],
        metavar="NAME=INT",
        help="bind a symbolic dim (repeatable), e.g. --set batch=8",
    )
    p.add_argument("--dtype", help="re-type float tensors (fp32, tf32, bf16, fp16, fp8...)")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--per-op", action="store_true", help="list every op")
    view.add_argument("--by-type", action="store_true", help="only the breakdown by op type")
    p.add_argument("--symbolic", action="store_true", help="show exact counts and formulas")
    p.add_argument("--top", type=positive_int, help="ops shown in the top list (default 10; csv: every op)")
    p.add_argument(
        "--tree", action="store_true", help="the module / scope tree (ONNX node scopes, spec blocks, torch modules)"
    )
    p.add_argument("--depth", type=positive_int, default=2, help="levels of the --tree (default 2)")
    p.add_argument("--strict", action="store_true", help="fail on any unsupported op")
    p.add_argument("--max-nodes", type=positive_int, help="node count limit (default 2,000,000)")
    p.add_argument("--max-seconds", type=positive_int, help="analysis time limit (default 600)")
    p.add_argument(
        "--max-expr-nodes",
        type=positive_int,
        help="size limit of one symbolic dimension, in sympy tree nodes (default 500)",
    )
    p.add_argument(
        "--max-file-mib",
        type=positive_int,
        help="size limit of an ONNX file, in MiB (default 2048: protobuf's own limit)",
    )
    add_hardware_options(p)
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def example_path(name: str) -> str:
    from importlib import resources

    return str(resources.files("costmodel.examples").joinpath(EXAMPLES[name]))


def run(args: argparse.Namespace) -> int:
    from costmodel.api import analyze
    from costmodel.errors import CostModelError
    from costmodel.limits import Limits

    if sum(bool(x) for x in (args.example, args.model, args.torch)) > 1:
        raise CostModelError("give one of MODEL, --example or --torch")
    if (args.input_shape or args.input_dtype) and not args.torch:
        raise CostModelError("--input-shape and --input-dtype go with --torch")
    fmt = report_format(args)
    several_runtimes = bool(args.runtime and "," in args.runtime)
    if (args.hardware and "," in args.hardware) or several_runtimes:  # a comparison across devices / runtimes
        from .compare import compare_hardware_shortcut

        return compare_hardware_shortcut(args, fmt, "analyze")
    model = example_path(args.example) if args.example else args.model
    example_inputs = None
    if args.torch:
        from costmodel.frontends.torch_fvcore import load_factory, make_inputs

        example_inputs = make_inputs(args.input_shape, args.input_dtype)
        model = load_factory(args.torch)
    if model is None or (not args.torch and not model):
        raise CostModelError("no model given (try `costmodel analyze --example resnet50`)")
    bindings: dict[str, int] = {}
    for k, v in args.bindings:
        if k in bindings and bindings[k] != v:
            raise CostModelError(f"--set {k} given twice with different values")
        bindings[k] = v
    limits = Limits()
    if args.max_nodes:
        limits.max_nodes = args.max_nodes
    if args.max_seconds:
        limits.max_seconds = float(args.max_seconds)
    if args.max_expr_nodes:
        limits.max_expr_nodes = args.max_expr_nodes
    if args.max_file_mib:
        limits.max_file_bytes = args.max_file_mib << 20
    opts = engine_options(args) if args.hardware else ({"fusion": args.fusion} if args.fusion else {})
    r = analyze(
        model,
        hardware=args.hardware,
        bindings=bindings,
        dtype=args.dtype,
        strict=args.strict,
        limits=limits,
        example_inputs=example_inputs,
        runtime=runtime_option(args),
        **opts,
    )
    from costmodel.report.analysis_report import document

    view = "per_op" if args.per_op else ("by_type" if args.by_type else "top")
    top = args.top
    if fmt == "csv" and view == "top" and top is None:
        view = "per_op"  # CSV: one row per op unless --top N asks for fewer
    if fmt == "html" and view == "top" and top is None:
        view = "full"  # HTML: by type and a sortable table of every op
    doc = document(
        r,
        view=view,
        top=top or 10,
        # a traced module shows its module tree unless a machine format asks for ops
        tree_depth=args.depth
        if (args.tree or fmt == "html" or (args.torch and fmt in ("table", "markdown")))
        else None,
        charts=fmt == "html",
        tree_optional=not args.tree,
    )
    emit(doc, args, fmt, symbolic=args.symbolic)
    return 0
