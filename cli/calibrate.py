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
    p.add_argument("--output", "-o", help="write the profile here, a .toml file (default: print it)")
    p.add_argument("--quick", action="store_true", help="fewer sizes, shorter runs (a few seconds)")
    p.add_argument("--cpu-only", action="store_true", help="do not use a GPU even if one is present")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is drawn only on a terminal)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.hardware.calibrate import calibrate
    from costmodel.hardware.loader import load_profile_file, profile_from_dict
    from costmodel.report.files import check_output_path, write_atomic
    from costmodel.report.progress import ProgressBar
    from costmodel.report.text import inert

    # everything that can be refused is refused before the minutes of measuring
    profile_from_dict({"name": args.name, "vector": {"fp32_gflops": 1}, "memory": _PROBE_MEMORY}, where="--name")
    if args.output:
        check_output_path(args.output, suffixes=(".toml",), what="--output")
    bar = ProgressBar(0, "measuring", failed_label="") if not args.no_progress and sys.stderr.isatty() else None
    try:
        text, _raw = calibrate(
            args.name, quick=args.quick, use_gpu=not args.cpu_only, on_progress=bar.hook() if bar else None
        )
    finally:
        if bar is not None:
            bar.close()
    # validate what will be written or printed first: a measured figure out of range is an
    # error here, not a broken profile left behind
    import tomllib

    from costmodel.engine.calibration import Calibration

    try:
        measured = profile_from_dict(tomllib.loads(text), where="measured profile")
        Calibration.from_mapping(measured.calibration, where="measured profile [calibration]")
    except CostModelError as e:
        raise CostModelError(f"the measurements do not make a valid profile ({e}); nothing was written") from None
    if not args.output:
        sys.stdout.write(text)
        return 0
    path = write_atomic(args.output, text, suffixes=(".toml",), what="--output")
    prof = load_profile_file(path)
    console().print(
        f"wrote {inert(args.output)}: {inert(prof.display_name)}, "
        f"{max(prof.peak_flops.values()) / 1e9:,.1f} GFLOP/s, {prof.memory_bandwidth / 1e9:,.1f} GB/s; "
        f"use it with --hardware {inert(args.output)}",
        markup=False,
    )
    return 0


_PROBE_MEMORY = {"capacity_GiB": 1, "bandwidth_GBps": 1}
