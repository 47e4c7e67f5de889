"""`costmodel roofline MODEL --hardware H [--runtime R] [--plot out.png|out.svg] [--format ...] [--output FILE]`.

A model spec's free dims default to batch=1 and seq=2048 (or its context, if shorter),
with a note on stderr; `--set` overrides either."""

from __future__ import annotations

import argparse
import os
import sys

from .common import (
    Subparsers,
    _inputs,
    add_report_output,
    add_runtime_option,
    add_spec_limits,
    binding,
    emit,
    positive_int,
    report_format,
    runtime_option,
)


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("roofline", help="place every op of a model on the hardware's roofline")
    p.add_argument("model")
    p.add_argument("--hardware", "-H", required=True)
    p.add_argument("--set", dest="bindings", action="append", type=binding, default=[], metavar="NAME=INT")
    p.add_argument("--dtype")
    p.add_argument("--mode", choices=("calibrated", "ideal"), default="calibrated")
    p.add_argument(
        "--execution",
        choices=("auto", "graph", "eager"),
        default="auto",
        help="graph (CUDA graphs), eager (host dispatch per op) or auto (the runtime's default)",
    )
    add_runtime_option(p)
    p.add_argument("--plot", help="write the roofline plot (.png or .svg; needs matplotlib)")
    p.add_argument("--top", type=positive_int, help="ops listed (default 10 in a table, all otherwise)")
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.api import analyze
    from costmodel.report.roofline import chart, document, of_report, write_plot

    fmt = report_format(args)
    if args.plot:
        from costmodel.report.files import check_output_path

        check_output_path(args.plot, inputs=_inputs(args), suffixes=(".png", ".svg"), what="plot")
    bindings = dict(args.bindings)
    assumed = _spec_defaults(args.model, bindings)
    if assumed:
        shown = ", ".join(f"{k}={v}" for k, v in assumed.items())
        sys.stderr.write(f"costmodel: note: assumed {shown} (override with --set NAME=INT)\n")
        bindings.update(assumed)
    r = analyze(
        args.model,
        hardware=args.hardware,
        bindings=bindings,
        dtype=args.dtype,
        mode=args.mode,
        execution=args.execution,
        runtime=runtime_option(args),
    )
    doc = document(r, top=args.top or (10 if fmt == "table" else None))
    if args.plot:
        rl = of_report(r)
        write_plot(chart(rl, doc.title), args.plot, inputs=_inputs(args))
    emit(doc, args, fmt)
    return 0


def _spec_defaults(model: str, bound: dict[str, int]) -> dict[str, int]:
    """A model spec's free symbols bound to their defaults (frontends.default_bindings):
    every time on a roofline needs numbers. An ONNX file's dims are its own: none assumed."""
    from costmodel.frontends import SPEC_SUFFIXES

    low = model.lower()
    if low.endswith(".onnx") or (os.path.exists(model) and not low.endswith(SPEC_SUFFIXES)):
        return {}
    from costmodel.frontends import default_bindings, load_model_spec

    spec = load_model_spec(model)
    return default_bindings(spec, bound) if spec is not None else {}
