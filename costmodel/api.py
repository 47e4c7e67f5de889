"""The public entry point: `costmodel.analyze(model, ...)` → `Report`.

Front ends are imported only when a model needs them (start-up speed: an ONNX file never
loads the spec front end, a spec never loads the ONNX reader; torch with fvcore takes
seconds to import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .analysis import GraphCost, NodeCost, analyze_graph
from .errors import BindingError, CostModelError, name_list
from .ir.dtypes import dtype as _dtype
from .ir.graph import Graph
from .limits import Limits, check_count, gc_paused
from .passes.runtimes import get_runtime
from .symbolic import evaluate_many, to_json_number

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Report:
    """Result of one analysis. Counts are exact ints or sympy expressions in the model's
    free symbols; `latency_s` is None when no hardware was given."""

    model: str
    graph_cost: GraphCost
    hardware: Any = None
    timing: Any = None
    bindings: Mapping[str, int] = field(default_factory=dict)
    dtype: str | None = None

    @property
    def flops(self) -> Any:
        return self.graph_cost.total.flops

    @property
    def macs(self) -> Any:
        return self.graph_cost.total.macs

    @property
    def transcendentals(self) -> Any:
        return self.graph_cost.total.transcendentals

    @property
    def params(self) -> Any:
        return self.graph_cost.params

    @property
    def bytes_read(self) -> Any:
        return self.graph_cost.total.bytes_read

    @property
    def bytes_written(self) -> Any:
        return self.graph_cost.total.bytes_written

    @property
    def latency_s(self) -> float | None:
        return None if self.timing is None else self.timing.latency_s

    @property
    def latency_band_s(self) -> list[float] | None:
        """80% prediction interval [p10, p90] of latency_s (None without hardware)."""
        band = None if self.timing is None else getattr(self.timing, "band", None)
        return list(band) if band else None

    @property
    def unsupported(self) -> list[dict[str, str]]:
        return [u.to_dict() for u in self.graph_cost.unsupported]

    @property
    def ops(self) -> tuple[NodeCost, ...]:
        return self.graph_cost.nodes

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.graph_cost.symbols

    def bind(self, **bindings: int) -> dict[str, Any]:
        """Totals at one binding of the free symbols (the analysis stays symbolic)."""
        t = self.graph_cost.total.bind(bindings)
        return {
            "flops": t.flops,
            "macs": t.macs,
            "params": t.params,
            "bytes_read": t.bytes_read,
            "bytes_written": t.bytes_written,
        }

    def evaluate(self, **grid: Any) -> dict[str, Any]:
        """Totals at many bindings at once, at numpy speed: symbolic once, evaluate many.

        Each keyword names a free symbol and gives a scalar or a numpy array; arrays
        broadcast together (`batch=b[:, None], seq=s[None, :]` is a full grid). Returns
        float64 arrays of the grid's shape (read-only views where a count is constant)
        for flops, macs, transcendentals, params, bytes_read, bytes_written and bytes.
        Values are exact while below 2**53; `bind()` gives exact integers at one point.
        """
        unknown = sorted(set(grid) - set(self.symbols))
        if unknown:
            raise BindingError(
                f"unknown symbol(s) {name_list(unknown)}; the analysis's free symbols are: {name_list(self.symbols)}"
            )
        t = self.graph_cost.total
        fields = {
            "flops": t.flops,
            "macs": t.macs,
            "transcendentals": t.transcendentals,
            "params": self.graph_cost.params,
            "bytes_read": t.bytes_read,
            "bytes_written": t.bytes_written,
            "bytes": t.bytes,
        }
        return {k: evaluate_many(v, grid) for k, v in fields.items()}

    def to_dict(self, per_op: bool = True) -> dict[str, Any]:
        gc = self.graph_cost
        t = gc.total
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "flops": to_json_number(t.flops),
            "macs": to_json_number(t.macs),
            "transcendentals": to_json_number(t.transcendentals),
            "params": to_json_number(gc.params),
            "bytes_read": to_json_number(t.bytes_read),
            "bytes_written": to_json_number(t.bytes_written),
            "bytes": {
                "read_weights": to_json_number(t.read_weights),
                "read_activations": to_json_number(t.read_activations),
                "read_kv": to_json_number(t.read_kv),
                "write_activations": to_json_number(t.write_activations),
                "write_kv": to_json_number(t.write_kv),
            },
            "weight_bytes": to_json_number(gc.weight_bytes),
            "peak_activation_bytes": to_json_number(gc.peak_activation_bytes),
            "latency_s": self.latency_s,
            "latency_band_s": self.latency_band_s,
            "unsupported": self.unsupported,
            "coverage": round(gc.coverage, 6),
            "symbols": list(gc.symbols),
            "bindings": dict(self.bindings),
            "dtype": self.dtype,
            "runtime": gc.runtime,
            "by_type": {k: c.to_dict() for k, c in sorted(gc.by_type().items())},
        }
        if hasattr(gc, "modules_dict"):  # a traced torch module: its module tree
            d["modules"] = gc.modules_dict()
        if self.timing is not None:
            d["hardware"] = self.hardware.name
            d["timing"] = self.timing.to_dict()
        if per_op:
            rows = [n.to_dict() for n in gc.nodes]
            if self.timing is not None:
                for row, nt in zip(rows, self.timing.nodes):
                    row.update(nt.to_dict())
            d["ops"] = rows
        return d


def load_graph(
    model: Any, bindings: Mapping[str, int] | None = None, limits: Limits | None = None, *, unrolled: bool = False
) -> tuple[Graph, str]:
    """Any supported model input → (IR graph, display name). Specs are lowered with the
    bindings applied (their dims appear in attributes, not only in input shapes), each
    distinct layer once with its repeat count, or with `unrolled` every layer copied
    (frontends.spec_graph). An ONNX file is read only if it is a regular file within
    `limits.max_file_bytes`."""
    from .frontends.onnx_proto import is_model_proto

    # paths and ModelProtos first: an ONNX model never needs the spec front end's imports
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        low = path.lower()
        if low.endswith(".onnx") or (os.path.exists(path) and not low.endswith((".yaml", ".yml", ".toml", ".json"))):
            from .frontends.onnx import to_graph

            return to_graph(path, (limits or Limits()).max_file_bytes), os.path.basename(path)
        from .frontends import resolve_other

        return resolve_other(path, bindings, unrolled=unrolled)
    if is_model_proto(model):  # onnx.ModelProto, recognised without importing onnx
        from .frontends.onnx import to_graph

        return to_graph(model), model.graph.name or "model"
    if isinstance(model, Graph):
        return model, model.name
    from .frontends.spec import ModelSpec

    if isinstance(model, (ModelSpec, dict)):
        from .frontends import load_model_spec, spec_graph

        spec = load_model_spec(model)
        return spec_graph(spec, bindings, unrolled=unrolled), spec.name
    if type(model).__module__.startswith("torch"):
        raise CostModelError("torch modules need example_inputs=(...)")
    raise CostModelError(f"cannot analyze a {type(model).__name__}; pass a path, an onnx.ModelProto or a spec name")


def _check_reportable(gc: GraphCost) -> None:
    """Totals bound every per-node count (costs are never negative): checking them is enough."""
    t = gc.total
    for what, v in (
        ("FLOPs", t.flops),
        ("MACs", t.macs),
        ("transcendentals", t.transcendentals),
        ("bytes read", t.bytes_read),
        ("bytes written", t.bytes_written),
        ("params", gc.params),
        ("weight bytes", gc.weight_bytes),
        ("peak activation bytes", gc.peak_activation_bytes),
    ):
        check_count(v, what)


def analyze(
    model: Any,
    hardware: Any = None,
    bindings: Mapping[str, int] | None = None,
    dtype: str | None = None,
    strict: bool = False,
    *,
    example_inputs: Any = None,
    limits: Limits | None = None,
    registry: Any = None,
    runtime: str | None = None,
    **engine_options: Any,
) -> Report:
    """Analyze a model: FLOPs, MACs, params, bytes (and latency with `hardware`).

    model: path (.onnx, spec file, HF config.json), onnx.ModelProto, built-in spec name,
    or a torch.nn.Module with example_inputs (traced by frontends/torch/, analysed by
    traced.py, which also takes causal_attention="dense"|"skip", device="auto"|"meta"|"cpu",
    train=False).
    bindings bind symbolic dims; dtype re-types float tensors; strict raises on any
    unsupported op. runtime ("none", "pytorch", "torch-compile", "onnxruntime",
    "tensorrt", "vllm"; passes/runtimes.py) prices the kernels that runtime launches:
    FLOPs and params are the graph's, bytes and kernels the runtime's, and each op row
    `covers` the graph nodes it runs. Engine options: mode, execution (and the
    deprecated fusion: "elementwise" / "flash" mean runtime="torch-compile").
    """
    runtime, notes = resolve_runtime(runtime, engine_options)
    dt = _dtype(dtype) if dtype else None
    if example_inputs is not None:
        from .traced import analyze_module  # torch and fvcore load only for a torch module

        if bindings:
            raise CostModelError("a traced torch module has concrete shapes: there is nothing to bind")
        opts = {k: engine_options.pop(k) for k in ("causal_attention", "device", "train") if k in engine_options}
        gc: GraphCost
        gc, name = analyze_module(
            model, example_inputs, dtype=dt, strict=strict, limits=limits, registry=registry, runtime=runtime, **opts
        )
    else:
        # One pause for the load and the analysis: the graph is garbage before the
        # collector runs again, so the young collection that follows the pause scans
        # the result only, not the whole graph it was made from (limits.gc_paused).
        with gc_paused():
            graph, name = load_graph(model, bindings, limits)
            rt = get_runtime(runtime)
            if graph.repeated and rt.rewrites and not (graph.eager_code and rt.runs_code_eagerly):
                # a runtime's rewrites fuse across layer boundaries (a residual add with the
                # next layer's norm): they need every layer's nodes
                graph, name = load_graph(model, bindings, limits, unrolled=True)
            gc = analyze_graph(
                graph, bindings=bindings, dtype=dt, strict=strict, registry=registry, limits=limits, runtime=runtime
            )
            del graph
    _check_reportable(gc)
    hw = None
    timing = None
    if hardware is not None:
        # the engine and hardware profiles load only for a latency (15 ms of start-up)
        from .engine.latency import graph_latency
        from .hardware import get_profile

        hw = get_profile(hardware)
        timing = graph_latency(gc, hw, **engine_options)
        if notes:
            timing = replace(timing, notes=(*notes, *timing.notes))
    return Report(name, gc, hw, timing, dict(bindings or {}), dt.name if dt else None)


def resolve_runtime(runtime: str | None, engine_options: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """The runtime to analyse with, taking the deprecated `fusion` engine option out of
    `engine_options`: "elementwise" and "flash" were the engine's own fusion of chains
    into kernels, which runtimes replaced; they mean runtime="torch-compile"."""
    fusion = engine_options.pop("fusion", None)
    if fusion in (None, "none"):
        return runtime, ()
    if fusion not in ("elementwise", "flash"):
        raise CostModelError(f"unknown fusion policy {fusion!r}; use --runtime (fusion is deprecated)")
    if runtime not in (None, "none", "torch-compile"):
        raise CostModelError(f"fusion={fusion!r} and runtime={runtime!r} disagree: give only the runtime")
    note = f"fusion={fusion!r} is deprecated and means runtime='torch-compile'"
    return "torch-compile", (note,)
