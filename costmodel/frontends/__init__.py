"""Front ends translate model descriptions into the IR; they never cost anything."""

from __future__ import annotations

from typing import Any


def resolve_other(path: str) -> tuple[Any, str]:
    """Non-ONNX inputs (spec files, HF configs, built-in names)."""
    from ..errors import ModelLoadError

    raise ModelLoadError("only ONNX files are supported by this build", where=path)
