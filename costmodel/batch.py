"""Analyse many models at once on all cores: `analyze_many(paths, jobs=...)`.

For dataset-scale jobs (a model zoo, every checkpoint of a sweep). Each file is analysed
in a worker process and reduced to a small JSON-ready summary; a file that fails (missing,
corrupt, an op the strict mode rejects) yields an error entry instead of stopping the run.
Results come back in the order of `paths`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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
    **engine_options: Any,
) -> dict[str, Any]:
    """Analyse one model and reduce it to a summary; errors become an error entry.
    `bindings` may name symbols a model does not have: each model takes those it has."""
    from .symbolic import to_json_number

    t0 = time.perf_counter()
    try:
        from .api import analyze, load_graph

        graph, _ = load_graph(path)
        if bindings and graph.symbols:
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


def _worker(args: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    path, kw = args
    return summarize(path, **kw)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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
    **engine_options: Any,
) -> list[dict[str, Any]]:
    """Summaries of many models, analysed in a process pool (`jobs` workers, default: all
    cores; `jobs=1` runs in this process). `progress=True` draws a rich progress bar on
    stderr; `on_result(index, summary)` is called as each file finishes.

    Each summary has `model`, `ok` and, when ok, `flops, macs, transcendentals, params,
    bytes_read, bytes_written, weight_bytes, peak_activation_bytes, latency_s, symbols,
    unsupported, unsupported_ops, coverage, nodes, seconds` (counts are ints, or formula
    strings for symbols left unbound); when not ok, `error` and `error_type`.
    """
    items = [os.fspath(p) for p in paths]
    kw = {"bindings": dict(bindings or {}), "hardware": hardware, "dtype": dtype, "strict": strict, **engine_options}
    n_jobs = min(jobs or default_jobs(), max(len(items), 1))
    results: list[dict[str, Any] | None] = [None] * len(items)
    if progress and items:
        from .report.progress import ProgressBar

        bar = ProgressBar(len(items))
    else:
        bar = None
    try:
        if n_jobs <= 1:
            for i, p in enumerate(items):
                summary = summarize(p, **kw)
                results[i] = summary
                _done(i, summary, bar, on_result)
        else:
            _run_pool(items, kw, n_jobs, results, bar, on_result)
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


def _run_pool(
    items: list[str], kw: dict[str, Any], n_jobs: int, results: list[dict[str, Any] | None], bar: Any, on_result: Any
) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # fork starts workers that already hold the imported analyser; the executor forks them
    # all before its own thread starts, and the progress bar draws without a thread.
    ctx = mp.get_context("fork") if sys.platform.startswith("linux") else None
    if ctx is not None:  # import the analyser and its rules once, before forking
        from . import api  # noqa: F401
        from .ops.registry import load_all

        load_all()
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
        futures = {pool.submit(_worker, (p, kw)): i for i, p in enumerate(items)}
        for f in as_completed(futures):
            i = futures[f]
            try:
                summary: dict[str, Any] = f.result()
            except Exception as e:  # a worker killed (out of memory, a crash in a C library)
                summary = {
                    "model": items[i],
                    "ok": False,
                    "error": f"worker failed: {e}",
                    "error_type": type(e).__name__,
                }
            results[i] = summary
            _done(i, summary, bar, on_result)


def _done(i: int, summary: dict[str, Any], bar: Any, on_result: Any) -> None:
    if bar is not None:
        bar.advance(summary)
    if on_result is not None:
        on_result(i, summary)


__all__ = ["SUMMARY_KEYS", "analyze_many", "default_jobs", "summarize"]
