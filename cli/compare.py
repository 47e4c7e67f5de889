"""`costmodel compare MODEL [MODEL...] [--hardware H1,H2] [--dtype D1,D2] [--runtime R1,R2] [--llm ...]`:
several models, devices, dtypes or runtimes side by side, with ratios to the first. Also
reached from `analyze`/`llm` by giving `--hardware` or `--runtime` a comma-separated list."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import (
    Subparsers,
    add_hardware_options,
    add_report_output,
    add_spec_limits,
    batch_size,
    binding,
    devices,
    emit,
    engine_options,
    report_format,
    tokens,
)

if TYPE_CHECKING:
    from costmodel.compare import Comparison


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "compare",
        help="compare models, devices, dtypes or runtimes side by side (ratios to the first)",
        description="Run one analysis (or, with --llm, one serving plan) per combination of the "
        "models given and the comma-separated --hardware / --dtype / --runtime / --weight-dtype values, "
        "and show them side by side with ratios to the first.",
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help="ONNX file, spec file, config.json or built-in spec")
    p.add_argument("--dtype", help="comma-separated dtypes to compare (fp32,bf16,fp8...)")
    p.add_argument("--set", dest="bindings", action="append", type=binding, default=[], metavar="NAME=INT")
    p.add_argument("--llm", action="store_true", help="compare LLM serving plans (prefill, decode, memory)")
    g = p.add_argument_group("with --llm")
    g.add_argument("--weight-dtype", help="comma-separated weight dtypes (bf16,fp8,int4)")
    g.add_argument("--batch", type=batch_size, default=1)
    g.add_argument("--prompt-len", type=tokens, default=512)
    g.add_argument("--output-len", type=tokens, default=128)
    g.add_argument("--tp", type=devices, default=1)
    add_hardware_options(p)
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.compare import compare, split_list
    from costmodel.errors import CostModelError

    fmt = report_format(args)
    axes = {
        "model": tuple(args.models),
        "hardware": split_list(args.hardware),
        "dtype": split_list(args.dtype),
        "runtime": split_runtimes(args.runtime),
    }
    if args.llm:
        axes["weight_dtype"] = split_list(args.weight_dtype)
        if axes["dtype"] == (None,):
            axes["dtype"] = ("bf16",)
        opts = dict(
            batch=args.batch, prompt_len=args.prompt_len, output_len=args.output_len, tp=args.tp, mode=args.mode
        )
        comp = compare("llm", axes, **opts)
    else:
        if args.weight_dtype:
            raise CostModelError("--weight-dtype compares LLM serving plans: add --llm")
        opts = {"bindings": dict(args.bindings), **engine_options(args)}
        comp = compare("analyze", axes, **opts)
    _emit(comp, args, fmt)
    return 0


def split_runtimes(text: str | None) -> tuple[str | None, ...]:
    """--runtime a,b: each name checked (one line saying which names exist if not)."""
    from costmodel.compare import split_list
    from costmodel.passes.runtimes import get_runtime

    return tuple(None if r is None else get_runtime(r).name for r in split_list(text))


def _emit(comp: Comparison, args: argparse.Namespace, fmt: str) -> None:
    from costmodel.report.compare_report import document

    emit(document(comp, charts=fmt == "html"), args, fmt)


def compare_hardware_shortcut(args: argparse.Namespace, fmt: str, kind: str) -> int:
    """`analyze MODEL --hardware h100,h200` / `--runtime none,pytorch` / `llm MODEL --hardware h100,h200`."""
    from costmodel.compare import compare, split_list
    from costmodel.errors import CostModelError

    model = args.model
    if kind == "analyze":
        if getattr(args, "torch", None) or getattr(args, "example", None):
            if args.torch:
                raise CostModelError("--hardware with several devices compares a model file or spec, not --torch")
            from .analyze import example_path

            model = example_path(args.example)
        opts = {"bindings": dict(args.bindings), "dtype": args.dtype, "strict": args.strict, **engine_options(args)}
        axes = {"model": (model,), "hardware": split_list(args.hardware), "runtime": split_runtimes(args.runtime)}
        comp = compare("analyze", axes, **opts)
    else:
        from .llm import _kw

        kw = _kw(args)
        kw.pop("dtype")
        kw.pop("runtime", None)
        comp = compare(
            "llm",
            {
                "model": (model,),
                "hardware": split_list(args.hardware),
                "dtype": (args.dtype,),
                "runtime": split_runtimes(getattr(args, "runtime", None)),
            },
            batch=args.batch,
            **kw,
        )
    _emit(comp, args, fmt)
    return 0
