"""Entry point for `costmodel` and `python -m costmodel`.

Exit status: 0 success; 2 bad input or usage (one line on stderr saying what and where);
1 an internal error (a bug: please report it, with --debug for the traceback)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import analyze, hardware, ops

COMMANDS = [analyze, ops, hardware]

try:  # commands that arrive with later capabilities register themselves here
    from . import roofline

    COMMANDS.append(roofline)
except ImportError:  # pragma: no cover
    pass
for _name in ("llm", "train", "plan", "specs", "calibrate", "batch", "validate"):
    try:
        COMMANDS.append(__import__(f"{__package__}.{_name}", fromlist=[_name]))
    except ImportError:
        pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: one line, exit 2
        sys.stderr.write(f"costmodel: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="costmodel", description="Predict what running a neural network costs, without running it.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for mod in COMMANDS:
        mod.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    debug = "--debug" in argv
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.version:
        from costmodel import __version__

        print(f"costmodel {__version__}")
        return 0
    if not args.command:
        parser.print_help()
        return 2
    from costmodel.errors import CostModelError

    try:
        return int(args.run(args) or 0)
    except CostModelError as e:
        if debug:
            raise
        sys.stderr.write(f"costmodel: error: {_one_line(str(e))}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("costmodel: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except (MemoryError, RecursionError) as e:
        if debug:
            raise
        sys.stderr.write(f"costmodel: error: input too large or too deeply nested ({type(e).__name__})\n")
        return 2
    except Exception as e:  # a bug, not bad input
        if debug:
            raise
        sys.stderr.write(
            f"costmodel: internal error: {type(e).__name__}: {_one_line(str(e))} "
            "(rerun with --debug for the traceback)\n"
        )
        return 1


def _one_line(s: str) -> str:
    return " ".join(s.split())[:2000]


if __name__ == "__main__":
    sys.exit(main())
