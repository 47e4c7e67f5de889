"""The one safe reader of YAML / TOML / JSON data files (model specs, systems, profiles).

Only plain data comes back: YAML through PyYAML's SafeLoader with every node checked
before construction (standard tags only, aliases bounded by their expanded size, so a
'billion laughs' document is refused without being expanded); TOML through `tomllib`;
JSON through `json` with NaN / Infinity refused. Files are read up to a size limit and
must be UTF-8. Every failure is the caller's typed error (a `CostModelError` subclass)
naming the file, and the YAML path of the offending value where there is one.

This module sits at the bottom of the package (it imports only `errors`), so every layer
that reads data files can use it. PyYAML is imported on the first YAML file only (start-up
speed: most runs read TOML profiles or ONNX files).
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from typing import Any

from .errors import CostModelError

MAX_FILE_BYTES = 1 << 20  # data files larger than 1 MiB are refused
MAX_YAML_NODES = 100_000  # YAML values after alias expansion
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
_YAML_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")
)


class _Refused(Exception):
    """A YAML node refused during the pre-construction check (message names its path)."""


def data_format(path: str) -> str | None:
    """ "yaml", "toml" or "json" from the file's suffix (None for anything else)."""
    return SUFFIXES.get(os.path.splitext(path)[1].lower())


def read_data_file(
    path: str | os.PathLike[str],
    *,
    error: type[CostModelError] = CostModelError,
    max_bytes: int = MAX_FILE_BYTES,
    fmt: str | None = None,
) -> Any:
    """A YAML / TOML / JSON file as plain data (dicts, lists, strings, numbers, booleans).
    The format comes from the suffix unless `fmt` names it; `error` is raised for every
    problem, with `where` = the path."""
    where = os.fspath(path)
    kind = fmt or data_format(where)
    if kind is None:
        raise error(f"unsupported file type; use one of {', '.join(sorted(SUFFIXES))}", where=where)
    try:
        with open(where, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise error("file not found", where=where) from None
    except IsADirectoryError:
        raise error("is a directory", where=where) from None
    except OSError as e:
        raise error(f"cannot read the file: {e.strerror or e}", where=where) from None
    if len(raw) > max_bytes:
        raise error(f"file is larger than {max_bytes} bytes", where=where)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error(f"not UTF-8 text ({e.reason} at byte {e.start})", where=where) from None
    return parse_data_text(text, kind, where, error=error)


def parse_data_text(text: str, fmt: str, where: str, *, error: type[CostModelError] = CostModelError) -> Any:
    """Text in one of the three formats as plain data (see read_data_file)."""
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise error(f"invalid TOML: {e}", where=where) from None
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

    loader = yaml.SafeLoader(text)
    try:
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
    """YAML spells infinities and NaN (.inf, .nan): plain data here means finite numbers."""
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, float) and not math.isfinite(x):
            raise error(f"{x!r} is not a finite number", where=where)
