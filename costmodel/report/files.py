"""Files the tool writes are transactions: checked before anything is written, written to
a temporary file in the target folder, flushed and fsync'd, then renamed into place. A
target that is one of the command's inputs, a directory, a special file, in a missing
folder, or has the wrong suffix is refused (OutputError, exit 2) before anything is
written, so no output ever destroys an input or leaves half a file behind."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import OutputError


def check_output_path(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    suffixes: Iterable[str] | None = None,
    what: str = "output",
) -> Path:
    """Validate an output target before any work is done; return it as a Path."""
    p = Path(path)
    name = str(path)
    if not name or name.endswith(os.sep):
        raise OutputError(f"{what} path {name!r} names a folder, not a file")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(f"cannot write {what} {name!r}: {e.strerror or e}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{what} {name!r} is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{what} {name!r} is not a regular file (device, FIFO or socket)")
        for i in inputs:
            try:
                if os.path.samefile(p, i):
                    raise OutputError(f"{what} {name!r} is an input of this command; refusing to overwrite it")
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError:
                continue
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if p.suffix.lower() not in allowed:
            raise OutputError(f"{what} {name!r} must end in {' or '.join(allowed)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {what} {name!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {what} {name!r}: folder {str(parent)!r} is not writable")
    return p


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    suffixes: Iterable[str] | None = None,
    what: str = "output",
) -> Path:
    """Write `data` to `path` as one transaction (see the module docstring)."""
    p = check_output_path(path, inputs=inputs, suffixes=suffixes, what=what)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"cannot write {what} {str(path)!r}: {e.strerror or e}") from None
    return p


@contextmanager
def open_atomic(
    path: str | os.PathLike[str],
    *,
    binary: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    suffixes: Iterable[str] | None = None,
    what: str = "output",
) -> Iterator[IO[Any]]:
    """A file to stream into, as one transaction: what is written goes to a temporary file
    beside `path`, renamed into place only when the block ends normally; on an exception
    (an interrupt included) the temporary file is removed and `path` is left as it was."""
    p = check_output_path(path, inputs=inputs, suffixes=suffixes, what=what)
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    f: IO[Any] = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
        f.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException as e:
        f.close()
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"cannot write {what} {str(path)!r}: {e.strerror or e}") from None
        raise


__all__ = ["check_output_path", "open_atomic", "write_atomic"]
