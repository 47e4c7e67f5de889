"""Analyse many models at once: `analyze_many(paths, jobs=...)` (a list) or
`iter_summaries(paths, ...)` (a stream), on all cores or on a Dask distributed cluster.

For dataset-scale jobs (a model zoo, every checkpoint of a sweep, a NAS space). Each file
is analysed in a worker and reduced to a small JSON-ready summary; a file that fails
(missing, corrupt, an op the strict mode rejects) yields an error entry instead of
stopping the run. Results come back in the order of `paths` (costmodel/parallel.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from typing import Any

from .limits import SpecLimits, raised_spec_limits, spec_limits
from .parallel import default_jobs

SUMMARY_KEYS = (
    "model",
    "ok",
    "nodes",
    "flops",
    "macs",
    "transcendentals",
    "params",
    "bytes_read",
    "bytes_written",
    "weight_bytes",
    "peak_activation_bytes",
    "latency_s",
    "symbols",
    "unsupported",
    "unsupported_ops",
    "coverage",
    "seconds",
    "error",
    "error_type",
)


def summarize(
    path: str,
    *,
    bindings: Mapping[str, int] | None = None,
    hardware: Any = None,
    dtype: str | None = None,
    strict: bool = False,
    spec_limits: SpecLimits | None = None,
    **engine_options: Any,
) -> dict[str, Any]:
    """Analyse one model and reduce it to a summary; errors become an error entry.
    `bindings` may name symbols a model does not have: each model takes those it has.
    `spec_limits` are the spec sizes accepted (a worker process does not share the
    caller's raised limits; iter_summaries passes them)."""
    from .symbolic import to_json_number

    t0 = time.perf_counter()
    try:
        from .api import analyze, load_graph

        with raised_spec_limits(**vars(spec_limits)) if spec_limits else nullcontext():
            graph, _ = load_graph(path)
        if bindings:  # each model takes the symbols it has (none, for a static graph)
            bindings = {k: v for k, v in bindings.items() if k in graph.symbols}
        r = analyze(graph, hardware=hardware, bindings=bindings, dtype=dtype, strict=strict, **engine_options)
        gc = r.graph_cost
        t = gc.total
        uns = sorted({u.op_type if not u.domain else f"{u.domain}::{u.op_type}" for u in gc.unsupported})
        return {
            "model": path,
            "ok": True,
            "nodes": len(gc.nodes),
            "flops": to_json_number(t.flops),
            "macs": to_json_number(t.macs),
            "transcendentals": to_json_number(t.transcendentals),
            "params": to_json_number(gc.params),
            "bytes_read": to_json_number(t.bytes_read),
            "bytes_written": to_json_number(t.bytes_written),
            "weight_bytes": to_json_number(gc.weight_bytes),
            "peak_activation_bytes": to_json_number(gc.peak_activation_bytes),
            "latency_s": r.latency_s,
            "symbols": list(gc.symbols),
            "unsupported": len(gc.unsupported),
            "unsupported_ops": uns,
            "coverage": round(gc.coverage, 6),
            "seconds": round(time.perf_counter() - t0, 6),
        }
    except Exception as e:  # noqa: BLE001 - one bad file must not stop a dataset job
        return {
            "model": path,
            "ok": False,
            "error": " ".join(str(e).split())[:2000] or type(e).__name__,
            "error_type": type(e).__name__,
            "seconds": round(time.perf_counter() - t0, 6),
        }


def summarize_task(args: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """`summarize` for an executor: one picklable argument."""
    path, kw = args
    return summarize(path, **kw)


def _worker_failed(args: tuple[str, dict[str, Any]], e: BaseException) -> dict[str, Any]:
    return {
        "model": args[0],
        "ok": False,
        "error": f"worker failed: {' '.join(str(e).split())[:2000] or type(e).__name__}",
        "error_type": type(e).__name__,
    }


def _warm() -> None:
    """Import the analyser and its rules once, before a process pool forks."""
    from . import api  # noqa: F401
    from .ops.registry import load_all

    load_all()


def iter_summaries(
    paths: Iterable[str | os.PathLike[str]],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    executor: Any = None,
    window: int | None = None,
    bindings: Mapping[str, int] | None = None,
    hardware: Any = None,
    dtype: str | None = None,
    strict: bool = False,
    on_result: Callable[[int, dict[str, Any]], None] | None = None,
    **engine_options: Any,
) -> Iterator[dict[str, Any]]:
    """Summaries of many models, yielded in the order of `paths` as they complete; `paths`
    may be a lazy iterable (a million-line file list is never held in memory).

    Where the work runs: `jobs=1` in this process; `jobs=N` a local process pool
    (default: all cores); `scheduler="tcp://HOST:PORT"` an existing Dask distributed
    cluster; `cluster="local"` a Dask LocalCluster of `jobs` workers started for this run;
    or any `executor` from `costmodel.parallel`. At most `window` results wait in memory
    for their turn (see `costmodel.parallel.map_ordered`). `on_result(index, summary)` is
    called as each file finishes, in completion order.
    """
    from .parallel import make_executor, map_ordered

    kw = {"bindings": dict(bindings or {}), "hardware": hardware, "dtype": dtype, "strict": strict, **engine_options}
    if spec_limits() != SpecLimits():
        kw["spec_limits"] = spec_limits()
    ex = executor or make_executor(jobs, scheduler, cluster, warm=_warm)
    with ex:
        yield from map_ordered(
            summarize_task,
            ((os.fspath(p), kw) for p in paths),
            ex,
            window=window,
            on_error=_worker_failed,
            on_done=on_result,
        )


def analyze_many(
    paths: Iterable[str | os.PathLike[str]],
    *,
    jobs: int | None = None,
    bindings: Mapping[str, int] | None = None,
    hardware: Any = None,
    dtype: str | None = None,
    strict: bool = False,
    progress: bool = False,
    on_result: Callable[[int, dict[str, Any]], None] | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    **engine_options: Any,
) -> list[dict[str, Any]]:
    """Summaries of many models as a list in the order of `paths`, analysed in a process
    pool (`jobs` workers, default: all cores; `jobs=1` runs in this process) or on Dask
    (`scheduler`, `cluster`: see `iter_summaries`, which streams instead of collecting).
    `progress=True` draws a rich progress bar on stderr; `on_result(index, summary)` is
    called as each file finishes.

    Each summary has `model`, `ok` and, when ok, `flops, macs, transcendentals, params,
    bytes_read, bytes_written, weight_bytes, peak_activation_bytes, latency_s, symbols,
    unsupported, unsupported_ops, coverage, nodes, seconds` (counts are ints, or formula
    strings for symbols left unbound); when not ok, `error` and `error_type`.
    """
    items = [os.fspath(p) for p in paths]
    bar = None
    if progress and items:
        from .report.progress import ProgressBar

        bar = ProgressBar(len(items))

    def done(i: int, summary: dict[str, Any]) -> None:
        if bar is not None:
            bar.advance(summary)
        if on_result is not None:
            on_result(i, summary)

    n_jobs = min(jobs or default_jobs(), max(len(items), 1))
    try:
        return list(
            iter_summaries(
                items,
                jobs=n_jobs,
                scheduler=scheduler,
                cluster=cluster,
                bindings=bindings,
                hardware=hardware,
                dtype=dtype,
                strict=strict,
                on_result=done,
                **engine_options,
            )
        )
    finally:
        if bar is not None:
            bar.close()


__all__ = ["SUMMARY_KEYS", "analyze_many", "default_jobs", "iter_summaries", "summarize", "summarize_task"]
