"""Progress bars for long jobs (`costmodel batch`, `plan`, `calibrate`), and the hook the
library takes: a callable `on_progress(done, total, what)` that computing code calls and
never draws itself (report/ is the only place that imports rich)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# what computing code calls: (steps done, steps in all, what the step was)
ProgressHook = Callable[[int, int, str], None]


class ProgressBar:
    """A rich progress bar on stderr, refreshed by hand (no background thread)."""

    def __init__(self, total: int, label: str = "analysing", failed_label: str = "failed") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from .text import markup

        self.failed = 0
        columns: list[Any] = [TextColumn(f"[bold]{markup(label)}"), BarColumn(), MofNCompleteColumn()]
        if failed_label:
            columns.append(TextColumn("{task.fields[failed]} " + markup(failed_label)))
        columns.append(TextColumn("{task.fields[step]}"))
        columns.append(TimeElapsedColumn())
        self.p = Progress(*columns, console=Console(stderr=True), auto_refresh=False, transient=False)
        self.task = self.p.add_task(label, total=total, failed=0, step="")
        self.p.start()

    def advance(self, summary: dict[str, Any] | None = None, *, failed: bool | None = None, step: str = "") -> None:
        """One step done; it failed when `failed` is true or `summary["ok"]` is false."""
        if failed if failed is not None else (summary is not None and not summary.get("ok")):
            self.failed += 1
        from .text import markup

        self.p.update(self.task, advance=1, failed=self.failed, step=markup(step))
        self.p.refresh()

    def hook(self) -> ProgressHook:
        """An `on_progress(done, total, what)` callable that moves this bar."""

        from .text import markup

        def on_progress(done: int, total: int, what: str) -> None:
            self.p.update(self.task, completed=done, total=total, step=markup(what))
            self.p.refresh()

        return on_progress

    def close(self) -> None:
        self.p.stop()


def progress_bar(total: int, label: str, *, enabled: bool, failed_label: str = "") -> ProgressBar | None:
    """A bar on stderr when `enabled` and stderr is a terminal, else None."""
    import sys

    if not enabled or not total or not sys.stderr.isatty():
        return None
    return ProgressBar(total, label, failed_label)
