"""Where the bundled data folders (model specs, hardware profiles, systems) are, in every
install mode.

- wheel or `pip install DIR`: `costmodel/data/<name>/` inside site-packages. It has no
  `__init__.py`, so `importlib.resources.files()` answers with a `MultiplexedPath` (a
  namespace package), which is not a `pathlib.Path` and whose `str()` is its repr: it is
  resolved here to the real folder through its entries.
- editable install or a source checkout: `costmodel.data` is not importable (the data
  folders live at the repository root), so the folder next to the `costmodel` package is
  used.

Everything returned is a real `pathlib.Path`: spec files are opened by path (a spec may
sit beside files it names)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["data_dir"]

# data package -> the folder it is built from (pyproject.toml [tool.setuptools.package-dir])
_SOURCE_FOLDERS = {"model_specs": "model_specs", "hardware_profiles": "hardware_profiles"}


def _folders(package: str) -> list[Path]:
    try:
        root = resources.files(package)
    except (ModuleNotFoundError, TypeError, ValueError):
        return []
    if isinstance(root, Path):
        return [root]
    # A namespace package: every entry is a Path inside one of its folders.
    try:
        return list(dict.fromkeys(Path(str(e)).parent for e in root.iterdir() if isinstance(e, Path)))
    except (OSError, NotADirectoryError):
        return []


@cache
def data_dir(name: str) -> Path:
    """The folder of bundled data `name` ("model_specs" or "hardware_profiles")."""
    if name not in _SOURCE_FOLDERS:
        raise ValueError(f"unknown data folder {name!r}; known: {', '.join(_SOURCE_FOLDERS)}")
    for folder in _folders(f"costmodel.data.{name}"):
        if folder.is_dir() and any(folder.iterdir()):
            return folder
    return Path(__file__).resolve().parent.parent / _SOURCE_FOLDERS[name]
