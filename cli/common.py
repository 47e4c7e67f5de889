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
        default="none",
        help="fusion policy: none (each op one kernel, as frameworks run an exported graph; default); "
        "elementwise chains fused into producers; elementwise + flash attention",
    )
    p.add_argument(
        "--execution",
        choices=("auto", "graph", "eager"),
        default="auto",
        help="graph: kernel time as under CUDA graphs; eager: host dispatch per op; auto (default): "
        "eager for graphs of at most 8 kernels (microbenchmarks), else graph",
    )


def engine_options(args: argparse.Namespace) -> dict:
    return {"mode": args.mode, "fusion": args.fusion, "execution": args.execution}
