"""`costmodel batch FILES...`: analyse many models, one summary per file, on all cores or
on a Dask distributed cluster, streaming the results to a file as they complete.

Exit status: 0 when every file was analysed; 2 when any file failed (its entry says why:
the others are still reported)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import Any

from .common import Subparsers, add_hardware_options, add_spec_limits, binding, workers

STDOUT_FORMATS = ("table", "json", "jsonl", "csv")


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "batch",
        help="analyse many models at once on all cores or a Dask cluster (one summary per file)",
        description="Analyse many models: FLOPs, MACs, params, bytes (and latency with --hardware) per "
        "file, in a local process pool or on Dask distributed. A file that fails gets an error "
        "entry; the exit status is 2 if any failed. Results come out in input order.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="ONNX files (or spec files / names)")
    p.add_argument("--files-from", metavar="LIST", help="read more FILEs from LIST, one per line ('-': stdin)")
    where = p.add_argument_group("where the work runs")
    where.add_argument("--jobs", "-j", type=workers, help="worker processes (default: all cores)")
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (workers need costmodel)",
    )
    where.add_argument("--cluster", choices=("local",), help="start a Dask LocalCluster of --jobs workers for this run")
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
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="stream results to FILE as they complete: .jsonl, .json, .csv or .parquet (needs pyarrow)",
    )
    p.add_argument("--format", choices=STDOUT_FORMATS, help="stdout format (default: table)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is drawn only on a terminal)")
    add_hardware_options(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def _paths(args: argparse.Namespace) -> tuple[Iterator[str], int | None]:
    """The input paths (lazily for a long --files-from list) and their count when known."""
    from costmodel.errors import CostModelError

    files = list(args.files)
    if not args.files_from:
        if not files:
            raise CostModelError("give FILEs or --files-from LIST")
        return iter(files), len(files)
    if args.files_from == "-":
        listed = [line.strip() for line in sys.stdin if line.strip()]
        return iter(files + listed), len(files) + len(listed)
    try:
        with open(args.files_from, encoding="utf-8") as f:
            n = sum(1 for line in f if line.strip())
    except OSError as e:
        raise CostModelError(f"cannot read --files-from {args.files_from!r}: {e.strerror or e}") from None

    def lines() -> Iterator[str]:
        yield from files
        with open(args.files_from, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield line.strip()

    return lines(), len(files) + n


def run(args: argparse.Namespace) -> int:
    from costmodel.batch import SUMMARY_KEYS, iter_summaries
    from costmodel.errors import CostModelError
    from costmodel.report.rows import format_for_path, require_format, write_rows

    bindings: dict[str, int] = {}
    for k, v in args.bindings:
        if k in bindings and bindings[k] != v:
            raise CostModelError(f"--set {k} given twice with different values")
        bindings[k] = v
    if args.scheduler and args.cluster:
        raise CostModelError("give --scheduler (an existing cluster) or --cluster local, not both")
    fmt = args.format
    if args.output:
        fmt = format_for_path(args.output)
        if args.format and args.format not in ("table", fmt):
            raise CostModelError(f"--format {args.format} disagrees with --output {args.output!r} (a .{fmt} file)")
        require_format(fmt)
        from costmodel.report.files import check_output_path

        check_output_path(args.output, inputs=args.files, what="--output")
    fmt = fmt or "table"
    opts = {"mode": args.mode, "execution": args.execution} if args.hardware else {}
    if args.fusion:
        opts["fusion"] = args.fusion
    if args.runtime:
        from .common import runtime_option

        if "," in args.runtime:
            raise CostModelError("batch takes one --runtime (compare runtimes with `costmodel compare`)")
        opts["runtime"] = runtime_option(args)
    if args.hardware:
        from costmodel.hardware import get_profile

        get_profile(args.hardware)  # a bad name is one usage error, not one error per file
    paths, total = _paths(args)
    if args.output:
        paths = _refuse_output_among(paths, args.output)
    jobs = args.jobs
    if jobs is None and total is not None and not (args.scheduler or args.cluster):
        from costmodel.parallel import default_jobs

        jobs = max(1, min(default_jobs(), total))
    bar = None
    if not args.no_progress and sys.stderr.isatty() and total:
        from costmodel.report.progress import ProgressBar

        bar = ProgressBar(total)
    failed = 0

    def done(_i: int, summary: dict[str, Any]) -> None:
        nonlocal failed
        failed += 0 if summary.get("ok") else 1
        if bar is not None:
            bar.advance(summary)

    rows = iter_summaries(
        paths,
        jobs=jobs,
        scheduler=args.scheduler,
        cluster=args.cluster,
        bindings=bindings,
        hardware=args.hardware,
        dtype=args.dtype,
        strict=args.strict,
        on_result=done,
        **opts,
    )
    table_rows: list[dict[str, Any]] = []
    written = 0

    def counted(it: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        nonlocal written
        for r in it:
            yield r
            written += 1  # resumed once the row is written

    finished = False
    try:
        if args.output:
            n = write_rows(counted(rows), SUMMARY_KEYS, fmt, path=args.output, inputs=args.files)
        elif fmt == "table":
            for r in counted(rows):  # a table needs every row to size its columns; the rest stream
                table_rows.append(r)
        else:
            n = write_rows(counted(rows), SUMMARY_KEYS, fmt, stream=sys.stdout)
        finished = True
    finally:
        if bar is not None:
            bar.close()
        if not finished and written:  # an interruption or a late failure: say what finished, show it
            if fmt == "table" and not args.output and table_rows:
                _table(table_rows)
            of = f" of {total}" if total is not None else ""
            from costmodel.report.text import inert

            kept = f"; {inert(args.output)} was left as it was" if args.output else ""
            sys.stderr.write(f"costmodel: batch stopped after {written}{of} files{kept}\n")
    if fmt == "table" and not args.output:
        _table(table_rows)
    if args.output:
        from costmodel.report.text import inert

        sys.stderr.write(f"wrote {n} results to {inert(args.output)} ({failed} failed)\n")
    return 0 if failed == 0 else 2


def _refuse_output_among(paths: Iterator[str], output: str) -> Iterator[str]:
    """An input that is the output file (a .json spec named as --output) is refused when it
    is reached: a long --files-from list is never read ahead."""
    from costmodel.errors import OutputError

    try:
        st = os.stat(output)
    except OSError:
        yield from paths
        return
    for p in paths:
        try:
            s = os.stat(p)
        except OSError:
            yield p
            continue
        if (s.st_dev, s.st_ino) == (st.st_dev, st.st_ino):
            raise OutputError(f"--output {output!r} is an input of this command; refusing to overwrite it")
        yield p


def _table(rows: list[dict[str, Any]]) -> None:
    from costmodel.report.catalog_report import batch_table
    from costmodel.report.output import console
    from costmodel.report.render_terminal import render

    render(batch_table(rows), console())
