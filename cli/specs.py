"""`costmodel specs [NAME]`: list the built-in model specs or show one."""

from __future__ import annotations

import argparse
import json
import sys

from .common import Subparsers, emit


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("specs", help="list built-in model specs, or show one; --schema prints the JSON Schema")
    p.add_argument("name", nargs="?")
    p.add_argument("--schema", action="store_true", help="print the spec JSON Schema (for editors)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from costmodel.errors import CostModelError
    from costmodel.frontends.builtin import get_spec, names

    if args.schema:
        from costmodel.frontends.spec.schema import json_schema

        sys.stdout.write(json.dumps(json_schema(), indent=1, allow_nan=False) + "\n")
        return 0
    from costmodel.planners.workload import param_count

    if args.name:
        s = get_spec(args.name)
        if args.format == "json":
            sys.stdout.write(json.dumps(asdict(s), indent=1, default=str, allow_nan=False) + "\n")
            return 0
        from costmodel.report.catalog_report import spec_show

        try:
            params = param_count(s)
        except CostModelError:
            params = None
        emit(spec_show(s, params), args, "table")
        return 0

    rows = []
    for n in names():
        s = get_spec(n)
        rows.append({"name": n, "architecture": s.architecture, "params": param_count(s), "source": s.source})
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=1, allow_nan=False) + "\n")
        return 0
    from costmodel.report.catalog_report import specs_list

    emit(specs_list(rows), args, "table")
    return 0
