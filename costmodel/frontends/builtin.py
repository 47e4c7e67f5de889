"""Built-in model specs (`model_specs/*.yaml`, shipped inside the package as
`costmodel.data.model_specs`), usable by name."""

from __future__ import annotations

import difflib
import os
from functools import lru_cache
from pathlib import Path

from ..errors import SpecError
from .spec import ModelSpec, load_spec


def spec_dir() -> Path:
    """The folder of built-in specs, in every install mode (see costmodel/resources.py)."""
    from ..resources import data_dir

    return data_dir("model_specs")


def names() -> list[str]:
    return sorted(p.stem for p in spec_dir().glob("*.yaml"))


def is_builtin(name: str) -> bool:
    return isinstance(name, str) and name.lower() in names()


@lru_cache(maxsize=128)
def get_spec(name: str) -> ModelSpec:
    key = name.strip().lower()
    if key not in names():
        close = difflib.get_close_matches(key, names(), n=4, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SpecError(
            f"unknown model {name!r}{hint} (built-in specs: `costmodel specs`; or pass a spec or config.json file)"
        )
    return load_spec(os.fspath(spec_dir() / f"{key}.yaml"))
