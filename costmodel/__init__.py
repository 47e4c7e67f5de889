"""costmodel: predict what running a neural network costs, without running it.

    import costmodel
    r = costmodel.analyze("model.onnx", hardware="h100", bindings={"batch": 8})
    r.flops, r.macs, r.params, r.bytes_read, r.bytes_written, r.latency_s, r.unsupported
    costmodel.llm("llama-3-8b", "h100", batch=8).decode.latency_s
    costmodel.train("gpt-2", "h100", gpus=1, global_batch=8, seq_len=1024).step_latency_s
    costmodel.hardware("dgx-h100").device.name

Heavy modules load on first use, so `import costmodel` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CostModelError

if TYPE_CHECKING:
    from .api import Report
    from .planners.search_serving import ServeSearch
    from .planners.serving_records import LLMPlan
    from .planners.training import TrainPlan
    from .planners.training_search import SearchResult

__version__ = "0.1.0"

# Each function loads its layer on first use: every module imports this package first,
# so importing the api or the planners here would make `import costmodel.errors` load
# everything.


def analyze(
    model: Any, hardware: Any = None, bindings: Any = None, dtype: str | None = None, strict: bool = False, **kw: Any
) -> Report:
    """FLOPs, MACs, params, bytes (and latency with `hardware`) of a model: costmodel.api.analyze."""
    from .api import analyze as _analyze

    return _analyze(model, hardware=hardware, bindings=bindings, dtype=dtype, strict=strict, **kw)


def llm(model: Any, hardware: Any, **kw: Any) -> LLMPlan:
    """An LLM serving plan (`costmodel llm`): prefill, decode step and request latency with
    their 80% bands, memory, largest batch, cost. Keywords: planners.llm.plan_llm's
    (batch, prompt_len, output_len, tp, pp, dp, ep, dtype, weight_dtype, kv_dtype, runtime...)."""
    from .planners.llm import plan_llm

    return plan_llm(model, hardware, **kw)


def train(model: Any, hardware: Any, gpus: int, global_batch: int, seq_len: int, **kw: Any) -> TrainPlan:
    """One training step of a layout (`costmodel train`): step time with its 80% band,
    MFU, memory per device. Keywords: planners.training.plan_training's (tokens, precision,
    optimizer, recompute, runtime, and layout options tp, pp, dp, micro_batch, zero...)."""
    from .planners.training import plan_training

    return plan_training(model, hardware, gpus, global_batch, seq_len, **kw)


def plan_train(
    model: Any,
    hardware: str | list[str],
    gpus: int | list[int],
    global_batch: int,
    seq_len: int,
    tokens: float,
    **kw: Any,
) -> SearchResult:
    """The fastest (goal="time") or cheapest (goal="cost") training layouts over devices
    and device counts (`costmodel plan train`): planners.training_search.search_training."""
    from .planners.training_search import search_training

    devices = [hardware] if isinstance(hardware, str) else list(hardware)
    counts = [gpus] if isinstance(gpus, int) else list(gpus)
    return search_training(model, devices, counts, global_batch, seq_len, tokens, **kw)


def plan_serve(
    model: Any,
    hardware: str | list[str],
    prompt: Any,
    output: Any,
    rate: float,
    ttft_slo: float | None = None,
    tpot_slo: float | None = None,
    **kw: Any,
) -> ServeSearch:
    """The serving configurations that meet a load and latency SLOs at the fewest devices
    or lowest cost (`costmodel plan serve`): planners.search_serving.search_serving."""
    from .planners.search_serving import search_serving

    devices = [hardware] if isinstance(hardware, str) else list(hardware)
    return search_serving(model, devices, prompt, output, rate, ttft_slo, tpot_slo, **kw)


# `costmodel.hardware("h100")`: the hardware package is callable (hardware.lookup), as a
# function of that name here would be shadowed by the subpackage once it is imported


def __getattr__(name: str) -> Any:
    if name == "hardware":  # before anything imported the subpackage
        import importlib

        return importlib.import_module(".hardware", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CostModelError", "__version__", "analyze", "hardware", "llm", "plan_serve", "plan_train", "train"]
