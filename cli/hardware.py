"""`costmodel hardware list|show NAME`."""

from __future__ import annotations

import argparse
import json
import sys

from .common import emit


def add_parser(sub) -> None:
    p = sub.add_parser("hardware", help="list or show hardware profiles")
    hs = p.add_subparsers(dest="hw_command", metavar="{list,show}")
    pl = hs.add_parser("list", help="list built-in profiles")
    pl.add_argument("--format", choices=("table", "json"), default="table")
    ps = hs.add_parser("show", help="show one profile (name, alias or file)")
    ps.add_argument("name")
    ps.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.hardware import get_profile, list_profiles

    cmd = getattr(args, "hw_command", None)
    if cmd is None:
        raise CostModelError("use `costmodel hardware list` or `costmodel hardware show NAME`")
    from costmodel.report.catalog_report import hardware_list, hardware_show

    if cmd == "list":
        profiles = list_profiles()
        if args.format == "json":
            sys.stdout.write(json.dumps([p.to_dict() for p in profiles], indent=1, allow_nan=False) + "\n")
            return 0
        emit(hardware_list(profiles), args, "table")
        return 0
    p = get_profile(args.name)
    if args.format == "json":
        sys.stdout.write(json.dumps(p.to_dict(), indent=1, allow_nan=False) + "\n")
        return 0
    emit(hardware_show(p), args, "table")
    return 0
