"""The one safe reader of YAML / TOML / JSON data files (model specs, systems, profiles).

Only plain data comes back: YAML through PyYAML's SafeLoader with every node checked
before construction (standard tags only, aliases bounded by their expanded size, so a
'billion laughs' document is refused without being expanded); TOML through `tomllib`;
JSON through `json` with NaN / Infinity refused. Files are read up to a size limit and
must be UTF-8; a number literal of LONG_NUMBER_DIGITS digits or more is refused naming its
key before any parser converts it. Every failure is the caller's typed error (a
`CostModelError` subclass) naming the file, and the YAML path of the offending value where
there is one.

Every input file (these data files, and ONNX models through `open_regular`) is opened
without blocking (a FIFO named `model.onnx` would otherwise wait forever for a writer),
checked with fstat on the open descriptor (no race between the check and the read) and
refused unless it is a regular file (`/dev/zero` or a terminal would otherwise be read
until memory runs out). Reads stop one byte past the limit, so a file that grows while it
is read cannot slip past it either.

This module sits at the bottom of the package (it imports only `errors`), so every layer
that reads data files can use it. PyYAML is imported on the first YAML file only (start-up
speed: most runs read TOML profiles or ONNX files).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable
from typing import Any, BinaryIO

from .errors import CostModelError

MAX_FILE_BYTES = 1 << 20  # data files larger than 1 MiB are refused
MAX_YAML_NODES = 100_000  # YAML values after alias expansion
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
_YAML_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")
)


class _Refused(Exception):
    """A YAML node refused during the pre-construction check (message names its path)."""


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


def data_format(path: str) -> str | None:
    """ "yaml", "toml" or "json" from the file's suffix (None for anything else)."""
    return SUFFIXES.get(os.path.splitext(path)[1].lower())


def read_data_file(
    path: str | os.PathLike[str],
    *,
    error: type[CostModelError] = CostModelError,
    max_bytes: int = MAX_FILE_BYTES,
    fmt: str | None = None,
    what: str = "file",
    plausible: Callable[[str], str | None] | None = None,
) -> Any:
    """A YAML / TOML / JSON file as plain data (dicts, lists, strings, numbers, booleans).
    The format comes from the suffix unless `fmt` names it; `error` is raised for every
    problem, with `where` = the path; `what` names the kind of file in messages and
    `plausible(key)` the plausible range of a key whose number is far too long."""
    where = os.fspath(path)
    kind = fmt or data_format(where)
    if kind is None:
        raise error(f"unsupported file type; use one of {', '.join(sorted(SUFFIXES))}", where=where)
    raw = read_regular(where, max_bytes=max_bytes, error=error, what=what)
    return data_from_text(
        decode_data(raw, where, error=error, what=what), kind, where, error=error, plausible=plausible
    )


def decode_data(raw: bytes, where: str, *, error: type[CostModelError] = CostModelError, what: str = "file") -> str:
    """The text of a data file's bytes, which must be UTF-8 (a byte-order mark is dropped)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error(f"{what} is not UTF-8 text ({e.reason} at byte {e.start})", where=where) from None


def data_from_text(
    text: str,
    fmt: str,
    where: str,
    *,
    error: type[CostModelError] = CostModelError,
    plausible: Callable[[str], str | None] | None = None,
) -> Any:
    """Data-file text as plain data: number literals far too long refused naming their key
    (see check_long_numbers), then parsed (see parse_data_text). For text that did not come
    from read_data_file (a packaged resource, a test's string)."""
    check_long_numbers(text, where, error, plausible)
    return parse_data_text(text, fmt, where, error=error)


def parse_data_text(text: str, fmt: str, where: str, *, error: type[CostModelError] = CostModelError) -> Any:
    """Text in one of the three formats as plain data (see read_data_file)."""
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise error(f"invalid TOML: {e}", where=where) from None
        except ValueError as e:  # a number past Python's int-string limit, an impossible date
            raise error(f"invalid TOML: {' '.join(str(e).split())[:200]}", where=where) from None
        except RecursionError:
            raise error("invalid TOML: nested too deeply", where=where) from None
    if fmt == "json":
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise error("invalid JSON: nested too deeply", where=where) from None
        except ValueError as e:  # JSONDecodeError is a ValueError
            raise error(f"invalid JSON: {e}", where=where) from None
        return data
    if fmt == "yaml":
        return _yaml(text, where, error)
    raise error(f"unknown data format {fmt!r}", where=where)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid number")


def _yaml(text: str, where: str, error: type[CostModelError]) -> Any:
    import yaml

    loader = None
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses control characters at once
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, yaml.MappingNode, yaml.SequenceNode, yaml.ScalarNode)
        data = loader.construct_document(node)
    except _Refused as e:
        raise error(str(e), where=where) from None
    except yaml.YAMLError as e:
        msg = " ".join(str(e).split())[:200]
        raise error(f"invalid YAML: {msg}", where=where) from None
    except RecursionError:
        raise error("invalid YAML: nested too deeply", where=where) from None
    except (ValueError, TypeError, OverflowError) as e:  # e.g. an impossible timestamp
        raise error(f"invalid YAML value: {e}", where=where) from None
    finally:
        if loader is not None:
            loader.dispose()
    _check_finite(data, where, error)
    return data


def _check_nodes(root: Any, mapping: Any, sequence: Any, scalar: Any) -> None:
    """Refuse non-standard tags (e.g. !!python/object) and alias expansions past
    MAX_YAML_NODES, naming the field. Aliases share node objects, so the expanded size is
    counted with memoisation instead of by expanding."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def visit(node: Any, path: str) -> int:
        nid = id(node)
        if nid in sizes:
            return sizes[nid]
        if nid in active:
            raise _Refused(f"{path or 'document'}: recursive YAML alias")
        if node.tag not in _YAML_TAGS:
            raise _Refused(
                f"invalid YAML: {path or 'document'}: tag '{node.tag}' is not allowed "
                "(only plain mappings, lists, strings and numbers)"
            )
        active.add(nid)
        total = 1
        if isinstance(node, mapping):
            for k, v in node.value:
                key = k.value if isinstance(k, scalar) else "?"
                total += visit(k, path) + visit(v, f"{path}.{key}" if path else str(key))
                if total > MAX_YAML_NODES:
                    break
        elif isinstance(node, sequence):
            for i, v in enumerate(node.value):
                total += visit(v, f"{path}[{i}]")
                if total > MAX_YAML_NODES:
                    break
        active.discard(nid)
        if total > MAX_YAML_NODES:
            raise _Refused(
                f"{path or 'document'}: YAML aliases expand to more than {MAX_YAML_NODES} values (alias bomb?)"
            )
        sizes[nid] = total
        return total

    visit(root, "")


def _check_finite(data: Any, where: str, error: type[CostModelError]) -> None:
    """YAML spells infinities and NaN (.inf, .nan): plain data here means finite numbers.
    The message names the value's path (`memory.bandwidth_GBps`, `layers[3]`); each value
    keeps only a link to its parent's, so aliases expanded many times cost no path strings."""
    stack: list[tuple[Any, Any]] = [(None, data)]  # (crumb, value); crumb = (parent crumb, ".key" | "[i]")
    while stack:
        crumb, x = stack.pop()
        if isinstance(x, dict):
            stack.extend(((crumb, f".{k}"), v) for k, v in x.items())
        elif isinstance(x, list):
            stack.extend(((crumb, f"[{i}]"), v) for i, v in enumerate(x))
        elif isinstance(x, float) and not math.isfinite(x):
            parts: list[str] = []
            while crumb is not None:
                crumb, part = crumb
                parts.append(part)
            path = "".join(reversed(parts)).lstrip(".")
            raise error(f"{path + ': ' if path else ''}{x!r} is not a finite number", where=where)
