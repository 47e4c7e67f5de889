"""`costmodel specs [NAME]`: list the built-in model specs or show one."""

from __future__ import annotations

import argparse
import json
import sys

from .common import console


def add_parser(sub) -> None:
    p = sub.add_parser("specs", help="list built-in model specs, or show one; --schema prints the JSON Schema")
    p.add_argument("name", nargs="?")
    p.add_argument("--schema", action="store_true", help="print the spec JSON Schema (for editors)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from costmodel.frontends.builtin import get_spec, names

    if args.schema:
        from costmodel.frontends.schema import json_schema

        sys.stdout.write(json.dumps(json_schema(), indent=1) + "\n")
        return 0
    if args.name:
        s = get_spec(args.name)
        sys.stdout.write(json.dumps(asdict(s), indent=1, default=str) + "\n")
        return 0
    from costmodel.planners.workload import param_count

    rows = []
    for n in names():
        s = get_spec(n)
        rows.append({"name": n, "architecture": s.architecture, "params": param_count(s), "source": s.source})
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
        return 0
    from rich.table import Table

    from costmodel.report.fmt import si

    t = Table(title="built-in model specs", title_justify="left")
    for c in ("name", "architecture", "params", "source"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(str(r["name"]), str(r["architecture"]), si(r["params"]), str(r["source"]))
    console().print(t)
    return 0
