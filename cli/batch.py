"""`costmodel batch FILES...`: analyse many models on all cores, one summary per file.

Exit status: 0 when every file was analysed; 2 when any file failed (its entry says why:
the others are still reported)."""

from __future__ import annotations

import argparse
import sys

from .common import add_spec_limits, add_hardware_options, binding, positive_int

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
    add_spec_limits(p)
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
    out = _Stream(args.format, len(args.files))
    try:
        analyze_many(
            args.files,
            jobs=args.jobs,
            bindings=bindings,
            hardware=args.hardware,
            dtype=args.dtype,
            strict=args.strict,
            progress=progress,
            on_result=out.add,
            **opts,
        )
    finally:  # an interruption or a late failure still leaves every finished result
        out.close()
    return 0 if out.rows and all(r.get("ok") for r in out.rows) and len(out.rows) == len(args.files) else 2


class _Stream:
    """Results written as they complete, in the order of the files: JSON as one array whose
    elements are written (and flushed) one by one, CSV row by row; the table, which needs
    every row to size its columns, at the end, and also when the run stops early."""

    def __init__(self, fmt: str, total: int) -> None:
        self.fmt = fmt
        self.total = total
        self.rows: list[dict] = []
        self._pending: dict[int, dict] = {}
        self._closed = False
        if fmt == "json":
            sys.stdout.write("[")
        elif fmt == "csv":
            import csv

            from costmodel.batch import SUMMARY_KEYS

            self._csv = csv.writer(sys.stdout, lineterminator="\n")  # as every other CSV written
            self._csv.writerow(SUMMARY_KEYS)
        sys.stdout.flush()

    def add(self, i: int, row: dict) -> None:
        self._pending[i] = row
        while len(self.rows) in self._pending:
            r = self._pending.pop(len(self.rows))
            self.rows.append(r)
            self._write(r)

    def _write(self, r: dict) -> None:
        if self.fmt == "json":
            from costmodel.report.model import to_json

            sep = "\n" if len(self.rows) == 1 else ",\n"
            sys.stdout.write(sep + to_json(r))
        elif self.fmt == "csv":
            import json

            from costmodel.batch import SUMMARY_KEYS
            from costmodel.report.text import csv_cell

            self._csv.writerow(
                [
                    csv_cell(json.dumps(r[k], allow_nan=False) if isinstance(r.get(k), (list, dict)) else r.get(k, ""))
                    for k in SUMMARY_KEYS
                ]
            )
        else:
            return
        sys.stdout.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.fmt == "json":
            sys.stdout.write("\n]\n" if self.rows else "]\n")
            sys.stdout.flush()
        elif self.fmt == "table" and self.rows:
            _table(self.rows)
        if len(self.rows) < self.total:
            sys.stderr.write(f"costmodel: batch stopped after {len(self.rows)} of {self.total} files\n")


def _table(rows: list[dict]) -> None:
    from costmodel.report.catalog_report import batch_table
    from costmodel.report.output import console
    from costmodel.report.render_terminal import render

    render(batch_table(rows), console())
