"""The translation table: aten op -> the IR nodes it stands for. Each translate_*.py
module registers its handlers here with `_reg` when imported (trace.py imports them all)."""

from __future__ import annotations

from collections.abc import Callable

from .op import _Op

Handler = Callable[[_Op], None]
TABLE: dict[str, Handler] = {}


def _reg(*kinds: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for k in kinds:
            TABLE[k] = fn
        return fn

    return deco
