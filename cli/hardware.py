"""`costmodel hardware list|show NAME`."""

from __future__ import annotations

import argparse
import json
import sys

from .common import console


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
    from costmodel.report.fmt import nbytes, si

    if cmd == "list":
        profiles = list_profiles()
        if args.format == "json":
            sys.stdout.write(json.dumps([p.to_dict() for p in profiles], indent=1) + "\n")
            return 0
        from rich.table import Table

        t = Table(title="hardware profiles (dense peaks)", title_justify="left")
        for c in ("name", "device", "bf16", "fp16", "fp32", "fp8", "memory", "bandwidth", "aliases", "calibrated"):
            t.add_column(c)
        for p in profiles:
            pk = p.peak_flops
            t.add_row(
                p.name,
                p.display_name,
                si(pk.get("bf16"), "FLOP/s"),
                si(pk.get("fp16"), "FLOP/s"),
                si(pk.get("fp32"), "FLOP/s"),
                si(pk.get("fp8"), "FLOP/s"),
                nbytes(p.memory_capacity),
                si(p.memory_bandwidth, "B/s"),
                ", ".join(p.aliases),
                "yes" if p.calibration else "",
            )
        console().print(t)
        return 0
    p = get_profile(args.name)
    if args.format == "json":
        sys.stdout.write(json.dumps(p.to_dict(), indent=1) + "\n")
        return 0
    from rich.table import Table

    t = Table(title=f"{p.display_name} ({p.name})", show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value")
    for dt, v in p.matrix_flops.items():
        t.add_row(f"matrix {dt}", si(v, "FLOP/s"))
    for dt, v in p.vector_flops.items():
        t.add_row(f"vector {dt}", si(v, "FLOP/s"))
    t.add_row("memory", nbytes(p.memory_capacity))
    t.add_row("bandwidth", si(p.memory_bandwidth, "B/s"))
    if p.l2_bytes:
        t.add_row("L2", nbytes(p.l2_bytes))
    if p.compute_units:
        t.add_row("compute units", f"{p.compute_units} {p.compute_unit_name}")
    if p.interconnect:
        t.add_row("interconnect", f"{p.interconnect.name}: {si(p.interconnect.bandwidth, 'B/s')} per direction")
    if p.tdp_watts:
        t.add_row("TDP", f"{p.tdp_watts:g} W")
    if p.price_per_hour:
        t.add_row("price", f"${p.price_per_hour:g}/h")
    t.add_row("calibrated", "yes" if p.calibration else "no")
    console().print(t)
    return 0
