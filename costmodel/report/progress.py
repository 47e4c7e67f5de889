"""A progress bar for dataset-scale jobs (`costmodel batch`)."""

from __future__ import annotations

from typing import Any


class ProgressBar:
    """A rich progress bar on stderr, refreshed by hand (no background thread)."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.failed = 0
        self.p = Progress(
            TextColumn("[bold]analysing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            auto_refresh=False,
            transient=False,
        )
        self.task = self.p.add_task("analysing", total=total, failed=0)
        self.p.start()

    def advance(self, summary: dict[str, Any]) -> None:
        if not summary.get("ok"):
            self.failed += 1
        self.p.update(self.task, advance=1, failed=self.failed)
        self.p.refresh()

    def close(self) -> None:
        self.p.stop()
