"""`costmodel hardware list|show NAME`: device profiles and systems (nodes of devices with
their network tiers)."""

from __future__ import annotations

import argparse
import json
import sys

from .common import console


def add_parser(sub) -> None:
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

    cmd = getattr(args, "hw_command", None)
    if cmd is None:
        raise CostModelError("use `costmodel hardware list` or `costmodel hardware show NAME`")
    return _list(args) if cmd == "list" else _show(args)


def _list(args: argparse.Namespace) -> int:
    from costmodel.hardware import list_profiles
    from costmodel.hardware.systems import list_systems
    from costmodel.report.fmt import nbytes, si
    from costmodel.report.text import markup

    profiles = list_profiles()
    systems = list_systems()
    if args.format == "json":
        # one list: device profiles, then systems (kind "system"; peaks per device)
        rows = [p.to_dict() for p in profiles] + [s.to_dict() for s in systems]
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
        return 0
    from rich.table import Table

    t = Table(title="hardware profiles (dense peaks)", title_justify="left")
    for c in ("name", "device", "bf16", "fp16", "fp32", "fp8", "memory", "bandwidth", "aliases", "calibrated"):
        t.add_column(c)
    for p in profiles:
        pk = p.peak_flops
        t.add_row(
            markup(p.name),
            markup(p.display_name),
            si(pk.get("bf16"), "FLOP/s"),
            si(pk.get("fp16"), "FLOP/s"),
            si(pk.get("fp32"), "FLOP/s"),
            si(pk.get("fp8"), "FLOP/s"),
            nbytes(p.memory_capacity),
            si(p.memory_bandwidth, "B/s"),
            markup(", ".join(p.aliases)),
            "yes" if p.calibration else "",
        )
    c = console()
    c.print(t)
    st = Table(title="systems (per-device link bandwidth; `hardware show NAME`)", title_justify="left")
    st.add_column("name", no_wrap=True)
    st.add_column("device", no_wrap=True)
    st.add_column("per node", justify="right")
    st.add_column("scale-up", justify="right")
    st.add_column("scale-out", justify="right")
    for s in systems:
        st.add_row(
            markup(s.name),
            markup(s.device.name),
            str(s.devices_per_node),
            si(s.intra.bandwidth, "B/s"),
            si(s.inter.bandwidth, "B/s"),
        )
    c.print(st)
    return 0


def _show(args: argparse.Namespace) -> int:
    from costmodel.hardware import get_profile
    from costmodel.hardware.systems import find_system

    system = find_system(args.name)
    if system is not None:
        return _show_system(system, args.format)
    from costmodel.report.fmt import nbytes, si
    from costmodel.report.text import markup

    p = get_profile(args.name)
    if args.format == "json":
        sys.stdout.write(json.dumps(p.to_dict(), indent=1) + "\n")
        return 0
    from rich.table import Table

    t = Table(title=f"{markup(p.display_name)} ({markup(p.name)})", show_header=False, title_justify="left")
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
        t.add_row("compute units", f"{p.compute_units} {markup(p.compute_unit_name)}")
    if p.interconnect:
        t.add_row("interconnect", f"{markup(p.interconnect.name)}: {si(p.interconnect.bandwidth, 'B/s')} per direction")
    if p.tdp_watts:
        t.add_row("TDP", f"{p.tdp_watts:g} W")
    if p.price_per_hour:
        t.add_row("price", f"${p.price_per_hour:g}/h")
    t.add_row("calibrated", "yes" if p.calibration else "no")
    console().print(t)
    return 0


def _show_system(s, fmt: str) -> int:
    from costmodel.report.fmt import nbytes, si
    from costmodel.report.text import markup

    if fmt == "json":
        sys.stdout.write(json.dumps(s.to_dict(), indent=1) + "\n")
        return 0
    from rich.table import Table

    dev = s.device
    n = s.devices_per_node
    t = Table(title=f"{markup(s.display_name)} ({markup(s.name)})", show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value")
    t.add_row("device", f"{n} x {markup(dev.display_name)} ({markup(dev.name)})")
    for dt in ("bf16", "fp8", "fp32"):
        if dev.peak_flops.get(dt):
            t.add_row(
                f"{dt} per node", f"{si(n * dev.peak_flops[dt], 'FLOP/s')} ({si(dev.peak_flops[dt], 'FLOP/s')} each)"
            )
    t.add_row("memory per node", f"{nbytes(n * dev.memory_capacity)} ({nbytes(dev.memory_capacity)} each)")
    t.add_row("memory bandwidth", f"{si(dev.memory_bandwidth, 'B/s')} per device")
    for label, tier in (("scale-up (in node)", s.intra), ("scale-out (between nodes)", s.inter)):
        t.add_row(
            label,
            f"{markup(tier.name)}: {si(tier.bandwidth, 'B/s')} per device per direction, "
            f"{tier.latency_s * 1e6:g} us latency",
        )
    console().print(t)
    return 0
