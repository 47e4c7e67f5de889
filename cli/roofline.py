"""`costmodel roofline MODEL --hardware H [--plot out.png|out.svg]`."""

from __future__ import annotations

import argparse
import json
import sys

from .common import binding, console


def add_parser(sub) -> None:
    p = sub.add_parser("roofline", help="place every op of a model on the hardware's roofline")
    p.add_argument("model")
    p.add_argument("--hardware", "-H", required=True)
    p.add_argument("--set", dest="bindings", action="append", type=binding, default=[], metavar="NAME=INT")
    p.add_argument("--dtype")
    p.add_argument("--mode", choices=("calibrated", "ideal"), default="calibrated")
    p.add_argument("--plot", help="write the roofline plot (.png or .svg; needs matplotlib)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.api import analyze
    from costmodel.report.roofline_report import plot, points, render

    r = analyze(args.model, hardware=args.hardware, bindings=dict(args.bindings), dtype=args.dtype, mode=args.mode)
    pts = points(r)
    if args.plot:
        plot(r, pts, args.plot)
    if args.format == "json":
        sys.stdout.write(
            json.dumps({"hardware": r.hardware.name, "ridge": pts["ridge"], "ops": pts["ops"]}, indent=1) + "\n"
        )
        return 0
    render(r, pts, console())
    return 0
