"""The translation table: aten op → rule(s). Each translate_*.py module registers its
handlers here with `_reg` when imported (trace.py imports them all)."""

from __future__ import annotations

from collections.abc import Callable

from .op import _Op

TABLE: dict[str, Callable[[_Op], None]] = {}


def _reg(*kinds: str):
    def deco(fn):
        for k in kinds:
            TABLE[k] = fn
        return fn

    return deco
