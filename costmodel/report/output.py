"""Where a Document goes: the format (from --format, else the --output suffix, else a
terminal table), then stdout or one file written as a transaction (report/files.py).
The output target is checked before any analysis runs (`check`), so a bad path costs
nothing and an input file is never overwritten."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import OutputError
from .model import Document, to_json

FORMATS = ("table", "json", "csv", "markdown", "html")
SUFFIXES = {
    "table": (".txt",),
    "json": (".json",),
    "csv": (".csv",),
    "markdown": (".md", ".markdown"),
    "html": (".html", ".htm"),
}


def resolve_format(fmt: str | None, output: str | None, allowed: Sequence[str] = FORMATS) -> str:
    if fmt:
        return fmt
    if output:
        suffix = os.path.splitext(output)[1].lower()
        for name, sfx in SUFFIXES.items():
            if suffix in sfx and name in allowed:
                return name
        ok = ", ".join(s for f in allowed for s in SUFFIXES[f])
        raise OutputError(f"cannot tell the format of {output!r} from its suffix; give --format or end it in {ok}")
    return "table"


def check(output: str | None, fmt: str, inputs: Iterable[str] = ()) -> None:
    if output:
        from .files import check_output_path

        check_output_path(output, inputs=list(inputs), suffixes=SUFFIXES[fmt], what=f"{fmt} output")


def render(doc: Document, fmt: str, *, symbolic: bool = False, width: int | None = None) -> str:
    """The document as text in one format (a table as a terminal would show it)."""
    if fmt == "json":
        return to_json(doc.data) + "\n"
    if fmt == "csv":
        from .render_text import to_csv

        return to_csv(doc)
    if fmt == "markdown":
        from .render_text import to_markdown

        return to_markdown(doc, symbolic=symbolic)
    if fmt == "html":
        from .render_html import to_html

        return to_html(doc, symbolic=symbolic)
    from rich.console import Console

    from .render_terminal import render as render_terminal

    buf = io.StringIO()
    render_terminal(doc, Console(file=buf, width=width or 120, color_system=None, soft_wrap=False), symbolic=symbolic)
    return buf.getvalue()


def console() -> Any:
    from rich.console import Console

    return Console()


def emit(
    doc: Document,
    fmt: str,
    output: str | None = None,
    *,
    inputs: Iterable[str] = (),
    symbolic: bool = False,
) -> None:
    if output:
        from .files import write_atomic

        text = render(doc, fmt, symbolic=symbolic)
        p = write_atomic(output, text, inputs=list(inputs), suffixes=SUFFIXES[fmt], what=f"{fmt} output")
        sys.stderr.write(f"costmodel: wrote {_shown(p)} ({len(text.encode('utf-8')):,} bytes)\n")
        return
    if fmt == "table":
        from .render_terminal import render as render_terminal

        render_terminal(doc, console(), symbolic=symbolic)
        return
    sys.stdout.write(render(doc, fmt, symbolic=symbolic))


def _shown(p: Any) -> str:
    from .text import inert

    return inert(str(p))


def model_inputs(*candidates: Any) -> list[str]:
    """The arguments of a command that name existing files (its inputs)."""
    out = []
    for c in candidates:
        if isinstance(c, str) and c and os.path.exists(c):
            out.append(c)
    return out
