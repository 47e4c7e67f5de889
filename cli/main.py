"""Entry point for `costmodel` and `python -m costmodel`.

Exit status: 0 success; 2 bad input or usage (one line on stderr saying what and where);
1 an internal error (a bug: please report it, with --debug for the traceback)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NoReturn

# Command name -> module of this package that defines `add_parser(sub)` (its options) and
# `run(args)` (imported inside, so defining the options stays cheap). Order is --help's.
# A command line names one command: only that module is imported and only its options are
# built (`costmodel hardware list` never loads the analyser); --help, a bad or missing
# command name, or a global option before the command builds the whole parser.
COMMANDS: dict[str, str] = {
    "analyze": "analyze",
    "ops": "ops",
    "hardware": "hardware",
    "roofline": "roofline",
    "llm": "llm",
    "train": "train",
    "plan": "plan",
    "specs": "specs",
    "calibrate": "calibrate",
    "validate": "validate",
    "batch": "batch",
    "compare": "compare",
    "config": "config",
    "completion": "completion",
    "scale": "scale",
    "rerank": "rerank",
    "diffusion": "diffusion",
    "memory": "memory",
}
GLOBAL_FLAGS = ("--version", "--debug")  # options of `costmodel` itself (they take no value)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors: one line, exit 2
        from .suggest import suggestion

        # argparse quotes the offending argument: a hostile value is shown inert
        sys.stderr.write(f"costmodel: error: {_one_line(message + suggestion(self, message))}\n")
        raise SystemExit(2)


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"{__package__}.{COMMANDS[name]}")


def command_in(argv: Sequence[str]) -> str | None:
    """The command a command line names, when it can be told without parsing: the first
    argument after global flags. None (then the whole parser is built) otherwise."""
    for a in argv:
        if a in GLOBAL_FLAGS:
            continue
        return a if a in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with `only`, of that one command alone."""
    p = _Parser(prog="costmodel", description="Predict what running a neural network costs, without running it.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        command_module(name).add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_in(argv))
    debug = "--debug" in argv
    from costmodel.errors import CostModelError

    from . import settings

    try:
        settings_ = settings.load()
        settings.apply_defaults(parser, settings_)
        args = parser.parse_args(argv)
        settings.apply_after_parse(args, settings_)
    except SystemExit as e:
        return int(e.code or 0)
    except CostModelError as e:  # a bad config file: one line, exit 2
        if debug:
            raise
        sys.stderr.write(f"costmodel: error: {_one_line(str(e))}\n")
        return 2
    if args.version:
        from costmodel import __version__

        print(f"costmodel {__version__}")
        return 0
    if not args.command:
        parser.print_help()
        return 2
    try:
        with _spec_limits(args):
            return int(args.run(args) or 0)
    except CostModelError as e:
        if debug:
            raise
        sys.stderr.write(f"costmodel: error: {_one_line(_naming_input(str(e), args))}\n")
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


def _spec_limits(args: argparse.Namespace) -> Any:
    """The spec size limits a command's --max-layers / --max-width / --max-experts raise."""
    from contextlib import nullcontext

    asked = {k: getattr(args, k, None) for k in ("max_layers", "max_width", "max_experts")}
    if not any(asked.values()):
        return nullcontext()
    from costmodel.limits import SpecLimits, raised_spec_limits

    d = SpecLimits()
    return raised_spec_limits(**{k: v or getattr(d, k) for k, v in asked.items()})


def _naming_input(message: str, args: argparse.Namespace) -> str:
    """The message, led by the model it is about when it names none of the command's inputs
    (an error deep in an analysis names a node, not the file the node came from)."""
    model = getattr(args, "model", None)
    if not isinstance(model, str) or not model:
        return message
    others = [getattr(args, k, None) for k in ("hardware", "draft", "output", "plot")]
    if any(isinstance(x, str) and x and x in message for x in [model, *others]):
        return message
    return f"{model}: {message}"


def _one_line(s: str) -> str:
    """One inert line: control and bidi characters in a name are shown as escapes."""
    from costmodel.report.text import one_line

    return one_line(s)


if __name__ == "__main__":
    sys.exit(main())
