"""`costmodel batch FILES...`: analyse many models on all cores, one summary per file.

Exit status: 0 when every file was analysed; 2 when any file failed (its entry says why:
the others are still reported)."""

from __future__ import annotations

import argparse
import sys

from .common import add_hardware_options, binding, positive_int

COLUMNS = (
    "model",
    "ok",
    "nodes",
    "flops",
    "macs",
    "params",
    "bytes_read",
    "bytes_written",
    "latency_s",
    "symbols",
    "unsupported",
    "seconds",
    "error",
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "batch",
        help="analyse many models at once on all cores (one summary per file)",
        description="Analyse many models in a process pool: FLOPs, MACs, params, bytes "
        "(and latency with --hardware) per file. A file that fails gets an "
        "error entry; the exit status is 2 if any failed.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="ONNX files (or spec files / names)")
    p.add_argument("--jobs", "-j", type=positive_int, help="worker processes (default: all cores)")
    p.add_argument(
        "--set",
        dest="bindings",
        action="append",
        type=binding,
        default=[],
        metavar="NAME=INT",
        help="bind a symbolic dim in every model that has it (repeatable)",
    )
    p.add_argument("--dtype", help="re-type float tensors (fp32, bf16, fp16, fp8...)")
    p.add_argument("--strict", action="store_true", help="a file with an unsupported op is an error")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format (default: table)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is drawn only on a terminal)")
    add_hardware_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.batch import analyze_many
    from costmodel.errors import CostModelError

    bindings: dict[str, int] = {}
    for k, v in args.bindings:
        if k in bindings and bindings[k] != v:
            raise CostModelError(f"--set {k} given twice with different values")
        bindings[k] = v
    opts = {"mode": args.mode, "fusion": args.fusion, "execution": args.execution} if args.hardware else {}
    if args.hardware:
        from costmodel.hardware import get_profile

        get_profile(args.hardware)  # a bad name is one usage error, not one error per file
    progress = not args.no_progress and sys.stderr.isatty()
    rows = analyze_many(
        args.files,
        jobs=args.jobs,
        bindings=bindings,
        hardware=args.hardware,
        dtype=args.dtype,
        strict=args.strict,
        progress=progress,
        **opts,
    )
    if args.format == "json":
        from costmodel.report.model import to_json

        sys.stdout.write(to_json(rows) + "\n")
    elif args.format == "csv":
        _csv(rows)
    else:
        _table(rows)
    return 0 if all(r.get("ok") for r in rows) else 2


def _csv(rows: list[dict]) -> None:
    import csv
    import json

    from costmodel.batch import SUMMARY_KEYS
    from costmodel.report.text import csv_cell

    w = csv.writer(sys.stdout)
    w.writerow(SUMMARY_KEYS)
    for r in rows:
        w.writerow(
            [
                csv_cell(json.dumps(r[k], allow_nan=False) if isinstance(r.get(k), (list, dict)) else r.get(k, ""))
                for k in SUMMARY_KEYS
            ]
        )


def _table(rows: list[dict]) -> None:
    from costmodel.report.catalog_report import batch_table
    from costmodel.report.output import console
    from costmodel.report.render_terminal import render

    render(batch_table(rows), console())
