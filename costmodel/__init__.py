"""costmodel: predict what running a neural network costs, without running it.

    import costmodel
    r = costmodel.analyze("model.onnx", hardware="h100", bindings={"batch": 8})
    r.flops, r.macs, r.params, r.bytes_read, r.bytes_written, r.latency_s, r.unsupported

Heavy modules load on first use, so `import costmodel` stays cheap.
"""

from __future__ import annotations

from typing import Any

from .errors import CostModelError

__version__ = "0.1.0"


def analyze(
    model: Any, hardware: Any = None, bindings: Any = None, dtype: str | None = None, strict: bool = False, **kw: Any
) -> Any:
    """costmodel.api.analyze (loaded on first use: every module imports this package first,
    so importing the api here would make `import costmodel.errors` load everything)."""
    from .api import analyze as _analyze

    return _analyze(model, hardware=hardware, bindings=bindings, dtype=dtype, strict=strict, **kw)


__all__ = ["CostModelError", "__version__", "analyze"]
