"""`costmodel config show`: the defaults read from config files (cli/settings.py says
which files, which keys, and how they apply)."""

from __future__ import annotations

import argparse

from . import settings
from .common import Subparsers
from .settings import KEYS, candidate_files, load


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "config",
        help="show the defaults read from config files (costmodel.toml, [tool.costmodel], user config)",
        description=settings.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cs = p.add_subparsers(dest="config_command", metavar="{show}")
    show = cs.add_parser("show", help="the merged defaults and the file each came from")
    show.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.report.catalog_report import config_show

    from .common import emit

    if getattr(args, "config_command", None) != "show":
        raise CostModelError("use `costmodel config show`")
    s = load()
    searched = [str(p) + (f" [{t}]" if t else "") for p, t in candidate_files()]
    data = {"values": s.values, "origin": s.origin, "files_read": s.files, "files_searched": searched}
    ordered = {k: s.values[k] for k in KEYS if k in s.values}
    emit(config_show(ordered, s.origin, [(f, f in s.files) for f in searched], data), args, args.format)
    return 0
