"""The one boundary where user-provided strings (node, model, spec, hardware and file
names, error messages) become text for a terminal, a rich table, a CSV cell, a Markdown
cell or HTML. Every renderer passes names through these functions, so a name is inert
wherever it is printed.

- Terminals: C0/C1 control characters (ESC starts ANSI/OSC sequences), DEL and the Unicode
  bidi overrides/isolates (CVE-2021-42574, "Trojan Source") are shown as escapes, never
  emitted raw.
- rich: markup is escaped (`[bold red]`, `[link=...]`, a bare `[/]`), after the above.
- CSV: a cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` (OWASP,
  "CSV Injection"), except plain numbers, which stay numbers.
- Markdown: `|` and backslash escaped, newlines folded, HTML-significant characters escaped.
- HTML: `html.escape` with quotes.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

# Bidi embedding/override/isolate controls and marks (Unicode TR9), zero-width and
# line/paragraph separators: invisible characters that change how text reads.
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f" + _INVISIBLE + "]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _escape_char(m: re.Match[str]) -> str:
    c = m.group(0)
    if c == "\n":
        return "\\n"
    if c == "\t":
        return "\\t"
    if c == "\r":
        return "\\r"
    o = ord(c)
    return f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}"


def inert(value: Any) -> str:
    """Text safe for a terminal: control, bidi and invisible characters as escapes."""
    s = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape_char, s) if _UNSAFE.search(s) else s


def markup(value: Any) -> str:
    """Text safe inside rich markup (a table cell, a console.print string)."""
    from rich.markup import escape

    return escape(inert(value))


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet evaluates. Numbers (int/float) pass unchanged."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    s = inert(value)
    if s.startswith(_CSV_TRIGGERS) and not _NUMBER.match(s):
        return "'" + s
    return s


def md_cell(value: Any) -> str:
    """A Markdown table cell: pipes and backslashes escaped, one line, no raw HTML."""
    s = inert(value).replace("\\", "\\\\").replace("|", "\\|")
    return _html.escape(s, quote=False)


def html_text(value: Any) -> str:
    """Text for HTML element content or a quoted attribute value."""
    return _html.escape(inert(value), quote=True)


def one_line(value: Any, limit: int = 2000) -> str:
    """An error message as one inert line of at most `limit` characters."""
    s = " ".join(str(value).split())
    s = inert(s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


__all__ = ["csv_cell", "html_text", "inert", "markup", "md_cell", "one_line"]
