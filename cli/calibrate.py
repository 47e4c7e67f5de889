"""`costmodel calibrate`: measure this machine and write a hardware profile."""

from __future__ import annotations

import argparse
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
    from costmodel.hardware.loader import load_profile_file, profile_from_dict
    from costmodel.report.files import check_output_path, write_atomic

    # everything that can be refused is refused before the minutes of measuring
    profile_from_dict({"name": args.name, "vector": {"fp32_gflops": 1}, "memory": _PROBE_MEMORY}, where="--name")
    if args.output:
        check_output_path(args.output, suffixes=(".toml",), what="profile")
    text, _raw = calibrate(args.name, quick=args.quick, use_gpu=not args.cpu_only)
    if not args.output:
        sys.stdout.write(text)
        return 0
    # validate what will be written before writing it: a measured figure out of range is
    # an error here, not a broken file left behind
    import tomllib

    try:
        profile_from_dict(tomllib.loads(text), where="measured profile")
    except CostModelError as e:
        raise CostModelError(f"the measurements do not make a valid profile ({e}); nothing was written") from None
    path = write_atomic(args.output, text, suffixes=(".toml",), what="profile")
    prof = load_profile_file(path)
    from costmodel.report.text import markup

    console().print(
        f"wrote {markup(args.output)}: {markup(prof.display_name)}, "
        f"{max(prof.peak_flops.values()) / 1e9:,.1f} GFLOP/s, {prof.memory_bandwidth / 1e9:,.1f} GB/s; "
        f"use it with --hardware {markup(args.output)}"
    )
    return 0


_PROBE_MEMORY = {"capacity_GiB": 1, "bandwidth_GBps": 1}
