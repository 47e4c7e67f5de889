"""`costmodel analyze MODEL`: FLOPs, MACs, params, bytes (and latency with --hardware)."""

from __future__ import annotations

import argparse
import sys

from .common import add_format, add_hardware_options, binding, console, engine_options, positive_int

EXAMPLES = {"resnet50": "resnet50.onnx"}


def add_parser(sub) -> None:
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
    p.add_argument("--top", type=positive_int, default=10, help="ops shown in the top list (default 10)")
    p.add_argument("--strict", action="store_true", help="fail on any unsupported op")
    p.add_argument("--max-nodes", type=positive_int, help="node count limit (default 2,000,000)")
    p.add_argument("--max-seconds", type=positive_int, help="analysis time limit (default 600)")
    p.add_argument(
        "--max-expr-nodes",
        type=positive_int,
        help="size limit of one symbolic dimension, in sympy tree nodes (default 2000)",
    )
    add_hardware_options(p)
    add_format(p)
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
    opts = engine_options(args) if args.hardware else {}
    r = analyze(
        model,
        hardware=args.hardware,
        bindings=bindings,
        dtype=args.dtype,
        strict=args.strict,
        limits=limits,
        example_inputs=example_inputs,
        **opts,
    )
    from costmodel.report import analysis_report as rep

    if args.format == "json":
        sys.stdout.write(rep.to_json(r) + "\n")
    elif args.format == "csv":
        sys.stdout.write(rep.to_csv(r))
    elif args.format == "markdown":
        sys.stdout.write(rep.to_markdown(r))
    else:
        rep.render_table(
            r, console(), per_op=args.per_op, by_type=not args.per_op, symbolic=args.symbolic, top=args.top
        )
        if args.torch:
            from costmodel.report.modules_report import render_modules
            from costmodel.traced import TorchGraphCost

            if isinstance(r.graph_cost, TorchGraphCost):
                sys.stdout.write(render_modules(r.graph_cost, depth=2) + "\n")
    return 0
