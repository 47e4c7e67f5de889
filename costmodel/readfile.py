"""Reading input files safely: only regular files, never more than a size limit.

Every loader (ONNX models, specs and configs, hardware profiles, systems) opens its input
through `open_regular`: the file is opened without blocking (a FIFO named `model.onnx`
would otherwise wait forever for a writer), checked with fstat on the open descriptor (no
race between the check and the read) and refused unless it is a regular file (`/dev/zero`
or a terminal would otherwise be read until memory runs out). Reads stop one byte past
the limit, so a file that grows while it is read cannot slip past it either.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from typing import BinaryIO

from .errors import CostModelError


def _fail(error: type[CostModelError], message: str, path: str) -> CostModelError:
    return error(message, where=path)


def open_regular(
    path: str | os.PathLike[str],
    *,
    max_bytes: int,
    error: type[CostModelError] = CostModelError,
    what: str = "file",
    flag: str | None = None,
) -> tuple[BinaryIO, int]:
    """Open `path` for reading if it is a regular file of at most `max_bytes` bytes;
    return (binary file object, size). `flag` names the option that raises the limit."""
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise _fail(error, f"no such {what}", name) from None
    except IsADirectoryError:
        raise _fail(error, f"is a directory, not a {what}", name) from None
    except NotADirectoryError:
        raise _fail(error, f"no such {what} (a folder in its path is a file)", name) from None
    except OSError as e:
        raise _fail(error, f"cannot open {what}: {e.strerror or e}", name) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise _fail(error, f"is a directory, not a {what}", name)
        if not stat.S_ISREG(st.st_mode):
            raise _fail(error, "is not a regular file (a FIFO, device or socket); only regular files are read", name)
        if st.st_size > max_bytes:
            hint = f" (raise it with {flag})" if flag else ""
            raise _fail(error, f"{what} is larger than the limit of {max_bytes:,} bytes ({st.st_size:,}){hint}", name)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return f, st.st_size


def read_regular(
    path: str | os.PathLike[str],
    *,
    max_bytes: int,
    error: type[CostModelError] = CostModelError,
    what: str = "file",
    flag: str | None = None,
) -> bytes:
    """The bytes of a regular file of at most `max_bytes` bytes (see `open_regular`)."""
    name = os.fspath(path)
    f, _ = open_regular(name, max_bytes=max_bytes, error=error, what=what, flag=flag)
    try:
        with f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise _fail(error, f"cannot read {what}: {e.strerror or e}", name) from None
    if len(data) > max_bytes:
        hint = f" (raise it with {flag})" if flag else ""
        raise _fail(error, f"{what} is larger than the limit of {max_bytes:,} bytes{hint}", name)
    return data


def read_text(
    path: str | os.PathLike[str],
    *,
    max_bytes: int,
    error: type[CostModelError] = CostModelError,
    what: str = "file",
    flag: str | None = None,
) -> str:
    """A regular file's text, which must be UTF-8 (a typed error names the byte offset)."""
    raw = read_regular(path, max_bytes=max_bytes, error=error, what=what, flag=flag)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _fail(error, f"{what} is not UTF-8 text (invalid byte at offset {e.start})", os.fspath(path)) from None


# A number literal this long is no plausible size or rate; past 4300 digits Python refuses
# to convert it at all (ValueError deep inside the YAML/TOML/JSON parser, with no key).
LONG_NUMBER_DIGITS = 100
_DIGIT_RUN = re.compile(rf"(?<![\d_])\d[\d_]{{{LONG_NUMBER_DIGITS - 1},}}")
_KEY_BEFORE = re.compile(r"""([A-Za-z_][\w.-]*)["']?\s*[:=]\s*[-+]?$""")


def check_long_numbers(
    text: str,
    where: str,
    error: type[CostModelError] = CostModelError,
    plausible: Callable[[str], str | None] | None = None,
) -> None:
    """Refuse a value that is a number of LONG_NUMBER_DIGITS digits or more, naming its
    key (and, from `plausible(key)`, the key's plausible range), before a parser converts
    it (see LONG_NUMBER_DIGITS). Linear in the text: digit runs are found first, then the
    key is looked for just before the run."""
    for m in _DIGIT_RUN.finditer(text):
        head = text[max(0, m.start() - 200) : m.start()]
        k = _KEY_BEFORE.search(head)
        if k is None and not head.rstrip().endswith(("[", ",", ":", "=", "-")):
            continue  # inside a string or a name, not a number value
        digits = sum(c.isdigit() for c in m.group(0))
        key = k.group(1) if k else f"line {text.count(chr(10), 0, m.start()) + 1}"
        hint = (plausible(key) if plausible and k else None) or "far outside any plausible value"
        raise error(f"{key}: a number of {digits} digits; {hint}", where=where)


__all__ = ["LONG_NUMBER_DIGITS", "check_long_numbers", "open_regular", "read_regular", "read_text"]
