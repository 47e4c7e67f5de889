"""`costmodel hardware list|show NAME`: device profiles and systems (nodes of devices with
their network tiers)."""

from __future__ import annotations

import argparse
import json
import sys

from .common import Subparsers, emit


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("hardware", help="list or show hardware profiles and systems")
    hs = p.add_subparsers(dest="hw_command", metavar="{list,show}")
    pl = hs.add_parser("list", help="list built-in device profiles and systems")
    pl.add_argument("--format", choices=("table", "json"), default="table")
    ps = hs.add_parser("show", help="show one device profile or system (name, alias or file)")
    ps.add_argument("name")
    ps.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.hardware import get_profile, list_profiles

    cmd = getattr(args, "hw_command", None)
    if cmd is None:
        raise CostModelError("use `costmodel hardware list` or `costmodel hardware show NAME`")
    from costmodel.hardware.systems import find_system, list_systems
    from costmodel.report.catalog_report import hardware_list, hardware_show, system_show

    if cmd == "list":
        profiles = list_profiles()
        systems = list_systems()
        if args.format == "json":
            # one list: device profiles, then systems (kind "system"; peaks per device)
            rows = [p.to_dict() for p in profiles] + [s.to_dict() for s in systems]
            sys.stdout.write(json.dumps(rows, indent=1, allow_nan=False) + "\n")
            return 0
        emit(hardware_list(profiles, systems), args, "table")
        return 0
    system = find_system(args.name)
    if system is not None:
        if args.format == "json":
            sys.stdout.write(json.dumps(system.to_dict(), indent=1, allow_nan=False) + "\n")
            return 0
        emit(system_show(system), args, "table")
        return 0
    p = get_profile(args.name)
    if args.format == "json":
        sys.stdout.write(json.dumps(p.to_dict(), indent=1, allow_nan=False) + "\n")
        return 0
    emit(hardware_show(p), args, "table")
    return 0
