"""Argument helpers shared by commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from rich.console import Console

    from costmodel.report.model import Document

# What main.py hands each command's add_parser: argparse's subparsers action (generic in
# typeshed only, so the alias is a string).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

# Plausible ranges of command-line numbers, inclusive, with their units. A value outside
# is a typo (10^200 tokens, a NaN price) and is refused by argparse, which names the option
# and exits 2, before any work: past these, float arithmetic in the planners overflows or
# loses every digit, and nothing real is that large.
MAX_INT = 2**63 - 1  # dims and counts: ONNX stores dims as int64
MAX_TOKENS = 1 << 30  # tokens in one prompt, output or sequence (longest advertised context: 1e7)
MAX_BATCH = 1 << 24  # sequences in one batch
MAX_DEVICES = 1 << 20  # devices in one job, and any parallel degree (largest clusters: ~2e5)
MAX_LAYERS = 1 << 30  # layers named on the command line (a spec's own bound: --max-layers)
MAX_TRAIN_TOKENS = 1e18  # tokens to train on (largest published runs: ~4e13)
MAX_RATE = 1e9  # requests per second
MAX_SLO_S = 1e6  # seconds (an SLO of 11 days)
MAX_PRICE = 1e6  # USD per device-hour
# Research commands. Training compute: the largest published runs used ~5e25 FLOPs (Epoch
# AI's notable-models data, 2024); 1e35 leaves ten orders of magnitude and stays far from
# float overflow in every product the scaling planner forms (6ND, D = k N).
MAX_TRAIN_FLOPS = 1e35
MAX_PARAMS = 1e16  # parameters N (largest public models: ~2e12)
MAX_DEVICE_HOURS = 1e12  # a million devices for a hundred years
MAX_BUDGET_USD = 1e15  # about ten times the world's yearly GDP
MAX_TOKENS_PER_PARAM = 1e6  # Chinchilla's optimum is ~20; over-trained small models use ~1e4
MAX_DIFFUSION_STEPS = 1 << 20  # denoising steps (samplers use 1 to 1,000)
MAX_GUIDANCE = 1e3  # classifier-free guidance scale (pipelines use 1 to ~30)
MAX_FRAME_RATE = 1e4  # frames per second of generated video
MAX_JOBS = 1024  # worker processes on one machine: a pool forks them all at its start
MAX_SIMULATED = 1_000_000  # requests simulated step by step (llm --simulate)
_MAX_DIGITS = 30  # digits read before a number is refused as far out of range


def _int(text: str, lo: int, hi: int, unit: str) -> int:
    t = text.strip().replace("_", "")
    digits = t.lstrip("+-")
    if not digits.isdigit() or not digits.isascii():
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    v = int(t) if len(digits) <= _MAX_DIGITS else (hi + 1 if t[0] != "-" else lo - 1)
    if not lo <= v <= hi:
        u = f" {unit}" if unit else ""
        raise argparse.ArgumentTypeError(f"{_shown(text)} is outside the plausible range {lo:,} to {hi:,}{u}")
    return v


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def bounded_int(lo: int, hi: int, unit: str = "") -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi] (underscores allowed, at most 30 digits read)."""

    def parse(text: str) -> int:
        return _int(text, lo, hi, unit)

    parse.__name__ = "integer"  # argparse names the type in "invalid integer value"
    return parse


def bounded_float(
    lo: float, hi: float, unit: str = "", *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """An argparse type: a finite number in [lo, hi] (open ends as asked)."""
    import math

    def parse(text: str) -> float:
        try:
            v = float(text.strip().replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a number") from None
        ok = math.isfinite(v) and (lo < v if low_open else lo <= v) and (v < hi if high_open else v <= hi)
        if not ok:
            u = f" {unit}" if unit else ""
            a, b = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(f"{_shown(text)} is outside the plausible range {a}{lo:g}, {hi:g}{b}{u}")
        return v

    parse.__name__ = "number"
    return parse


def positive_int(text: str) -> int:
    return _int(text, 1, MAX_INT, "")


def nonneg_int(text: str) -> int:
    return _int(text, 0, MAX_INT, "")


def positive_float(text: str) -> float:
    return bounded_float(0.0, 1e300, low_open=True)(text)


tokens = bounded_int(1, MAX_TOKENS, "tokens")
some_tokens = bounded_int(0, MAX_TOKENS, "tokens")  # a length that may be zero
batch_size = bounded_int(1, MAX_BATCH, "sequences")
devices = bounded_int(1, MAX_DEVICES, "devices")
train_tokens = bounded_float(1.0, MAX_TRAIN_TOKENS, "tokens")
rate = bounded_float(0.0, MAX_RATE, "requests/s", low_open=True)
slo_seconds = bounded_float(0.0, MAX_SLO_S, "s", low_open=True)
price = bounded_float(0.0, MAX_PRICE, "USD per device-hour", low_open=True)
fraction = bounded_float(0.0, 1.0, low_open=True)  # an MFU, an efficiency
metric = bounded_float(0.0, 100.0)  # a ranking metric: a score in [0, 1] or a percentage
workers = bounded_int(1, MAX_JOBS, "worker processes")
percentile = bounded_float(50.0, 100.0, "%", high_open=True)  # an SLO percentile


def binding(text: str) -> tuple[str, int]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects NAME=INT, got {text!r}")
    name, _, value = text.partition("=")
    name = name.strip()
    if not name.isidentifier():
        from costmodel.symnames import symbol_name

        name = symbol_name(name)  # an ONNX dim_param such as 'n!' as the analysis names it
    return name, positive_int(value.strip())


def add_spec_limits(p: argparse.ArgumentParser) -> None:
    """--max-layers / --max-width / --max-experts: raise the plausible sizes of model specs
    and config.json files (costmodel.limits.SpecLimits); cli/main.py applies them."""
    from costmodel.limits import MAX_SPEC_EXPERTS, MAX_SPEC_LAYERS, MAX_SPEC_WIDTH

    g = p.add_argument_group("spec size limits")
    g.add_argument(
        "--max-layers",
        type=positive_int,
        metavar="N",
        help=f"most layers a spec may have (default {MAX_SPEC_LAYERS:,})",
    )
    g.add_argument(
        "--max-width",
        type=positive_int,
        metavar="N",
        help=f"largest hidden/FFN/head width in a spec (default {MAX_SPEC_WIDTH:,}; vocabularies 2^24, positions 2^30)",
    )
    g.add_argument(
        "--max-experts", type=positive_int, metavar="N", help=f"most experts in a spec (default {MAX_SPEC_EXPERTS:,})"
    )


FORMATS = ("table", "json", "csv", "markdown")
REPORT_FORMATS = ("table", "json", "csv", "markdown", "html")


def add_format(p: argparse.ArgumentParser, choices: Sequence[str] = FORMATS) -> None:
    p.add_argument("--format", choices=choices, default="table", help="output format (default: table)")


def add_report_output(p: argparse.ArgumentParser, choices: Sequence[str] = REPORT_FORMATS) -> None:
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


def report_format(args: argparse.Namespace, choices: Sequence[str] = REPORT_FORMATS) -> str:
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
            # --hardware a.toml,b.toml compares devices: each one is an input
            for y in x.split(",") if name == "hardware" and isinstance(x, str) else [x]:
                if isinstance(y, str) and y and os.path.exists(y):
                    out.append(y)
    return out


def emit(doc: Document, args: argparse.Namespace, fmt: str, *, symbolic: bool = False) -> None:
    from costmodel.report.output import emit as _emit

    _emit(doc, fmt, getattr(args, "output", None), inputs=_inputs(args), symbolic=symbolic)


def console() -> Console:
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


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {"mode": args.mode, "execution": args.execution}
    if getattr(args, "fusion", None) is not None:
        opts["fusion"] = args.fusion
    return opts
