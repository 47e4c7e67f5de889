"""`costmodel calibrate`: measure this machine and write a hardware profile."""

from __future__ import annotations

import argparse
import os
import sys

from .common import console


def add_parser(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="measure this machine (CPU via numpy; NVIDIA GPU via PyTorch) and write a profile with measured ceilings",
    )
    p.add_argument("--name", default="local", help="profile name (default: local)")
    p.add_argument("--output", "-o", help="write the profile here (default: print it)")
    p.add_argument("--quick", action="store_true", help="smaller sizes (seconds)")
    p.add_argument("--cpu-only", action="store_true", help="do not use a GPU even if one is present")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.hardware.calibrate import calibrate
    from costmodel.hardware.loader import load_profile_file

    text, _raw = calibrate(args.name, quick=args.quick, use_gpu=not args.cpu_only)
    if not args.output:
        sys.stdout.write(text)
        return 0
    if os.path.isdir(args.output):
        raise CostModelError("is a directory", where=args.output)
    with open(args.output, "w") as f:
        f.write(text)
    prof = load_profile_file(args.output)  # validates what was written
    from costmodel.report.text import markup

    console().print(
        f"wrote {markup(args.output)}: {markup(prof.display_name)}, "
        f"{max(prof.peak_flops.values()) / 1e9:,.1f} GFLOP/s, {prof.memory_bandwidth / 1e9:,.1f} GB/s; "
        f"use it with --hardware {markup(args.output)}"
    )
    return 0
