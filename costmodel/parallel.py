"""Map a function over many items on an executor: in this process, a local process pool,
or a Dask distributed cluster (an existing scheduler, or a LocalCluster started here).

`map_ordered(fn, items, executor)` yields `fn(item)` in input order while at most
`window` items are submitted and not yet yielded, so a million-item job holds at most
`window` results in memory (the reorder buffer) however long the input is, and the output
order never depends on which worker finishes first. `fn` must be a module-level function
(pickled by reference) whose arguments and result pickle; with Dask, every worker must
have costmodel installed.

A task whose worker dies (killed, out of memory) is retried by Dask on another worker
(the scheduler's `allowed_failures`, 3 by default); when it still fails, or when a
process-pool worker dies, `on_error(item, exc)` turns it into a result, so one bad item
never stops a dataset job. Each item is yielded exactly once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = [
    "DaskExecutor",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "default_jobs",
    "make_executor",
    "map_ordered",
]


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class _Ran:
    """The handle of an item InlineExecutor already ran: its value or its exception."""

    __slots__ = ("error", "value")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error


class Executor(Protocol):
    """What map_ordered needs: submit work, learn which submissions completed, fetch a
    result (raising the task's exception), shut down."""

    workers: int

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def submit(self, fn: Callable[[Any], Any], item: Any) -> Any: ...

    def wait_any(self, pending: list[Any]) -> list[Any]: ...

    def result(self, handle: Any) -> Any: ...


class InlineExecutor:
    """Runs each item in this process when it is submitted (jobs=1)."""

    workers = 1

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[[Any], Any], item: Any) -> Any:
        try:
            return _Ran(fn(item))
        except Exception as e:  # noqa: BLE001 - handed to on_error like a remote failure
            return _Ran(error=e)

    def wait_any(self, pending: list[Any]) -> list[Any]:
        return list(pending)

    def result(self, handle: Any) -> Any:
        if handle.error is not None:
            raise handle.error
        return handle.value


class ProcessExecutor:
    """A local process pool. On Linux the workers are forked after `warm()` ran here, so
    they start with the analyser and its rule registry already imported."""

    def __init__(self, jobs: int, warm: Callable[[], None] | None = None) -> None:
        self.workers = jobs
        self._warm = warm
        self._pool: Any = None

    def __enter__(self) -> ProcessExecutor:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("fork") if sys.platform.startswith("linux") else None
        if ctx is not None and self._warm is not None:
            self._warm()
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn: Callable[[Any], Any], item: Any) -> Any:
        return self._pool.submit(fn, item)

    def wait_any(self, pending: list[Any]) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Any) -> Any:
        return handle.result()


class DaskExecutor:
    """Dask distributed: `address` of a running scheduler (tcp://HOST:PORT), or None to
    start a LocalCluster of `jobs` worker processes (one thread each: the analyser is
    CPU-bound Python) for the duration of the run."""

    def __init__(self, address: str | None = None, jobs: int | None = None) -> None:
        self.address = address
        self.jobs = jobs
        self.workers = jobs or 1
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            from .errors import CostModelError

            raise CostModelError(
                "a Dask scheduler or cluster needs the `distributed` package: pip install 'costmodel[dask]'"
            ) from None
        if self.address is None:
            self._cluster = LocalCluster(
                n_workers=self.jobs or default_jobs(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: None still binds 8787 (distributed 2026.8)
                silence_logs=40,
            )
            self._client = Client(self._cluster)
        else:
            try:  # the connect timeout is Dask's: distributed.comm.timeouts.connect (30 s)
                self._client = Client(self.address)
            except (OSError, TimeoutError, ValueError) as e:
                from .errors import CostModelError

                raise CostModelError(f"cannot reach the Dask scheduler at {self.address!r}: {e}") from None
        n = len(self._client.scheduler_info(n_workers=-1).get("workers", {}))
        self.workers = max(1, n)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def submit(self, fn: Callable[[Any], Any], item: Any) -> Any:
        # pure=False: two equal items are two tasks (a retried file is not deduplicated
        # against a finished one), and each future is released once its result is taken.
        return self._client.submit(fn, item, pure=False)

    def wait_any(self, pending: list[Any]) -> list[Any]:
        from distributed import wait

        # wait() runs on the *default* client's event loop: make it this run's client, or
        # another client in the same process (a notebook's) would wait on our futures from
        # a different loop.
        with self._client.as_current():
            done, _ = wait(pending, return_when="FIRST_COMPLETED")
        return list(done)

    def result(self, handle: Any) -> Any:
        try:
            return handle.result()
        finally:
            handle.release()


def make_executor(
    jobs: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    warm: Callable[[], None] | None = None,
) -> Executor:
    """The executor for the CLI options `--jobs N`, `--scheduler ADDRESS`, `--cluster local`."""
    if scheduler:
        return DaskExecutor(address=scheduler)
    if cluster == "local":
        return DaskExecutor(jobs=jobs or default_jobs())
    n = jobs or default_jobs()
    return InlineExecutor() if n <= 1 else ProcessExecutor(n, warm)


def map_ordered(
    fn: Callable[[T], R],
    items: Iterable[T],
    executor: Executor,
    *,
    window: int | None = None,
    on_error: Callable[[T, BaseException], R] | None = None,
    on_done: Callable[[int, R], None] | None = None,
) -> Iterator[R]:
    """`fn(item)` for every item, yielded in input order. At most `window` items (default
    16 per worker, at least 64) are in flight or waiting in the reorder buffer. `on_done(i,
    result)` is called as each item completes (in completion order: for progress bars).
    An item whose task raises becomes `on_error(item, exc)`; without `on_error` the
    exception propagates."""
    win = window or max(64, 16 * max(1, executor.workers))
    it = iter(enumerate(items))
    inflight: dict[Any, tuple[int, T]] = {}
    ready: dict[int, R] = {}
    next_out = 0
    submitted = 0
    exhausted = False
    while True:
        while not exhausted and submitted - next_out < win:
            try:
                i, item = next(it)
            except StopIteration:
                exhausted = True
                break
            inflight[executor.submit(fn, item)] = (i, item)
            submitted += 1
        if not inflight:
            break
        for h in executor.wait_any(list(inflight)):
            i, item = inflight.pop(h)
            try:
                res = executor.result(h)
            except Exception as e:  # a dead worker, a task that exhausted its retries
                if on_error is None:
                    raise
                res = on_error(item, e)
            ready[i] = res
            if on_done is not None:
                on_done(i, res)
        while next_out in ready:
            yield ready.pop(next_out)
            next_out += 1
