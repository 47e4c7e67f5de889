"""Argument helpers shared by commands."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        v = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return v


def nonneg_int(text: str) -> int:
    try:
        v = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return v


def positive_float(text: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive finite number")
    return v


def binding(text: str) -> tuple[str, int]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects NAME=INT, got {text!r}")
    name, _, value = text.partition("=")
    name = name.strip()
    if not name.isidentifier():
        raise argparse.ArgumentTypeError(f"--set name {name!r} is not a valid symbol name")
    return name, positive_int(value.strip())


FORMATS = ("table", "json", "csv", "markdown")
REPORT_FORMATS = ("table", "json", "csv", "markdown", "html")


def add_format(p: argparse.ArgumentParser, choices=FORMATS) -> None:
    p.add_argument("--format", choices=choices, default="table", help="output format (default: table)")


def add_report_output(p: argparse.ArgumentParser, choices=REPORT_FORMATS) -> None:
    """--format (default: from the --output suffix, else table) and --output FILE."""
    p.add_argument(
        "--format",
        choices=choices,
        default=None,
        help="output format (default: from the --output suffix, else table); html is one self-contained page",
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the report to FILE (.txt, .json, .csv, .md, .html) instead of stdout; never an input file",
    )


def report_format(args: argparse.Namespace, choices=REPORT_FORMATS) -> str:
    """The format asked for, checked against the --output target before any work runs."""
    from costmodel.report.output import check, resolve_format

    fmt = resolve_format(args.format, args.output, choices)
    check(args.output, fmt, _inputs(args))
    return fmt


def _inputs(args: argparse.Namespace) -> list[str]:
    import os

    out = []
    for name in ("model", "draft", "hardware", "models", "files"):
        v = getattr(args, name, None)
        for x in v if isinstance(v, list) else [v]:
            if isinstance(x, str) and x and os.path.exists(x):
                out.append(x)
    return out


def emit(doc, args: argparse.Namespace, fmt: str, *, symbolic: bool = False) -> None:
    from costmodel.report.output import emit as _emit

    _emit(doc, fmt, getattr(args, "output", None), inputs=_inputs(args), symbolic=symbolic)


def console():
    from rich.console import Console

    return Console()


def add_hardware_options(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument(
        "--hardware",
        "-H",
        required=required,
        metavar="H",
        help="hardware profile name/alias (see `costmodel hardware list`) or a profile file",
    )
    p.add_argument(
        "--mode",
        choices=("calibrated", "ideal"),
        default="calibrated",
        help="calibrated (measured ceilings and efficiency; default) or ideal (datasheet roofline)",
    )
    p.add_argument(
        "--fusion",
        choices=("none", "elementwise", "flash"),
        default=None,
        help="deprecated: use --runtime (elementwise and flash mean --runtime torch-compile)",
    )
    p.add_argument(
        "--execution",
        choices=("auto", "graph", "eager"),
        default="auto",
        help="graph: kernel time as under CUDA graphs; eager: host dispatch per op; auto (default): "
        "the runtime's default, else eager for graphs of at most 8 kernels (microbenchmarks) and graph otherwise",
    )
    add_runtime_option(p, several=True)


RUNTIME_HELP = (
    "which runtime's kernels to price: none (one kernel per graph node, as exported; default), pytorch "
    "(eager; CUDA graphs with --execution graph), torch-compile, onnxruntime, tensorrt, vllm"
)


def add_runtime_option(p: argparse.ArgumentParser, several: bool = False) -> None:
    p.add_argument(
        "--runtime",
        "-R",
        metavar="R" + (",R2" if several else ""),
        default=None,
        help=RUNTIME_HELP + ("; a comma-separated list shows them side by side" if several else ""),
    )


def runtime_option(args: argparse.Namespace) -> str | None:
    """The --runtime given, checked against the runtimes the library knows."""
    from costmodel.passes.runtimes import get_runtime

    r = getattr(args, "runtime", None)
    if r is None:
        return None
    return get_runtime(r).name


def engine_options(args: argparse.Namespace) -> dict:
    opts = {"mode": args.mode, "execution": args.execution}
    if getattr(args, "fusion", None) is not None:
        opts["fusion"] = args.fusion
    return opts
