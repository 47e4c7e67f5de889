"""`costmodel calibrate`: measure this machine and write a hardware profile, or
`costmodel calibrate --from FILE...`: refine a device's profile from measured kernel
timings (the canonical CSV/JSON rows, NeuSight or Vidur profiles, measure_gpu JSON)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .common import console


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "calibrate",
        help="measure this machine (CPU via numpy; NVIDIA GPU via PyTorch) and write a profile with measured "
        "ceilings, or refine a profile from measured kernel timings (--from)",
    )
    p.add_argument("--name", default="local", help="profile name (default: local)")
    p.add_argument("--output", "-o", help="write the profile here, a .toml file (default: print it)")
    p.add_argument("--quick", action="store_true", help="fewer sizes, shorter runs (a few seconds)")
    p.add_argument("--cpu-only", action="store_true", help="do not use a GPU even if one is present")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is drawn only on a terminal)")
    p.add_argument(
        "--measurements", metavar="FILE", help="also save the GPU sweep as canonical measurement rows (.csv)"
    )
    p.add_argument(
        "--from",
        dest="from_files",
        nargs="+",
        metavar="FILE",
        help="measured timings to refine a profile with (canonical CSV/JSON, NeuSight, Vidur, measure_gpu JSON; .gz ok)",
    )
    p.add_argument("--hardware", "-H", help="the profile to refine (default: the device the rows name)")
    p.add_argument("--device", help="device name for Vidur profiles kept outside a device-named folder")
    p.add_argument(
        "--table-only", action="store_true", help="with --from: write only the [calibration] table, not the profile"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.from_files:
        return _run_from(args)
    from costmodel.errors import CostModelError
    from costmodel.hardware.calibrate import calibrate, gpu_measurements
    from costmodel.hardware.loader import load_profile_file, profile_from_dict
    from costmodel.hardware.measurements import measurements_to_csv
    from costmodel.report.files import check_output_path, write_atomic
    from costmodel.report.progress import ProgressBar
    from costmodel.report.text import inert

    # everything that can be refused is refused before the minutes of measuring
    profile_from_dict({"name": args.name, "vector": {"fp32_gflops": 1}, "memory": _PROBE_MEMORY}, where="--name")
    if args.output:
        check_output_path(args.output, suffixes=(".toml",), what="--output")
    if args.measurements:
        check_output_path(args.measurements, suffixes=(".csv",), what="--measurements")
    bar = ProgressBar(0, "measuring", failed_label="") if not args.no_progress and sys.stderr.isatty() else None
    try:
        text, raw = calibrate(
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
    if args.measurements:
        if raw.get("gpu") is None:
            raise CostModelError("--measurements needs a GPU run (no GPU was measured)")
        write_atomic(
            args.measurements,
            measurements_to_csv(gpu_measurements(raw["gpu"])),
            suffixes=(".csv",),
            what="--measurements",
        )
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


def _run_from(args: argparse.Namespace) -> int:
    """Read and validate every row, refine the device model's multipliers for the device
    on them (global parameters fixed), report before/after errors, write the profile (or
    its [calibration] table) atomically."""
    import datetime as _dt
    import statistics
    from dataclasses import replace

    from costmodel.engine import fitting
    from costmodel.engine.calibration import model_calibration
    from costmodel.engine.devicemodel import load_model
    from costmodel.engine.measured import UNMODELLED, build_cases
    from costmodel.errors import CostModelError
    from costmodel.hardware import get_profile
    from costmodel.hardware.calibration_schema import calibration_toml, replace_calibration
    from costmodel.hardware.measurements import read_measurements
    from costmodel.report.files import write_atomic
    from costmodel.report.text import inert, markup

    rows = []
    for f in args.from_files:
        rows.extend(read_measurements(f, device=args.device))
    if args.hardware:
        hw = get_profile(args.hardware)
    else:
        names = sorted({m.profile or m.device for m in rows})
        if len(names) != 1:
            raise CostModelError(
                f"the rows name {len(names)} devices ({', '.join(inert(n) for n in names[:5])}); pass --hardware NAME"
            )
        if not rows[0].profile:
            raise CostModelError(
                f"no built-in profile for device {inert(rows[0].device)!r}; pass --hardware NAME or FILE"
            )
        hw = get_profile(rows[0].profile)
    rows = [m for m in rows if m.op not in UNMODELLED]
    # the rows are attributed to the profile being refined (a user profile file, too)
    cases = [replace(c, m=replace(c.m, profile=hw.name)) for c in build_cases(rows)]
    if not cases:
        raise CostModelError("no measurement the engine can model (every row is an unsupported op)")
    params = load_model().params
    before = model_calibration(hw, params)

    def median(cal: Any) -> float:
        return statistics.median(abs(c.predict(hw, cal) / c.measured_s - 1) for c in cases)

    mult = fitting.refine_device(cases, hw, params)
    after = fitting.calibration_for(hw, params, mult)
    m0, m1 = median(before), median(after)
    table = {
        "date": _dt.date.today().isoformat(),
        "device": rows[0].device,
        "sets": ", ".join(sorted({m.source for m in rows})),
        "method": f"costmodel calibrate --from ({len(cases)} measured ops)",
        "holdout": f"in-sample median |pred/meas - 1| {m1:.3f} (device model alone {m0:.3f})",
        "refine": {k: round(v, 4) for k, v in mult.items()},
    }
    text = calibration_toml(table, "Refined by `costmodel calibrate --from` from measured kernel timings.")
    if not args.table_only:
        src = hw.path
        if not src or not os.path.isfile(src):
            raise CostModelError(f"profile {hw.name} has no file to copy; use --table-only")
        with open(src, encoding="utf-8") as fh:
            text = replace_calibration(fh.read(), text)
    from rich.console import Console

    con = Console(stderr=True)  # the profile text may be going to stdout
    con.print(
        f"{markup(hw.display_name)}: {len(cases)} ops; median |pred/meas - 1| {m0:.1%} from datasheet features, "
        f"{m1:.1%} refined ({', '.join(f'{k} x{v:.3g}' for k, v in sorted(mult.items()))})",
        highlight=False,
    )
    if not args.output:
        sys.stdout.write(text)
        return 0
    write_atomic(args.output, text, inputs=args.from_files, suffixes=(".toml",), what="profile")
    if not args.table_only:
        from costmodel.hardware.loader import load_profile_file

        load_profile_file(args.output)  # validates what was written
    con.print(f"wrote {markup(args.output)}; use it with --hardware {markup(args.output)}", highlight=False)
    return 0


_PROBE_MEMORY = {"capacity_GiB": 1, "bandwidth_GBps": 1}
