"""Defaults from configuration files, for every command; `costmodel config show` lists
what applies.

Files, each optional; a later one wins key by key, and a flag on the command line wins
over all of them:

1. the user's: $XDG_CONFIG_HOME/costmodel/config.toml (~/.config/costmodel/config.toml);
2. the project's: `[tool.costmodel]` in ./pyproject.toml;
3. the project's: ./costmodel.toml.

Keys (all optional):

    hardware = "h100"      # --hardware of analyze, roofline, llm, train, batch; plan's list
    dtype = "bf16"         # --dtype of analyze, roofline, llm, batch
    mode = "calibrated"    # --mode: calibrated | ideal
    [prices]               # USD per device-hour by hardware name (as you type it, or the
    h100 = 2.5             # profile's name): --price-per-hour of llm/train, --price of plan

Unknown keys, wrong types and unknown modes are errors (exit 2) naming the file and the
key, with the closest known key."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import MAX_PRICE

if TYPE_CHECKING:
    from costmodel.errors import CostModelError

# cli/main.py loads this before parsing every command line: it is kept apart from the
# `config` command module (main imports only the command it runs) and imports nothing
# heavy (tomllib only when a file exists; costmodel.errors only on a bad file).

KEYS = ("hardware", "dtype", "mode", "prices")
MODES = ("calibrated", "ideal")
_MAX_BYTES = 1 << 20


class Settings:
    """The merged configuration (a plain class: `dataclasses` costs start-up time, and
    every command loads this)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.origin: dict[str, str] = {}  # key -> file it came from
        self.files: list[str] = []  # files read, in order

    def price_for(self, hardware: str | None) -> float | None:
        prices: dict[str, float] = self.values.get("prices") or {}
        if not hardware or not prices:
            return None
        key = hardware.strip().lower()
        if key in prices:
            return prices[key]
        try:
            from costmodel.hardware import get_profile

            prof = get_profile(hardware)
        except Exception:  # noqa: BLE001 - a bad name is reported by the command itself
            return None
        for name in (prof.name, *prof.aliases):
            if name.lower() in prices:
                return prices[name.lower()]
        return None


def candidate_files(cwd: str | None = None) -> list[tuple[Path, str | None]]:
    """(path, table) in the order they apply; table is the TOML table holding the keys."""
    base = Path(cwd or os.getcwd())
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return [
        (Path(xdg) / "costmodel" / "config.toml", None),
        (base / "pyproject.toml", "tool.costmodel"),
        (base / "costmodel.toml", None),
    ]


def _error(msg: str, where: str) -> CostModelError:
    from costmodel.errors import CostModelError

    return CostModelError(msg, where=where)


def _read(path: Path, table: str | None) -> dict[str, Any] | None:
    from costmodel.datafile import read_data_file
    from costmodel.errors import CostModelError

    where = str(path)
    # the one safe reader: a regular file of at most 1 MiB, UTF-8, no absurd numbers
    data = read_data_file(path, error=CostModelError, fmt="toml", max_bytes=_MAX_BYTES, what="config file")
    if table:
        node: Any = data
        for part in table.split("."):
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return None
        if not isinstance(node, dict):
            raise _error(f"[{table}] must be a table", where)
        data, where = node, f"{where} [{table}]"
    return _validate(data, where)


def _validate(data: dict[str, Any], where: str) -> dict[str, Any]:
    from costmodel.errors import did_you_mean

    out: dict[str, Any] = {}
    for k, v in data.items():
        if k not in KEYS:
            raise _error(f"unknown key {k!r}{did_you_mean(k, KEYS)}; known keys: {', '.join(KEYS)}", where)
        if k == "prices":
            if not isinstance(v, dict):
                raise _error("prices must be a table of hardware name = USD per device-hour", where)
            prices = {}
            for name, usd in v.items():
                if isinstance(usd, bool) or not isinstance(usd, (int, float)) or not 0 < usd <= MAX_PRICE:
                    raise _error(
                        f"prices.{name} must be a positive number (USD per device-hour) of at most {MAX_PRICE:g}",
                        where,
                    )
                prices[str(name).strip().lower()] = float(usd)
            out[k] = prices
            continue
        if not isinstance(v, str) or not v.strip():
            raise _error(f"{k} must be a non-empty string", where)
        if k == "mode" and v not in MODES:
            raise _error(f"unknown mode {v!r}{did_you_mean(v, MODES)}; use one of {', '.join(MODES)}", where)
        out[k] = v.strip()
    return out


def load(cwd: str | None = None) -> Settings:
    s = Settings()
    for path, table in candidate_files(cwd):
        if not path.is_file():
            continue
        data = _read(path, table)
        if data is None:
            continue
        s.files.append(str(path) + (f" [{table}]" if table else ""))
        for k, v in data.items():
            if k == "prices":
                s.values["prices"] = {**s.values.get("prices", {}), **v}
            else:
                s.values[k] = v
            s.origin[k] = s.files[-1]
    return s


def _walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for p in a.choices.values():
                yield from _walk(p)


def apply_defaults(parser: argparse.ArgumentParser, s: Settings) -> None:
    """Make configured values the defaults of the options they stand for (a flag given on
    the command line still wins; a required --hardware becomes optional)."""
    if not s.values:
        return
    for p in _walk(parser):
        for a in p._actions:
            if a.dest not in ("hardware", "dtype", "mode") or a.dest not in s.values or not a.option_strings:
                continue
            value: Any = s.values[a.dest]
            if a.choices is not None and value not in a.choices:
                continue  # e.g. llm's --mode choices; the config was validated against MODES
            if callable(a.type):
                try:
                    value = a.type(value)
                except (argparse.ArgumentTypeError, ValueError, TypeError):
                    continue
            a.default = value
            a.required = False


def apply_after_parse(args: argparse.Namespace, s: Settings) -> None:
    """Defaults that depend on other arguments: prices by the chosen hardware."""
    if not s.values.get("prices"):
        return
    if hasattr(args, "price_per_hour") and args.price_per_hour is None:
        args.price_per_hour = s.price_for(getattr(args, "hardware", None))
    if hasattr(args, "price") and isinstance(args.price, list) and not args.price:
        # plan's --price NAME=USD pairs, for the hardware searched only (a price for other
        # hardware on the command line is an error; in a config file it is just unused)
        names = args.hardware if isinstance(getattr(args, "hardware", None), list) else []
        args.price = [(h.strip().lower(), p) for h in names if (p := s.price_for(h)) is not None]
