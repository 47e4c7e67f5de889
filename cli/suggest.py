"""'Did you mean' for usage errors: a mistyped command, subcommand, choice or option."""

from __future__ import annotations

import argparse
import re

from costmodel.errors import did_you_mean

_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")
_UNRECOGNIZED = re.compile(r"unrecognized arguments: (.*)")


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions for o in a.option_strings if o.startswith("--")]


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    out = []
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for p in a.choices.values():
                out.append(p)
                out.extend(_subparsers(p))
    return out


def suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    """'; did you mean X?' for an argparse error message, or ''."""
    m = _CHOICE.search(message)
    if m:
        choices = [c.strip().strip("'\"") for c in m.group(2).split(",")]
        return did_you_mean(m.group(1), choices)
    m = _UNRECOGNIZED.search(message)
    if m:
        words = [w for w in m.group(1).split() if w.startswith("--")]
        if words:
            opts = sorted({o for p in [parser, *_subparsers(parser)] for o in _options(p)})
            return did_you_mean(words[0].split("=")[0], opts, n=1)
    return ""
